import type { Client } from '@temporalio/client';
import type { Catalog } from '../activities/catalog/catalog';
import { type FileRetry, requeueFailedFile } from '../activities/catalog/failures';
import { countPending, requeueFailures } from '../activities/catalog/syncQueue';
import type { Config } from '../common/config';
import { webUiLink } from './fullSyncRuns';
import { startSweep } from './sweepRuns';
import { withTemporalDeadline } from './temporalDeadline';

export interface StartedRun {
  workflowId: string;
  runId: string;
  webUi: string;
}

export interface RetryResult {
  /** Files put back to pending by this retry. */
  requeued: number;
  /** The sweep started to transfer them now; null when none was asked for or nothing is pending. */
  sweep: StartedRun | null;
  /** What happens next, in a sentence. */
  note: string;
}

export interface RetryDeps {
  config: Config;
  /** Needed only to start the sweep. */
  client?: Client;
  catalog: Catalog;
}

/** Starts a sweep when something is pending (and one was asked for), and says what happens next. */
async function sweepIfPending(deps: RetryDeps, requeued: number, startSweepNow: boolean): Promise<RetryResult> {
  const { client } = deps;
  if (!startSweepNow || !client || countPending(deps.catalog) === 0) {
    const note = requeued ? 'pending again: the next sweep or full sync transfers them' : 'nothing was failed or deferred';
    return { requeued, sweep: null, note };
  }
  const workflowId = `sweep-retry-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const handle = await withTemporalDeadline(client, () => startSweep(client, deps.config, workflowId));
  return {
    requeued,
    sweep: { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi: webUiLink(deps.config, handle.workflowId) },
    note: 'a sweep started to transfer the pending files now (while a full sync holds the account, that full sync or the next run does)',
  };
}

/**
 * Retries every failed or deferred file still in Drive (`drive-vault failures retry`, `POST /api/failures/retry`), as a
 * person clicking "retry" expects: the files go back to pending in the catalog at once, and a sweep starts now to
 * transfer them (a sweep transfers every pending file; with no change token yet it runs a full sync). Their failures
 * stay open until a transfer gets them there. With `startSweep: false` they wait for the next scheduled run instead.
 */
export async function retryAllFailures(deps: RetryDeps, options: { startSweep: boolean }): Promise<RetryResult> {
  return sweepIfPending(deps, requeueFailures(deps.catalog), options.startSweep);
}

/** Retries one file the same way (`POST /api/failures/{fileId}/retry`); `unknown` and `nothing` start no sweep. */
export async function retryFailedFile(
  deps: RetryDeps,
  fileId: string,
  options: { startSweep: boolean },
): Promise<RetryResult & { outcome: FileRetry }> {
  const outcome = requeueFailedFile(deps.catalog, fileId);
  if (outcome === 'unknown' || outcome === 'nothing') {
    const note =
      outcome === 'unknown' ? `the catalog has no file ${fileId}` : `file ${fileId} has nothing to retry: it is not failed or deferred`;
    return { outcome, requeued: 0, sweep: null, note };
  }
  return { outcome, ...(await sweepIfPending(deps, outcome === 'requeued' ? 1 : 0, options.startSweep)) };
}
