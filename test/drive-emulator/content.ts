import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * The bytes of a binary file. Large test files are generated on the fly from a seed so a 1 GB file
 * costs no memory; seeded directories are read from disk on demand.
 */
export type Content =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'file'; path: string; size: number }
  | { kind: 'generated'; size: number; seed: number };

export interface Hashes {
  md5: string;
  sha1: string;
  sha256: string;
}

export const bytesContent = (bytes: Buffer | string): Content => ({
  kind: 'bytes',
  bytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes),
});
export const fileContent = (path: string): Content => ({ kind: 'file', path, size: statSync(path).size });
export const generatedContent = (size: number, seed: number): Content => ({ kind: 'generated', size, seed });

export function contentSize(c: Content): number {
  return c.kind === 'bytes' ? c.bytes.length : c.size;
}

const BLOCK = 64 * 1024;

/**
 * The first `length` bytes of one deterministic 64 KiB block of generated content: xorshift32 from (seed, block
 * index). Only what is read is generated: a small file costs its own size, not a whole block.
 */
function generatedBlock(seed: number, index: number, length: number): Buffer {
  const block = Buffer.allocUnsafe(Math.ceil(length / 4) * 4);
  let x = (seed * 2654435761 + index * 40503 + 1) >>> 0 || 1;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    block.writeUInt32LE(x, i);
  }
  return block;
}

/** Streams bytes [start, end] (inclusive) of the content. */
export function readContent(c: Content, start = 0, end = contentSize(c) - 1): Readable {
  if (end < start) return Readable.from([]);
  if (c.kind === 'bytes') return Readable.from([c.bytes.subarray(start, end + 1)]);
  if (c.kind === 'file') return createReadStream(c.path, { start, end });
  const { seed } = c;
  return Readable.from(
    (function* () {
      for (let b = Math.floor(start / BLOCK); b * BLOCK <= end; b++) {
        const from = Math.max(start - b * BLOCK, 0);
        const to = Math.min(end - b * BLOCK + 1, BLOCK);
        const block = generatedBlock(seed, b, to);
        yield block.subarray(from, to);
      }
    })(),
  );
}

const hashCache = new WeakMap<Content, Hashes>();

/** MD5, SHA-1 and SHA-256 of the content, computed once per content object. */
export async function contentHashes(c: Content): Promise<Hashes> {
  const cached = hashCache.get(c);
  if (cached) return cached;
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  for await (const chunk of readContent(c)) {
    md5.update(chunk);
    sha1.update(chunk);
    sha256.update(chunk);
  }
  const hashes = { md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
  hashCache.set(c, hashes);
  return hashes;
}
