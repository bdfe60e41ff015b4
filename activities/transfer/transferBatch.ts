import { Context } from '@temporalio/activity';
import type { AccountMetrics } from '../../common/metrics';
import type { TransferBatchProgress, TransferItem, TransferOutcome } from '../../common/types';
import { type DriveSlots, DriveTurn } from './driveSlots';
import { CheckpointStore, type LargeFileCheckpoint } from './largeFileCheckpoints';
import { TransferMeter } from './stallWatch';
import type { TransferDeps } from './transferDeps';
import { transferFile } from './transferFile';

/** What a transfer batch heartbeats: a retry after a crash skips the files done and resumes the large ones. */
type BatchProgress = TransferBatchProgress<LargeFileCheckpoint>;

/** The counters of what transfers wrote, and gave up. */
export type TransferMetrics = Pick<AccountMetrics, 'filesTransferred' | 'bytesTransferred' | 'failures'>;

/** Counts a file's outcome once it is final: each object written and verified, each destination given up. */
function countOutcome(metrics: TransferMetrics, outcome: TransferOutcome): void {
  for (const object of outcome.stored) {
    metrics.filesTransferred.inc({ destination: object.destination });
    metrics.bytesTransferred.inc({ destination: object.destination }, object.size);
  }
  const { failure } = outcome;
  for (const destination of failure?.destinations ?? []) metrics.failures.inc({ destination, reason: failure!.reason });
}

/** Rejects with the signal's reason once it fires. */
const abortOf = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

/**
 * The transfer activity: copies a batch of files with a few running at once, heartbeating while its
 * streams move, so a dead worker is noticed within the heartbeat timeout. Stateless: it reads no catalog,
 * it returns outcomes. Cancelling it aborts every request in flight.
 */
export async function transferBatch(
  deps: Omit<TransferDeps, 'checkpoints' | 'signal' | 'meter'> & { slots: DriveSlots; metrics?: TransferMetrics },
  items: TransferItem[],
): Promise<TransferOutcome[]> {
  const ctx = Context.current();
  const previous = ctx.info.heartbeatDetails as BatchProgress | undefined;
  const finished: Record<number, TransferOutcome> = { ...previous?.finished };
  const checkpoints = new CheckpointStore(previous?.checkpoints);
  const meter = new TransferMeter(previous?.bytesMoved ?? 0);
  if (previous) {
    const resumed = {
      attempt: ctx.info.attempt,
      finished: Object.keys(finished).length,
      checkpoints: Object.keys(previous.checkpoints).length,
    };
    deps.logger.info({ event: 'transfer.batch_resumed', ...resumed }, 'retrying a transfer batch from its last heartbeat');
  }
  const fileDeps: Omit<TransferDeps, 'driveTurn'> = { ...deps, checkpoints, meter, signal: ctx.cancellationSignal };
  const todo = items.map((_, i) => i).filter((i) => !(i in finished));
  let next = 0;
  let silent = false;
  const turns = { waiting: 0 };
  const held = new Set<DriveTurn>();
  let progress = { bytes: meter.bytesMoved, finished: 0, at: Date.now() };
  // On a timer, not per file: the details grow with the batch, and serializing them per small file costs
  // more than redoing two seconds of work after a crash. The batch goes silent, and Temporal's heartbeat
  // timeout retries it, when a wait on Drive outlived its stall abort by far (nothing here can end it), or
  // when neither a byte nor a file moved for five stall timeouts: a destination that hangs (a dead NAS
  // mount) holds the stream back without failing. Backoffs between tries last a minute at most.
  const beat = setInterval(() => {
    const now = Date.now();
    const finishedCount = Object.keys(finished).length;
    if (meter.bytesMoved !== progress.bytes) deps.slots.lastProgressAt = now;
    if (meter.bytesMoved !== progress.bytes || finishedCount !== progress.finished)
      progress = { bytes: meter.bytesMoved, finished: finishedCount, at: now };
    // A file waiting for a Drive slot while the worker's other batch moves bytes is not stuck; when no batch
    // moves any (a destination that hangs holds every slot's stream back), it is.
    if (turns.waiting > 0 && now - deps.slots.lastProgressAt <= 5 * deps.stallTimeoutMs) progress.at = now;
    const waitedMs = meter.longestWaitMs(now);
    const idleMs = now - progress.at;
    if (waitedMs <= 2 * deps.stallTimeoutMs && idleMs <= 5 * deps.stallTimeoutMs) {
      silent = false;
      ctx.heartbeat({ finished, checkpoints: checkpoints.snapshot(), bytesMoved: meter.bytesMoved } satisfies BatchProgress);
    } else if (!silent) {
      silent = true;
      const event = { event: 'transfer.batch_stuck', attempt: ctx.info.attempt, waitedMs, idleMs };
      deps.logger.error(
        event,
        'the batch stopped moving (a Drive wait past its stall abort, or a destination that hangs); no more heartbeats',
      );
    }
  }, 2_000);
  try {
    // Twice as many files as Drive slots: while one waits on Drive, another finishes its uploads.
    const lanes = Array.from({ length: Math.min(2 * deps.slots.size, todo.length) }, async () => {
      while (next < todo.length) {
        ctx.cancellationSignal.throwIfAborted();
        const i = todo[next++];
        const driveTurn = new DriveTurn(deps.slots, turns);
        held.add(driveTurn);
        try {
          finished[i] = await transferFile({ ...fileDeps, driveTurn }, items[i]);
          // Files a retried batch finished before (from its heartbeat) are not run, nor counted, again.
          if (deps.metrics) countOutcome(deps.metrics, finished[i]);
        } finally {
          driveTurn.give();
          held.delete(driveTurn);
        }
      }
    });
    // A cancelled batch ends at once, even with a lane stuck on a request that ignores the abort.
    await Promise.race([Promise.all(lanes), abortOf(ctx.cancellationSignal)]);
  } finally {
    clearInterval(beat);
    // A lane stuck on a request that ignores the abort must not keep a slot the worker's other batches need.
    for (const turn of held) turn.give();
  }
  return items.map((_, i) => finished[i]);
}
