import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { FileHandle, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { Destination, DestinationError, ObjectHead, PartUpload, PartUploadRequest, UploadRequest, UploadResult } from './destination';

/** Metadata lives in a parallel hidden tree, so the backup itself stays a plain browsable copy. */
const META_DIR = '.drive-vault-meta';

/**
 * A local directory (NAS, external disk). Writes go to a temporary file, are fsynced, then renamed into
 * place, so a crash never leaves a half file under the final name and a bad download never replaces a
 * good copy.
 */
export class LocalDestination implements Destination {
  readonly maxParts = Number.POSITIVE_INFINITY;
  private readonly root: string;

  constructor(readonly name: string, root: string) {
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
    const tmp = join(dirname(finalPath), `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.partial`);
    try {
      await pipeline(request.body, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      await fsyncPath(tmp);
      return await this.commit(tmp, request, await request.verified);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.writeError(request.key, err);
    }
  }

  /**
   * A part upload appends to a temp file named after the key, so a new process finds it; each part is
   * fsynced before it counts, and the resume token is the byte count to keep.
   */
  async beginPartUpload(request: PartUploadRequest, resumeToken?: unknown): Promise<PartUpload> {
    const finalPath = this.pathOf(request.key);
    const tmp = join(dirname(finalPath), `.${createHash('sha256').update(request.key).digest('hex').slice(0, 24)}.resumable.partial`);
    let bytes = 0;
    let handle: FileHandle;
    try {
      await mkdir(dirname(finalPath), { recursive: true });
      if (resumeToken === undefined) {
        handle = await open(tmp, 'w', 0o600);
      } else {
        bytes = z.object({ bytes: z.number().int().nonnegative() }).parse(resumeToken).bytes;
        handle = await open(tmp, 'r+');
        if ((await handle.stat()).size < bytes) throw new Error(`the partial file holds fewer than the ${bytes} bytes written before`);
        await handle.truncate(bytes);
      }
    } catch (err) {
      throw this.writeError(request.key, err);
    }
    return {
      writePart: async (_partNumber, part) => {
        try {
          await handle.write(part, 0, part.length, bytes);
          await handle.sync();
          bytes += part.length;
        } catch (err) {
          throw this.writeError(request.key, err);
        }
      },
      resumeToken: () => ({ bytes }),
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

  /** Writes the metadata, then renames the synced temp file into place. */
  private async commit(tmp: string, request: Pick<UploadRequest, 'key' | 'metadata'>, verified: { sha256: string; size: number }): Promise<UploadResult> {
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
      const meta = JSON.parse(await readFile(this.pathOf(`${key}.json`, join(this.root, META_DIR)), 'utf8')) as { sha256?: string; driveFileId?: string };
      return { size, sha256: meta.sha256, driveFileId: meta.driveFileId };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DestinationError(this.name, `reading ${key} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async read(key: string) {
    return createReadStream(this.pathOf(key));
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
