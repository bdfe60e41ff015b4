import { closeSync, linkSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code;
/** Filesystems without hard links (FAT, some network shares) answer link() with one of these. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/*
 * These file-system calls are synchronous: each takes microseconds on a local disk, where a trip through libuv's thread
 * pool costs a thread hand-off that, measured on 2,000 files of 32 KB, doubled the system time of a restore (and
 * moving them to worker threads of their own gained nothing measurable: creating files in one folder is serialized
 * by the kernel anyway).
 */

export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

export function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

/** Writes a file that must not exist yet ('wx': never opened through a link someone put there). */
function writeNew(path: string, chunks: Buffer[]): void {
  const fd = openSync(path, 'wx');
  try {
    for (const chunk of chunks) for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * Gives a checked partial file its final name. `replace` (--overwrite): one rename, over whatever is there. Otherwise
 * a hard link makes the name only if nothing holds it (a file that appeared meanwhile is left alone), then the partial
 * name goes; where the filesystem has no hard links, a look and a rename do. False when the name was taken. With `data`, the partial file is first written with it.
 */
export function placeFile(partial: string, finalPath: string, replace: boolean, data?: Buffer[]): boolean {
  if (data) writeNew(partial, data);
  if (replace) {
    renameSync(partial, finalPath);
    return true;
  }
  try {
    linkSync(partial, finalPath);
    removeIfThere(partial);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errorCode(err) ?? '')) throw err;
  }
  if (exists(finalPath)) return false;
  renameSync(partial, finalPath);
  return true;
}
