import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Destination, UploadResult, VerifiedContent } from '../storage/destination';
import { type WrittenFile, hashingPassThrough } from './manifestFile';

/** A state object (dump, manifest, rollup) whose bytes on a destination are not what was written. */
export class StateObjectMismatchError extends Error {
  override name = 'StateObjectMismatchError';
}

/** Reads a whole stream through a hash: its size and SHA-256. */
export async function hashStream(stream: Readable): Promise<WrittenFile> {
  const hashing = hashingPassThrough();
  await pipeline(stream, hashing.stream, async (source: AsyncIterable<Buffer>) => {
    for await (const _ of source);
  });
  return hashing.result();
}

/** Size, SHA-256 and MD5 of a local file (S3 takes the MD5 as the upload's Content-MD5). */
async function digestFile(path: string): Promise<VerifiedContent> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha256.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: sha256.digest('hex'), md5: md5.digest('hex') };
}

/**
 * Uploads a local state file (a dump, its manifest, a rollup) under `key`, then verifies it: the HEAD's size and
 * stored SHA-256, then the bytes read back and hashed. A local file that no longer hashes as expected is not sent.
 * Throws StateObjectMismatchError naming what differs.
 */
export async function uploadStateFile(
  destination: Destination,
  input: { path: string; key: string; expected: WrittenFile; contentType: string },
): Promise<UploadResult> {
  const { expected } = input;
  const local = await digestFile(input.path);
  if (local.sha256 !== expected.sha256 || local.size !== expected.size) {
    throw new StateObjectMismatchError(
      `${input.path} has SHA-256 ${local.sha256} (${local.size} bytes), not the ${expected.sha256} it was written with`,
    );
  }
  const result = await destination.upload({
    key: input.key,
    body: createReadStream(input.path),
    size: expected.size,
    contentType: input.contentType,
    metadata: {
      driveFileId: '',
      drivePath: input.key,
      modifiedTime: new Date().toISOString(),
      version: '',
      md5: local.md5,
      sha256: expected.sha256,
    },
    verified: Promise.resolve(local),
  });
  await verifyStateObject(destination, input.key, expected);
  return result;
}

/**
 * Checks a state object on a destination: present, of the size and stored SHA-256 expected, and its bytes, read
 * back, hash to that SHA-256 (a HEAD alone misses bytes changed under unchanged metadata).
 */
export async function verifyStateObject(destination: Destination, key: string, expected: WrittenFile): Promise<void> {
  const where = `${destination.name}: ${destination.fullKey(key)}`;
  const head = await destination.head(key);
  if (!head) throw new StateObjectMismatchError(`${where} is missing`);
  if (head.size !== expected.size) throw new StateObjectMismatchError(`${where} holds ${head.size} bytes, ${expected.size} were written`);
  if (head.sha256 !== expected.sha256) {
    throw new StateObjectMismatchError(`${where} has SHA-256 ${head.sha256 ?? '(none)'} in its metadata, ${expected.sha256} was written`);
  }
  const read = await hashStream(await destination.read(key));
  if (read.size !== expected.size || read.sha256 !== expected.sha256) {
    throw new StateObjectMismatchError(
      `${where} reads back as ${read.size} bytes with SHA-256 ${read.sha256}, not the ${expected.size} bytes with SHA-256 ${expected.sha256} written`,
    );
  }
}
