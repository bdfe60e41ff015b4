import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import { type IncrementalSweepInput, incrementalSweep } from '../workflows';
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
