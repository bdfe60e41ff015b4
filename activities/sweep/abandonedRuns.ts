import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../../common/logger';
import { closeAbandonedRun, runningRuns } from '../catalog/accountHold';
import type { Catalog } from '../catalog/catalog';

/** Whether Temporal still runs the workflow (its latest run, after any continue-as-new). */
export async function isWorkflowRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Runs the catalog records as running whose workflows Temporal no longer runs (terminated, timed out, reset) never
 * finish by themselves: they are closed, so their hold on the account and their claims on files end.
 */
export async function closeAbandonedRuns(deps: { catalog: Catalog; logger: Logger }, exceptRunId: string): Promise<number> {
  let closed = 0;
  for (const run of runningRuns(deps.catalog)) {
    if (run.runId === exceptRunId || (await isWorkflowRunning(Context.current().client, run.workflowId))) continue;
    closeAbandonedRun(deps.catalog, run.runId, `workflow ${run.workflowId} is no longer running`);
    deps.logger.warn({ event: 'run.abandoned', runId: run.runId, workflowId: run.workflowId }, 'closed a run whose workflow is gone');
    closed++;
  }
  return closed;
}
