import { workflowInfo } from '@temporalio/workflow';
import type { NightlyDumpResult } from '../common/types';
import { catalogActivities } from './activityProxies';
import { type TellOutcome, tellingOutcome } from './runOutcome';
import { failureMessage, stateFailureReason, stateUploadActivities, uploadStatus, uploadToEveryDestination } from './stateUploads';

export interface NightlyDumpInput {
  /** The catalog host's task queue (`catalogTaskQueue(hostId)`): the dump runs beside the SQLite file it copies. */
  catalogTaskQueue: string;
  /** The instant whose UTC day names the dump; tests set it, a scheduled run uses the worker's clock. */
  now?: string;
}

/**
 * The nightly dump (DESIGN.md section 4): an online copy of the catalog, checked, compressed, with its manifest,
 * uploaded to every destination under `state/daily/<day>/` and read back; then the retention. A failure is reported
 * in the result; the next night retries every local dump a destination does not hold verified.
 */
export async function nightlyDump(input: NightlyDumpInput): Promise<NightlyDumpResult> {
  const { runId } = workflowInfo();
  return tellingOutcome({ runId, kind: 'nightly-dump', catalogTaskQueue: input.catalogTaskQueue }, (tell) => dumpCatalog(input, tell));
}

async function dumpCatalog(input: NightlyDumpInput, tell: TellOutcome | undefined): Promise<NightlyDumpResult> {
  const catalog = catalogActivities(input.catalogTaskQueue, '2 hours', '1 minute');
  const uploads = stateUploadActivities(input.catalogTaskQueue);
  const { workflowId, runId } = workflowInfo();
  await catalog.startRun({ runId, kind: 'nightly-dump', workflowId });
  let result: NightlyDumpResult;
  try {
    const dump = await catalog.writeDailyDump({ runId, now: input.now });
    const destinations = await uploadToEveryDestination(await catalog.destinationNames(), (destination) =>
      uploads.uploadPendingDumps({ runId, destination }),
    );
    const uploadFailed = Object.keys(destinations).filter((d) => destinations[d]!.status === 'failed');
    const retention = await catalog.applyDumpRetention({ runId, now: input.now, uploadFailed });
    const { day, catalog: catalogFile, manifest, items, objects } = dump;
    result = { runId, status: uploadStatus(destinations), day, catalog: catalogFile, manifest, items, objects, destinations, retention };
  } catch (err) {
    result = { runId, status: 'failed', destinations: {}, message: failureMessage(err) };
  }
  await catalog.closeRun({ runId, status: result.status === 'failed' ? 'failed' : 'completed', summary: result });
  await tell?.({
    failure: result.status === 'failed' ? { reason: stateFailureReason(result) } : undefined,
    destinations: result.destinations,
    dailySummary: { day: result.day },
  });
  return result;
}
