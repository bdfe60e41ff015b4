import { Transform, TransformCallback } from 'node:stream';

/**
 * A fault rule: requests whose `METHOD path?query` matches `match` (a regular expression) get the fault,
 * for the first `times` matches (or every match while `times` is unset), each with probability `rate`.
 */
export interface FaultRule {
  match: string;
  times?: number;
  /** 0 to 1; draws come from a seeded generator so a run repeats. */
  rate?: number;
  /** Answer this status (with `reason`, a Drive error; with `replaceBody`, that body) instead of the real reply. */
  status?: number;
  /** A body to answer with instead of the real one, e.g. a reply of the wrong shape. */
  replaceBody?: string;
  reason?: string;
  message?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Send this many bytes of the body, then cut the connection. */
  cutOffAfterBytes?: number;
  /** Send this many bytes of the body, then go silent with the connection open, until the client hangs up. */
  stallAfterBytes?: number;
  /** Flip bytes in the body, keeping its length, as a corrupted download would. */
  wrongBytes?: boolean;
  /** With `wrongBytes`: the first this many bytes of the body go out intact. */
  wrongBytesAfter?: number;
  /** Send the body no faster than this, as a slow network would. */
  bytesPerSecond?: number;
}

export interface ActiveFault extends FaultRule {
  id: number;
  fired: number;
}

export interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  range?: string;
  status: number;
  bytesSent: number;
  /** How sending the reply ended: `complete`, or `early` (the client hung up, or a fault cut it off). Unset while sending. */
  ended?: 'complete' | 'early';
  faultId?: number;
}

export class FaultTable {
  private rules: ActiveFault[] = [];
  private nextId = 1;
  private random: () => number;

  constructor(seed = 42) {
    let x = seed >>> 0 || 1;
    this.random = () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 2 ** 32;
    };
  }

  add(rule: FaultRule): ActiveFault {
    new RegExp(rule.match); // reject a bad pattern when the rule is added, not when a request arrives
    const active = { ...rule, id: this.nextId++, fired: 0 };
    this.rules.push(active);
    return active;
  }

  list(): ActiveFault[] {
    return this.rules.map((r) => ({ ...r }));
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule that fires for this request, counted as fired. */
  take(method: string, pathAndQuery: string): ActiveFault | undefined {
    const target = `${method} ${pathAndQuery}`;
    for (const rule of this.rules) {
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      if (!new RegExp(rule.match).test(target)) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      rule.fired++;
      return rule;
    }
    return undefined;
  }
}

/** Holds each slice of 64 KiB back until the bytes sent so far fit the rate: a large body trickles, it does not jump. */
export function throttleBytes(bytesPerSecond: number): Transform {
  const SLICE = 64 * 1024;
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const sendFrom = (offset: number) => {
        if (offset >= chunk.length) return done();
        const slice = chunk.subarray(offset, offset + SLICE);
        sent += slice.length;
        const wait = (sent / bytesPerSecond) * 1000 - (Date.now() - started);
        setTimeout(() => {
          this.push(slice);
          sendFrom(offset + SLICE);
        }, Math.max(0, wait));
      };
      sendFrom(0);
    },
  });
}

/** Flips one bit in every chunk past the first `after` bytes: the length stays right, the checksum does not. */
export function corruptBytes(after = 0): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const at = Math.max(0, after - seen);
      seen += chunk.length;
      if (at >= chunk.length) return done(null, chunk);
      const copy = Buffer.from(chunk);
      copy[at] ^= 0x01;
      done(null, copy);
    },
  });
}
