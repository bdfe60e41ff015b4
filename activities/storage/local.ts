import { createHash, randomUUID } from 'node:crypto';
import { type Dirent, constants, createWriteStream } from 'node:fs';
import { type FileHandle, copyFile, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { type Readable, addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import {
  type CopyRequest,
  type Destination,
  DestinationError,
  type ObjectHead,
  type ObjectMetadata,
  ObjectMissingError,
  type PartUpload,
  type PartUploadRequest,
  type ReadOptions,
  type UploadRequest,
  type UploadResult,
} from './destination';

/** Metadata lives in a parallel hidden tree, so the backup itself stays a plain browsable copy. */
const META_DIR = '.drive-vault-meta';

/** What the metadata file of an object holds: its metadata, with the SHA-256 and size of its bytes. */
type StoredMetadata = ObjectMetadata & { sha256: string; size: number };

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Key order is S3's: by UTF-8 bytes (which is also SQLite's default order). */
const byKey = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const keyTag = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 24);

/**
 * A temporary name beside the key's final path that no other attempt uses: two attempts at one file,
 * such as a retry and the attempt it replaced that still runs, never write the same file.
 */
function partialPathOf(finalPath: string, key: string): string {
  return join(dirname(finalPath), `.${keyTag(key)}.${randomUUID()}.partial`);
}

/** A part upload's resume token: the partial file of the attempt that wrote it, and the bytes it vouches for. */
const resumeTokenSchema = z.object({
  file: z.string().regex(/^\.[0-9a-f]{24}\.[0-9a-f-]{36}\.partial$/),
  bytes: z.number().int().nonnegative(),
});

/**
 * A local directory (NAS, external disk). Writes go to a temporary file, are fsynced, then renamed into
 * place, so a crash never leaves a half file under the final name and a bad download never replaces a
 * good copy.
 */
export class LocalDestination implements Destination {
  readonly renamesInPlace = true;
  readonly maxParts = Number.POSITIVE_INFINITY;
  private readonly root: string;

  constructor(
    readonly name: string,
    root: string,
  ) {
    this.root = resolve(root);
  }

  fullKey(key: string): string {
    return key;
  }

  /** A key's path below `base`; a key with a `.` or `..` segment, or one that would leave `base`, is refused. */
  private pathOf(key: string, base = this.root): string {
    const segments = key.split('/');
    const path = resolve(base, ...segments);
    if (segments.some((s) => s === '.' || s === '..') || relative(base, path).startsWith('..') || !path.startsWith(base + sep)) {
      throw new DestinationError(this.name, `key "${key}" would leave the backup directory`);
    }
    return path;
  }

