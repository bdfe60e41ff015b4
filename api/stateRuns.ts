import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import type { NightlyDumpResult, StateUploadOutcome, WeeklyRollupResult } from '../common/types';
import { nightlyDump, weeklyRollup } from '../workflows';
import { mib } from './fullSyncRuns';
import { runSearchAttributes } from './searchAttributes';

const startedNow = () => new Date().toISOString().replace(/[:.]/g, '-');

/** Starts the catalog dump now (its schedule runs it nightly), on the catalog host's queue. */
export async function startDump(
  client: Client,
  config: Config,
  workflowId = `dump-${startedNow()}`,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof nightlyDump>> {
  return client.workflow.start(nightlyDump, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }],
    typedSearchAttributes: runSearchAttributes('nightly-dump', config.account),
  });
}

/** Starts the weekly rollup now (its schedule runs it on Sundays). */
export async function startRollup(
  client: Client,
  config: Config,
  workflowId = `rollup-${startedNow()}`,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof weeklyRollup>> {
  return client.workflow.start(weeklyRollup, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }],
    typedSearchAttributes: runSearchAttributes('weekly-rollup', config.account),
  });
}

function destinationLines(destinations: Record<string, StateUploadOutcome>): string[] {
  return Object.entries(destinations).map(([name, o]) =>
    o.status === 'verified'
      ? `  ${name.padEnd(9)} verified${o.uploaded.length ? ` (uploaded ${o.uploaded.join(', ')})` : ' (already held)'}`
      : `  ${name.padEnd(9)} FAILED: ${o.message}`,
  );
}

/** A person-readable summary of a finished dump. */
export function formatDumpResult(result: NightlyDumpResult, link: string): string {
  if (!result.day) return `dump ${result.runId}: FAILED: ${result.message}\n  Web UI    ${link}`;
  const retention = result.retention!;
  const remote = Object.entries(retention.remoteDeleted).map(([d, days]) => `${d}: ${days.join(', ')}`);
  return [
    `dump ${result.runId}: ${result.status}, state/daily/${result.day}/`,
    `  catalog   ${mib(result.catalog!.size)} compressed, SHA-256 ${result.catalog!.sha256}`,
    `  manifest  ${result.items} items, ${result.objects} objects, ${mib(result.manifest!.size)}`,
    ...destinationLines(result.destinations),
    `  retention local deleted ${retention.localDeleted.join(', ') || 'none'}` +
      (retention.localKeptUnverified.length ? `; kept until verified everywhere: ${retention.localKeptUnverified.join(', ')}` : ''),
    `            remote deleted ${remote.join('; ') || 'none'}` +
      (retention.unreachable.length ? `; unreachable: ${retention.unreachable.join(', ')}` : ''),
    `  Web UI    ${link}`,
  ].join('\n');
}

/** A person-readable summary of a finished rollup. */
export function formatRollupResult(result: WeeklyRollupResult, link: string): string {
  if (result.status === 'failed' && !result.name) return `rollup ${result.runId}: FAILED: ${result.message}\n  Web UI    ${link}`;
  return [
    `rollup ${result.runId}: ${result.status}, state/weekly/${result.name}`,
    `  days      ${result.days.join(', ') || 'none'}${result.missing.length ? `; missing ${result.missing.join(', ')}` : ''}`,
    ...(result.archive ? [`  archive   ${mib(result.archive.size)}, SHA-256 ${result.archive.sha256}`] : []),
    ...destinationLines(result.destinations),
    `  Web UI    ${link}`,
  ].join('\n');
}
