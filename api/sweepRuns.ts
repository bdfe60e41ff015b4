import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import { type IncrementalSweepInput, type IncrementalSweepSummary, incrementalSweep } from '../workflows';
import { formatFullSyncSummary, fullSyncInput, mib } from './fullSyncRuns';
import { runSearchAttributes } from './searchAttributes';

/** A sweep's input from the config: the same for a run started by hand or by its schedule. */
export function sweepInput(config: Config): IncrementalSweepInput {
  return { fullSync: fullSyncInput(config), trashRetentionDays: config.trashRetentionDays };
}

/** Starts an incremental sweep on demand, tagged so the Web UI can filter runs by kind and account. */
export async function startSweep(
  client: Client,
  config: Config,
  workflowId = `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof incrementalSweep>> {
  return client.workflow.start(incrementalSweep, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [sweepInput(config)],
    typedSearchAttributes: runSearchAttributes('incremental-sweep', config.account),
  });
}

/** A person-readable summary of a finished sweep. */
export function formatSweepSummary(summary: IncrementalSweepSummary, link: string): string {
  if (summary.kind === 'skipped') return `sweep ${summary.runId}: skipped, ${summary.reason}\n  Web UI    ${link}`;
  if (summary.kind === 'full-sync')
    return `sweep ${summary.runId}: ${summary.reason}; a full sync ran instead\n${formatFullSyncSummary(summary.fullSync, link)}`;
  const places = summary.places ?? { relocated: 0, trashed: 0, restored: 0, requeued: 0, failed: 0 };
  return [
    `sweep ${summary.runId}`,
    `  changes   ${summary.changes} read from Drive in ${summary.driveCalls} Drive calls; ${summary.gone ?? 0} items gone (trashed, deleted, unshared)`,
    `  moved     ${places.relocated} objects to new keys (server-side), ${places.trashed} under .trash/, ${places.restored} back from .trash/` +
      (places.failed ? `; ${places.failed} moves failed (retried by the next run)` : ''),
    `  copied    ${summary.filesSynced} files, ${mib(summary.bytes)}; ${summary.filesFailed} failed, ${summary.filesDeferred} deferred`,
    `  purged    ${summary.purged} objects from .trash/ past the retention`,
    `  time      ${summary.seconds.toFixed(1)} s`,
    `  Web UI    ${link}`,
  ].join('\n');
}
