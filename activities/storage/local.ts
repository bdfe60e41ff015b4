import { createHash, randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { type FileHandle, copyFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { type Readable, addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import {
  type Destination,
  DestinationError,
  type ObjectHead,
  ObjectMissingError,
  type PartUpload,
  type PartUploadRequest,
  type UploadRequest,
  type UploadResult,
} from './destination';

/** Metadata lives in a parallel hidden tree, so the backup itself stays a plain browsable copy. */
const META_DIR = '.drive-vault-meta';

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

  private pathOf(key: string, base = this.root): string {
    const path = resolve(base, ...key.split('/'));
    if (relative(base, path).startsWith('..') || !path.startsWith(base + sep)) {
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
    const metaPath = this.pathOf(`${request.key}.json`, join(this.root, META_DIR));
    await mkdir(dirname(metaPath), { recursive: true });
    await writeFile(metaPath, JSON.stringify({ ...request.metadata, sha256: verified.sha256, size: verified.size }), { mode: 0o600 });
    await rename(tmp, finalPath);
    await fsyncPath(dirname(finalPath));
    return { key: request.key, size: verified.size };
  }

  private writeError(key: string, err: unknown): DestinationError {
    if (err instanceof DestinationError) return err;
    return new DestinationError(this.name, `writing ${key} failed: ${(err as Error).message}`, { cause: err });
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const { size } = await stat(this.pathOf(key));
      const meta = JSON.parse(await readFile(this.pathOf(`${key}.json`, join(this.root, META_DIR)), 'utf8')) as {
        sha256?: string;
        driveFileId?: string;
      };
      return { size, sha256: meta.sha256, driveFileId: meta.driveFileId };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.readError(key, err);
    }
  }

  async read(key: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    let handle: FileHandle;
    try {
      // Opened here, not by the stream, so that a missing file is told apart before any byte is read.
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectMissingError(this.name, `${key} does not exist`);
      throw this.readError(key, err);
    }
    const stream = handle.createReadStream();
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  }

  private readError(key: string, err: unknown): DestinationError {
    if (err instanceof DestinationError) return err;
    return new DestinationError(this.name, `reading ${key} failed: ${(err as Error).message}`, { cause: err });
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

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
