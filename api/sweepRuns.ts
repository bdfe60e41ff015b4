import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import { type IncrementalSweepInput, type IncrementalSweepSummary, incrementalSweep } from '../workflows';
import { fullSyncInput } from './fullSyncRuns';
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

/** A person-readable summary of a finished sweep: each field of its result on a line of its own. */
export function formatSweepSummary(summary: IncrementalSweepSummary, link: string): string {
  const fields = Object.entries(summary).filter(([key]) => key !== 'runId');
  const width = Math.max(6, ...fields.map(([key]) => key.length));
  const value = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  return [
    `sweep ${summary.runId}`,
    ...fields.map(([key, v]) => `  ${key.padEnd(width)}  ${value(v)}`),
    `  ${'Web UI'.padEnd(width)}  ${link}`,
  ].join('\n');
}
