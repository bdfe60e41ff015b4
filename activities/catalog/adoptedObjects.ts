import type { Catalog } from './catalog';
import type { ObjectKeyPlanner } from './objectKeys';
import { type ScopeOptions, scopeCheck } from './syncQueue';

/** A content file a restored catalog still has to transfer, with the objects it becomes and where each is recorded. */
export interface UnsyncedFile {
  id: string;
  version: string;
  /** What Drive says this version's content is (binary files): an object found must match it to be taken. */
  size: number | null;
  driveSha256: string | null;
  objects: Array<{ format: string; key: string; storedAt: string[] }>;
}

/** One object a destination was found to hold for a file's current version: recorded as if its transfer had. */
export interface AdoptedObject {
  fileId: string;
  destination: string;
  format: string;
  key: string;
  size: number;
  sha256: string;
  version: string;
}

/**
 * The next page of content files after `afterId` that wait for a transfer (pending, failed or deferred, not gone)
 * and are in scope, each with its object keys: the recorded ones, or new ones recorded now, in one transaction, as a
 * claim gives them (so the keys a transfer after the dump would have used). Files the scope keeps out are left for
 * the claim to mark skipped. `nextAfterId` is undefined when no file is left.
 */
export function unsyncedFilesPage(
  catalog: Catalog,
  options: { planner: ObjectKeyPlanner } & ScopeOptions,
  input: { afterId: string; limit: number },
): { files: UnsyncedFile[]; nextAfterId?: string } {
  const { planner } = options;
  const rows = catalog.db
    .prepare(
      `SELECT id, version, size, drive_sha256, owned_by_me FROM files
       WHERE state IN ('pending', 'failed', 'deferred') AND gone IS NULL AND kind IN ('binary', 'workspace') AND id > ?
       ORDER BY id LIMIT ?`,
    )
    .all(input.afterId, input.limit) as Array<{
    id: string;
    version: string;
    size: number | null;
    drive_sha256: string | null;
    owned_by_me: number | null;
  }>;
  if (rows.length === 0) return { files: [] };
  const storedAt = catalog.db.prepare(
    `SELECT destination FROM objects WHERE file_id = ? AND format = ? AND key = ? AND file_version = ? AND state IN ('uploaded', 'verified')`,
  );
  planner.beginBatch();
  try {
    const files = catalog.db.transaction(() => {
      const checkScope = scopeCheck(planner, options);
      return rows
        .filter((r) => !checkScope(r).skipReason)
        .map((r) => ({
          id: r.id,
          version: r.version,
          size: r.size,
          driveSha256: r.drive_sha256,
          objects: planner.assignKeys(r.id).map((o) => ({
            format: o.format,
            key: o.key,
            storedAt: (storedAt.all(r.id, o.format, o.key, r.version) as Array<{ destination: string }>).map((s) => s.destination),
          })),
        }));
    })();
    return { files, nextAfterId: rows.at(-1)!.id };
  } catch (err) {
    planner.forget();
    throw err;
  }
}

/**
 * Records, in one transaction, objects found on the destinations for files' current versions, and marks synced the
 * files each of whose objects every destination now holds (their open failures resolved). An object whose key the
 * catalog gives another file's object is not recorded. Returns how many objects and files it recorded.
 */
export function recordAdoptedObjects(
  catalog: Catalog,
  input: { objects: AdoptedObject[]; synced: Array<{ fileId: string; version: string }> },
): { objects: number; files: number } {
  const { db } = catalog;
  const now = new Date().toISOString();
  const keyHeldByOther = db.prepare('SELECT 1 FROM objects WHERE destination = ? AND key = ? AND file_id != ?');
  // Never HEADed by a run yet: verified_at NULL puts them first in the next audit, '' first in deep verification.
  const upsert = db.prepare(
    `INSERT INTO objects (file_id, destination, format, key, size, sha256, file_version, state, uploaded_at, verified_at)
     VALUES (@fileId, @destination, @format, @key, @size, @sha256, @version, 'uploaded', @now, NULL)
     ON CONFLICT (file_id, destination, format) DO UPDATE SET key = excluded.key, size = excluded.size, sha256 = excluded.sha256,
       etag = NULL, version_id = NULL, file_version = excluded.file_version, state = 'uploaded', uploaded_at = excluded.uploaded_at,
       verified_at = NULL, deep_verified_at = ''`,
  );
  const markSynced = db.prepare(
    `UPDATE files SET state = 'synced', claimed_by = NULL, updated_at = ? WHERE id = ? AND version = ? AND state != 'synced'`,
  );
  const resolveFailures = db.prepare('UPDATE failures SET resolved_at = ? WHERE file_id = ? AND resolved_at IS NULL');
  return db.transaction(() => {
    const counts = { objects: 0, files: 0 };
    const refused = new Set<string>();
    for (const o of input.objects) {
      if (keyHeldByOther.get(o.destination, o.key, o.fileId)) {
        refused.add(o.fileId);
        continue;
      }
      upsert.run({ ...o, now });
      counts.objects++;
    }
    for (const f of input.synced) {
      if (refused.has(f.fileId)) continue;
      if (markSynced.run(now, f.fileId, f.version).changes === 0) continue;
      resolveFailures.run(now, f.fileId);
      counts.files++;
    }
    return counts;
  })();
}
