import type { Client, WorkflowHandle } from '@temporalio/client';
import { SearchAttributeType, TypedSearchAttributes, defineSearchAttributeKey } from '@temporalio/common';
import type { Config } from '../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { fullSync } from '../workflows';

const backupKind = defineSearchAttributeKey('BackupKind', SearchAttributeType.KEYWORD);
const account = defineSearchAttributeKey('Account', SearchAttributeType.KEYWORD);

/** Starts a full sync on demand, tagged so the Web UI can filter runs by kind and account. */
export async function startFullSync(
  client: Client,
  config: Config,
  workflowId = `full-sync-${new Date().toISOString().replace(/[:.]/g, '-')}`,
): Promise<WorkflowHandle<typeof fullSync>> {
  return client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [
      {
        includeSharedDrives: config.scope.sharedDrives,
        batchSize: config.transfer.batchSize,
        // Served only by the worker that owns this host's catalog file.
        catalogTaskQueue: catalogTaskQueue(config.catalog.hostId),
      },
    ],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: backupKind, value: 'full-sync' },
      { key: account, value: config.account },
    ]),
  });
}

export function webUiLink(config: Config, workflowId: string, runId?: string): string {
  const base = config.temporal.webUiUrl.replace(/\/?$/, '/');
  return `${base}namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const perDestination = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([d, n]) => `${d} ${n}`)
    .join(', ') || 'none';

/** A person-readable summary of a finished full sync. */
export function formatFullSyncSummary(summary: FullSyncSummary, link: string): string {
  const unreachable = Object.keys(summary.unverified).length ? ` (unreachable at verification: ${perDestination(summary.unverified)})` : '';
  return [
    `full sync ${summary.runId}`,
    `  files     ${summary.filesSynced} transferred, ${summary.listed} items listed, ${summary.pending} still pending`,
    `  bytes     ${mib(summary.bytes)} in ${summary.seconds.toFixed(1)} s (${mib(summary.bytesPerSecond)}/s)`,
    `  skipped   ${summary.skipped} (reasons in the catalog: forms, sites, shortcuts, scope rules)`,
    `  failures  ${summary.filesFailed} failed, ${summary.filesDeferred} deferred (retried by the next run)`,
    `  verified  ${perDestination(summary.verified)}`,
    `  mismatch  ${perDestination(summary.mismatched)}`,
    `  degraded  ${summary.degraded.join(', ') || 'none'}${unreachable}`,
    `  Web UI    ${link}`,
  ].join('\n');
}
