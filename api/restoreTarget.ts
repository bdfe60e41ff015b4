import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A restore target the API refuses: outside `api.restoreRoot`, or not a plain relative path. */
export class RestoreTargetError extends Error {}

/** `api.restoreRoot` names no folder of this host: the configuration, not the request, is wrong. */
export class RestoreRootMissingError extends Error {}

const ENOENT = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

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
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new RestoreTargetError('target: a part of it is a file, not a folder');
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
