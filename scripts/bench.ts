import { Client, Connection } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Catalog, CatalogFileInput } from '../activities/catalog/catalog';
import { ObjectKeyPlanner } from '../activities/catalog/objectKeys';
import { claimPendingBatch } from '../activities/catalog/syncQueue';
import { type ExportFormatConfig, parseConfig } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { fileContent, generatedContent, readContent } from '../test/drive-emulator/content';
import { DriveEmulator } from '../test/drive-emulator/server';
import { startMinio } from './launchers/minioServer';
import { startTemporalDevServer } from './launchers/temporalDevServer';
import { stopTied } from './launchers/tiedProcess';
import { startWorkerProcess } from './launchers/workerProcess';
import { fullSync } from '../workflows';

/**
 * `npm run bench`: drive-vault against `rclone copy` of the same bytes to the same MinIO, in one run.
 *   (a) 20 files of 50 MB, (b) 5,000 files of 20 KB: full syncs from the Drive emulator to two MinIO
 *   buckets, against rclone copying the same files from a local directory to one bucket;
 *   (c) the worker's peak RSS while it streams one 1 GB file, measured first, on a fresh worker;
 *   (d) claiming 100,000 pending files from the catalog when they sit in one folder, against 1,000 folders.
 * The worker runs as its own process (the real worker/main.ts), so its memory is its own.
 */
const MB = 1000 * 1000;
const oauth = { clientId: 'bench-client', clientSecret: 'bench-secret', refreshToken: 'bench-refresh' };

interface Workload {
  name: string;
  files: number;
  size: number;
}
const workloads: Workload[] = [
  { name: 'a: 20 x 50 MB', files: 20, size: 50 * MB },
  { name: 'b: 5,000 x 20 KB', files: 5000, size: 20 * 1000 },
];

/** The server process a tied wrapper runs (its one child that is not the watcher shell). */
function tiedChildPid(wrapperPid: number): number {
  const children = readFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`, 'utf8').trim().split(/\s+/);
  const pid = children.find((p) => !/^Name:\s+(bash|sleep)$/m.test(readFileSync(`/proc/${p}/status`, 'utf8')));
  if (!pid) throw new Error(`no server process under wrapper ${wrapperPid}`);
  return Number(pid);
}

/** Peak resident set (VmHWM) of the worker under its wrapper. */
function peakRssBytes(wrapperPid: number): number {
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${tiedChildPid(wrapperPid)}/status`, 'utf8'))![1]) * 1024;
}

/** CPU seconds (user + system) a process has used; with `waited`, those of the children it has reaped. */
function cpuSeconds(pid: number | 'self', waited = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // Fields 14-17 of stat(5), counted from the state field (3): utime, stime, cutime, cstime, in clock ticks.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return (waited ? cutime + cstime : utime + stime) / 100;
}

/** CPU seconds the machine's cores have spent idle since boot (summed over cores). */
function idleSeconds(): number {
  const [, , , , idle, iowait] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).map(Number);
  return (idle + iowait) / 100;
}

function rcloneCopy(source: string, minio: { endpoint: string; accessKeyId: string; secretAccessKey: string }, target: string): number {
  // The MinIO is plain HTTP on loopback; rclone's S3 client rejects a CA bundle setting it cannot apply.
  const { AWS_CA_BUNDLE: _caBundle, ...inherited } = process.env;
  const env = {
    ...inherited,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Minio',
    RCLONE_CONFIG_BENCH_ENDPOINT: minio.endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: minio.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: minio.secretAccessKey,
  };
  const started = performance.now();
  const run = spawnSync('rclone', ['copy', source, `bench:${target}`, '--transfers', '4', '--checkers', '8', '--no-check-dest', '--no-update-modtime'], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`rclone copy failed: ${run.stderr}`);
  return (performance.now() - started) / 1000;
}

