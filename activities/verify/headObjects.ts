import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import {
  type ObjectVerdict,
  type RecordedObject,
  countObjects,
  objectsAfter,
  objectsToAudit,
  recordObjectVerdicts,
} from '../catalog/objectVerification';
import type { Destination, ObjectHead } from '../storage/destination';
import { headMismatch } from './headComparison';

export interface VerifyPageResult {
  nextAfterRowId?: number;
  verified: Record<string, number>;
  mismatched: Record<string, number>;
  unverified: Record<string, number>;
}

type VerifyDeps = { catalog: Catalog; destinations: Destination[]; logger: Logger };

const HEADS_IN_FLIGHT = 32;

/**
 * HEADs objects on their destinations and compares size and stored SHA-256 with the catalog; the verdicts
 * are recorded. A destination that cannot be reached is not HEADed again in this page: its objects keep
 * their state and count as unverified, and the run reports the destination as degraded.
 */
async function headObjects(deps: VerifyDeps, rows: RecordedObject[], check: string): Promise<VerifyPageResult> {
  const byName = new Map(deps.destinations.map((d) => [d.name, d]));
  const verdicts: ObjectVerdict[] = [];
  const unreachable = new Set<string>();
  const result: VerifyPageResult = { verified: {}, mismatched: {}, unverified: {} };
  const count = (counts: Record<string, number>, destination: string) => (counts[destination] = (counts[destination] ?? 0) + 1);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(HEADS_IN_FLIGHT, rows.length) }, async () => {
      while (next < rows.length) {
        const row = rows[next++];
        const destination = byName.get(row.destination);
        if (!destination) continue; // a destination no longer configured: nothing to check it against
        if (unreachable.has(destination.name)) {
          count(result.unverified, destination.name);
          continue;
        }
        let head: ObjectHead | undefined;
        try {
          head = await destination.head(row.key);
        } catch (err) {
          if (isThisObjectsFault(err)) {
            // The store answered, about this object (unreadable metadata, access refused): it is not whole.
            verdicts.push({ rowid: row.rowid, fileId: row.fileId, destination: row.destination, problem: (err as Error).message });
            count(result.mismatched, row.destination);
            continue;
          }
          deps.logger.warn(
            { event: 'verify.destination_unreachable', destination: destination.name, err },
            'destination unreachable; its objects stay unverified',
          );
          unreachable.add(destination.name);
          count(result.unverified, destination.name);
          continue;
        }
        const problem = headMismatch(head, row);
        verdicts.push({ rowid: row.rowid, fileId: row.fileId, destination: row.destination, problem });
        count(problem ? result.mismatched : result.verified, row.destination);
      }
    }),
  );
  recordObjectVerdicts(deps.catalog, verdicts, check);
  return result;
}

/** A HEAD error the store gave about the object itself (a 4xx, metadata that does not parse), not about reaching it. */
function isThisObjectsFault(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  const status = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return cause instanceof SyntaxError || (status !== undefined && status >= 400 && status < 500);
}

/** HEADs one page of every recorded object, in rowid order: the verification of full syncs before the audit. */
export async function verifyObjectsPage(deps: VerifyDeps, input: { afterRowId: number; limit: number }): Promise<VerifyPageResult> {
  const rows = objectsAfter(deps.catalog, input.afterRowId, input.limit);
  const result = await headObjects(deps, rows, 'HEAD after upload');
  if (rows.length === input.limit) result.nextAfterRowId = rows.at(-1)!.rowid;
  return result;
}

const configured = (deps: { destinations: Destination[] }) => deps.destinations.map((d) => d.name);

/** How many objects a run audits: `percent` of all on the configured destinations, at least one when there are any. */
export function planAudit(
  deps: { catalog: Catalog; destinations: Destination[] },
  input: { percent: number },
): { objects: number; of: number } {
  const of = countObjects(deps.catalog, configured(deps));
  return { objects: Math.min(of, Math.ceil((of * input.percent) / 100)), of };
}

/**
 * HEADs the next page of the audit sample: the objects checked longest ago, none this run has checked, on the
 * configured destinations but those found unreachable earlier in this run (their objects stay first in line).
 */
export async function auditObjectsPage(
  deps: VerifyDeps,
  input: { runId: string; limit: number; unreachable?: string[] },
): Promise<VerifyPageResult & { checked: number }> {
  const destinations = configured(deps).filter((d) => !input.unreachable?.includes(d));
  const rows = objectsToAudit(deps.catalog, input.runId, destinations, input.limit);
  return { ...(await headObjects(deps, rows, 'HEAD in audit')), checked: rows.length };
}
