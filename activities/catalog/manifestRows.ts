import type Database from 'better-sqlite3';
import type { DriveLine, ItemLine, ManifestLine, ObjectLine } from '../dump/manifestLine';
import type { Catalog } from './catalog';
import type { ObjectKeyPlanner } from './objectKeys';

type HeldKey = ItemLine['keys'][number];

interface FileRow {
  id: string;
  drive_id: string | null;
  kind: ItemLine['kind'];
  name: string;
  mime_type: string;
  parent_id: string | null;
  size: number | null;
  md5: string | null;
  drive_sha256: string | null;
  modified_time: string;
  created_time: string | null;
  version: string;
  head_revision_id: string | null;
  shortcut_target_id: string | null;
  state: ItemLine['state'];
  skip_reason: string | null;
  followed_from: string | null;
  owned_by_me: number | null;
  gone: string | null;
}

function itemLine(f: FileRow, path: string): ItemLine {
  return {
    type: 'item',
    id: f.id,
    driveId: f.drive_id,
    kind: f.kind,
    name: f.name,
    mimeType: f.mime_type,
    parentId: f.parent_id,
    size: f.size,
    md5: f.md5,
    driveSha256: f.drive_sha256,
    modifiedTime: f.modified_time,
    createdTime: f.created_time,
    version: f.version,
    headRevisionId: f.head_revision_id,
    shortcutTargetId: f.shortcut_target_id,
    state: f.state,
    skipReason: f.skip_reason,
    followedFrom: f.followed_from,
    ownedByMe: f.owned_by_me === null ? null : f.owned_by_me === 1,
    gone: f.gone,
    path,
    keys: [],
  };
}

/** Objects a destination holds: written, and HEADed or about to be. Pending and failed rows are not backed up. */
const BACKED_UP = "state IN ('uploaded', 'verified')";

/**
 * The manifest of a catalog (a snapshot, never the live file): each drive, each item, then each backed-up object,
 * with the readable Drive paths `planner` finds. A generator, so 1,000,000 files never sit in memory at once.
 */
export function* manifestLines(db: Database.Database, planner: ObjectKeyPlanner): Generator<ManifestLine> {
  const keysOf = db.prepare('SELECT format, key, parent_key AS parentKey, name FROM object_keys WHERE holder = ? ORDER BY format');
  const heldKeys = (holder: string) => keysOf.all(holder) as HeldKey[];
  for (const d of db.prepare('SELECT id, name, kind FROM drives ORDER BY id').iterate() as Iterable<Omit<DriveLine, 'type' | 'keys'>>) {
    yield { type: 'drive', ...d, keys: heldKeys(d.id) };
  }
  const paths = new Map<string, string>();
  planner.beginBatch();
  // One pass over the files with the keys each holds beside it (a file holds one key per format): no query per file.
  const rows = db.prepare(
    `SELECT f.*, k.format AS key_format, k.key AS key_key, k.parent_key AS key_parent, k.name AS key_name
     FROM files f LEFT JOIN object_keys k ON k.holder = f.id ORDER BY f.id, k.format`,
  );
  let pending: ItemLine | undefined;
  for (const r of rows.iterate() as Iterable<
    FileRow & { key_format: string | null; key_key: string; key_parent: string; key_name: string }
  >) {
    if (pending?.id !== r.id) {
      if (pending) yield pending;
      pending = itemLine(r, planner.locate(r.id).drivePath);
      if (r.kind === 'binary' || r.kind === 'workspace') paths.set(r.id, pending.path);
    }
    if (r.key_format !== null) pending.keys.push({ format: r.key_format, key: r.key_key, parentKey: r.key_parent, name: r.key_name });
  }
  if (pending) yield pending;
  const objects = db.prepare(
    `SELECT destination, file_id AS fileId, format, key, size, sha256, file_version AS version, etag, version_id AS versionId, state
     FROM objects WHERE ${BACKED_UP} ORDER BY file_id, destination, format`,
  );
  for (const o of objects.iterate() as Iterable<Omit<ObjectLine, 'type' | 'path'>>) {
    yield { type: 'object', ...o, path: paths.get(o.fileId) ?? '' };
  }
}

/** Manifest lines per transaction while rebuilding: big enough to be fast, small enough to keep memory flat. */
const REBUILD_BATCH = 5_000;

/**
 * Fills an empty catalog from a manifest's lines (in the order `manifestLines` writes them): drives, items with the
 * keys they hold, and objects as the destinations held them that day. Nothing is listed or transferred: a full sync
 * afterwards finds the same versions and has nothing to do for them. Returns how many of each it recorded.
 */
export async function rebuildFromManifest(
  catalog: Catalog,
  lines: AsyncIterable<ManifestLine>,
): Promise<{ drives: number; items: number; objects: number }> {
  const { db } = catalog;
  const counts = { drives: 0, items: 0, objects: 0 };
  const files = (db.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n;
  if (files > 0) throw new Error(`the catalog already holds ${files} files: a manifest is rebuilt only into an empty catalog`);
  const now = new Date().toISOString();
  const statements = {
    drive: db.prepare('INSERT INTO drives (id, name, kind, updated_at) VALUES (@id, @name, @kind, @now)'),
    item: db.prepare(
      `INSERT INTO files (id, drive_id, kind, name, mime_type, parent_id, size, md5, drive_sha256, modified_time, created_time,
         version, head_revision_id, shortcut_target_id, state, skip_reason, followed_from, owned_by_me, gone, last_listing_id,
         created_at, updated_at)
       VALUES (@id, @driveId, @kind, @name, @mimeType, @parentId, @size, @md5, @driveSha256, @modifiedTime, @createdTime,
         @version, @headRevisionId, @shortcutTargetId, @state, @skipReason, @followedFrom, @ownedByMe, @gone, 'recovered', @now, @now)`,
    ),
    key: db.prepare(
      `INSERT INTO object_keys (holder, format, key, parent_key, name, assigned_at)
       VALUES (@holder, @format, @key, @parentKey, @name, @now)`,
    ),
    object: db.prepare(
      `INSERT INTO objects (file_id, destination, format, key, size, sha256, etag, version_id, state, file_version, uploaded_at,
         verified_at)
       VALUES (@fileId, @destination, @format, @key, @size, @sha256, @etag, @versionId, @state, @version, @now,
         CASE WHEN @state = 'verified' THEN @now END)`,
    ),
  };
  const apply = db.transaction((batch: ManifestLine[]) => {
    for (const line of batch) {
      if (line.type === 'drive') {
        statements.drive.run({ ...line, now });
        for (const k of line.keys) statements.key.run({ holder: line.id, ...k, now });
        counts.drives++;
      } else if (line.type === 'item') {
        statements.item.run({ ...line, ownedByMe: line.ownedByMe === null ? null : Number(line.ownedByMe), now });
        for (const k of line.keys) statements.key.run({ holder: line.id, ...k, now });
        counts.items++;
      } else {
        statements.object.run({ ...line, now });
        counts.objects++;
      }
    }
  });
  let batch: ManifestLine[] = [];
  for await (const line of lines) {
    batch.push(line);
    if (batch.length >= REBUILD_BATCH) {
      apply(batch);
      batch = [];
    }
  }
  apply(batch);
  return counts;
}
