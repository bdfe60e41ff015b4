import { createHash } from 'node:crypto';
import { createWriteStream, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RestoreProblem, RestoreProblemKind } from '../../common/restoreTypes';
import type { SelectedObject } from '../catalog/restoreSelection';
import { hashingPassThrough } from '../dump/manifestFile';
import { type Destination, ObjectMissingError } from '../storage/destination';
import { exists, placeFile, removeIfThere } from './placeFile';
import { type RestoreTarget, UnsafeTargetError, targetSegments } from './restoreTarget';

export type FileOutcome = { kind: 'restored'; bytes: number } | { kind: 'skipped-existing' } | { kind: 'failed'; problem: RestoreProblem };

export interface RestoreFileContext {
  destination: Destination;
  target: RestoreTarget;
  /** `drive/<account>`: keys below it are restored below the target. */
  accountKey: string;
  overwrite: boolean;
  /** Names this restore's partial files, so a retried attempt finds and removes its predecessors'. */
  restoreId: string;
  attempt: number;
  signal: AbortSignal;
  onBytes(n: number): void;
}

/** Tries of one object's read when the destination errors or the stream breaks (the SDK retries each request too). */
const READ_TRIES = 3;
const READ_RETRY_DELAY_MS = 1_000;
/**
 * Objects up to this size are read whole into memory (8 files at once: a few MiB at most), checked, and only then
 * written, in one write: a mismatch writes nothing, and a small file costs a handful of system calls.
 */
const WHOLE_READ_MAX_BYTES = 1024 * 1024;
/** Big enough that a large file goes to disk in few writes, small enough to keep 8 files' buffers negligible. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** The partial file of one attempt: hidden, named after the restore and the key, never a final name. */
function partialName(restoreId: string, key: string, attempt: number): string {
  const id = createHash('sha256').update(`${restoreId}\n${key}`).digest('hex').slice(0, 16);
  return `.drive-vault-restore-${id}.${attempt}.partial`;
}

class FileProblem extends Error {
  constructor(
    readonly kind: RestoreProblemKind,
    message: string,
  ) {
    super(message);
  }
}

const mismatch = (object: SelectedObject, read: { size: number; sha256: string }) =>
  new FileProblem(
    'mismatch',
    `expected ${object.size} bytes with SHA-256 ${object.sha256}, read ${read.size} bytes with SHA-256 ${read.sha256}`,
  );

/**
 * Brings one object back into its target folder, checked: its bytes go to a partial file of this attempt's own, and
 * only when their size and SHA-256 are the recorded ones does the file get its final name: nothing unchecked is ever
 * left under a final name. A small object is read whole and checked before anything is written; a larger one is
 * streamed, hashed on the way. A file already there is left alone unless `overwrite` (and with it, is replaced in one
 * rename). Problems with this file are its outcome, not a throw; only a cancelled activity throws.
 */
export async function restoreFile(ctx: RestoreFileContext, object: SelectedObject): Promise<FileOutcome> {
  const failed = (kind: RestoreProblemKind, reason: string): FileOutcome => ({
    kind: 'failed',
    problem: { key: object.key, path: object.path, kind, reason },
  });
  let segments: string[];
  let folder: string;
  try {
    segments = targetSegments(object.key, ctx.accountKey);
    folder = await ctx.target.folder(segments.slice(0, -1));
  } catch (err) {
    if (err instanceof UnsafeTargetError) return failed('unsafe', err.message);
    return failed('unwritable', `cannot make its folder: ${(err as Error).message}`);
  }
  if (!object.sha256) return failed('unchecked', 'no SHA-256 was recorded for this object, so its bytes cannot be checked');
  const finalPath = join(folder, segments.at(-1)!);
  const partial = join(folder, partialName(ctx.restoreId, object.key, ctx.attempt));
  const replace = ctx.overwrite;
  // The folder was checked when first met; something may have put a link in its place since: check it again, before
  // writing into it and before naming the file, so nothing is ever written outside the target.
  const stillInside = () => {
    if (realpathSync(folder) !== folder) {
      throw new FileProblem('unsafe', `${folder} no longer leads where it did when checked (replaced by a link?)`);
    }
  };
  try {
    stillInside();
    for (let earlier = 1; earlier < ctx.attempt; earlier++) removeIfThere(join(folder, partialName(ctx.restoreId, object.key, earlier)));
    if (!replace && exists(finalPath)) return { kind: 'skipped-existing' };
    const small = object.size !== null && object.size <= WHOLE_READ_MAX_BYTES;
    const data = small ? await readWhole(ctx, object) : undefined;
    if (!data) await streamInto(ctx, object, partial);
    stillInside();
    if (placeFile(partial, finalPath, replace, data)) return { kind: 'restored', bytes: object.size ?? 0 };
    removeIfThere(partial);
    return { kind: 'skipped-existing' };
  } catch (err) {
    try {
      removeIfThere(partial);
    } catch {
      // Left behind under its hidden partial name, never a final one; the next attempt of the page removes it.
    }
    ctx.signal.throwIfAborted();
    if (err instanceof FileProblem) return failed(err.kind, err.message);
    return failed('unwritable', `writing ${finalPath} failed: ${(err as Error).message}`);
  }
}

