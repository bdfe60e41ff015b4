import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startFullSync } from '../../api/fullSyncRuns';
import { type Config, parseConfig } from '../../common/config';
import type { FullSyncSummary } from '../../common/types';
import type { DriveStore } from '../../test/drive-emulator/store';
import { DriveEmulator } from '../../test/drive-emulator/server';
import type { WorkerRole } from '../../worker/wiring';
import type { MinioServer } from '../launchers/minioServer';
import type { TemporalDevServer } from '../launchers/temporalDevServer';
import { stopTied } from '../launchers/tiedProcess';
import { QUIET_SCHEDULES, startWorkerProcess } from '../launchers/workerProcess';
import { type RunHistory, fullSyncHistories } from './histories';
import { cpuSeconds, idleSeconds, peakRssBytes, rssBytes, sampleSummedRss, tiedChildPid } from './measurements';

/** The servers every phase shares: one Temporal dev server, one MinIO, one client. */
export interface BenchStack {
  tmp: string;
  temporal: TemporalDevServer;
  minio: MinioServer;
  client: Client;
}

export interface SyncPhase {
  /** Names the workflow (`bench-<id>`), the phase's folder and its buckets. */
  id: string;
  files: number;
  bytes: number;
  seed(store: DriveStore): Promise<void>;
  /** Two MinIO buckets (AWS and the EU provider), or one local directory. */
  destinations: 's3' | 'local';
  /** One worker process per entry; default one worker with every role. */
  roles?: WorkerRole[];
  /** Every Drive request (the token endpoint's too) answered this much later: the emulator's delay fault. */
  driveLatencyMs?: number;
  /** Samples the Temporal dev server's and the workers' summed RSS through the sync. */
  sampleStackRss?: boolean;
}

export interface SyncResult {
  id: string;
  files: number;
  bytes: number;
  /** The whole full sync, listing and verification included, as the client waits for it. */
  seconds: number;
  /** The transfer phase alone, from the workflow's history. */
  transferSeconds: number;
  /** transfer.concurrency per worker serving transfers × those workers. */
  filesInFlight: number;
  /** CPU seconds during the sync: the workers (summed), MinIO, this process (the emulator and the client), Temporal, idle cores. */
  cpu: { workers: number; minio: number; emulatorAndClient: number; temporal: number; idle: number };
  /** The largest VmHWM of the phase's workers, and the largest RSS as the sync began. */
  workerPeakRssBytes: number;
  workerStartRssBytes: number;
  stackPeakRssBytes?: number;
  histories: RunHistory[];
  summary: FullSyncSummary;
}

const oauth = { clientId: 'bench-client', clientSecret: 'bench-secret', refreshToken: 'bench-refresh' };

function phaseConfig(stack: BenchStack, phase: SyncPhase, dir: string, emulator: DriveEmulator): Config {
  const destinations =
    phase.destinations === 'local'
      ? [{ kind: 'local', name: 'nas', path: join(dir, 'backup') }]
      : ['aws', 'eu'].map((name) => ({
          kind: 's3',
          name,
          endpoint: stack.minio.endpoint,
          bucket: `${phase.id}-${name}`,
          forcePathStyle: true,
          accessKeyIdEnv: 'BENCH_KEY',
          secretAccessKeyEnv: 'BENCH_SECRET',
          // BENCH_REQUEST_CHECKSUMS=when_required measures the cost of the SDK's default CRC32 checksums.
          ...(process.env.BENCH_REQUEST_CHECKSUMS && { requestChecksums: process.env.BENCH_REQUEST_CHECKSUMS }),
        }));
  return parseConfig({
    account: 'bench@drive-vault.test',
    google: { clientId: oauth.clientId, apiRootUrl: emulator.baseUrl, tokenUrl: `${emulator.baseUrl}token` },
    temporal: { address: stack.temporal.address },
    catalog: { path: join(dir, 'catalog.db') },
    destinations,
    schedules: QUIET_SCHEDULES,
  });
}

/** A phase's Drive, config and worker processes, up and seeded, before its full sync. */
export interface OpenPhase {
  dir: string;
  emulator: DriveEmulator;
  config: Config;
  workerPids: number[];
  roles: WorkerRole[];
  close(): Promise<void>;
}

