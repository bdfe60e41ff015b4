import {
  ActivityFailure,
  type ActivityOptions,
  continueAsNew,
  defineQuery,
  executeChild,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { CatalogActivities, TransferActivities } from '../activities';
import { TASK_QUEUES } from '../common/taskQueues';
import {
  type FullSyncSummary,
  type FullSyncTotals,
  type TransferBatchProgress,
  type TransferOutcome,
  addCounts,
  emptyFullSyncTotals,
} from '../common/types';
import { listDriveIntoCatalog } from './listDriveIntoCatalog';

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
  resume?: { runId: string; phase: 'transfer' | 'verify'; afterId: string; afterRowId: number; totals: FullSyncTotals; runSeconds: number };
}

export interface FullSyncProgress {
  runId: string;
  phase: 'list' | 'transfer' | 'verify' | 'done';
  totals: FullSyncTotals;
  /** Pending files not yet claimed by this run, and their size (binary files; exports have none up front). */
  pending: { files: number; bytes: number };
  /** Since the run started, listing included. */
  rate: { filesPerSecond: number; bytesPerSecond: number };
}

export const fullSyncProgressQuery = defineQuery<FullSyncProgress>('fullSyncProgress');

/**
 * Catalog work must not hang if the catalog host is gone. Claims and records take milliseconds: a short
 * timeout means a task lost with a killed worker is retried within seconds, not after minutes. A page of
 * HEADs to verify takes longer.
 */
const catalogActivities = (taskQueue: string, startToCloseTimeout: ActivityOptions['startToCloseTimeout']) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout,
    scheduleToCloseTimeout: '1 hour',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
  });

/**
 * A batch streams many bytes: a dead worker is noticed by its missing heartbeat, not by a long timeout,
 * and the retry goes on from the heartbeat's checkpoints.
 */
const transferActivities = (heartbeatTimeout: ActivityOptions['heartbeatTimeout'], maximumAttempts: number) =>
  proxyActivities<TransferActivities>({
    taskQueue: TASK_QUEUES.transfer,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '5 minutes', maximumAttempts },
  });

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

type RecordedOutcomes = Awaited<ReturnType<CatalogActivities['recordTransferOutcomes']>>;

/** The files a batch finished before its last try was lost, from that try's last heartbeat. */
function finishedBeforeFailing(failure: ActivityFailure): TransferOutcome[] {
  const progress =
    failure.cause instanceof TimeoutFailure ? (failure.cause.lastHeartbeatDetails as TransferBatchProgress | undefined) : undefined;
  return Object.values(progress?.finished ?? {});
}

/**
 * Full sync: lists every drive into the catalog, transfers every pending file to every destination in
 * batches, then HEADs every recorded object to verify it. No file list is held in workflow state; the
 * run continues as new when the server suggests it, carrying only a cursor and totals. A file that fails
 * is recorded and retried by the next run; it never fails the workflow.
 */