/** Seconds to claim every pending file of a fresh catalog holding `files` spread over `folders`, in batches of 100. */
function claimAllSeconds(dir: string, exportFormats: ExportFormatConfig, files: number, folders: number): number {
  const catalog = Catalog.open(join(dir, `claim-${folders}.db`));
  const base = { driveId: null, md5: null, driveSha256: null, modifiedTime: '2024-01-01T00:00:00Z', createdTime: '2024-01-01T00:00:00Z', version: '1', headRevisionId: null, shortcutTargetId: null, skipReason: null };
  const rows: CatalogFileInput[] = [];
  for (let f = 0; f < folders; f++) rows.push({ ...base, id: `folder-${f}`, kind: 'folder', name: `folder ${f}`, mimeType: 'application/vnd.google-apps.folder', parentId: 'root', size: null });
  // Ids in a different order than folders, as Drive's are; every name twice, so collisions are resolved.
  for (let i = 0; i < files; i++) rows.push({ ...base, id: `file-${(i * 7919) % files}`, kind: 'binary', name: `photo-${i % (files / 2)}.jpg`, mimeType: 'image/jpeg', parentId: `folder-${i % folders}`, size: 1 });
  for (let i = 0; i < rows.length; i += 1000) catalog.recordListedFiles(rows.slice(i, i + 1000), 'bench');
  const planner = new ObjectKeyPlanner(catalog.db, 'bench', exportFormats);
  const started = performance.now();
  let claimed = 0;
  for (let afterId = ''; ; ) {
    const batch = claimPendingBatch(catalog, { planner, scopeRules: { exclude: [] }, includeSharedWithMe: false }, { afterId, limit: 100 });
    if (batch.items.length === 0) break;
    claimed += batch.items.length;
    afterId = batch.nextAfterId;
  }
  catalog.close();
  if (claimed !== files) throw new Error(`claimed ${claimed} of ${files} files`);
  return (performance.now() - started) / 1000;
}

