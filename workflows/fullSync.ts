import {
  type ActivityOptions,
  continueAsNew,
  defineQuery,
  executeChild,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { TASK_QUEUES } from '../common/taskQueues';
import { type FullSyncSummary, type FullSyncTotals, addCounts, emptyFullSyncTotals } from '../common/types';
import { catalogActivities, transferActivities } from './activityProxies';
import { listDriveIntoCatalog } from './listDriveIntoCatalog';
import { type TellOutcome, tellingOutcome } from './runOutcome';
import { applyQueuedPlaceChecks, withPlaceCounts } from './placeChecks';
import { transferPendingFiles, withRecorded } from './transferWindow';

export interface FullSyncInput {
  includeSharedDrives: boolean;
  /** Files per transfer activity: small descriptors, a few hundred at most. */
  batchSize?: number;
  /** Objects HEADed per verification activity. */
  verifyPageSize?: number;
  /** Transfer batches streaming at once, over all transfer workers (default 4: two per worker, for two workers). */
  batchesInFlight?: number;
  /** Objects written before this run HEADed by it, in percent of all objects (default 2). */
  auditPercent?: number;
  /** How long a silent transfer worker is trusted before its batch is retried elsewhere (default 1 minute). */
  transferHeartbeatTimeout?: ActivityOptions['heartbeatTimeout'];
  /** The catalog host's task queue (`catalogTaskQueue(hostId)`); runs started before host ids existed use the unqualified one. */
  catalogTaskQueue?: string;
  /** Set by the workflow itself when it continues as new: where it was, and what it has done. */
  resume?: {
    runId: string;
    phase: 'place' | 'transfer' | 'verify';
    afterId: string;
    afterRowId: number;
    totals: FullSyncTotals;
    runSeconds: number;
  };
}

export interface FullSyncProgress {
  runId: string;
  phase: 'list' | 'place' | 'transfer' | 'verify' | 'done';
  totals: FullSyncTotals;
  /** Pending files not yet claimed by this run, and their size (binary files; exports have none up front). */
  pending: { files: number; bytes: number };
  /** Since the run started, listing included. */
  rate: { filesPerSecond: number; bytesPerSecond: number };
}

export const fullSyncProgressQuery = defineQuery<FullSyncProgress>('fullSyncProgress');

/**
 * Runs from this version on survive killed workers: a batch gets more tries, one that still fails is recorded
 * instead of failing the run, and a catalog task lost with its worker is retried after seconds, not minutes.
 */
const BATCH_SURVIVES_CRASHES = 'transfer-batch-survives-worker-crashes';

/**
 * Runs from this version on keep several batches in flight, so several transfer workers share the work,
 * and verify what they write by a HEAD right after each upload plus an audit of a rotating sample of the
 * rest, instead of HEADing every object of the account.
 */
const BATCHES_IN_FLIGHT_AND_AUDIT = 'transfer-batches-in-flight-verify-written-audit-rest';

/**
 * Runs from this version on keep the backup's shape equal to Drive's: files no longer listed go under .trash/,
 * renamed and moved ones are moved server-side, and change tokens taken before the listing let sweeps go on from it.
 */
const RECONCILES_PLACES_AND_REMOVALS = 'reconcile-places-removals-change-tokens';

/** Runs from this version on give place-check pages a heartbeat timeout. */
const PLACE_CHECKS_HEARTBEAT = 'place-checks-heartbeat';

/**
 * Full sync: lists every drive into the catalog, transfers every pending file to every destination in
 * batches, then HEADs every recorded object to verify it. No file list is held in workflow state; the
 * run continues as new when the server suggests it, carrying only a cursor and totals. A file that fails
 * is recorded and retried by the next run; it never fails the workflow. Files newly failed and destinations turned
 * degraded are told at the end; a run that fails for good is told and closed as failed.
 */
export async function fullSync(input: FullSyncInput): Promise<FullSyncSummary> {
  const runId = input.resume?.runId ?? workflowInfo().workflowId;
  const catalogTaskQueue = input.catalogTaskQueue ?? TASK_QUEUES.catalog;
  return tellingOutcome({ runId, kind: 'full-sync', catalogTaskQueue }, (tell) => syncFully(input, runId, tell));
}

async function syncFully(input: FullSyncInput, runId: string, tell: TellOutcome | undefined): Promise<FullSyncSummary> {
  const info = workflowInfo();
  const survivesCrashes = patched(BATCH_SURVIVES_CRASHES);
  const catalogQueue = input.catalogTaskQueue ?? TASK_QUEUES.catalog;
  const catalog = catalogActivities(catalogQueue, survivesCrashes ? '30 seconds' : '5 minutes');
  const verifying = catalogActivities(catalogQueue, '5 minutes');
  // Each worker lost mid-batch costs one try, and the next try resumes from the heartbeat: tries are cheap.
  const transfer = transferActivities(input.transferHeartbeatTimeout ?? '1 minute', survivesCrashes ? 10 : 5);
  const auditsRest = patched(BATCHES_IN_FLIGHT_AND_AUDIT);
  const reconciles = patched(RECONCILES_PLACES_AND_REMOVALS);
  // A place-check page heartbeats: one lost with a killed worker is retried after 30 s, not after 5 minutes.
  const placing = patched(PLACE_CHECKS_HEARTBEAT) ? catalogActivities(catalogQueue, '5 minutes', '30 seconds') : verifying;
  // One batch at a time reproduces the order of commands of the runs before the window.
  const batchesInFlight = auditsRest ? Math.max(1, input.batchesInFlight ?? 4) : 1;
  const batchSize = input.batchSize ?? 100;
  const verifyPageSize = input.verifyPageSize ?? 500;
  // Totals carried from a run of an older version lack the counts added since.
  let totals: FullSyncTotals = { ...emptyFullSyncTotals(), ...input.resume?.totals };
  let phase: FullSyncProgress['phase'] = input.resume?.phase ?? 'list';
  let afterId = input.resume?.afterId ?? '';
  let afterRowId = input.resume?.afterRowId ?? 0;
  let pending = { files: 0, bytes: 0 };
  // Measured by the catalog host at each recorded batch; carried over continueAsNew so the rate never reads 0.
  let runSeconds = input.resume?.runSeconds ?? 0;
  const rate = () => ({
    filesPerSecond: runSeconds ? totals.filesSynced / runSeconds : 0,
    bytesPerSecond: runSeconds ? totals.bytes / runSeconds : 0,
  });
  setHandler(fullSyncProgressQuery, () => ({ runId, phase, totals, pending, rate: rate() }));
  const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  const report = () =>
    setCurrentDetails(
      [
        `**${phase}** · listed ${totals.listed}`,
        `synced ${totals.filesSynced} files, ${mib(totals.bytes)} at ${mib(rate().bytesPerSecond)}/s`,
        `failed ${totals.filesFailed} · deferred ${totals.filesDeferred}`,
        `pending ${pending.files} files, ${mib(pending.bytes)}`,
      ].join(' · '),
    );
  const continueIfSuggested = async () => {
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof fullSync>({
        ...input,
        resume: { runId, phase: phase as 'place' | 'transfer' | 'verify', afterId, afterRowId, totals, runSeconds },
      });
    }
  };

  if (phase === 'list') {
    await catalog.startRun({ runId, kind: 'full-sync', workflowId: info.workflowId });
    await catalog.requeueFailures();
    // Tokens taken before the listing: a sweep from them misses nothing that changes while it runs.
    if (reconciles) {
      const tracking = await verifying.beginChangeTracking({
        runId,
        workflowId: info.workflowId,
        includeSharedDrives: input.includeSharedDrives,
      });
      // Another full sync is listing: a second listing at once would find the other's files unlisted.
      if (tracking?.heldBy) return catalog.finishRun({ runId, totals: { ...totals, heldBy: tracking.heldBy } });
    }
    report();
    const listed = await executeChild(listDriveIntoCatalog, {
      workflowId: `${info.workflowId}-listing`,
      taskQueue: TASK_QUEUES.workflows,
      args: [{ listingId: runId, includeSharedDrives: input.includeSharedDrives, catalogTaskQueue: input.catalogTaskQueue }],
    });
    totals = { ...totals, listed: listed.listed };
    phase = 'transfer';
    if (reconciles) {
      totals = { ...totals, gone: await catalog.markUnlistedGone({ runId }) };
      phase = 'place';
    }
  }

  if (phase === 'place') {
    await applyQueuedPlaceChecks(
      placing,
      runId,
      afterId,
      (counts, next) => {
        totals = withPlaceCounts(totals, counts);
        afterId = next ?? '';
        report();
      },
      continueIfSuggested,
    );
    phase = 'transfer';
  }

  if (phase === 'transfer') {
    afterId = await transferPendingFiles({
      catalog,
      transfer,
      runId,
      afterId,
      batchSize,
      batchesInFlight,
      survivesCrashes,
      onClaimed: (batch) => {
        pending = batch.pendingAfter ?? { files: pending.files - batch.consumed.files, bytes: pending.bytes - batch.consumed.bytes };
        // Current details are not history: a run continued as new shows them again before its first record.
        report();
      },
      onRecorded: (recorded) => {
        totals = withRecorded(totals, recorded);
        runSeconds = recorded.runSeconds;
        report();
      },
      shouldDrain: () => workflowInfo().continueAsNewSuggested,
      onDrained: async (cursor) => {
        afterId = cursor;
        await continueIfSuggested();
      },
    });
    phase = 'verify';
  }

  if (phase === 'verify' && auditsRest) {
    const percent = input.auditPercent ?? 2;
    let audit = totals.audit ?? { percent, ...(await catalog.planAudit({ percent })), withinRuns: Math.ceil(100 / percent), checked: 0 };
    while (audit.checked < audit.objects) {
      const page = await verifying.auditObjectsPage({
        runId,
        limit: Math.min(verifyPageSize, audit.objects - audit.checked),
        unreachable: Object.keys(totals.unverified),
      });
      audit = { ...audit, checked: audit.checked + page.checked };
      totals = {
        ...totals,
        verified: addCounts(totals.verified, page.verified),
        audited: addCounts(totals.audited, page.verified),
        mismatched: addCounts(totals.mismatched, page.mismatched),
        unverified: addCounts(totals.unverified, page.unverified),
        audit,
      };
      report();
      if (page.checked === 0) break;
      await continueIfSuggested();
    }
  }

  while (phase === 'verify' && !auditsRest) {
    const page = await verifying.verifyObjectsPage({ afterRowId, limit: verifyPageSize });
    totals = {
      ...totals,
      verified: addCounts(totals.verified, page.verified),
      mismatched: addCounts(totals.mismatched, page.mismatched),
      unverified: addCounts(totals.unverified, page.unverified),
    };
    report();
    if (page.nextAfterRowId === undefined) break;
    afterRowId = page.nextAfterRowId;
    await continueIfSuggested();
  }

  phase = 'done';
  const summary = await catalog.finishRun({ runId, totals });
  runSeconds = summary.seconds;
  report();
  await tell?.({});
  return summary;
}
