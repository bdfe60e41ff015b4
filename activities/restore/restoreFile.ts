import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, linkSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RestoreProblem, RestoreProblemKind } from '../../common/restoreTypes';
import type { SelectedObject } from '../catalog/restoreSelection';
import { hashingPassThrough } from '../dump/manifestFile';
import { type Destination, ObjectMissingError } from '../storage/destination';
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

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code;
/** Filesystems without hard links (FAT, some network shares) answer link() with one of these. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** The partial file of one attempt: hidden, named after the restore and the key, never a final name. */
function partialName(restoreId: string, key: string, attempt: number): string {
  const id = createHash('sha256').update(`${restoreId}\n${key}`).digest('hex').slice(0, 16);
  return `.drive-vault-restore-${id}.${attempt}.partial`;
}

/*
 * The small file-system calls below (lstat, link, rename, unlink, and a small file's open and write) are synchronous:
 * each takes microseconds on a local disk, and through libuv's thread pool each cost a thread hand-off that, measured
 * on 2,000 files of 32 KB, doubled the system time of a restore. Large files stream through asynchronous writes.
 */

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
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
  let folder: { path: string; made: boolean };
  try {
    segments = targetSegments(object.key, ctx.accountKey);
    folder = await ctx.target.folder(segments.slice(0, -1));
  } catch (err) {
    if (err instanceof UnsafeTargetError) return failed('unsafe', err.message);
    return failed('unwritable', `cannot make its folder: ${(err as Error).message}`);
  }
  if (!object.sha256) return failed('unchecked', 'no SHA-256 was recorded for this object, so its bytes cannot be checked');
  const finalPath = join(folder.path, segments.at(-1)!);
  const partial = join(folder.path, partialName(ctx.restoreId, object.key, ctx.attempt));
  try {
    for (let earlier = 1; earlier < ctx.attempt; earlier++)
      removeIfThere(join(folder.path, partialName(ctx.restoreId, object.key, earlier)));
    // A folder this restore made held no file before it: nothing to look for.
    if (!ctx.overwrite && !folder.made && exists(finalPath)) return { kind: 'skipped-existing' };
    const size =
      object.size !== null && object.size <= WHOLE_READ_MAX_BYTES
        ? await readWholeInto(ctx, object, partial)
        : await streamInto(ctx, object, partial);
    return place(partial, finalPath, ctx.overwrite) ? { kind: 'restored', bytes: size } : { kind: 'skipped-existing' };
  } catch (err) {
    ctx.signal.throwIfAborted();
    if (err instanceof FileProblem) return failed(err.kind, err.message);
    return failed('unwritable', `writing ${finalPath} failed: ${(err as Error).message}`);
  } finally {
    try {
      removeIfThere(partial);
    } catch {
      // Left behind under its hidden partial name, never a final one; the next attempt of the page removes it.
    }
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

/** Reads a small object whole (never past one byte more than recorded), checks it, and writes it to `partial`. */
async function readWholeInto(ctx: RestoreFileContext, object: SelectedObject, partial: string): Promise<number> {
  const limit = object.size ?? 0;
  for (let attempt = 1; ; attempt++) {
    const body = await openObject(ctx, object, attempt);
    if (!body) continue;
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        ctx.onBytes(chunk.length);
        hash.update(chunk);
        if (size > limit) {
          body.destroy();
          throw new FileProblem('mismatch', `expected ${object.size} bytes with SHA-256 ${object.sha256}, read more than ${limit} bytes`);
        }
        chunks.push(chunk);
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
    // Made anew ('wx'): never opened through a link someone put there.
    const fd = openSync(partial, 'wx');
    try {
      for (const chunk of chunks) for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
    } finally {
      closeSync(fd);
    }
    return size;
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

/**
 * Gives the checked partial file its final name. With `overwrite`, one rename replaces whatever is there. Without,
 * a hard link makes the name only if nothing holds it (a file that appeared meanwhile is left alone); where the
 * filesystem has no hard links, a look and a rename do. False when the name was taken.
 */
function place(partial: string, finalPath: string, overwrite: boolean): boolean {
  if (overwrite) {
    renameSync(partial, finalPath);
    return true;
  }
  try {
    linkSync(partial, finalPath);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errorCode(err) ?? '')) throw err;
  }
  if (exists(finalPath)) return false;
  renameSync(partial, finalPath);
  return true;
}