  async upload(request: UploadRequest): Promise<UploadResult> {
    const finalPath = this.pathOf(request.key);
    await mkdir(dirname(finalPath), { recursive: true });
    const tmp = partialPathOf(finalPath, request.key);
    try {
      if (Buffer.isBuffer(request.body)) await writeFile(tmp, request.body, { flag: 'wx', mode: 0o600, signal: request.signal });
      else await pipeline(request.body, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }), { signal: request.signal });
      await fsyncPath(tmp);
      return await this.commit(tmp, request, await request.verified);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.writeError(request.key, err);
    }
  }

  /**
   * A part upload appends to this attempt's own partial file; each part is fsynced before it counts, and
   * the resume token names the file and the byte count to keep.
   */
  async beginPartUpload(request: PartUploadRequest, resumeToken?: unknown): Promise<PartUpload> {
    const finalPath = this.pathOf(request.key);
    const tmp = partialPathOf(finalPath, request.key);
    let bytes = 0;
    let handle: FileHandle;
    try {
      await mkdir(dirname(finalPath), { recursive: true });
      if (resumeToken === undefined) {
        await removePartials(dirname(finalPath), request.key);
        handle = await open(tmp, 'wx', 0o600);
      } else {
        const token = resumeTokenSchema.parse(resumeToken);
        if (!token.file.startsWith(`.${keyTag(request.key)}.`)) throw new Error(`${token.file} is not a partial file of this key`);
        bytes = token.bytes;
        handle = await takeOverPartial(join(dirname(finalPath), token.file), tmp, bytes);
      }
    } catch (err) {
      throw this.writeError(request.key, err);
    }
    return {
      writePart: async (_partNumber, part) => {
        try {
          request.signal?.throwIfAborted();
          await handle.write(part, 0, part.length, bytes);
          await handle.sync();
          bytes += part.length;
        } catch (err) {
          throw this.writeError(request.key, err);
        }
      },
      resumeToken: () => ({ file: basename(tmp), bytes }),
      complete: async (verified) => {
        try {
          await handle.close();
          return await this.commit(tmp, request, verified);
        } catch (err) {
          throw this.writeError(request.key, err);
        }
      },
      abort: async () => {
        await handle.close().catch(() => undefined);
        await rm(tmp, { force: true });
      },
    };
  }

  /** Writes the metadata, then renames the synced temp file into place; an aborted upload never gets there. */
  private async commit(
    tmp: string,
    request: Pick<UploadRequest, 'key' | 'metadata' | 'signal'>,
    verified: { sha256: string; size: number },
  ): Promise<UploadResult> {
    request.signal?.throwIfAborted();
    const finalPath = this.pathOf(request.key);
    const metaPath = this.metaPathOf(request.key);
    const stored: StoredMetadata = { ...request.metadata, sha256: verified.sha256, size: verified.size };
    await intoFolder(metaPath, () => writeFile(metaPath, JSON.stringify(stored), { mode: 0o600 }));
    await intoFolder(finalPath, () => rename(tmp, finalPath));
    await fsyncPath(dirname(finalPath));
    return { key: request.key, size: verified.size };
  }

  private writeError(key: string, err: unknown, what = 'writing'): DestinationError {
    if (err instanceof DestinationError) return err;
    return new DestinationError(this.name, `${what} ${key} failed: ${(err as Error).message}`, { cause: err });
  }

  /** Copies to a temp file beside the target (a reflink where the filesystem can), synced, then committed like an upload. */
  async copy(request: CopyRequest): Promise<UploadResult> {
    const finalPath = this.pathOf(request.to);
    const tmp = partialPathOf(finalPath, request.to);
    try {
      const content = await this.storedContent(request);
      await intoFolder(tmp, () => copyFile(this.pathOf(request.from), tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE));
      await fsyncPath(tmp);
      return await this.commit(tmp, { ...request, key: request.to }, content);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.writeError(request.to, err, `copying ${request.from} to`);
    }
  }

  /** A rename, committed like an upload (the new metadata first), then the old metadata and emptied folders removed. */
  async move(request: CopyRequest): Promise<UploadResult> {
    try {
      const content = await this.storedContent(request);
      const moved = await this.commit(this.pathOf(request.from), { ...request, key: request.to }, content);
      if (request.from !== request.to) {
        await rm(this.metaPathOf(request.from), { force: true });
        await this.removeEmptyFolders(request.from);
      }
      return moved;
    } catch (err) {
      throw this.writeError(request.to, err, `moving ${request.from} to`);
    }
  }

  /** The size of `from` and the SHA-256 its copy carries: the request's, else the one stored with it. */
  private async storedContent(request: CopyRequest): Promise<{ sha256: string; size: number }> {
    let size: number;
    try {
      ({ size } = await stat(this.pathOf(request.from)));
    } catch (err) {
      if (isMissing(err)) throw new ObjectMissingError(this.name, `${request.from} does not exist`, { cause: err });
      throw err;
    }
    const sha256 = request.metadata.sha256 ?? (await this.readMetadata(request.from))?.sha256;
    if (!sha256) throw new DestinationError(this.name, `${request.from} has no stored SHA-256`);
    return { sha256, size };
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.pathOf(key), { force: true });
      await rm(this.metaPathOf(key), { force: true });
      await this.removeEmptyFolders(key);
    } catch (err) {
      throw this.writeError(key, err, 'deleting');
    }
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    for await (const object of this.walk(folderOf(prefix))) if (object.key.startsWith(prefix)) yield object;
  }

  /** Every object below `folder` ('' or ending in '/'), in key order; neither the metadata tree nor partial files. */
  private async *walk(folder: string): AsyncGenerator<{ key: string; size: number }> {
    const dir = folder ? this.pathOf(folder) : this.root;
    // A folder's entries sort as their keys do: a folder's name with the '/' that follows it in its keys.
    const names = (await this.entriesOf(folder))
      .filter((e) => e.isDirectory() || (e.isFile() && !e.name.endsWith('.partial')))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort(byKey);
    for (const name of names) {
      if (name.endsWith('/')) yield* this.walk(folder + name);
      else {
        const size = await sizeOf(join(dir, name));
        // Undefined: removed since the folder was read.
        if (size !== undefined) yield { key: folder + name, size };
      }
    }
  }

  async listFolders(prefix: string): Promise<string[]> {
    const folder = folderOf(prefix);
    return (await this.entriesOf(folder))
      .filter((e) => e.isDirectory())
      .map((e) => `${folder}${e.name}/`)
      .filter((f) => f.startsWith(prefix))
      .sort(byKey);
  }

  /** A folder's entries, without the metadata tree; none when it does not exist. */
  private async entriesOf(folder: string): Promise<Dirent[]> {
    try {
      const entries = await readdir(folder ? this.pathOf(folder) : this.root, { withFileTypes: true });
      return folder ? entries : entries.filter((e) => e.name !== META_DIR);
    } catch (err) {
      if (isMissing(err)) return [];
      throw this.readError(folder, err, 'listing');
    }
  }

  async deleteUnder(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new DestinationError(this.name, `deleteUnder takes a folder ending in "/", not "${prefix}"`);
    let deleted = 0;
    for await (const _ of this.list(prefix)) deleted++;
    try {
      await rm(this.pathOf(prefix), { recursive: true, force: true });
      await rm(this.pathOf(prefix, join(this.root, META_DIR)), { recursive: true, force: true });
      await this.removeEmptyFolders(prefix);
    } catch (err) {
      throw this.writeError(prefix, err, 'deleting under');
    }
    return deleted;
  }

  /**
   * Removes the folders that the removal of `key` (an object or a folder) left empty, in both trees, up to
   * their roots: the backup stays as browsable as Drive, with no trail of empty folders behind moves.
   */
  private async removeEmptyFolders(key: string): Promise<void> {
    for (const base of [this.root, join(this.root, META_DIR)]) {
      for (let dir = this.pathOf(key, base); dir !== base; dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch (err) {
          // Gone already (the removed object itself, or a folder removed meanwhile): look at its parent.
          if (isMissing(err)) continue;
          // Not empty, or not a folder: nothing above it is empty either.
          if (['ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) break;
          throw err;
        }
      }
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const { size } = await stat(this.pathOf(key));
      const meta = await this.readMetadata(key);
      // Bytes whose size is not the one their metadata records (a write that died between the two) have no known hash.
      const sha256 = meta?.size === size ? meta.sha256 : undefined;
      return meta && { size, sha256, driveFileId: meta.driveFileId, version: meta.version };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.readError(key, err);
    }
  }

  private metaPathOf(key: string): string {
    return this.pathOf(`${key}.json`, join(this.root, META_DIR));
  }

  private async readMetadata(key: string): Promise<StoredMetadata | undefined> {
    try {
      return JSON.parse(await readFile(this.metaPathOf(key), 'utf8')) as StoredMetadata;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    if (options.versionId !== undefined)
      throw new DestinationError(this.name, `a directory keeps no versions (asked for ${options.versionId} of ${key})`);
    let handle: FileHandle;
    try {
      // Opened here, not by the stream, so that a missing file is told apart before any byte is read.
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new ObjectMissingError(this.name, `${key} does not exist`);
      throw this.readError(key, err);
    }
    const stream = handle.createReadStream();
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  }

  private readError(key: string, err: unknown, what = 'reading'): DestinationError {
    if (err instanceof DestinationError) return err;
    return new DestinationError(this.name, `${what} ${key} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Continues another attempt's partial file in a file of our own. Renaming it away first makes the claim
 * exclusive: a second resumer, or the old attempt resuming itself, no longer finds it and starts over,
 * and the old attempt can never rename it into place. The old attempt may still be writing through its
 * open handle, past the checkpoint: only the checkpointed bytes, which it no longer touches, are copied
 * (a reflink where the filesystem can), so none of its later writes can reach our file.
 */
async function takeOverPartial(previous: string, own: string, bytes: number): Promise<FileHandle> {
  const claimed = own.replace(/\.partial$/, '.claimed.partial');
  await rename(previous, claimed);
  try {
    await copyFile(claimed, own, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  } finally {
    await rm(claimed, { force: true });
  }
  const handle = await open(own, 'r+');
  try {
    if ((await handle.stat()).size < bytes) throw new Error(`the partial file holds fewer than the ${bytes} bytes written before`);
    await handle.truncate(bytes);
    // The checkpoint will name this file before another part is written and synced.
    await handle.sync();
    return handle;
  } catch (err) {
    await handle.close();
    await rm(own, { force: true });
    throw err;
  }
}

/**
 * A fresh start at a key gives up the partial files earlier attempts left (a crash, a checkpoint lost):
 * nothing would resume them. An attempt still writing one can then no longer rename it into place.
 */
async function removePartials(dir: string, key: string): Promise<void> {
  const prefix = `.${keyTag(key)}.`;
  const names = (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.partial'));
  await Promise.all(names.map((n) => rm(join(dir, n), { force: true })));
}

/** The folder part of a key prefix: '' or ending in '/'. */
function folderOf(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Creates the folder of `path`, then runs `write` into it. A move or delete that empties a folder removes it: one
 * that does so between the two steps makes the write miss its folder, so it is made again and the write retried.
 */
async function intoFolder(path: string, write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dirname(path), { recursive: true });
      await write();
      return;
    } catch (err) {
      // With the folder there, what is missing is the source: that is the caller's to report.
      if (!isMissing(err) || attempt === 5 || (await sizeOf(dirname(path))) !== undefined) throw err;
    }
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
