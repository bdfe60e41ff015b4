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

/** Sibling segments kept between batches, counted in entries (about 100 bytes each). */
const SEGMENT_CACHE_ENTRIES = 200_000;
const FOLDER_PATH_CACHE_ENTRIES = 50_000;

/** A map that forgets its least recently used entries beyond a total weight. */
class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  private total = 0;

  constructor(private readonly maxWeight: number, private readonly weigh: (value: V) => number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.set(key, value);
    this.total += this.weigh(value);
    // The newest entry stays even when it alone is over the limit: a huge folder is read once, not per file.
    for (const [oldest, old] of this.entries) {
      if (this.total <= this.maxWeight || oldest === key) break;
      this.entries.delete(oldest);
      this.total -= this.weigh(old);
    }
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}

/**
 * Computes object keys from the catalog: `drive/<account>/<My Drive | shared drive>/<folders>/<name>`,
 * with every segment made safe and unique among its siblings (DESIGN.md section 7). One planner serves
 * every batch: folder paths and sibling segments are kept (bounded) until a name or place changes in the
 * catalog, so a folder of 100,000 files is read once rather than once per batch.
 */
export class ObjectKeyPlanner {
  private readonly rows = new Map<string, Row | null>();
  private readonly childSegments = new LruCache<string, Map<string, string>>(SEGMENT_CACHE_ENTRIES, (m) => Math.max(1, m.size));
  private readonly folderPaths = new LruCache<string, { key: string; path: string }>(FOLDER_PATH_CACHE_ENTRIES, () => 1);
  private drives?: Map<string, { segment: string; name: string }>;
  private namesVersion?: number;

  constructor(
    private readonly db: Database.Database,
    private readonly account: string,
    private readonly exportFormats: ExportFormatConfig,
  ) {}

  /** Call before each batch: file rows are read afresh, and what was planned is dropped if names changed since. */
  beginBatch(): void {
    this.rows.clear();
    const { names_version: version } = this.db.prepare('SELECT names_version FROM catalog_state').get() as { names_version: number };
    if (version === this.namesVersion) return;
    this.childSegments.clear();
    this.folderPaths.clear();
    this.drives = undefined;
    this.namesVersion = version;
  }

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
      ? this.db.prepare("SELECT id, name, kind, mime_type, parent_id, drive_id, created_time FROM files WHERE parent_id = ? AND kind IN ('folder', 'binary', 'workspace') ORDER BY id").all(parentId)
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
