import type { ExportFormatConfig } from '../../common/config';
import type { Catalog, FileKind, FileState } from './catalog';
import { ObjectKeyPlanner } from './objectKeys';

/** One item of the catalog as the file list shows it. */
export interface FileListItem {
  id: string;
  name: string;
  kind: FileKind;
  mimeType: string;
  size: number | null;
  state: FileState | null;
  modifiedTime: string;
  /** Why it left the backup's view (trashed, removed, unlisted, parent-gone); null while it is in Drive. */
  gone: string | null;
  /** Its object key below each destination's prefix (the first format's, for a Workspace file); null until one is given. */
  key: string | null;
}

/** Files a search reads per page at most, matching or not: a search never holds the process for a scan of the catalog. */
export const SEARCH_SCAN_ROWS = 5_000;

export interface FilesPageInput {
  /** The page starts after this id (in id order). */
  afterId: string;
  limit: number;
  /** Only items whose name or object key holds this text, in any case (ASCII). */
  q?: string;
  state?: FileState;
}

/**
 * A page of the catalog's items in id order. A page that searches reads at most SEARCH_SCAN_ROWS items, so it may hold
 * fewer than `limit` matches and still have a next page: `nextAfterId` is null only when the catalog is read to the end.
 */
export function filesPage(catalog: Catalog, input: FilesPageInput): { items: FileListItem[]; nextAfterId: string | null } {
  const { db } = catalog;
  const boundRow = input.q
    ? (db.prepare('SELECT id FROM files WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?').get(input.afterId, SEARCH_SCAN_ROWS - 1) as
        | { id: string }
        | undefined)
    : undefined;
  const bound = boundRow?.id ?? null;
  const rows = db
    .prepare(
      `SELECT f.id, f.name, f.kind, f.mime_type, f.size, f.state, f.modified_time, f.gone,
         (SELECT k.key FROM object_keys k WHERE k.holder = f.id ORDER BY k.format LIMIT 1) AS key
       FROM files f
       WHERE f.id > @afterId AND (@bound IS NULL OR f.id <= @bound) AND (@state IS NULL OR f.state = @state)
         AND (@q IS NULL OR instr(lower(f.name), lower(@q)) > 0
           OR EXISTS (SELECT 1 FROM object_keys k WHERE k.holder = f.id AND instr(lower(k.key), lower(@q)) > 0))
       ORDER BY f.id LIMIT @limit`,
    )
    .all({ afterId: input.afterId, bound, state: input.state ?? null, q: input.q ?? null, limit: input.limit + 1 }) as Array<
    Record<string, unknown>
  >;
  const items = rows.slice(0, input.limit).map(
    (r): FileListItem => ({
      id: r.id as string,
      name: r.name as string,
      kind: r.kind as FileKind,
      mimeType: r.mime_type as string,
      size: r.size as number | null,
      state: r.state as FileState | null,
      modifiedTime: r.modified_time as string,
      gone: r.gone as string | null,
      key: r.key as string | null,
    }),
  );
  const nextAfterId = rows.length > input.limit ? items.at(-1)!.id : bound;
  return { items, nextAfterId };
}

/** One object of a file on one destination, as recorded. */
export interface FileObject {
  destination: string;
  /** '' for a binary file, the export extension for a Workspace file. */
  format: string;
  key: string;
  size: number | null;
  sha256: string | null;
  etag: string | null;
  versionId: string | null;
  /** The Drive version of the file its bytes came from. */
  fileVersion: string | null;
  state: 'pending' | 'uploaded' | 'verified' | 'failed';
  uploadedAt: string | null;
  /** Last HEAD that found its size and SHA-256 as recorded. */
  verifiedAt: string | null;
  /** Last download that re-hashed it; null if never. */
  deepVerifiedAt: string | null;
}

export interface FileDetail extends FileListItem {
  driveId: string | null;
  parentId: string | null;
  md5: string | null;
  version: string;
  createdTime: string | null;
  skipReason: string | null;
  /** The Drive path it is backed up under (My Drive/..., a shared drive's name, Shared with me/...). */
  drivePath: string;
  objects: FileObject[];
  /** Objects of it kept under `.trash/` (an older version, or the file itself once gone from Drive). */
  trashed: Array<{ destination: string; key: string; originalKey: string; size: number | null; trashedOn: string }>;
  failures: Array<{ destination: string | null; reason: string; message: string; attempts: number; lastFailedAt: string }>;
}

/** Everything the catalog knows of one file; undefined when it has no such file. */
export function fileDetail(
  catalog: Catalog,
  naming: { account: string; exportFormats: ExportFormatConfig },
  fileId: string,
): FileDetail | undefined {
  const { db } = catalog;
  const file = catalog.getFile(fileId);
  if (!file) return undefined;
  const extra = db
    .prepare(
      `SELECT gone, (SELECT k.key FROM object_keys k WHERE k.holder = f.id ORDER BY k.format LIMIT 1) AS key FROM files f WHERE id = ?`,
    )
    .get(fileId) as { gone: string | null; key: string | null };
  const objects = (
    db
      .prepare(
        `SELECT destination, format, key, size, sha256, etag, version_id, file_version, state, uploaded_at, verified_at, deep_verified_at
         FROM objects WHERE file_id = ? ORDER BY destination, format`,
      )
      .all(fileId) as Array<Record<string, unknown>>
  ).map(
    (o): FileObject => ({
      destination: o.destination as string,
      format: o.format as string,
      key: o.key as string,
      size: o.size as number | null,
      sha256: o.sha256 as string | null,
      etag: o.etag as string | null,
      versionId: o.version_id as string | null,
      fileVersion: o.file_version as string | null,
      state: o.state as FileObject['state'],
      uploadedAt: o.uploaded_at as string | null,
      verifiedAt: o.verified_at as string | null,
      deepVerifiedAt: (o.deep_verified_at as string) || null,
    }),
  );
  const trashed = db
    .prepare(
      `SELECT destination, key, original_key AS originalKey, size, trashed_on AS trashedOn FROM trashed_objects WHERE file_id = ?
       ORDER BY trashed_on, destination`,
    )
    .all(fileId) as FileDetail['trashed'];
  const failures = db
    .prepare(
      `SELECT destination, reason, message, attempts, last_failed_at AS lastFailedAt FROM failures
       WHERE file_id = ? AND resolved_at IS NULL ORDER BY destination`,
    )
    .all(fileId) as FileDetail['failures'];
  return {
    id: file.id,
    name: file.name,
    kind: file.kind,
    mimeType: file.mimeType,
    size: file.size,
    state: file.state,
    modifiedTime: file.modifiedTime,
    gone: extra.gone,
    key: extra.key,
    driveId: file.driveId,
    parentId: file.parentId,
    md5: file.md5,
    version: file.version,
    createdTime: file.createdTime,
    skipReason: file.skipReason,
    drivePath: drivePathOf(catalog, naming, fileId),
    objects,
    trashed,
    failures,
  };
}

function drivePathOf(catalog: Catalog, naming: { account: string; exportFormats: ExportFormatConfig }, fileId: string): string {
  const planner = new ObjectKeyPlanner(catalog.db, naming.account, naming.exportFormats);
  planner.beginBatch();
  return planner.locate(fileId).drivePath;
}
