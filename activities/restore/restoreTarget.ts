import { mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, sep } from 'node:path';

/** A key or folder that would put a file outside the target directory. */
export class UnsafeTargetError extends Error {
  override name = 'UnsafeTargetError';
}

/**
 * The path segments a key becomes below the target: what follows `drive/<account>/`. Keys are made safe when they are
 * given (DESIGN.md section 7), but a restore reads them from a catalog or a manifest that may have been tampered
 * with: a key with an empty, `.` or `..` segment, a backslash or a NUL, or one not below the account, is refused.
 */
export function targetSegments(key: string, accountKey: string): string[] {
  if (!key.startsWith(`${accountKey}/`)) throw new UnsafeTargetError(`the key is not below ${accountKey}/`);
  const segments = key.slice(accountKey.length + 1).split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new UnsafeTargetError(`the key has an empty, "." or ".." segment`);
    }
    if (segment.includes('\\') || segment.includes('\0')) throw new UnsafeTargetError('the key has a backslash or a NUL');
  }
  return segments;
}

const ENOENT = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
const EEXIST = (err: unknown) => (err as NodeJS.ErrnoException).code === 'EEXIST';

/** `path` with the links of its longest existing part resolved, the rest as written. */
async function existingRealPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (!ENOENT(err) || dirname(path) === path) throw err;
    return join(await existingRealPath(dirname(path)), basename(path));
  }
}

/**
 * The target directory of a restore. Every folder below it is made one segment at a time, and each is resolved
 * through any symbolic links already there and checked to stay inside the target's own resolved path before anything
 * is made in it: a link in the target that points elsewhere makes the files below it refused, and nothing is ever
 * created outside.
 */
export class RestoreTarget {
  /** Folders already checked, by their path below the target. */
  private readonly checked = new Map<string, string>();

  private constructor(
    /** The target as given. */
    readonly dir: string,
    /** The target with its links resolved. */
    private readonly real: string,
  ) {}

  /**
   * Makes the target directory (and its parents: the user named it) unless it exists. With `within`, the target must
   * resolve inside that folder, before anything is made and once made.
   */
  static async open(dir: string, within?: string): Promise<RestoreTarget> {
    if (!isAbsolute(dir)) throw new UnsafeTargetError(`the target directory must be an absolute path, not "${dir}"`);
    const root = within === undefined ? undefined : await realpath(within).catch(() => undefined);
    if (within !== undefined && root === undefined) throw new UnsafeTargetError(`${within}, the folder the target must stay in, is gone`);
    const staysInside = (path: string) => root === undefined || path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
    if (!staysInside(await existingRealPath(dir))) throw new UnsafeTargetError(`${dir} leads outside ${within}`);
    await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (!staysInside(real)) throw new UnsafeTargetError(`${dir} leads outside ${within}, to ${real}`);
    return new RestoreTarget(dir, real);
  }

  /**
   * The resolved path of the folder `segments` below the target, made if missing; throws UnsafeTargetError if it leads
   * out of the target. Checked once per restore page: the caller checks it again before it writes there.
   */
  async folder(segments: string[]): Promise<string> {
    let path = this.real;
    for (let i = 0; i < segments.length; i++) {
      const below = segments.slice(0, i + 1).join('/');
      const cached = this.checked.get(below);
      if (cached) {
        path = cached;
        continue;
      }
      const wanted = join(path, segments[i]);
      try {
        await mkdir(wanted);
      } catch (err) {
        if (!EEXIST(err)) throw err;
      }
      let resolved: string;
      try {
        resolved = await realpath(wanted);
      } catch (err) {
        // A dangling link: it leads nowhere inside the target.
        if (ENOENT(err)) throw new UnsafeTargetError(`${join(this.dir, below)} is a link to nothing`);
        throw err;
      }
      if (!resolved.startsWith(this.real.endsWith(sep) ? this.real : this.real + sep)) {
        throw new UnsafeTargetError(`${join(this.dir, below)} leads outside the target directory, to ${resolved}`);
      }
      this.checked.set(below, resolved);
      path = resolved;
    }
    return path;
  }
}