async function main() {
  if (spawnSync('rclone', ['version']).status !== 0) {
    console.error('bench: rclone is not installed; it is the reference. Install the Debian package: sudo apt-get install rclone');
    process.exit(2);
  }
  const tools = spawnSync('bash', [join(__dirname, 'install-tools.sh')], { stdio: 'inherit' });
  if (tools.status !== 0) throw new Error('the pinned Temporal CLI and MinIO could not be installed');
  // The worker runs compiled, as in production.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: join(__dirname, '..') });
  if (build.status !== 0) throw new Error('npm run build failed');
  const tmp = mkdtempSync(join(tmpdir(), 'drive-vault-bench-'));
  const temporal = await startTemporalDevServer({});
  const minio = await startMinio(join(tmp, 'minio'));
  const emulator = await DriveEmulator.start({ oauth });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  try {
    for (const b of ['bench-aws', 'bench-eu', 'bench-rclone']) await minio.createBucket(b);
    const configPath = join(tmp, 'config.json');
    const config = parseConfig({
      account: 'bench@drive-vault.test',
      google: { clientId: oauth.clientId, apiRootUrl: emulator.baseUrl, tokenUrl: `${emulator.baseUrl}token` },
      temporal: { address: temporal.address },
      catalog: { path: join(tmp, 'catalog.db') },
      destinations: ['aws', 'eu'].map((name) => ({
        kind: 's3',
        name,
        endpoint: minio.endpoint,
        bucket: `bench-${name}`,
        forcePathStyle: true,
        accessKeyIdEnv: 'BENCH_KEY',
        secretAccessKeyEnv: 'BENCH_SECRET',
        // BENCH_REQUEST_CHECKSUMS=when_required measures the cost of the SDK's default CRC32 checksums.
        ...(process.env.BENCH_REQUEST_CHECKSUMS && { requestChecksums: process.env.BENCH_REQUEST_CHECKSUMS }),
      })),
    });
    writeFileSync(configPath, JSON.stringify(config));
    const env = { GOOGLE_CLIENT_SECRET: oauth.clientSecret, GOOGLE_REFRESH_TOKEN: oauth.refreshToken, BENCH_KEY: minio.accessKeyId, BENCH_SECRET: minio.secretAccessKey };
    const sync = async (workflowId: string): Promise<{ seconds: number; summary: FullSyncSummary }> => {
      const started = performance.now();
      const summary = await client.workflow.execute(fullSync, { taskQueue: TASK_QUEUES.workflows, workflowId, args: [{ includeSharedDrives: false }] });
      return { seconds: (performance.now() - started) / 1000, summary };
    };

    console.log(`bench: ${new Date().toISOString()}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)!.length} cores; Temporal dev server, MinIO and the emulator on loopback`);
    // First, on a fresh worker and a Drive holding only this file: the peak RSS is that of streaming it.
    worker = await startWorkerProcess(configPath, env, { compiled: true });
    const idle = peakRssBytes(worker.pid!);
    const largePath = join(tmp, 'one-gigabyte.bin');
    await pipeline(readContent(generatedContent(1000 * MB, 1)), createWriteStream(largePath));
    await emulator.store.addFile({ name: 'one-gigabyte.bin', content: fileContent(largePath) });
    const large = await sync('bench-1gb');
    if (large.summary.filesSynced !== 1) throw new Error('the 1 GB file did not sync');
    const peak = peakRssBytes(worker.pid!);
    console.log(`c: 1 x 1 GB          drive-vault ${large.seconds.toFixed(1)} s ${(1000 / large.seconds).toFixed(1)} MB/s to 2 buckets | worker peak RSS ${(peak / 1024 / 1024).toFixed(0)} MiB (target 300 MiB), of which ${(idle / 1024 / 1024).toFixed(0)} MiB before the sync began`);
    const rows: string[] = [];
    for (const [i, w] of workloads.entries()) {
      const folder = await emulator.store.addFile({ name: `workload-${i}` });
      const local = join(tmp, `local-${i}`);
      mkdirSync(local);
      // Both read the same files from the same disk: rclone directly, drive-vault through the emulator.
      for (let f = 0; f < w.files; f++) {
        const path = join(local, `f-${f}.bin`);
        await pipeline(readContent(generatedContent(w.size, i * 100_000 + f)), createWriteStream(path));
        await emulator.store.addFile({ name: `f-${f}.bin`, parentId: folder.id, content: fileContent(path) });
      }
      const bytes = w.files * w.size;
      const minioPid = tiedChildPid(minio.process.pid!);
      const rcloneCpu = cpuSeconds('self', true);
      const minioCpuRclone = cpuSeconds(minioPid);
      const reference = rcloneCopy(local, minio, `bench-rclone/workload-${i}`);
      const cpuRclone = { rclone: cpuSeconds('self', true) - rcloneCpu, minio: cpuSeconds(minioPid) - minioCpuRclone };
      // rclone writing the two copies drive-vault writes, one after the other: the like-for-like reference.
      const referenceTwice = reference + rcloneCopy(local, minio, `bench-rclone/workload-${i}-second-copy`);
      const temporalPid = tiedChildPid(temporal.process.pid!);
      const before = { worker: cpuSeconds(tiedChildPid(worker.pid!)), minio: cpuSeconds(minioPid), self: cpuSeconds('self'), temporal: cpuSeconds(temporalPid), idle: idleSeconds() };
      const ours = await sync(`bench-${i}`);
      const cpuOurs = {
        worker: cpuSeconds(tiedChildPid(worker.pid!)) - before.worker,
        minio: cpuSeconds(minioPid) - before.minio,
        emulator: cpuSeconds('self') - before.self,
        temporal: cpuSeconds(temporalPid) - before.temporal,
        idle: idleSeconds() - before.idle,
      };
      if (ours.summary.filesSynced !== w.files || ours.summary.filesFailed !== 0) throw new Error(`${w.name}: synced ${ours.summary.filesSynced} of ${w.files}, ${ours.summary.filesFailed} failed`);
      const mbps = (s: number) => (bytes / MB / s).toFixed(1);
      rows.push(
        `${w.name.padEnd(18)} rclone (1 bucket) ${reference.toFixed(1).padStart(6)} s ${mbps(reference).padStart(7)} MB/s | drive-vault (2 buckets, verified) ${ours.seconds.toFixed(1).padStart(6)} s ${mbps(ours.seconds).padStart(7)} MB/s | throughput ratio ${(reference / ours.seconds).toFixed(2)}, time ratio ${(ours.seconds / reference).toFixed(2)} | rclone writing both copies ${referenceTwice.toFixed(1)} s, ratio ${(referenceTwice / ours.seconds).toFixed(2)}`,
      );
      console.log(rows.at(-1));
      console.log(
        `${''.padEnd(18)} CPU seconds: rclone ${cpuRclone.rclone.toFixed(1)} + its MinIO ${cpuRclone.minio.toFixed(1)} | drive-vault worker ${cpuOurs.worker.toFixed(1)} + its MinIO ${cpuOurs.minio.toFixed(1)} + emulator and client ${cpuOurs.emulator.toFixed(1)} + Temporal server ${cpuOurs.temporal.toFixed(1)}; all cores idle ${cpuOurs.idle.toFixed(1)}`,
      );
    }

    const afterAll = peakRssBytes(worker.pid!);
    console.log(`${''.padEnd(18)} worker peak RSS over the three full syncs (each lists and HEADs all that came before): ${(afterAll / 1024 / 1024).toFixed(0)} MiB`);
    const spread = claimAllSeconds(tmp, config.exportFormats, 100_000, 1000);
    const oneFolder = claimAllSeconds(tmp, config.exportFormats, 100_000, 1);
    console.log(`d: claim 100,000      in 1,000 folders ${spread.toFixed(1)} s | in one folder ${oneFolder.toFixed(1)} s, ratio ${(oneFolder / spread).toFixed(2)}`);
    console.log(`bench: catalog and MinIO data in ${tmp} (removed)`);
  } finally {
    if (worker) await stopTied(worker);
    await connection.close();
    await emulator.close();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
