import { createHash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import type { VerifiedContent } from '../storage/destination';

/** The bytes read do not match what Drive says the file is: a corrupted download, never to be recorded. */
export class CorruptDownloadError extends Error {
  override name = 'CorruptDownloadError';
}

export interface ExpectedContent {
  md5?: string | null;
  /** Checked too: an object's metadata carries Drive's SHA-256 from the start, so it must be the bytes' own. */
  sha256?: string | null;
  size?: number | null;
}

/** Why bytes read differ from what Drive says the file is, or undefined when they match. */
export function contentMismatch(
  expected: ExpectedContent,
  read: { size: number; md5: string; sha256: string },
): CorruptDownloadError | undefined {
  let problem: string | undefined;
  if (typeof expected.size === 'number' && expected.size !== read.size) problem = `read ${read.size} bytes, Drive says ${expected.size}`;
  else if (expected.md5 && expected.md5 !== read.md5) problem = `MD5 ${read.md5} differs from Drive's ${expected.md5}`;
  else if (expected.sha256 && expected.sha256 !== read.sha256) problem = `SHA-256 ${read.sha256} differs from Drive's ${expected.sha256}`;
  return problem ? new CorruptDownloadError(`corrupted download: ${problem}`) : undefined;
}

/**
 * Passes bytes through while computing MD5 and SHA-256. At the end it compares them with Drive's size,
 * MD5 and SHA-256; on a mismatch it fails instead of ending, so no destination ever completes the object.
 * The last chunk is held back until then: a destination told the exact length (a single S3 PUT) would otherwise
 * have every byte, and could complete the object, before the check.
 */
export class HashingVerifier extends Transform {
  readonly result: Promise<VerifiedContent>;
  private readonly md5 = createHash('md5');
  private readonly sha256 = createHash('sha256');
  private size = 0;
  private held?: Buffer;
  private settle!: { resolve: (v: VerifiedContent) => void; reject: (e: Error) => void };

  constructor(private readonly expected: ExpectedContent) {
    super();
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
    this.once('error', (err) => this.settle.reject(err));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.md5.update(chunk);
    this.sha256.update(chunk);
    this.size += chunk.length;
    // Fails before passing on a byte past Drive's size, which a destination told that length would cut off and keep.
    if (typeof this.expected.size === 'number' && this.size > this.expected.size) {
      done(new CorruptDownloadError(`corrupted download: more than the ${this.expected.size} bytes Drive says`));
      return;
    }
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    const md5 = this.md5.digest('hex');
    const sha256 = this.sha256.digest('hex');
    const err = contentMismatch(this.expected, { size: this.size, md5, sha256 });
    if (err) {
      this.settle.reject(err);
      done(err);
      return;
    }
    this.settle.resolve({ sha256, md5, size: this.size });
    done(null, this.held);
  }
}
