import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { type FullSyncInput, fullSync } from '../workflows';
import { runSearchAttributes } from './searchAttributes';

/** A full sync's input from the config: the same for a run started by hand, by its schedule or by a sweep. */
export function fullSyncInput(config: Config): FullSyncInput {
  return {
    includeSharedDrives: config.scope.sharedDrives,
    batchSize: config.transfer.batchSize,
    batchesInFlight: config.transfer.batchesInFlight,
    auditPercent: config.verify.auditPercent,
    // Served only by the worker that owns this host's catalog file.
    catalogTaskQueue: catalogTaskQueue(config.catalog.hostId),
  };
}

/** Starts a full sync on demand, tagged so the Web UI can filter runs by kind and account. */
export async function startFullSync(
  client: Client,
  config: Config,
  workflowId = `full-sync-${new Date().toISOString().replace(/[:.]/g, '-')}`,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof fullSync>> {
  return client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [fullSyncInput(config)],
    typedSearchAttributes: runSearchAttributes('full-sync', config.account),
  });
}

export function webUiLink(config: Pick<Config, 'temporal'>, workflowId: string, runId?: string): string {
  const base = config.temporal.webUiUrl.replace(/\/?$/, '/');
  return `${base}namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

export const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const perDestination = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([d, n]) => `${d} ${n}`)
    .join(', ') || 'none';

const auditNote = ({ audit }: FullSyncSummary) =>
  audit
    ? ` (${audit.checked} of ${audit.objects} planned: ${audit.percent}% of ${audit.of} objects, checked longest ago first, so every object within ${audit.withinRuns} runs)`
    : '';

/** A person-readable summary of a finished full sync. */
export function formatFullSyncSummary(summary: FullSyncSummary, link: string): string {
  if (summary.heldBy) return `full sync ${summary.runId}: skipped, full sync ${summary.heldBy} holds the account\n  Web UI    ${link}`;
  const unreachable = Object.keys(summary.unverified).length ? ` (unreachable at verification: ${perDestination(summary.unverified)})` : '';
  return [
    `full sync ${summary.runId}`,
    `  files     ${summary.filesSynced} transferred, ${summary.listed} items listed, ${summary.pending} still pending`,
    `  bytes     ${mib(summary.bytes)} in ${summary.seconds.toFixed(1)} s (${mib(summary.bytesPerSecond)}/s)`,
    `  skipped   ${summary.skipped} (reasons in the catalog: forms, sites, shortcuts, scope rules)`,
    `  failures  ${summary.filesFailed} failed, ${summary.filesDeferred} deferred (retried by the next run)`,
    `  verified  ${perDestination(summary.verified)}`,
    `  how       HEAD after upload of what this run wrote: ${perDestination(summary.verifiedWritten ?? {})}; HEAD audit of earlier objects: ${perDestination(summary.audited ?? {})}${auditNote(summary)}`,
    `  mismatch  ${perDestination(summary.mismatched)}`,
    `  degraded  ${summary.degraded.join(', ') || 'none'}${unreachable}`,
    `  Web UI    ${link}`,
  ].join('\n');
}
