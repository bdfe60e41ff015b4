import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import type { DeepVerifySummary } from '../common/types';
import { type DeepVerifyInput, deepVerify } from '../workflows';
import { mib } from './fullSyncRuns';
import { accountQuery, runSearchAttributes } from './searchAttributes';

/** Starts a deep verification on demand, tagged so the Web UI can filter runs by kind and account. */
export async function startDeepVerify(
  client: Client,
  config: Config,
  request: Pick<DeepVerifyInput, 'samplePercent' | 'destination'>,
  workflowId = `deep-verify-${new Date().toISOString().replace(/[:.]/g, '-')}`,
): Promise<WorkflowHandle<typeof deepVerify>> {
  return client.workflow.start(deepVerify, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [
      {
        samplePercent: request.samplePercent,
        destination: request.destination,
        // Served only by the worker that owns this host's catalog file.
        catalogTaskQueue: catalogTaskQueue(config.catalog.hostId),
      },
    ],
    typedSearchAttributes: runSearchAttributes('deep-verify', config.account),
  });
}

/**
 * The deep verifications of this account Temporal runs now, by workflow id (its visibility, which may lag a run just
 * started by a second): they write the catalog without recording a run in it.
 */
export async function runningDeepVerifications(client: Client, config: Pick<Config, 'account'>): Promise<string[]> {
  const ids: string[] = [];
  const query = `BackupKind = 'deep-verify' AND ${accountQuery(config.account)} AND ExecutionStatus = 'Running'`;
  for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
}

/** Whether a deep verification found an object wrong or could not read some: worth a non-zero exit. */
export function deepVerifyFoundProblems(summary: DeepVerifySummary): boolean {
  return Object.values(summary.perDestination).some((c) => c.mismatched > 0 || c.unverified > 0);
}

/** A person-readable summary of a finished deep verification. */
export function formatDeepVerifySummary(summary: DeepVerifySummary, link: string): string {
  const what =
    summary.samplePercent === null
      ? 'every object'
      : `a ${summary.samplePercent}% sample (every object read back within ${summary.withinRuns} such runs)`;
  const width = Math.max(9, ...summary.destinations.map((d) => d.length));
  const lines = Object.entries(summary.perDestination).map(
    ([d, c]) =>
      `  ${d.padEnd(width)} ${c.verified} verified, ${c.mismatched} mismatched, ${c.unverified} unverified, ${mib(c.bytesRead)} read`,
  );
  return [
    `deep verify ${summary.workflowId}: ${what}, downloaded and re-hashed against the catalog`,
    `  ${'objects'.padEnd(width)} ${summary.objectsChosen} chosen of ${summary.objectsInScope} on ${summary.destinations.join(', ')}`,
    `  ${'time'.padEnd(width)} ${summary.seconds.toFixed(1)} s`,
    ...lines,
    ...(Object.values(summary.perDestination).some((c) => c.mismatched > 0)
      ? ['  mismatched objects are marked failed and their files pending: the next full sync writes them again']
      : []),
    `  ${'degraded'.padEnd(width)} ${summary.degraded.join(', ') || 'none'}`,
    ...(summary.degraded.length ? ['  objects that could not be read stay first in line for the next deep verification'] : []),
    `  ${'Web UI'.padEnd(width)} ${link}`,
  ].join('\n');
}
