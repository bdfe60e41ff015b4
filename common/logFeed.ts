/** One log line as the feed keeps it: its JSON text, and a number that orders it (an SSE event id). */
export interface FeedLine {
  seq: number;
  line: string;
}

type Subscriber = (entry: FeedLine) => void;

/**
 * The process's recent log lines, and whoever listens for the next ones: a pino destination (`createLogger`'s `feed`),
 * so what it receives is already redacted. A bounded ring: a client that connects sees the last `capacity` lines, then
 * the live ones; nothing grows with uptime.
 */
export class LogFeed {
  private readonly ring: FeedLine[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private seq = 0;

  constructor(readonly capacity = 500) {}

  /** pino's destination interface: one chunk holds one or more newline-terminated lines. */
  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      const entry = { seq: ++this.seq, line };
      this.ring.push(entry);
      if (this.ring.length > this.capacity) this.ring.shift();
      for (const subscriber of this.subscribers) {
        // A listener that throws (a closed connection) must never break logging for the rest of the process.
        try {
          subscriber(entry);
        } catch {
          this.subscribers.delete(subscriber);
        }
      }
    }
  }

  /** The lines kept, oldest first; only those after `afterSeq` when given (a client resuming with Last-Event-ID). */
  recent(afterSeq = 0): FeedLine[] {
    return afterSeq > 0 ? this.ring.filter((e) => e.seq > afterSeq) : [...this.ring];
  }

  /** Calls `subscriber` with every line written from now on; returns the function that stops it. */
  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** The number of the last line written; 0 before the first. */
  get lastSeq(): number {
    return this.seq;
  }

  get listeners(): number {
    return this.subscribers.size;
  }
}
