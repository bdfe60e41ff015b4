/**
 * The Drive downloads a transfer worker has open at once (`transfer.concurrency`), shared by every batch it
 * runs. A file holds a slot while its bytes come from Drive and gives it up before its uploads' last round
 * trips and the HEADs that confirm them, so the next file's Drive request overlaps them: Drive's latency,
 * not ours, sets the pace.
 */
export class DriveSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  /** When some batch of this worker last moved bytes: a batch waiting for a slot meanwhile is not stuck. */
  lastProgressAt = Date.now();

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Resolves with a slot; rejects with the signal's reason if it fires first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Hands the slot to the longest waiter, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** One file's hold on a slot, taken before each try's Drive request and given up once, whichever path ends the try. */
export class DriveTurn {
  private held = false;

  constructor(
    private readonly slots: DriveSlots,
    /** The batch's count of files waiting for a slot. */
    private readonly batch: { waiting: number },
  ) {}

  async take(signal?: AbortSignal): Promise<void> {
    if (this.held) return;
    this.batch.waiting++;
    try {
      await this.slots.acquire(signal);
    } finally {
      this.batch.waiting--;
    }
    this.held = true;
  }

  give(): void {
    if (!this.held) return;
    this.held = false;
    this.slots.release();
  }
}