const delay = (attempt: number) => new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS * attempt));

/** Opens the object for reading (the version the selection names), retrying a destination that errs. */
async function openObject(ctx: RestoreFileContext, object: SelectedObject, attempt: number): Promise<Readable | undefined> {
  try {
    return await ctx.destination.read(object.key, { signal: ctx.signal, versionId: object.versionId ?? undefined });
  } catch (err) {
    ctx.signal.throwIfAborted();
    const version = object.versionId ? ` (version ${object.versionId})` : '';
    if (err instanceof ObjectMissingError) throw new FileProblem('missing', `${ctx.destination.name} holds no object${version}`);
    if (attempt >= READ_TRIES) throw new FileProblem('unreadable', (err as Error).message);
    await delay(attempt);
    return undefined;
  }
}

/** Reads a small object whole (never past its recorded size) and checks it. */
async function readWhole(ctx: RestoreFileContext, object: SelectedObject): Promise<Buffer[]> {
  const limit = object.size ?? 0;
  for (let attempt = 1; ; attempt++) {
    const body = await openObject(ctx, object, attempt);
    if (!body) continue;
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        ctx.onBytes(chunk.length);
        if (size + chunk.length > limit) {
          body.destroy();
          throw new FileProblem('mismatch', `expected ${object.size} bytes with SHA-256 ${object.sha256}, read more than ${limit} bytes`);
        }
        hash.update(chunk);
        chunks.push(chunk);
        size += chunk.length;
      }
    } catch (err) {
      ctx.signal.throwIfAborted();
      if (err instanceof FileProblem) throw err;
      if (attempt >= READ_TRIES) throw new FileProblem('unreadable', `the read broke off: ${(err as Error).message}`);
      await delay(attempt);
      continue;
    }
    const sha256 = hash.digest('hex');
    if (size !== object.size || sha256 !== object.sha256) throw mismatch(object, { size, sha256 });
    return chunks;
  }
}

/** Streams a large object into `partial` (made anew, never through a link), hashing it; retries a read that breaks. */
async function streamInto(ctx: RestoreFileContext, object: SelectedObject, partial: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const body = await openObject(ctx, object, attempt);
    if (!body) continue;
    const hashing = hashingPassThrough();
    hashing.stream.on('data', (chunk: Buffer) => ctx.onBytes(chunk.length));
    const file = createWriteStream(partial, { flags: 'wx', highWaterMark: WRITE_BUFFER_BYTES });
    // Whichever side errs first is the cause: the pipeline then errs the other with it.
    let firstFailed: 'read' | 'write' | undefined;
    body.once('error', () => (firstFailed ??= 'read'));
    file.once('error', () => (firstFailed ??= 'write'));
    try {
      await pipeline(body, hashing.stream, file);
    } catch (err) {
      ctx.signal.throwIfAborted();
      removeIfThere(partial);
      // A local write failing (a full disk, no permission) is not worth another read.
      if (firstFailed === 'write') throw err;
      if (attempt >= READ_TRIES) throw new FileProblem('unreadable', `the read broke off: ${(err as Error).message}`);
      await delay(attempt);
      continue;
    }
    const read = hashing.result();
    if (read.size !== object.size || read.sha256 !== object.sha256) throw mismatch(object, read);
    return read.size;
  }
}
