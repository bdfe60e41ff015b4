import { workflowInfo } from '@temporalio/workflow';
import type { WeeklyRollupResult } from '../common/types';
import { catalogActivities } from './activityProxies';
import { type TellOutcome, tellingOutcome } from './runOutcome';
import { failureMessage, stateFailureReason, stateUploadActivities, uploadStatus, uploadToEveryDestination } from './stateUploads';

export interface WeeklyRollupInput {
  /** The catalog host's task queue (`catalogTaskQueue(hostId)`), where its dumps are. */
  catalogTaskQueue: string;
  /** The instant whose UTC day ends the week rolled up; tests set it, a scheduled run uses the worker's clock. */
  now?: string;
}

/**
 * The weekly rollup (DESIGN.md section 4): the last seven daily dumps packed into one archive, uploaded to every
 * destination under `state/weekly/` and read back; the newest `keepWeekly` are kept. A missing day is reported.
 */
export async function weeklyRollup(input: WeeklyRollupInput): Promise<WeeklyRollupResult> {
  const { runId } = workflowInfo();
  return tellingOutcome({ runId, kind: 'weekly-rollup', catalogTaskQueue: input.catalogTaskQueue }, (tell) => rollUpDumps(input, tell));
}

async function rollUpDumps(input: WeeklyRollupInput, tell: TellOutcome | undefined): Promise<WeeklyRollupResult> {
  const catalog = catalogActivities(input.catalogTaskQueue, '2 hours', '1 minute');
  const uploads = stateUploadActivities(input.catalogTaskQueue);
  const { workflowId, runId } = workflowInfo();
  await catalog.startRun({ runId, kind: 'weekly-rollup', workflowId });
  let result: WeeklyRollupResult;
  try {
    const { archive, name, firstDay, lastDay, days, missing } = await catalog.writeWeeklyRollup({ runId, now: input.now });
    // An earlier week's archive that some destination still lacks is uploaded even when this week had nothing.
    const destinations = await uploadToEveryDestination(await catalog.destinationNames(), (destination) =>
      uploads.uploadPendingRollups({ runId, destination }),
    );
    const retention = await catalog.applyRollupRetention({ runId });
    const status = archive ? uploadStatus(destinations) : 'empty';
    result = { runId, status, name, firstDay, lastDay, days, missing, archive, destinations, retention };
  } catch (err) {
    result = { runId, status: 'failed', days: [], missing: [], destinations: {}, message: failureMessage(err) };
  }
  await catalog.closeRun({ runId, status: result.status === 'failed' ? 'failed' : 'completed', summary: result });
  await tell?.({
    failure: result.status === 'failed' ? { reason: stateFailureReason(result) } : undefined,
    destinations: result.destinations,
  });
  return result;
}
