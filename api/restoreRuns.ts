import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config';
import type { RestoreRequest, RestoreSummary } from '../common/restoreTypes';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import { type RestoreInput, restore } from '../workflows';
import { mib } from './fullSyncRuns';
import { runSearchAttributes } from './searchAttributes';

/** Starts a restore on the catalog host of the config, tagged so the Web UI can filter runs by kind and account. */
export async function startRestore(
  client: Client,
  config: Config,
  request: RestoreRequest & Pick<RestoreInput, 'pageFiles' | 'pageBytes' | 'pagesInFlight' | 'concurrency'>,
  workflowId = `restore-${new Date().toISOString().replace(/[:.]/g, '-')}`,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof restore>> {
  return client.workflow.start(restore, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    // The target directory is on the catalog host: its worker alone serves this queue.
    args: [{ ...request, catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }],
    typedSearchAttributes: runSearchAttributes('restore', config.account),
  });
}

/** Whether some file did not come back (a failed check, a missing object, an unsafe key): worth a non-zero exit. */
export const restoreFoundProblems = (summary: RestoreSummary): boolean => summary.counts.failed > 0;

/** A person-readable summary of a finished restore. */
export function formatRestoreSummary(summary: RestoreSummary, link: string): string {
  const { request, plan, counts, problems } = summary;
  const as = request.at ? `as of ${request.at} (that day's manifest)` : 'as the catalog has it now';
  const rate = summary.bytesPerSecond === null ? '' : ` (${mib(summary.bytesPerSecond)}/s)`;
  const lines = [
    `restore ${summary.workflowId}: ${request.path ? `"${request.path}"` : 'the whole account'} from ${request.from}, ${as}, into ${request.to}`,
    `  planned   ${plan.files} files, ${mib(plan.bytes)}${plan.files === 0 ? ` (no backed-up file ${request.path ? 'is at or below that path' : 'on that destination'}${request.at ? ' that day' : ''})` : ''}`,
    `  restored  ${counts.restored} files, ${mib(counts.bytesRestored)}, each checked against its SHA-256, in ${summary.seconds.toFixed(1)} s${rate}`,
    `  skipped   ${counts.skippedExisting} already in the target${request.overwrite ? '' : ' (left alone: --overwrite replaces them)'}`,
    `  failed    ${counts.failed}`,
    ...problems.map((p) => `    ${p.kind.padEnd(10)} ${p.path || p.key}: ${p.reason}`),
    ...(counts.failed > problems.length ? [`    ... and ${counts.failed - problems.length} more (the worker's log names each)`] : []),
    `  Web UI    ${link}`,
  ];
  return lines.join('\n');
}
