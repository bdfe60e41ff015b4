import { Context } from '@temporalio/activity';
import type { TransferItem, TransferOutcome } from '../../common/types';
import { CheckpointStore, LargeFileCheckpoint } from './largeFileCheckpoints';
import type { TransferDeps } from './transferDeps';
import { transferFile } from './transferFile';

/** What a transfer batch heartbeats: a retry after a crash skips the files done and resumes the large ones. */
interface BatchProgress {
  /** Outcomes of the files finished so far, by position in the batch. */
  finished: Record<number, TransferOutcome>;
  checkpoints: Record<string, LargeFileCheckpoint>;
}

/**
 * The transfer activity: copies a batch of files with a few running at once, heartbeating so a dead
 * worker is noticed within the heartbeat timeout. Stateless: it reads no catalog, it returns outcomes.
 */
export async function transferBatch(deps: Omit<TransferDeps, 'checkpoints'> & { concurrency: number }, items: TransferItem[]): Promise<TransferOutcome[]> {
  const ctx = Context.current();
  const previous = ctx.info.heartbeatDetails as BatchProgress | undefined;
  const finished: Record<number, TransferOutcome> = { ...previous?.finished };
  const checkpoints = new CheckpointStore(previous?.checkpoints);
  if (previous) {
    deps.logger.info({ event: 'transfer.batch_resumed', attempt: ctx.info.attempt, finished: Object.keys(finished).length, checkpoints: Object.keys(previous.checkpoints).length }, 'retrying a transfer batch from its last heartbeat');
  }
  const heartbeat = () => ctx.heartbeat({ finished, checkpoints: checkpoints.snapshot() } satisfies BatchProgress);
  const todo = items.map((_, i) => i).filter((i) => !(i in finished));
  let next = 0;
  // On a timer, not per file: the details grow with the batch, and serializing them per small file costs
  // more than redoing two seconds of work after a crash.
  const beat = setInterval(heartbeat, 2_000);
  try {
    const lanes = Array.from({ length: Math.min(deps.concurrency, todo.length) }, async () => {
      while (next < todo.length) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        const i = todo[next++];
        finished[i] = await transferFile({ ...deps, checkpoints }, items[i]);
      }
    });
    await Promise.all(lanes);
  } finally {
    clearInterval(beat);
  }
  return items.map((_, i) => finished[i]);
}
