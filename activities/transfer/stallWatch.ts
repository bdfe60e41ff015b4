import type { Readable } from 'node:stream';

/** No byte came from Drive for the stall timeout: the try is given up, and the file retried. */
export class TransferStalledError extends Error {
  override name = 'TransferStalledError';
}

/**
 * What a transfer batch knows of its streams, for its heartbeats: the bytes read from Drive so far, and
 * the waits on Drive now pending, so it can tell one that outlived the abort meant to end it.
 */
export class TransferMeter {
  private readonly pendingSince = new Set<{ since: number }>();

  constructor(public bytesMoved = 0) {}

  moved(bytes: number): void {
    this.bytesMoved += bytes;
  }

  /** Counts a wait on Drive as pending until the returned function is called. */
  waitStarted(): () => void {
    const wait = { since: Date.now() };
    this.pendingSince.add(wait);
    return () => this.pendingSince.delete(wait);
  }

  /** How long the oldest pending wait on Drive has lasted, in milliseconds; 0 when none is pending. */
  longestWaitMs(now = Date.now()): number {
    let oldest = now;
    for (const wait of this.pendingSince) oldest = Math.min(oldest, wait.since);
    return now - oldest;
  }
}

/**
 * Times one try's waits on Drive (the reply, then each next chunk of the body). One that lasts the stall
 * timeout aborts the try's signal with a TransferStalledError; every request of the try carries that
 * signal, which also follows the activity's cancellation. Only waits on Drive are timed: a destination
 * that holds the stream back (backpressure, a part being written) is not Drive stalling, and an S3
 * request that stops moving fails on the S3 client's own idle timeout.
 */
export class StallWatch {
  readonly signal: AbortSignal;
  private readonly stall = new AbortController();

  constructor(
    private readonly timeoutMs: number,
    cancellation?: AbortSignal,
    private readonly meter?: TransferMeter,
  ) {
    this.signal = cancellation ? AbortSignal.any([cancellation, this.stall.signal]) : this.stall.signal;
  }

  async waitFor<T>(pending: Promise<T>): Promise<T> {
    const done = this.meter?.waitStarted();
    const stalled = () => this.stall.abort(new TransferStalledError(`no bytes from Drive for ${this.timeoutMs / 1000} s`));
    const timer = setTimeout(stalled, this.timeoutMs);
    try {
      return await pending;
    } finally {
      clearTimeout(timer);
      done?.();
    }
  }

  /** The body's chunks, each wait for the next one timed, counted in the meter as they come. */
  async *chunksOf(body: Readable): AsyncGenerator<Buffer> {
    const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.waitFor(chunks.next());
        if (next.done) return;
        this.meter?.moved(next.value.length);
        yield next.value;
      }
    } finally {
      // A reader that stops early closes the download.
      body.destroy();
    }
  }
}
