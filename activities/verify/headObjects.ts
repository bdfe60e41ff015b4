import type { Catalog } from '../catalog/catalog';
import type { Logger } from '../../common/logger';
import type { Destination, ObjectHead } from '../storage/destination';

export interface VerifyPageResult {
  nextAfterRowId?: number;
  verified: Record<string, number>;
  mismatched: Record<string, number>;
  unverified: Record<string, number>;
}

const HEADS_IN_FLIGHT = 32;

/**
 * HEADs one page of recorded objects on their destinations and compares size and stored SHA-256 with the
 * catalog. A missing or different object is marked failed and its file goes back to pending, so the next
 * run uploads it again. A destination that cannot be reached is not HEADed again in this page: its objects
 * keep their state and count as unverified, and the run reports the destination as degraded.
 */
export async function verifyObjectsPage(
  deps: { catalog: Catalog; destinations: Destination[]; logger: Logger },
  input: { afterRowId: number; limit: number },
): Promise<VerifyPageResult> {
  const db = deps.catalog.db;
  const rows = db
    .prepare('SELECT rowid, file_id, destination, key, size, sha256 FROM objects WHERE rowid > ? ORDER BY rowid LIMIT ?')
    .all(input.afterRowId, input.limit) as Array<{
    rowid: number;
    file_id: string;
    destination: string;
    key: string;
    size: number;
    sha256: string;
  }>;
  const byName = new Map(deps.destinations.map((d) => [d.name, d]));
  const verdicts: Array<{ rowid: number; fileId: string; destination: string; ok: boolean; problem?: string }> = [];
  const unreachable = new Set<string>();
  const result: VerifyPageResult = { verified: {}, mismatched: {}, unverified: {} };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(HEADS_IN_FLIGHT, rows.length) }, async () => {
      while (next < rows.length) {
        const row = rows[next++];
        const destination = byName.get(row.destination);
        if (!destination) continue; // a destination no longer configured: nothing to check it against
        const countUnverified = () => (result.unverified[destination.name] = (result.unverified[destination.name] ?? 0) + 1);
        if (unreachable.has(destination.name)) {
          countUnverified();
          continue;
        }
        let head: ObjectHead | undefined;
        try {
          head = await destination.head(row.key);
        } catch (err) {
          deps.logger.warn(
            { event: 'verify.destination_unreachable', destination: destination.name, err },
            'destination unreachable; its objects stay unverified',
          );
          unreachable.add(destination.name);
          countUnverified();
          continue;
        }
        const problem = !head
          ? 'missing'
          : head.size !== row.size
            ? `size ${head.size}, catalog ${row.size}`
            : head.sha256 !== row.sha256
              ? `sha256 ${head.sha256 ?? 'absent'}, catalog ${row.sha256}`
              : undefined;
        verdicts.push({ rowid: row.rowid, fileId: row.file_id, destination: row.destination, ok: !problem, problem });
      }
    }),
  );
  const now = new Date().toISOString();
  const setObjectState = db.prepare('UPDATE objects SET state = ?, verified_at = ? WHERE rowid = ?');
  const requeueFile = db.prepare(`UPDATE files SET state = 'pending', updated_at = ? WHERE id = ?`);
  db.transaction(() => {
    for (const v of verdicts) {
      setObjectState.run(v.ok ? 'verified' : 'failed', now, v.rowid);
      const counts = v.ok ? result.verified : result.mismatched;
      counts[v.destination] = (counts[v.destination] ?? 0) + 1;
      if (!v.ok) {
        requeueFile.run(now, v.fileId);
        deps.catalog.recordFailure(
          {
            fileId: v.fileId,
            destination: v.destination,
            runId: null,
            attempts: 1,
            reason: 'verifyMismatch',
            message: `HEAD after upload: ${v.problem}`,
          },
          now,
        );
      }
    }
  })();
  if (rows.length === input.limit) result.nextAfterRowId = rows.at(-1)!.rowid;
  return result;
}
