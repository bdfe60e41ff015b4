import type { DeepVerifyCursor } from '../../common/types';
import type { Catalog } from './catalog';

/** One recorded object a deep verification reads back, with what the catalog says it holds. */
export interface DeepVerifyCandidate {
  rowid: number;
  fileId: string;
  destination: string;
  key: string;
  size: number | null;
  sha256: string | null;
  deepVerifiedAt: string;
}

/** What reading an object back found: its verdict, or nothing when its destination could not be read. */
export interface DeepVerdict {
  object: DeepVerifyCandidate;
  /** Why the object does not hold the catalog's bytes; undefined when it does. */
  problem?: string;
}

// Objects already marked failed are known bad and their files queued for the next sync: reading them again tells nothing.
// The unary + keeps SQLite from walking objects by destination and sorting them all for each page, rather than
// walking the deep_verified_at index in order and stopping at the page's end.
const VERIFIABLE = `state != 'failed' AND +destination IN (SELECT value FROM json_each(?))`;

/** Objects of these destinations a deep verification can check. */
export function countDeepVerifiable(catalog: Catalog, destinations: string[]): number {
  const row = catalog.db.prepare(`SELECT count(*) AS n FROM objects WHERE ${VERIFIABLE}`).get(JSON.stringify(destinations)) as {
    n: number;
  };
  return row.n;
}

/**
 * The next objects to read back, those read back longest ago (or never) first, after `after` in that order.
 * Objects checked since `before` (the run's start) are left out: the run's own verdicts move them behind it.
 */
export function deepVerifyCandidates(
  catalog: Catalog,
  input: { destinations: string[]; before: string; after: DeepVerifyCursor; limit: number },
): DeepVerifyCandidate[] {
  return catalog.db
    .prepare(
      `SELECT rowid, file_id AS fileId, destination, key, size, sha256, deep_verified_at AS deepVerifiedAt FROM objects
       WHERE (deep_verified_at, rowid) > (?, ?) AND deep_verified_at < ? AND ${VERIFIABLE}
       ORDER BY deep_verified_at, rowid LIMIT ?`,
    )
    .all(
      input.after.deepVerifiedAt,
      input.after.rowid,
      input.before,
      JSON.stringify(input.destinations),
      input.limit,
    ) as DeepVerifyCandidate[];
}

/**
 * Records what reading objects back found, in one transaction. A verified object is marked verified; one
 * that is missing or different is marked failed, its file goes back to pending for the next sync to write
 * again, and the failure is recorded. An object whose record changed while it was being read (a sync
 * rewrote it) is left alone: the verdict was about bytes that are no longer the catalog's. Returns those.
 */
export function recordDeepVerdicts(catalog: Catalog, verdicts: DeepVerdict[], now: string): DeepVerdict[] {
  const db = catalog.db;
  const mark = db.prepare(
    `UPDATE objects SET state = ?, deep_verified_at = ?
     WHERE rowid = ? AND file_id = ? AND destination = ? AND key = ? AND size IS ? AND sha256 IS ? AND deep_verified_at = ?`,
  );
  const requeueFile = db.prepare(`UPDATE files SET state = 'pending', updated_at = ? WHERE id = ?`);
  const superseded: DeepVerdict[] = [];
  db.transaction(() => {
    for (const verdict of verdicts) {
      const o = verdict.object;
      const state = verdict.problem ? 'failed' : 'verified';
      const marked = mark.run(state, now, o.rowid, o.fileId, o.destination, o.key, o.size, o.sha256, o.deepVerifiedAt).changes;
      if (marked === 0) {
        superseded.push(verdict);
        continue;
      }
      if (!verdict.problem) continue;
      requeueFile.run(now, o.fileId);
      catalog.recordFailure(
        {
          fileId: o.fileId,
          destination: o.destination,
          runId: null,
          attempts: 1,
          reason: 'deepVerifyMismatch',
          message: `deep verify of ${o.key}: ${verdict.problem}`,
        },
        now,
      );
    }
  })();
  return superseded;
}
