import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';
import type { CatalogActivities, TransferActivities } from '../activities';
import { type FullSyncTotals, type TransferBatchProgress, type TransferOutcome, addCounts } from '../common/types';

type PendingBatch = Awaited<ReturnType<CatalogActivities['claimPendingBatch']>>;
export type RecordedOutcomes = Awaited<ReturnType<CatalogActivities['recordTransferOutcomes']>>;

export interface TransferWindowOptions {
  catalog: Pick<CatalogActivities, 'claimPendingBatch' | 'recordTransferOutcomes' | 'recordFailedBatch'>;
  transfer: Pick<TransferActivities, 'transferBatch'>;
  runId: string;
  /** Claim pending files after this file id. */
  afterId: string;
  batchSize: number;
  batchesInFlight: number;
  /** A batch whose every try failed is recorded as failed files and the run goes on (else the run fails). */
  survivesCrashes: boolean;
  /** Called with each claimed batch (the first one counts what is pending) before it starts. */
  onClaimed(batch: PendingBatch): void;
  onRecorded(recorded: RecordedOutcomes): void;
  /** Whether to stop claiming and drain, for continue-as-new. */
  shouldDrain(): boolean;
  /** Called once drained: every claimed batch recorded, `afterId` past the last of them. Continues as new, or returns to go on. */
  onDrained(afterId: string): Promise<void>;
}

/** Totals with a recorded batch's counts added. */
export function withRecorded<T extends FullSyncTotals>(totals: T, recorded: RecordedOutcomes): T {
  return {
    ...totals,
    filesSynced: totals.filesSynced + recorded.synced,
    filesFailed: totals.filesFailed + recorded.failed,
    filesDeferred: totals.filesDeferred + recorded.deferred,
    bytes: totals.bytes + recorded.bytes,
    verified: addCounts(totals.verified, recorded.verified ?? {}),
    verifiedWritten: addCounts(totals.verifiedWritten, recorded.verified ?? {}),
  };
}

/** The files a batch finished before its last try was lost, from that try's last heartbeat. */
function finishedBeforeFailing(failure: ActivityFailure): TransferOutcome[] {
  const progress =
    failure.cause instanceof TimeoutFailure ? (failure.cause.lastHeartbeatDetails as TransferBatchProgress | undefined) : undefined;
  return Object.values(progress?.finished ?? {});
}

/**
 * Transfers every pending file, keeping `batchesInFlight` batches streaming so several transfer workers share the
 * work. The next batch is claimed, and finished ones recorded, while batches stream: the transfer lanes do not wait
 * for the catalog between batches. A claim records keys, skips and the run's claim, nothing a second claim of the
 * same files would do differently, so one dropped at continueAsNew is simply made again. Returns the cursor after
 * the last file claimed once everything pending is recorded.
 */
export async function transferPendingFiles(o: TransferWindowOptions): Promise<string> {
  const { catalog, runId } = o;
  let afterId = o.afterId;
  let claimed = catalog.claimPendingBatch({ afterId, limit: o.batchSize, countPending: true, runId });
  let recording = Promise.resolve();
  const record = async (recordedOutcomes: Promise<RecordedOutcomes>) => o.onRecorded(await recordedOutcomes);
  type Streaming = { batch: PendingBatch; done: Promise<TransferOutcome[] | ActivityFailure> };
  const inFlight: Streaming[] = [];
  let claimedAll = false;
  let draining = false;
  for (;;) {
    while (!claimedAll && !draining && inFlight.length < o.batchesInFlight) {
      const batch = await claimed;
      o.onClaimed(batch);
      if (batch.items.length === 0) {
        claimedAll = true;
        break;
      }
      const done = o.transfer.transferBatch(batch.items).catch((err: unknown) => {
        // Every try of the batch died (workers killed, a file that crashes its worker): its files fail, for the
        // next run to retry, and this run goes on with the next batch.
        if (!o.survivesCrashes || !(err instanceof ActivityFailure)) throw err;
        return err;
      });
      inFlight.push({ batch, done });
      claimed = catalog.claimPendingBatch({ afterId: batch.nextAfterId, limit: o.batchSize, runId });
      afterId = batch.nextAfterId;
    }
    if (inFlight.length === 0) {
      await recording;
      if (claimedAll) return afterId;
      // Drained for continueAsNew: every batch claimed is recorded, the cursor is after the last of them.
      await claimed;
      await o.onDrained(afterId);
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
    draining ||= o.shouldDrain();
  }
}
