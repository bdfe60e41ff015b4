import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { StateFileDigest } from '../../common/types';
import { type ManifestLine, manifestLineSchema } from './manifestLine';

/** What a file written here is: its size and SHA-256, as stored. */
export type WrittenFile = StateFileDigest;

/** A pass-through that hashes and counts what flows through it. */
export function hashingPassThrough(): { stream: Transform; result: () => WrittenFile } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ size, sha256: hash.digest('hex') }) };
}

const CHUNK_CHARS = 256 * 1024;

/** Writes the lines as gzipped JSON Lines to `path`; returns the compressed file's size and SHA-256. */
export async function writeManifestFile(path: string, lines: Iterable<ManifestLine>): Promise<WrittenFile> {
  const hashing = hashingPassThrough();
  // Lines go to gzip in chunks of about 256 KB: one write per line costs more than the compression.
  const text = Readable.from(
    (function* () {
      let chunk = '';
      for (const line of lines) {
        chunk += `${JSON.stringify(line)}\n`;
        if (chunk.length >= CHUNK_CHARS) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    })(),
  );
  await pipeline(text, createGzip(), hashing.stream, createWriteStream(path, { mode: 0o600 }));
  return hashing.result();
}

/** A manifest that cannot be read: names the line and what is wrong with it. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Reads a gzipped manifest stream line by line, each validated; a bad line throws ManifestError naming it. */
export async function* readManifestLines(gzipped: Readable): AsyncGenerator<ManifestLine> {
  const gunzip = createGunzip();
  gzipped.on('error', (err) => gunzip.destroy(err));
  const lines = createInterface({ input: gzipped.pipe(gunzip), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ManifestError(`manifest line ${number} is not JSON: ${(err as Error).message}`);
    }
    const parsed = manifestLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ManifestError(`manifest line ${number}: ${issue.path.join('.') || '(line)'}: ${issue.message}`);
    }
    yield parsed.data;
  }
}
