import { continueAsNew, defineQuery, executeChild, patched, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { TASK_QUEUES } from '../common/taskQueues';
import { type FullSyncSummary, type SweepTotals, emptyFullSyncTotals, emptyPlaceCounts } from '../common/types';
import { catalogActivities, transferActivities } from './activityProxies';
import { type FullSyncInput, fullSync } from './fullSync';
import { applyQueuedPlaceChecks, withPlaceCounts } from './placeChecks';
import { type TellOutcome, tellingOutcome } from './runOutcome';
import { transferPendingFiles, withRecorded } from './transferWindow';

export interface IncrementalSweepInput {
  /** The input of the full sync a sweep starts in its place: no start page token yet, or one Drive refused. */
  fullSync: Omit<FullSyncInput, 'resume'>;
  /** Objects under `.trash/<date>/` older than this many days are purged (once a day). */
  trashRetentionDays?: number;
  /** Set by the workflow itself when it continues as new. */
  resume?: { runId: string; stage: SweepStage; scopes: string[]; scopeIndex: number; afterId: string; totals: SweepTotals };
}

type SweepStage = 'changes' | 'place' | 'transfer' | 'purge';

export type IncrementalSweepSummary =
  /** A full sync holds the account: the sweep did nothing. */
  | { kind: 'skipped'; runId: string; reason: string }
  /** No usable change token: a full sync ran in the sweep's place and took fresh ones. */
  | { kind: 'full-sync'; runId: string; reason: string; fullSync: FullSyncSummary }
  | ({ kind: 'swept' } & FullSyncSummary & SweepTotals);

export interface SweepProgress {
  runId: string;
  stage: SweepStage | 'begin' | 'done';
  totals: SweepTotals;
}

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

/** Runs from this version on give the sweep's longer catalog tasks a heartbeat timeout. */
const SWEEP_TASKS_HEARTBEAT = 'sweep-tasks-heartbeat';

const emptySweepTotals = (): SweepTotals => ({
  ...emptyFullSyncTotals(),
  changes: 0,
  driveCalls: 0,
  purged: 0,
  gone: 0,
  places: emptyPlaceCounts(),
});

/**
 * Incremental sweep (DESIGN.md section 4): reads each drive's changes feed from its stored token, page by page, each
 * page recorded with the token after it; moves the objects of renamed, moved, gone and returned files server-side;
 * transfers what is new or changed through the same batches as the full sync; purges old trash once a day. Its cost
 * follows the changes, not the size of the Drive. While a full sync holds the account it is skipped; with no usable
 * token it runs a full sync in its place. Files newly failed and destinations turned degraded are told at the end; a
 * sweep that fails for good is told and closed as failed.
 */
export async function incrementalSweep(input: IncrementalSweepInput): Promise<IncrementalSweepSummary> {
  const runId = input.resume?.runId ?? workflowInfo().workflowId;
  const catalogTaskQueue = input.fullSync.catalogTaskQueue ?? TASK_QUEUES.catalog;
  return tellingOutcome({ runId, kind: 'incremental-sweep', catalogTaskQueue }, (tell) => sweep(input, runId, tell));
}

async function sweep(input: IncrementalSweepInput, runId: string, tell: TellOutcome | undefined): Promise<IncrementalSweepSummary> {
  const info = workflowInfo();
  const queue = input.fullSync.catalogTaskQueue ?? TASK_QUEUES.catalog;
  const catalog = catalogActivities(queue, '30 seconds');
  // Its longer tasks (changes pages, place checks, trash purge) heartbeat: one lost with a killed worker is retried
  // after 30 s, not after the 5 minutes of its start-to-close timeout.
  const sweeping = patched(SWEEP_TASKS_HEARTBEAT)
    ? catalogActivities(queue, '5 minutes', '30 seconds')
    : catalogActivities(queue, '5 minutes');
  const transfer = transferActivities(input.fullSync.transferHeartbeatTimeout ?? '1 minute', 10);
  let totals = input.resume?.totals ?? emptySweepTotals();
  let stage: SweepProgress['stage'] = input.resume?.stage ?? 'begin';
  let scopes = input.resume?.scopes ?? [];
  let scopeIndex = input.resume?.scopeIndex ?? 0;
  let afterId = input.resume?.afterId ?? '';
  setHandler(sweepProgressQuery, () => ({ runId, stage, totals }));
  const report = () =>
    setCurrentDetails(
      `**${stage}** · ${totals.changes} changes, ${totals.gone ?? 0} gone · moved ${totals.places?.relocated ?? 0}, trashed ${totals.places?.trashed ?? 0}, ` +
        `restored ${totals.places?.restored ?? 0} · synced ${totals.filesSynced} files, failed ${totals.filesFailed}`,
    );
  const continueIfSuggested = async () => {
    if (!workflowInfo().continueAsNewSuggested) return;
    await continueAsNew<typeof incrementalSweep>({
      ...input,
      resume: { runId, stage: stage as SweepStage, scopes, scopeIndex, afterId, totals },
    });
  };
  const fullSyncInstead = async (reason: string): Promise<IncrementalSweepSummary> => {
    const summary = await executeChild(fullSync, {
      workflowId: `${info.workflowId}-full-sync`,
      taskQueue: TASK_QUEUES.workflows,
      args: [input.fullSync],
    });
    return { kind: 'full-sync', runId, reason, fullSync: summary };
  };

  if (stage === 'begin') {
    const start = await sweeping.beginSweep({
      runId,
      workflowId: info.workflowId,
      includeSharedDrives: input.fullSync.includeSharedDrives,
    });
    if (start.kind === 'skipped') return { kind: 'skipped', runId, reason: start.reason };
    if (start.kind === 'full-sync-needed') return fullSyncInstead(start.reason);
    totals = { ...totals, driveCalls: totals.driveCalls + start.driveCalls };
    // A shared drive new to the catalog has no token to read changes from: it is listed whole, its token staged before.
    for (const drive of start.newDrives) {
      let pageToken: string | undefined;
      do {
        const page = await sweeping.listDrivePage({ scope: { kind: 'shared-drive', ...drive }, pageToken, listingId: runId });
        totals = { ...totals, listed: totals.listed + page.counts.listed, driveCalls: totals.driveCalls + 1 };
        pageToken = page.nextPageToken;
      } while (pageToken);
    }
    scopes = start.scopes;
    stage = 'changes';
  }

  for (; stage === 'changes' && scopeIndex < scopes.length; scopeIndex++) {
    for (;;) {
      const page = await sweeping.readChangesPage({ runId, scope: scopes[scopeIndex] });
      if (page.tokenRejected) {
        const reason = `Drive refused the change token of ${scopes[scopeIndex]}`;
        await catalog.finishRun({ runId, totals });
        return fullSyncInstead(reason);
      }
      totals = {
        ...totals,
        changes: totals.changes + page.changes,
        driveCalls: totals.driveCalls + 1,
        listed: totals.listed + page.recorded.new + page.recorded.changed,
        gone: (totals.gone ?? 0) + page.recorded.gone,
      };
      report();
      if (!page.more) break;
      await continueIfSuggested();
    }
  }
  if (stage === 'changes') stage = 'place';

  if (stage === 'place') {
    await applyQueuedPlaceChecks(
      sweeping,
      runId,
      afterId,
      (counts, next) => {
        totals = withPlaceCounts(totals, counts);
        afterId = next ?? '';
        report();
      },
      continueIfSuggested,
    );
    stage = 'transfer';
  }

  if (stage === 'transfer') {
    const batchSize = input.fullSync.batchSize ?? 100;
    await transferPendingFiles({
      catalog,
      transfer,
      runId,
      afterId,
      batchSize,
      batchesInFlight: Math.max(1, input.fullSync.batchesInFlight ?? 4),
      survivesCrashes: true,
      onClaimed: () => report(),
      onRecorded: (recorded) => {
        totals = withRecorded(totals, recorded);
        report();
      },
      shouldDrain: () => workflowInfo().continueAsNewSuggested,
      onDrained: async (cursor) => {
        afterId = cursor;
        await continueIfSuggested();
      },
    });
    stage = 'purge';
  }

  const purge = await sweeping.purgeExpiredTrash({ runId, retentionDays: input.trashRetentionDays ?? 30 });
  totals = { ...totals, purged: totals.purged + purge.purged };
  stage = 'done';
  report();
  const summary = await catalog.finishRun({ runId, totals });
  await tell?.({});
  return { kind: 'swept', ...summary };
}
