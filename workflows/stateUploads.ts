import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { CatalogActivities } from '../activities';
import type { StateUploadOutcome } from '../common/types';

/** Why an activity failed, in a line: its cause's message, not Temporal's wrapper. */
export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Uploads to one destination, each try reading back what it wrote; a destination that is down is given up after a few
 * tries and reported, and its dumps stay local for the next night.
 */
export const stateUploadActivities = (taskQueue: string) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '10 seconds', maximumInterval: '1 minute', maximumAttempts: 3 },
  });

/** Runs one upload per destination at once; each settles to verified or failed, never throws. */
export async function uploadToEveryDestination(
  destinations: string[],
  upload: (destination: string) => Promise<{ uploaded: string[] }>,
): Promise<Record<string, StateUploadOutcome>> {
  const outcomes = await Promise.all(
    destinations.map((destination) =>
      upload(destination).then(
        ({ uploaded }): StateUploadOutcome => ({ status: 'verified', uploaded }),
        (err): StateUploadOutcome => ({ status: 'failed', message: failureMessage(err) }),
      ),
    ),
  );
  return Object.fromEntries(destinations.map((d, i) => [d, outcomes[i]!]));
}

/** verified when every destination verified, degraded when some did, failed when none did. */
export function uploadStatus(outcomes: Record<string, StateUploadOutcome>): 'verified' | 'degraded' | 'failed' {
  const verified = Object.values(outcomes).filter((o) => o.status === 'verified').length;
  return verified === Object.keys(outcomes).length ? 'verified' : verified > 0 ? 'degraded' : 'failed';
}

/** Why a dump or rollup failed: its own error, or each destination's. */
export function stateFailureReason(result: { message?: string; destinations: Record<string, StateUploadOutcome> }): string {
  if (result.message) return result.message;
  const each = Object.entries(result.destinations).map(([d, o]) => `${d}: ${o.status === 'failed' ? o.message : o.status}`);
  return `no destination holds a verified copy (${each.join('; ')})`;
}
