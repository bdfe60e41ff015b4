import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DriveStore } from '../test/drive-emulator/store';
import { startMinio } from './launchers/minioServer';
import { startTemporalDevServer } from './launchers/temporalDevServer';
import { type BenchStack, type SyncPhase, runFullSync } from './bench/fullSyncRun';
import { tiedChildPid } from './bench/measurements';
import { requireRclone, rcloneBothCopies } from './bench/reference';
import {
  type BenchMeasurements,
  type StateMeasurements,
  describeDump,
  describeRestore,
  stateFiguresOf,
  apiFiguresOf,
  DRIVE_LATENCY_SECONDS,
  allSyncs,
  describeLatency,
  describeRclone,
  describeSweep,
  describeSync,
  figuresOf,
  printFigures,
  writeJson,
} from './bench/report';
import { describeApiStatus, runApiStatusPhase } from './bench/apiStatus';
import { runDumpPhase } from './bench/dumpRun';
import { restoreVsRclone } from './bench/restoreVsRclone';
import { runSweepPhase } from './bench/sweepRun';
import { SCALE, WORKLOADS, type Workload, addLocalFiles, seedDriveLikeTree, seedOneFile, writeLocalFiles } from './bench/workloads';

/**
 * `npm run bench [-- --json FILE]`: the figures of issue 10 section 5 and issue 11's sweep, all from one run on this machine.
 *   gigabyte   one 1 GB file through a fresh worker: the worker's peak memory while it streams
 *   large      20 × 50 MB to two MinIO buckets, against rclone writing both copies (bench/reference.ts)
 *   small      5,000 × 20 KB, the same
 *   latency-1  2,000 × 20 KB with every Drive request 100 ms late, one worker
 *   latency-2  the same with two transfer-worker processes and a catalog worker
 *   10k, 100k  10,000 and 100,000 × 20 KB in a Drive-like folder tree to a local directory: time per file as
 *              the Drive grows, and the Temporal dev server's and the worker's memory
 *   dump-200k  a 200,000-file catalog (synthetic rows) dumped to two MinIO buckets, then recovered from them (issue 12)
 *   restore    about 1 GB of mixed files restored from MinIO, every checksum checked, against rclone copy (issue 12)
 *   api        GET /api/status under 50 autocannon clients for 20 s, beside a 100,000-file catalog, against GET /api/health (issue 13)
 *   sweep      100,000 × 1 KB in the same kind of tree, fully synced to two MinIO buckets, then incremental sweeps
 *              (bench/sweepRun.ts): quiet ones, one after 100 changes of mixed kinds, one after 1,000 (issue 11)
 * Each phase gets a fresh emulated Drive, catalog and worker processes (compiled, as in production). The
 * Temporal dev server persists to a file, as it does on a user's box (an in-memory one grows with every
 * history the bench writes). BENCH_SCALE=0.05 shrinks every file count for a smoke run; --only-state runs issue 12's
 * phases alone, --only-api issue 13's.
 */

function jsonPath(): string | undefined {
  const at = process.argv.indexOf('--json');
  if (at === -1) return undefined;
  const file = process.argv[at + 1];
  if (!file) throw new Error('--json needs a file name');
  return file;
}

const bytesOf = (w: Workload) => w.files * w.size;
const MiB = 1024 * 1024;

async function againstRclone(stack: BenchStack, id: 'large' | 'small', w: Workload) {
  const local = join(stack.tmp, `${id}-source`);
  await writeLocalFiles(local, w);
  const buckets: [string, string] = [`${id}-rclone-a`, `${id}-rclone-b`];
  for (const bucket of buckets) await stack.minio.createBucket(bucket);
  const rclone = await rcloneBothCopies(local, stack.minio, tiedChildPid(stack.minio.process.pid!), buckets);
  console.log(describeRclone(id, rclone, w.files));
  const ours = await runFullSync(stack, {
    id,
    files: w.files,
    bytes: bytesOf(w),
    destinations: 's3',
    seed: (store) => addLocalFiles(store, local, w),
  });
  console.log(describeSync(ours));
  console.log(
    `${''.padEnd(10)} ratio ${(rclone.seconds / ours.seconds).toFixed(2)} (rclone both copies ÷ drive-vault) | MinIO CPU per copy:` +
      ` rclone ${rclone.sequential.copies[0].minioCpuSeconds.toFixed(1)} s, drive-vault ${(ours.cpu.minio / 2).toFixed(1)} s`,
  );
  rmSync(local, { recursive: true, force: true });
  return { ours, rclone };
}

async function synced(stack: BenchStack, phase: Omit<SyncPhase, 'files' | 'bytes'>, w: Workload) {
  const result = await runFullSync(stack, { ...phase, files: w.files, bytes: bytesOf(w) });
  console.log(describeSync(result));
  return result;
}