export async function fullSync(input: FullSyncInput): Promise<FullSyncSummary> {
  const info = workflowInfo();
  const runId = input.resume?.runId ?? info.workflowId;
  const survivesCrashes = patched(BATCH_SURVIVES_CRASHES);
  const catalogQueue = input.catalogTaskQueue ?? TASK_QUEUES.catalog;
  const catalog = catalogActivities(catalogQueue, survivesCrashes ? '30 seconds' : '5 minutes');
  const verifying = catalogActivities(catalogQueue, '5 minutes');
  // Each worker lost mid-batch costs one try, and the next try resumes from the heartbeat: tries are cheap.
  const transfer = transferActivities(input.transferHeartbeatTimeout ?? '1 minute', survivesCrashes ? 10 : 5);
  const auditsRest = patched(BATCHES_IN_FLIGHT_AND_AUDIT);
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
        resume: { runId, phase: phase as 'transfer' | 'verify', afterId, afterRowId, totals, runSeconds },
      });
    }
  };

  if (phase === 'list') {
    await catalog.startRun({ runId, kind: 'full-sync', workflowId: info.workflowId });
    await catalog.requeueFailures();
    report();
    const listed = await executeChild(listDriveIntoCatalog, {
      workflowId: `${info.workflowId}-listing`,
      taskQueue: TASK_QUEUES.workflows,
      args: [{ listingId: runId, includeSharedDrives: input.includeSharedDrives, catalogTaskQueue: input.catalogTaskQueue }],
    });
    totals = { ...totals, listed: listed.listed };
    phase = 'transfer';
  }

  // The next batch is claimed, and finished ones recorded, while batches stream: the transfer lanes do not
  // wait for the catalog between batches. A claim records keys and skips, nothing a second claim of the same
  // files would do differently, so one dropped at continueAsNew is simply made again.
  let claimed = phase === 'transfer' ? catalog.claimPendingBatch({ afterId, limit: batchSize, countPending: true }) : undefined;
  let recording = Promise.resolve();
  const record = async (recordedOutcomes: Promise<RecordedOutcomes>) => {
    const recorded = await recordedOutcomes;
    totals = {
      ...totals,
      filesSynced: totals.filesSynced + recorded.synced,
      filesFailed: totals.filesFailed + recorded.failed,
      filesDeferred: totals.filesDeferred + recorded.deferred,
      bytes: totals.bytes + recorded.bytes,
      verified: addCounts(totals.verified, recorded.verified ?? {}),
      verifiedWritten: addCounts(totals.verifiedWritten, recorded.verified ?? {}),
    };
    runSeconds = recorded.runSeconds;
    report();
  };
  type Streaming = { batch: Awaited<NonNullable<typeof claimed>>; done: Promise<TransferOutcome[] | ActivityFailure> };
  const inFlight: Streaming[] = [];
  let claimedAll = false;
  let draining = false;
  while (phase === 'transfer') {
    while (!claimedAll && !draining && inFlight.length < batchesInFlight) {
      const batch = await claimed!;
      pending = batch.pendingAfter ?? { files: pending.files - batch.consumed.files, bytes: pending.bytes - batch.consumed.bytes };
      // Current details are not history: a run continued as new shows them again before its first record.
      report();
      if (batch.items.length === 0) {
        claimedAll = true;
        break;
      }
      const done = transfer.transferBatch(batch.items).catch((err: unknown) => {
        // Every try of the batch died (workers killed, a file that crashes its worker): its files fail, for the
        // next run to retry, and this run goes on with the next batch.
        if (!survivesCrashes || !(err instanceof ActivityFailure)) throw err;
        return err;
      });
      inFlight.push({ batch, done });
      claimed = catalog.claimPendingBatch({ afterId: batch.nextAfterId, limit: batchSize });
      afterId = batch.nextAfterId;
    }
    if (inFlight.length === 0) {
      await recording;
      if (claimedAll) {
        phase = 'verify';
        break;
      }
      // Drained for continueAsNew: every batch claimed is recorded, the cursor is after the last of them.
      await claimed;
      await continueIfSuggested();
      draining = false;
      continue;
    }
    const finished = await Promise.race(inFlight.map((s) => s.done.then((outcomes) => ({ streaming: s, outcomes }))));
    inFlight.splice(inFlight.indexOf(finished.streaming), 1);
    const { batch } = finished.streaming;
    const { outcomes } = finished;
    await recording;
    recording = record(
      outcomes instanceof ActivityFailure
        ? catalog.recordFailedBatch({
            runId,
            fileIds: batch.items.map((i) => i.fileId),
            finished: finishedBeforeFailing(outcomes),
            message: `${outcomes.message}: ${outcomes.cause?.message}`,
          })
        : catalog.recordTransferOutcomes({ runId, outcomes }),
    );
    draining ||= workflowInfo().continueAsNewSuggested;
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
  return summary;
}
