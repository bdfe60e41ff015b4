import {
  ActivityFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { CatalogActivities } from '../activities';
import type { RunOutcomeReport } from '../activities/notify/reportRunOutcome';

/**
 * Runs from this version on tell their outcome: a final failure, files newly failed, destinations turned degraded or
 * healthy again, and (the nightly dump) the daily summary.
 */
const TELLS_OUTCOME = 'notify-final-failure-degraded-destinations-daily-summary';

/** Workflows that tell their own outcome: a parent failing because one of them failed does not tell it again. */
const TELLING_WORKFLOWS = new Set(['fullSync', 'incrementalSweep', 'nightlyDump', 'weeklyRollup']);

/**
 * A few tries over about half a minute, each bounded by the channels' own timeouts: a receiver that is down is logged
 * and given up, and never holds a run for long nor fails it.
 */
const outcomeActivities = (taskQueue: string) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: '10 minutes',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4 },
  });

/** Why a workflow failed, in a line: the innermost cause's message, and the child workflows and activity it came through. */
export function finalFailureReason(err: unknown): string {
  const path: string[] = [];
  let failure = err;
  while (failure instanceof ActivityFailure || failure instanceof ChildWorkflowFailure) {
    path.push(failure instanceof ActivityFailure ? `activity ${failure.activityType}` : failure.workflowType);
    if (!(failure.cause instanceof TemporalFailure)) break;
    failure = failure.cause;
  }
  const inner = failure instanceof TemporalFailure && failure.cause ? failure.cause : failure;
  const message = inner instanceof Error ? inner.message : String(inner);
  return path.length ? `${message} (in ${path.join(' › ')})` : message;
}

/** A child run that failed by itself told its failure; one terminated or timed out ran no code to tell it. */
function toldByChild(err: unknown): boolean {
  if (!(err instanceof ChildWorkflowFailure) || !TELLING_WORKFLOWS.has(err.workflowType)) return false;
  const { cause } = err;
  return !(cause instanceof TerminatedFailure || cause instanceof TimeoutFailure);
}

export type RunKind = RunOutcomeReport['kind'];
/** Tells what the run found at its end (a dump or rollup that could not do its job: its failure); throws only a cancellation. */
export type TellOutcome = (report: Pick<RunOutcomeReport, 'failure' | 'destinations' | 'dailySummary'>) => Promise<void>;

/**
 * Runs a workflow's body with a way to tell its outcome at its end (undefined for runs of older versions, which tell
 * nothing). When the body fails for good (a Temporal failure, not a cancellation), the run is closed as failed in
 * the catalog and the failure told, then the failure goes on as it was.
 */
export async function tellingOutcome<T>(
  run: { runId: string; kind: RunKind; catalogTaskQueue: string },
  body: (tell: TellOutcome | undefined) => Promise<T>,
): Promise<T> {
  if (!patched(TELLS_OUTCOME)) return body(undefined);
  const { workflowId } = workflowInfo();
  const activities = outcomeActivities(run.catalogTaskQueue);
  const report = async (more: Partial<RunOutcomeReport>) => {
    try {
      await activities.reportRunOutcome({ runId: run.runId, workflowId, kind: run.kind, ...more });
    } catch (err) {
      // A cancellation goes on, so the run ends cancelled.
      if (isCancellation(err)) throw err;
      log.warn('the run outcome could not be told', { runId: run.runId, error: finalFailureReason(err) });
    }
  };
  try {
    return await body(report);
  } catch (err) {
    // Only a Temporal failure fails the workflow; any other error (a bug) fails its task, retried until a fix is
    // deployed: the run is not over, and a report would be a command the fixed code does not schedule.
    if (!(err instanceof TemporalFailure) || isCancellation(err)) throw err;
    await report({ failure: { reason: finalFailureReason(err), notified: toldByChild(err) } });
    throw err;
  }
}
