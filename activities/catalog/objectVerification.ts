import type { Catalog } from './catalog';

/** A recorded object, as verification checks it. */
export interface RecordedObject {
  rowid: number;
  fileId: string;
  destination: string;
  key: string;
  size: number;
  sha256: string;
}

export interface ObjectVerdict {
  rowid: number;
  fileId: string;
  destination: string;
  /** What the check found wrong; undefined when the object matched. */
  problem?: string;
}

const SELECT_OBJECT = 'SELECT rowid, file_id AS fileId, destination, key, size, sha256 FROM objects';

/** Recorded objects in rowid order, after a cursor: a pass over every object. */
export function objectsAfter(catalog: Catalog, afterRowId: number, limit: number): RecordedObject[] {
  return catalog.db.prepare(`${SELECT_OBJECT} WHERE rowid > ? ORDER BY rowid LIMIT ?`).all(afterRowId, limit) as RecordedObject[];
}

/**
 * The objects verified longest ago (never verified first) and not since the run started, on the given
 * destinations: what an audit checks next. Each checked object moves to the back, so successive runs rotate
 * through all of them. Failed objects wait for their re-upload: a HEAD whose stale metadata still matches
 * must not call them whole again.
 */
export function objectsToAudit(catalog: Catalog, runId: string, destinations: string[], limit: number): RecordedObject[] {
  return catalog.db
    .prepare(
      `${SELECT_OBJECT} WHERE (verified_at IS NULL OR verified_at < (SELECT started_at FROM runs WHERE id = ?))
         AND state != 'failed' AND destination IN (SELECT value FROM json_each(?))
       ORDER BY verified_at, rowid LIMIT ?`,
    )
    .all(runId, JSON.stringify(destinations), limit) as RecordedObject[];
}

/** Objects an audit may check: on the given destinations (not those no longer configured), not failed. */
export function countObjects(catalog: Catalog, destinations: string[]): number {
  const sql = `SELECT count(*) AS n FROM objects WHERE state != 'failed' AND destination IN (SELECT value FROM json_each(?))`;
  return (catalog.db.prepare(sql).get(JSON.stringify(destinations)) as { n: number }).n;
}

/**
 * Records what a check found, in one transaction: a match is verified now; a missing or different object
 * is marked failed and its file goes back to pending, with a failure saying what was found, so the next
 * run uploads it again.
 */
export function recordObjectVerdicts(catalog: Catalog, verdicts: ObjectVerdict[], check: string): void {
  const db = catalog.db;
  const now = new Date().toISOString();
  const setObjectState = db.prepare('UPDATE objects SET state = ?, verified_at = ? WHERE rowid = ?');
  const requeueFile = db.prepare(`UPDATE files SET state = 'pending', updated_at = ? WHERE id = ?`);
  db.transaction(() => {
    for (const v of verdicts) {
      setObjectState.run(v.problem ? 'failed' : 'verified', now, v.rowid);
      if (!v.problem) continue;
      requeueFile.run(now, v.fileId);
      catalog.recordFailure(
        {
          fileId: v.fileId,
          destination: v.destination,
          runId: null,
          attempts: 1,
          reason: 'verifyMismatch',
          message: `${check}: ${v.problem}`,
        },
        now,
      );
    }
  })();
}