/** Issue 12's phases: the dump and recovery of a 200,000-file catalog. */
async function statePhases(stack: BenchStack): Promise<StateMeasurements> {
  const dump = await runDumpPhase(stack.minio, stack.tmp);
  console.log(describeDump(dump));
  const restore = await restoreVsRclone(stack);
  console.log(describeRestore(restore));
  return { dump, restore };
}

/** Issue 13's phase: GET /api/status under 50 clients, beside a 100,000-file catalog. */
async function apiPhase(stack: BenchStack) {
  const api = await runApiStatusPhase(stack);
  console.log(describeApiStatus(api));
  return api;
}

async function main() {
  if (!process.argv.includes('--only-api')) requireRclone();
  const json = jsonPath();
  const tools = spawnSync('bash', [join(__dirname, 'install-tools.sh')], { stdio: 'inherit' });
  if (tools.status !== 0) throw new Error('the pinned Temporal CLI and MinIO could not be installed');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: join(__dirname, '..') });
  if (build.status !== 0) throw new Error('npm run build failed');

  const tmp = mkdtempSync(join(tmpdir(), 'drive-vault-bench-'));
  const temporal = await startTemporalDevServer({ dbFile: join(tmp, 'temporal.db') });
  const minio = await startMinio(join(tmp, 'minio'));
  // A page of a full sync's history can pass gRPC's default 4 MB message limit: the bench reads them all.
  const connection = await Connection.connect({ address: temporal.address, channelArgs: { 'grpc.max_receive_message_length': 64 * MiB } });
  const stack: BenchStack = { tmp, temporal, minio, client: new Client({ connection }) };
  try {
    const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)!.length;
    const context = { date: new Date().toISOString(), cores, scale: SCALE };
    console.log(`bench: ${context.date}, ${cores} cores, scale ${SCALE}; Temporal dev server, MinIO and the emulator on loopback`);
    if (process.argv.includes('--only-api')) {
      const figures = apiFiguresOf(await apiPhase(stack));
      for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(40)} ${value.toFixed(2).padStart(9)}`);
      if (json) writeFileSync(json, `${JSON.stringify({ ...context, ...figures }, null, 2)}\n`);
      return;
    }
    if (process.argv.includes('--only-state')) {
      const figures = stateFiguresOf(await statePhases(stack));
      for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(40)} ${value.toFixed(2).padStart(9)}`);
      if (json) writeFileSync(json, `${JSON.stringify({ ...context, ...figures }, null, 2)}\n`);
      return;
    }
    const tree = (w: Workload) => (store: DriveStore) => seedDriveLikeTree(store, w);
    const latency = DRIVE_LATENCY_SECONDS * 1000;
    const m: BenchMeasurements = {
      gigabyte: await synced(
        stack,
        { id: 'gigabyte', destinations: 's3', seed: (s) => seedOneFile(s, WORKLOADS.gigabyte) },
        WORKLOADS.gigabyte,
      ),
      large: await againstRclone(stack, 'large', WORKLOADS.large),
      small: await againstRclone(stack, 'small', WORKLOADS.small),
      latencyOneWorker: await synced(
        stack,
        { id: 'latency-1', destinations: 's3', driveLatencyMs: latency, seed: tree(WORKLOADS.latency) },
        WORKLOADS.latency,
      ),
      latencyTwoWorkers: await synced(
        stack,
        {
          id: 'latency-2',
          destinations: 's3',
          driveLatencyMs: latency,
          roles: ['catalog', 'transfer', 'transfer'],
          seed: tree(WORKLOADS.latency),
        },
        WORKLOADS.latency,
      ),
      tenThousand: await synced(stack, { id: '10k', destinations: 'local', seed: tree(WORKLOADS.tenThousand) }, WORKLOADS.tenThousand),
      hundredThousand: await synced(
        stack,
        { id: '100k', destinations: 'local', sampleStackRss: true, seed: tree(WORKLOADS.hundredThousand) },
        WORKLOADS.hundredThousand,
      ),
      sweep: await runSweepPhase(stack, {
        synced: (r) => console.log(describeSync(r)),
        swept: (r) => console.log(describeSweep(r)),
      }),
      state: await statePhases(stack),
      api: await apiPhase(stack),
    };
    console.log(describeLatency(m.latencyOneWorker));
    console.log(describeLatency(m.latencyTwoWorkers));
    const figures = figuresOf(m);
    printFigures(
      figures,
      allSyncs(m).flatMap((r) => r.histories),
    );
    if (json) {
      writeJson(json, context, figures, m);
      console.log(`bench: figures written to ${json}`);
    }
  } finally {
    await connection.close();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
