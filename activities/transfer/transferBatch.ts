import { Context } from '@temporalio/activity';
import type { TransferItem, TransferOutcome } from '../../common/types';
import { CheckpointStore, LargeFileCheckpoint } from './largeFileCheckpoints';
import { TransferMeter } from './stallWatch';
import type { TransferDeps } from './transferDeps';
import { transferFile } from './transferFile';

/** What a transfer batch heartbeats: a retry after a crash skips the files done and resumes the large ones. */
interface BatchProgress {
  /** Outcomes of the files finished so far, by position in the batch. */
  finished: Record<number, TransferOutcome>;
  checkpoints: Record<string, LargeFileCheckpoint>;
  /** Bytes read from Drive by this batch, over all its attempts. */
  bytesMoved: number;
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
  deps: Omit<TransferDeps, 'checkpoints' | 'signal' | 'meter'> & { concurrency: number },
  items: TransferItem[],
): Promise<TransferOutcome[]> {
  const ctx = Context.current();
  const previous = ctx.info.heartbeatDetails as BatchProgress | undefined;
  const finished: Record<number, TransferOutcome> = { ...previous?.finished };
  const checkpoints = new CheckpointStore(previous?.checkpoints);
  const meter = new TransferMeter(previous?.bytesMoved ?? 0);
  if (previous) {
    const resumed = { attempt: ctx.info.attempt, finished: Object.keys(finished).length, checkpoints: Object.keys(previous.checkpoints).length };
    deps.logger.info({ event: 'transfer.batch_resumed', ...resumed }, 'retrying a transfer batch from its last heartbeat');
  }
  const fileDeps: TransferDeps = { ...deps, checkpoints, meter, signal: ctx.cancellationSignal };
  const todo = items.map((_, i) => i).filter((i) => !(i in finished));
  let next = 0;
  let silent = false;
  // On a timer, not per file: the details grow with the batch, and serializing them per small file costs
  // more than redoing two seconds of work after a crash. A wait on Drive that outlived its stall abort
  // by far cannot be ended from here: the batch goes silent, and Temporal's heartbeat timeout retries it.
  const beat = setInterval(() => {
    const waitedMs = meter.longestWaitMs();
    if (waitedMs <= 2 * deps.stallTimeoutMs) {
      ctx.heartbeat({ finished, checkpoints: checkpoints.snapshot(), bytesMoved: meter.bytesMoved } satisfies BatchProgress);
    } else if (!silent) {
      silent = true;
      const event = { event: 'transfer.batch_stuck', attempt: ctx.info.attempt, waitedMs };
      deps.logger.error(event, 'a wait on Drive outlived its stall abort; no more heartbeats');
    }
  }, 2_000);
  try {
    const lanes = Array.from({ length: Math.min(deps.concurrency, todo.length) }, async () => {
      while (next < todo.length) {
        ctx.cancellationSignal.throwIfAborted();
        const i = todo[next++];
        finished[i] = await transferFile(fileDeps, items[i]);
      }
    });
    // A cancelled batch ends at once, even with a lane stuck on a request that ignores the abort.
    await Promise.race([Promise.all(lanes), abortOf(ctx.cancellationSignal)]);
  } finally {
    clearInterval(beat);
  }
  return items.map((_, i) => finished[i]);
}
