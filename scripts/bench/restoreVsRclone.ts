import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startFullSync } from '../../api/fullSyncRuns';
import { startRestore } from '../../api/restoreRuns';
import { generatedContent } from '../../test/drive-emulator/content';
import type { DriveStore } from '../../test/drive-emulator/store';
import { startMinio } from '../launchers/minioServer';
import { startTemporalDevServer } from '../launchers/temporalDevServer';
import { toolPath } from '../launchers/tiedProcess';
import { type BenchStack, type SyncPhase, openPhase } from './fullSyncRun';
import type { MinioEndpoint } from './reference';
import { SCALE, type Workload } from './workloads';

/**
 * `restore_vs_rclone` (issue 12): drive-vault's restore of about 1 GB of mixed files from MinIO into a local
 * directory, every file checked against its SHA-256 before it gets its name, against `rclone copy` of the same objects
 * from the same bucket into another directory of the same disk. The files get there through a real full sync (two
 * buckets, as in the other phases); the restore reads the first. rclone runs with its default 4 transfers and with
 * 8 (drive-vault's restore reads 8 files at once), before and after drive-vault's run so neither side alone gets a
 * warm page cache; the faster of the two is the reference, so the ratio never flatters drive-vault. Each timed run
 * starts after `sync`: on this kind of machine the writeback of the previous gigabyte otherwise slows whoever comes next.
 */

const KB = 1000;
const MB = 1000 * KB;
const scaled = (files: number) => Math.max(1, Math.round(files * SCALE));

/** Many small files, some medium, a few large: 64 MB + 480 MB + 480 MB. */
export const RESTORE_MIX: Workload[] = [
  { files: scaled(2000), size: 32 * KB },
  { files: scaled(60), size: 8 * MB },
  { files: scaled(3), size: 160 * MB },
];

export interface RestoreVsRclone {
  /** rclone's time ÷ drive-vault's: drive-vault's throughput as a share of rclone's (target ≥ 0.8). */
  restore_vs_rclone: number;
  restoreMBps: number;
  rcloneMBps: number;
  files: number;
  bytes: number;
  restoreSeconds: number;
  /** Each rclone run: its --transfers and seconds. */
  rcloneRuns: Array<{ transfers: number; seconds: number }>;
}

async function seedMix(store: DriveStore): Promise<void> {
  let seed = 0;
  for (const [i, w] of RESTORE_MIX.entries()) {
    const folder = await store.addFile({ name: `mix-${i}` });
    for (let f = 0; f < w.files; f++) {
      await store.addFile({ name: `file-${f}.bin`, parentId: folder.id, content: generatedContent(w.size, ++seed) });
    }
  }
}

/**
 * Writes the dirty pages of the page cache out before a timed run: each run then starts with the disk idle, and none
 * pays for the writeback of the gigabyte the run before it (or the full sync) left in memory.
 */
function flushWrites(): void {
  spawnSync('sync');
}

/** Every file below `dir`: how many, and their bytes. */
function filesBelow(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

/** The pinned rclone (`scripts/install-tools.sh --bench`), or one on PATH. */
function rclonePath(): string {
  try {
    return toolPath('rclone');
  } catch {
    throw new Error('rclone is not installed: run "bash scripts/install-tools.sh --bench" (builds the pinned rclone into .tools/bin)');
  }
}

/** `rclone copy` of `bucket/prefix` on the MinIO into `target`; its seconds. Configured by environment, no config file. */
export function rcloneCopyDown(minio: MinioEndpoint, source: string, target: string, transfers: number): Promise<number> {
  // The MinIO is plain HTTP on loopback; rclone's S3 client rejects a CA bundle setting it cannot apply.
  const { AWS_CA_BUNDLE: _caBundle, ...inherited } = process.env;
  const env = {
    ...inherited,
    RCLONE_CONFIG_MINIO_TYPE: 's3',
    RCLONE_CONFIG_MINIO_PROVIDER: 'Minio',
    RCLONE_CONFIG_MINIO_ENDPOINT: minio.endpoint,
    RCLONE_CONFIG_MINIO_ACCESS_KEY_ID: minio.accessKeyId,
    RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY: minio.secretAccessKey,
  };
  const args = ['copy', `minio:${source}`, target, '--transfers', String(transfers), '--checkers', '8'];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(rclonePath(), args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', reject);
    child.once('close', (status) =>
      status === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`rclone copy failed (${status}): ${stderr}`)),
    );
  });
}

/** Runs the phase on `stack` (its Temporal, MinIO and client; a compiled worker, `npm run build` done). */
export async function restoreVsRclone(stack: BenchStack): Promise<RestoreVsRclone> {
  const files = RESTORE_MIX.reduce((n, w) => n + w.files, 0);
  const bytes = RESTORE_MIX.reduce((n, w) => n + w.files * w.size, 0);
  const phase: SyncPhase = { id: 'restore', files, bytes, destinations: 's3', seed: seedMix };
  const open = await openPhase(stack, phase);
  try {
    const sync = await (await startFullSync(stack.client, open.config, 'bench-restore-sync')).result();
    if (sync.filesSynced !== files) throw new Error(`restore bench: the full sync synced ${sync.filesSynced} of ${files} files`);
    const bucket = `${phase.id}-aws`;
    const check = (dir: string, who: string) => {
      const found = filesBelow(dir);
      if (found.files !== files || found.bytes !== bytes) {
        throw new Error(`restore bench: ${who} wrote ${found.files} files, ${found.bytes} bytes; expected ${files}, ${bytes}`);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    const rclone = async (transfers: number) => {
      const target = join(open.dir, `rclone-${transfers}`);
      flushWrites();
      const seconds = await rcloneCopyDown(stack.minio, `${bucket}/drive`, target, transfers);
      check(target, 'rclone');
      return { transfers, seconds };
    };
    const rcloneRuns = [await rclone(4)];
    const ours = join(open.dir, 'drive-vault');
    flushWrites();
    const started = performance.now();
    const summary = await (await startRestore(stack.client, open.config, { from: 'aws', to: ours }, 'bench-restore')).result();
    const restoreSeconds = (performance.now() - started) / 1000;
    if (summary.counts.restored !== files || summary.counts.failed !== 0) {
      throw new Error(`restore bench: restored ${summary.counts.restored} of ${files} files, ${summary.counts.failed} failed`);
    }
    check(ours, 'drive-vault');
    rcloneRuns.push(await rclone(8));
    const rcloneSeconds = Math.min(...rcloneRuns.map((r) => r.seconds));
    return {
      restore_vs_rclone: rcloneSeconds / restoreSeconds,
      restoreMBps: bytes / MB / restoreSeconds,
      rcloneMBps: bytes / MB / rcloneSeconds,
      files,
      bytes,
      restoreSeconds,
      rcloneRuns,
    };
  } finally {
    await open.close();
  }
}

/** `npx tsx scripts/bench/restoreVsRclone.ts`: this phase alone, on servers of its own. */
async function main() {
  rclonePath();
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: join(__dirname, '..', '..') });
  if (build.status !== 0) throw new Error('npm run build failed');
  const tmp = mkdtempSync(join(tmpdir(), 'drive-vault-bench-restore-'));
  const temporal = await startTemporalDevServer({ dbFile: join(tmp, 'temporal.db') });
  const minio = await startMinio(join(tmp, 'minio'));
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const result = await restoreVsRclone({ tmp, temporal, minio, client: new Client({ connection }) });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await connection.close();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`restore bench failed: ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  });
}