/** A fresh emulated Drive (seeded), catalog, buckets or directory, and worker processes (compiled, as in production). */
export async function openPhase(stack: BenchStack, phase: SyncPhase): Promise<OpenPhase> {
  const dir = join(stack.tmp, phase.id);
  mkdirSync(dir, { recursive: true });
  const emulator = await DriveEmulator.start({ oauth });
  const workers: Awaited<ReturnType<typeof startWorkerProcess>>[] = [];
  const close = async () => {
    for (const w of workers) await stopTied(w);
    await emulator.close();
  };
  try {
    await phase.seed(emulator.store);
    if (phase.destinations === 's3') for (const name of ['aws', 'eu']) await stack.minio.createBucket(`${phase.id}-${name}`);
    const config = phaseConfig(stack, phase, dir, emulator);
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config));
    const env = {
      GOOGLE_CLIENT_SECRET: oauth.clientSecret,
      GOOGLE_REFRESH_TOKEN: oauth.refreshToken,
      BENCH_KEY: stack.minio.accessKeyId,
      BENCH_SECRET: stack.minio.secretAccessKey,
    };
    const roles = phase.roles ?? ['all'];
    for (const role of roles) workers.push(await startWorkerProcess(configPath, env, { compiled: true, role }));
    const workerPids = workers.map((w) => tiedChildPid(w.pid!));
    return { dir, emulator, config, workerPids, roles, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The phase's full sync, measured: it must sync and verify every file. */
export async function measureFullSync(stack: BenchStack, phase: SyncPhase, open: OpenPhase): Promise<SyncResult> {
  const { emulator, config, workerPids, roles } = open;
  const temporalPid = tiedChildPid(stack.temporal.process.pid!);
  const minioPid = tiedChildPid(stack.minio.process.pid!);
  if (phase.driveLatencyMs) emulator.faults.add({ match: '.', delayMs: phase.driveLatencyMs });

  const workersCpu = () => workerPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const before = { workers: workersCpu(), minio: cpuSeconds(minioPid), self: cpuSeconds('self'), temporal: cpuSeconds(temporalPid) };
  const idleBefore = idleSeconds();
  const workerStartRssBytes = Math.max(...workerPids.map(rssBytes));
  const rss = phase.sampleStackRss ? sampleSummedRss([temporalPid, ...workerPids]) : undefined;
  const workflowId = `bench-${phase.id}`;
  const started = performance.now();
  let firstRunId: string;
  let summary: FullSyncSummary;
  let stackPeakRssBytes: number | undefined;
  try {
    const handle = await startFullSync(stack.client, config, workflowId);
    firstRunId = handle.firstExecutionRunId;
    summary = await handle.result();
  } finally {
    stackPeakRssBytes = rss?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = {
    workers: workersCpu() - before.workers,
    minio: cpuSeconds(minioPid) - before.minio,
    emulatorAndClient: cpuSeconds('self') - before.self,
    temporal: cpuSeconds(temporalPid) - before.temporal,
    idle: idleSeconds() - idleBefore,
  };
  const workerPeakRssBytes = Math.max(...workerPids.map(peakRssBytes));
  if (summary.filesSynced !== phase.files || summary.filesFailed !== 0)
    throw new Error(`${phase.id}: synced ${summary.filesSynced} of ${phase.files} files, ${summary.filesFailed} failed`);
  // The figures are those of a verified sync: every object written is HEADed on every destination.
  const verified = config.destinations.map((d) => summary.verified[d.name] ?? 0);
  if (verified.some((n) => n !== phase.files)) throw new Error(`${phase.id}: verified ${verified.join(' and ')} of ${phase.files} files`);
  const histories = await fullSyncHistories(stack.client, workflowId, firstRunId);
  const transferring = roles.filter((r) => r !== 'catalog').length;
  return {
    id: phase.id,
    files: phase.files,
    bytes: phase.bytes,
    seconds,
    transferSeconds: histories.transferSeconds,
    filesInFlight: config.transfer.concurrency * transferring,
    cpu,
    workerPeakRssBytes,
    workerStartRssBytes,
    stackPeakRssBytes,
    histories: histories.runs,
    summary,
  };
}

/**
 * One full sync on a fresh emulated Drive, a fresh catalog and fresh worker processes (compiled, as in
 * production): each phase is measured alone, and each worker's peak memory is that of its phase.
 */
export async function runFullSync(stack: BenchStack, phase: SyncPhase): Promise<SyncResult> {
  const open = await openPhase(stack, phase);
  try {
    return await measureFullSync(stack, phase, open);
  } finally {
    await open.close();
  }
}
