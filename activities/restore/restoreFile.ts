import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, lstat, rename, rm } from 'node:fs/promises';
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

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
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

/**
 * Streams one object into a partial file in its target folder, hashing it on the way, and only when its size and
 * SHA-256 are the recorded ones gives it its final name: nothing unchecked is ever left under a final name. A file
 * already there is left alone unless `overwrite` (and with it, is replaced in one rename). Problems with this file
 * are its outcome, not a throw; only a cancelled activity throws.
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
  try {
    for (let earlier = 1; earlier < ctx.attempt; earlier++)
      await rm(join(folder, partialName(ctx.restoreId, object.key, earlier)), { force: true });
    if (!ctx.overwrite && (await exists(finalPath))) return { kind: 'skipped-existing' };
    const read = await readInto(ctx, object, partial);
    if (read.size !== object.size || read.sha256 !== object.sha256) {
      return failed(
        'mismatch',
        `expected ${object.size} bytes with SHA-256 ${object.sha256}, read ${read.size} bytes with SHA-256 ${read.sha256}`,
      );
    }
    return (await place(partial, finalPath, ctx.overwrite)) ? { kind: 'restored', bytes: read.size } : { kind: 'skipped-existing' };
  } catch (err) {
    ctx.signal.throwIfAborted();
    if (err instanceof FileProblem) return failed(err.kind, err.message);
    return failed('unwritable', `writing ${finalPath} failed: ${(err as Error).message}`);
  } finally {
    await rm(partial, { force: true });
  }
}

/** Reads the object into `partial` (made anew, never through a link), retrying a read that breaks; its size and SHA-256. */
async function readInto(ctx: RestoreFileContext, object: SelectedObject, partial: string): Promise<{ size: number; sha256: string }> {
  for (let attempt = 1; ; attempt++) {
    let body: Readable;
    try {
      body = await ctx.destination.read(object.key, { signal: ctx.signal, versionId: object.versionId ?? undefined });
    } catch (err) {
      ctx.signal.throwIfAborted();
      const version = object.versionId ? ` (version ${object.versionId})` : '';
      if (err instanceof ObjectMissingError) throw new FileProblem('missing', `${ctx.destination.name} holds no object${version}`);
      if (attempt >= READ_TRIES) throw new FileProblem('unreadable', (err as Error).message);
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS * attempt));
      continue;
    }
    const hashing = hashingPassThrough();
    hashing.stream.on('data', (chunk: Buffer) => ctx.onBytes(chunk.length));
    const file = createWriteStream(partial, { flags: 'wx', highWaterMark: WRITE_BUFFER_BYTES });
    // Whichever side errs first is the cause: the pipeline then errs the other with it.
    let firstFailed: 'read' | 'write' | undefined;
    body.once('error', () => (firstFailed ??= 'read'));
    file.once('error', () => (firstFailed ??= 'write'));
    try {
      await pipeline(body, hashing.stream, file);
      return hashing.result();
    } catch (err) {
      ctx.signal.throwIfAborted();
      await rm(partial, { force: true });
      // A local write failing (a full disk, no permission) is not worth another read.
      if (firstFailed === 'write') throw err;
      if (attempt >= READ_TRIES) throw new FileProblem('unreadable', `the read broke off: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS * attempt));
    }
  }
}

/**
 * Gives the checked partial file its final name. With `overwrite`, one rename replaces whatever is there. Without,
 * a hard link makes the name only if nothing holds it (a file that appeared meanwhile is left alone); where the
 * filesystem has no hard links, a look and a rename do. False when the name was taken.
 */
async function place(partial: string, finalPath: string, overwrite: boolean): Promise<boolean> {
  if (overwrite) {
    await rename(partial, finalPath);
    return true;
  }
  try {
    await link(partial, finalPath);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errorCode(err) ?? '')) throw err;
  }
  if (await exists(finalPath)) return false;
  await rename(partial, finalPath);
  return true;
}
