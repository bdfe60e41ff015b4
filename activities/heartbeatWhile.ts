import { Context } from '@temporalio/activity';

/** How often a long catalog task tells Temporal that its worker is alive. */
const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Runs `work` with a heartbeat every few seconds: a task lost with a killed worker is then retried once its heartbeat
 * timeout passes, not after its whole start-to-close timeout. The heartbeat says only that the worker lives; a task
 * that hangs is still ended by its start-to-close timeout.
 */
export async function heartbeatWhile<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
