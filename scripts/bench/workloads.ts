import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileContent, generatedContent, readContent } from '../../test/drive-emulator/content';
import type { DriveStore } from '../../test/drive-emulator/store';

/** The bench's file sets. `BENCH_SCALE=0.05` shrinks every file count (and the 1 GB file) for a smoke run. */
export interface Workload {
  files: number;
  size: number;
}

const MB = 1000 * 1000;

function benchScale(): number {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  if (!(scale > 0 && scale <= 1)) throw new Error(`BENCH_SCALE must be in (0, 1], not ${process.env.BENCH_SCALE}`);
  return scale;
}

export const SCALE = benchScale();
const scaled = (files: number) => Math.max(1, Math.round(files * SCALE));
const SMALL = 20 * 1000;

export const WORKLOADS = {
  /** Streamed through a fresh worker: its peak memory. Never below the resumable threshold (64 MiB), so it goes part by part. */
  gigabyte: { files: 1, size: Math.max(100 * MB, Math.round(1000 * MB * SCALE)) },
  large: { files: scaled(20), size: 50 * MB },
  small: { files: scaled(5000), size: SMALL },
  latency: { files: scaled(2000), size: SMALL },
  tenThousand: { files: scaled(10_000), size: SMALL },
  hundredThousand: { files: scaled(100_000), size: SMALL },
  /** The Drive the sweeps run on, synced first: small files, since only the full sync before them moves bytes in bulk. */
  sweep: { files: scaled(100_000), size: 1000 },
} satisfies Record<string, Workload>;

/** Writes the workload's files to `dir`: rclone's source, and the bytes the emulated Drive serves (addLocalFiles). */
export async function writeLocalFiles(dir: string, w: Workload): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < w.files; f++) await pipeline(readContent(generatedContent(w.size, f)), createWriteStream(join(dir, `f-${f}.bin`)));
}

/** Adds the files writeLocalFiles wrote to the emulated Drive, in one folder: drive-vault and rclone read the same bytes from one disk. */
export async function addLocalFiles(store: DriveStore, dir: string, w: Workload): Promise<void> {
  const folder = await store.addFile({ name: 'workload' });
  for (let f = 0; f < w.files; f++)
    await store.addFile({ name: `f-${f}.bin`, parentId: folder.id, content: fileContent(join(dir, `f-${f}.bin`)) });
}

/** xorshift32: the same tree (and the same changes) on every run. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * Adds `w.files` generated files (bytes made on the fly, nothing on disk) to the emulated Drive, spread over
 * folders as in a real Drive: one folder per ~40 files, each folder under a random earlier one or My Drive,
 * so they nest a few levels deep; files fall into folders with a skew (the square of a uniform draw), so a few
 * folders hold a thousand files or more and most a few dozen.
 */
export async function seedDriveLikeTree(store: DriveStore, w: Workload): Promise<void> {
  const random = seededRandom(w.files);
  const folders: string[] = [];
  for (let f = 0; f < Math.ceil(w.files / 40); f++) {
    const parentId = f === 0 || random() < 0.2 ? undefined : folders[Math.floor(random() * folders.length)];
    folders.push((await store.addFile({ name: `folder ${f}`, parentId })).id);
  }
  for (let i = 0; i < w.files; i++) {
    const folder = Math.floor(random() ** 2 * folders.length);
    await store.addFile({ name: `photo-${i}.jpg`, parentId: folders[folder], content: generatedContent(w.size, i) });
  }
}

/** One generated file of `w.size` bytes at the top of My Drive. */
export async function seedOneFile(store: DriveStore, w: Workload): Promise<void> {
  await store.addFile({ name: 'one-large-file.bin', content: generatedContent(w.size, 1) });
}
