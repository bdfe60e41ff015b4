import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Destination, DestinationError, ObjectHead, UploadRequest, UploadResult } from './destination';

/** Metadata lives in a parallel hidden tree, so the backup itself stays a plain browsable copy. */
const META_DIR = '.drive-vault-meta';

/**
 * A local directory (NAS, external disk). Writes go to a temporary file, are fsynced, then renamed into
 * place, so a crash never leaves a half file under the final name and a bad download never replaces a
 * good copy.
 */
export class LocalDestination implements Destination {
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
    const metaPath = this.pathOf(`${request.key}.json`, join(this.root, META_DIR));
    await mkdir(dirname(finalPath), { recursive: true });
    await mkdir(dirname(metaPath), { recursive: true });
    const tmp = join(dirname(finalPath), `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.partial`);
    try {
      await pipeline(request.body, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      const { sha256, size } = await request.verified;
      await fsyncPath(tmp);
      await writeFile(metaPath, JSON.stringify({ ...request.metadata, sha256, size }), { mode: 0o600 });
      await rename(tmp, finalPath);
      await fsyncPath(dirname(finalPath));
      return { key: request.key, size };
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof DestinationError) throw err;
      throw new DestinationError(this.name, `writing ${request.key} failed: ${(err as Error).message}`, { cause: err });
    }
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
