import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A restore target the API refuses: outside `api.restoreRoot`, or not a plain relative path. */
export class RestoreTargetError extends Error {}

/** `api.restoreRoot` names no folder of this host: the configuration, not the request, is wrong. */
export class RestoreRootMissingError extends Error {}

const ENOENT = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** The longest file name Linux file systems take, in bytes. */
const NAME_MAX = 255;

/** What a file system refusal says about the target the request named: bad input, a 400, never a 500. */
const TARGET_REFUSALS: Record<string, string> = {
  ENOTDIR: 'a part of it is a file, not a folder',
  ENAMETOOLONG: 'a name in it, or the whole path, is longer than this file system allows',
  ELOOP: 'it goes through a loop of links',
  EACCES: 'this host may not read a folder on the way to it',
};

/** Whether `path` is `root` or below it. */
const within = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/** The nearest folder of `path` that exists, with its links resolved, and the part of `path` below it. */
async function existingAncestor(path: string): Promise<{ real: string; rest: string[] }> {
  const rest: string[] = [];
  let at = path;
  for (;;) {
    try {
      return { real: await realpath(at), rest };
    } catch (err) {
      const refusal = TARGET_REFUSALS[(err as NodeJS.ErrnoException).code ?? ''];
      if (refusal) throw new RestoreTargetError(`target: ${refusal}`);
      if (!ENOENT(err) || dirname(at) === at) throw err;
      rest.unshift(at.slice(dirname(at).length).replace(/^[/\\]+/, ''));
      at = dirname(at);
    }
  }
}

/**
 * The absolute folder a restore asked over HTTP writes into: `target` taken relative to `root`. Refused: an absolute
 * target, a `..` segment, a backslash or NUL, and a target whose existing part leads out of the root through a link
 * (checked on the real paths). The answer has the links of its existing part resolved, so the restore writes where
 * this check looked; the restore itself checks every folder it makes below it.
 */
export async function resolveRestoreTarget(root: string, target: string): Promise<string> {
  if (isAbsolute(target) || /^[A-Za-z]:/.test(target))
    throw new RestoreTargetError('target: must be relative to api.restoreRoot, not absolute');
  if (target.includes('\\') || target.includes('\0')) throw new RestoreTargetError('target: no backslash or NUL');
  if (target.split('/').includes('..')) throw new RestoreTargetError('target: no ".." segment: it must stay below api.restoreRoot');
  // Checked here, not left to the file system: a long name below a folder still to be made fails only in the restore.
  if (target.split('/').some((name) => Buffer.byteLength(name) > NAME_MAX))
    throw new RestoreTargetError(`target: ${TARGET_REFUSALS.ENAMETOOLONG} (${NAME_MAX} bytes a name)`);
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (err) {
    if (!ENOENT(err)) throw err;
    throw new RestoreRootMissingError(`api.restoreRoot ${root} does not exist on this host`);
  }
  const wanted = resolve(realRoot, target);
  const { real, rest } = await existingAncestor(wanted);
  if (!within(realRoot, real)) throw new RestoreTargetError('target: leads out of api.restoreRoot through a link');
  if (!(await stat(real)).isDirectory()) throw new RestoreTargetError('target: is a file, not a folder');
  return rest.length ? join(real, ...rest) : real;
}
