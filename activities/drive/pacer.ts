/**
 * A token bucket that owns one process's Drive request rate (rclone's drive pacer): `requestsPerSecond` on
 * average, up to `burst` at once after a quiet spell. Callers take a turn before each request and never sleep on
 * their own. Written here because no rate limiter is among the dependencies, and a bucket is a dozen lines.
 */
export class DrivePacer {
  private readonly intervalMs: number;
  /** When the next turn is due; turns are handed out in call order, each one interval after the previous. */
  private nextTurnAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly requestsPerSecond: number,
    private readonly burst = Math.max(1, Math.floor(requestsPerSecond)),
  ) {
    this.intervalMs = 1000 / requestsPerSecond;
  }

  /** Resolves when this request may go; rejects with the signal's reason if it is aborted while waiting. */
  async take(signal?: AbortSignal | null): Promise<void> {
    signal?.throwIfAborted();
    const now = performance.now();
    // A quiet bucket fills up to `burst` turns, no further: unused time is not banked past that.
    const turnAt = Math.max(this.nextTurnAt, now - (this.burst - 1) * this.intervalMs);
    this.nextTurnAt = turnAt + this.intervalMs;
    const waitMs = turnAt - now;
    if (waitMs <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
