import { Context } from '@temporalio/activity';
import type { TransferItem, TransferOutcome } from '../../common/types';
import { TransferDeps, transferFile } from './transferFile';

/**
 * The transfer activity: copies a batch of files with a few running at once, heartbeating so a dead
 * worker is noticed within the heartbeat timeout. Stateless: it reads no catalog, it returns outcomes.
 */
export async function transferBatch(deps: TransferDeps & { concurrency: number }, items: TransferItem[]): Promise<TransferOutcome[]> {
  const ctx = Context.current();
  const outcomes: TransferOutcome[] = new Array(items.length);
  let next = 0;
  let done = 0;
  // A single large file can take longer than the heartbeat timeout: beat on a timer, not only per file.
  const beat = setInterval(() => ctx.heartbeat({ done }), 5_000);
  try {
    const lanes = Array.from({ length: Math.min(deps.concurrency, items.length) }, async () => {
      while (next < items.length) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        const i = next++;
        outcomes[i] = await transferFile(deps, items[i]);
        done++;
        ctx.heartbeat({ done });
      }
    });
    await Promise.all(lanes);
  } finally {
    clearInterval(beat);
  }
  return outcomes;
}
