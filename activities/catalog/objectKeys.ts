import type Database from 'better-sqlite3';
import { ExportFormatConfig, exportExtensionsFor } from '../../common/exportFormats';
import type { ObjectKey } from '../../common/types';
import { SiblingEntry, objectFileName, safeSegment, uniqueSegments } from '../storage/objectNames';

interface Row {
  id: string;
  name: string;
  kind: string;
  mime_type: string;
  parent_id: string | null;
  drive_id: string | null;
  created_time: string | null;
}

/**
 * Computes object keys from the catalog: `drive/<account>/<My Drive | shared drive>/<folders>/<name>`,
 * with every segment made safe and unique among its siblings (DESIGN.md section 7). Caches folder paths
 * and sibling segments for the life of one planner, i.e. one batch.
 */
export class ObjectKeyPlanner {
  private readonly rows = new Map<string, Row | null>();
  private readonly childSegments = new Map<string, Map<string, string>>();
  private readonly folderPaths = new Map<string, { key: string; path: string }>();
  private drives?: Map<string, { segment: string; name: string }>;

  constructor(
    private readonly db: Database.Database,
    private readonly account: string,
    private readonly exportFormats: ExportFormatConfig,
  ) {}

  /** The objects one file becomes, and its readable Drive path. */
  plan(fileId: string): { objects: ObjectKey[]; drivePath: string } {
    const row = this.row(fileId);
    if (!row) throw new Error(`file ${fileId} is not in the catalog`);
    const parent = this.folderPath(row.parent_id, row.drive_id);
    const segments = this.segmentsUnder(row.parent_id);
    const formats = row.kind === 'workspace' ? exportExtensionsFor(row.mime_type, this.exportFormats) : [''];
    const objects = formats.map((format) => {
      const segment = segments.get(`${row.id}\u0000${objectFileName(row.name, format || undefined)}`)!;
      return { format, key: `${parent.key}/${segment}` };
    });
    return { objects, drivePath: `${parent.path}/${row.name}` };
  }

  private row(id: string): Row | null {
    if (!this.rows.has(id)) {
      const row = this.db.prepare('SELECT id, name, kind, mime_type, parent_id, drive_id, created_time FROM files WHERE id = ?').get(id) as Row | undefined;
      this.rows.set(id, row ?? null);
    }
    return this.rows.get(id)!;
  }

  /** Key prefix and readable path of a folder; a parent missing from the catalog is the drive's root. */
  private folderPath(folderId: string | null, driveId: string | null): { key: string; path: string } {
    const cacheKey = folderId ?? `root:${driveId ?? ''}`;
    const cached = this.folderPaths.get(cacheKey);
    if (cached) return cached;
    const folder = folderId ? this.row(folderId) : null;
    let result: { key: string; path: string };
    if (!folder || folder.kind !== 'folder') {
      const drive = this.drive(driveId);
      result = { key: `drive/${safeSegment(this.account)}/${drive.segment}`, path: drive.name };
    } else {
      const parent = this.folderPath(folder.parent_id, folder.drive_id);
      const segment = this.segmentsUnder(folder.parent_id).get(`${folder.id}\u0000${folder.name}`)!;
      result = { key: `${parent.key}/${segment}`, path: `${parent.path}/${folder.name}` };
    }
    this.folderPaths.set(cacheKey, result);
    return result;
  }

  /** Unique segments for every child of a folder: folders by name, files by their object names. */
  private segmentsUnder(parentId: string | null): Map<string, string> {
    const cacheKey = parentId ?? '';
    const cached = this.childSegments.get(cacheKey);
    if (cached) return cached;
    const children = (parentId
      ? this.db.prepare("SELECT id, name, kind, mime_type, parent_id, drive_id, created_time FROM files WHERE parent_id = ? AND kind IN ('folder', 'binary', 'workspace')").all(parentId)
      : []) as Row[];
    const entries: SiblingEntry[] = [];
    for (const child of children) {
      this.rows.set(child.id, child);
      const names = child.kind === 'workspace' ? exportExtensionsFor(child.mime_type, this.exportFormats).map((ext) => objectFileName(child.name, ext)) : [child.name];
      for (const name of names) entries.push({ fileId: child.id, createdTime: child.created_time ?? '', name });
    }
    const segments = uniqueSegments(entries);
    this.childSegments.set(cacheKey, segments);
    return segments;
  }

  /** "My Drive" and the shared drives' names, unique among themselves; keyed by drive id ('' for My Drive). */
  private drive(driveId: string | null): { segment: string; name: string } {
    if (!this.drives) {
      const shared = this.db.prepare("SELECT id, name FROM drives WHERE kind = 'shared-drive'").all() as Array<{ id: string; name: string }>;
      const all = [{ id: '', name: 'My Drive' }, ...shared];
      const segments = uniqueSegments(all.map((d) => ({ fileId: d.id, createdTime: d.id, name: d.name })));
      this.drives = new Map(all.map((d) => [d.id, { name: d.name, segment: segments.get(`${d.id}\u0000${d.name}`)! }]));
    }
    return this.drives.get(driveId ?? '') ?? { segment: safeSegment(driveId!), name: driveId! };
  }
}
