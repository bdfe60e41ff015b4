import { MockActivityEnvironment } from '@temporalio/testing';
import { fork, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createTransferActivities } from '../activities';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import { createDestinations } from '../activities/storage/createDestinations';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import type { TransferItem, TransferOutcome } from '../common/types';
import { fileContent, generatedContent, readContent } from '../test/drive-emulator/content';
import { DriveEmulator } from '../test/drive-emulator/server';
import { printSummary, summarizeProfile } from './cpuProfileSummary';
import { startMinio } from './launchers/minioServer';
import { cpuSeconds, tiedChildPid } from './bench/measurements';

/**
 * `npm run profile -- [--files 2000] [--size 20000] [--concurrency 4] [--cpuprofile FILE] [--no-rclone]`: the CPU one
 * transfer worker spends per file, and MinIO per PUT, against `rclone copy` of the same files in the same run.
 * This process runs MinIO and the Drive emulator; a child process runs the transfer activity (transferBatch, in a
 * mock activity context, in batches of 100 as the full sync hands them out) to two buckets, under the inspector's
 * profiler, after a warm-up. Listing, claiming, recording and verification are not in it: only the transfer.
 */
const oauth = { clientId: 'profile-client', clientSecret: 'profile-secret', refreshToken: 'profile-refresh' };

interface Job {
  minio: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  driveUrl: string;
  items: TransferItem[];
  warmup: number;
  concurrency: number;
  batchSize: number;
  /** Where to write the V8 CPU profile of the measured files; none when unset (the profiler costs about 5%). */
  cpuprofile?: string;
}
type FromWorker = { measuring: true } | { done: { cpuMs: number; seconds: number; files: number; failed: number } };

/** The child: one transfer worker's activity code, wired as worker/wiring.ts does it. */
async function runTransferWorker(job: Job): Promise<void> {
  const send = (message: FromWorker) => new Promise<void>((r) => process.send!(message, () => r()));
  const config = parseConfig({
    account: 'profile@drive-vault.test',
    google: { clientId: oauth.clientId },
    destinations: ['aws', 'eu'].map((name) => ({
      kind: 's3',
      name,
      endpoint: job.minio.endpoint,
      bucket: `profile-${name}`,
      forcePathStyle: true,
      accessKeyIdEnv: 'PROFILE_KEY',
      secretAccessKeyEnv: 'PROFILE_SECRET',
    })),
    transfer: { concurrency: job.concurrency },
  });
  const destinations = createDestinations(config, { PROFILE_KEY: job.minio.accessKeyId, PROFILE_SECRET: job.minio.secretAccessKey });
  const drive = createDriveClient(createOAuthClient({ ...oauth, tokenUrl: `${job.driveUrl}token` }), job.driveUrl);
  // Info level, to stdout, as the worker logs; the parent reads and drops it.
  const { transferBatch } = createTransferActivities({
    drive,
    destinations,
    logger: createLogger({ level: 'info' }),
    attempts: config.transfer.attempts,
    backoffBaseMs: config.transfer.retryBaseDelayMs,
    concurrency: config.transfer.concurrency,
    resumableMinBytes: config.transfer.resumableMinBytes,
    stallTimeoutMs: config.transfer.stallTimeoutSeconds * 1000,
  });
  let failed = 0;
  const transfer = async (items: TransferItem[]) => {
    for (let i = 0; i < items.length; i += job.batchSize) {
      const outcomes: TransferOutcome[] = await new MockActivityEnvironment().run(transferBatch, items.slice(i, i + job.batchSize));
      failed += outcomes.filter((o) => o.failure).length;
    }
  };
  await transfer(job.items.slice(0, job.warmup));
  const session = job.cpuprofile ? new Session() : undefined;
  session?.connect();
  await session?.post('Profiler.enable');
  await session?.post('Profiler.start');
  await send({ measuring: true });
  const started = performance.now();
  const cpu = process.cpuUsage();
  await transfer(job.items.slice(job.warmup));
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(job.cpuprofile!, JSON.stringify(profile));
    session.disconnect();
  }
  for (const d of destinations) (d as { destroy?: () => void }).destroy?.();
  await send({ done: { cpuMs: (used.user + used.system) / 1000, seconds, files: job.items.length - job.warmup, failed } });
}

function rcloneCopy(source: string, minio: Job['minio'], target: string): void {
  const env = {
    PATH: process.env.PATH,
    RCLONE_CONFIG_PROFILE_TYPE: 's3',
    RCLONE_CONFIG_PROFILE_PROVIDER: 'Minio',
    RCLONE_CONFIG_PROFILE_ENDPOINT: minio.endpoint,
    RCLONE_CONFIG_PROFILE_ACCESS_KEY_ID: minio.accessKeyId,
    RCLONE_CONFIG_PROFILE_SECRET_ACCESS_KEY: minio.secretAccessKey,
  };
  const args = ['copy', source, `profile:${target}`, '--transfers', '4', '--checkers', '8', '--no-check-dest', '--no-update-modtime'];
  const run = spawnSync('rclone', args, { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`rclone copy failed: ${run.stderr}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '2000' },
      size: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '500' },
      cpuprofile: { type: 'string' },
      'no-rclone': { type: 'boolean', default: false },
    },
  });
  const [files, size, warmup] = [Number(values.files), Number(values.size), Number(values.warmup)];
  const tmp = mkdtempSync(join(tmpdir(), 'drive-vault-profile-'));
  const minio = await startMinio(join(tmp, 'minio'));
  const emulator = await DriveEmulator.start({ oauth });
  try {
    for (const b of ['profile-aws', 'profile-eu', 'profile-rclone']) await minio.createBucket(b);
    const minioPid = tiedChildPid(minio.process.pid!);
    const local = join(tmp, 'files');
    mkdirSync(local);
    const items: TransferItem[] = [];
    for (let i = 0; i < warmup + files; i++) {
      const path = join(local, `f-${i}.bin`);
      await pipeline(readContent(generatedContent(size, i)), createWriteStream(path));
      const f = await emulator.store.addFile({ name: `f-${i}.bin`, content: fileContent(path) });
      items.push({
        fileId: f.id,
        name: f.name,
        kind: 'binary',
        mimeType: f.mimeType,
        size,
        md5: f.hashes!.md5,
        sha256: f.hashes!.sha256,
        modifiedTime: f.modifiedTime,
        version: String(f.version),
        drivePath: `My Drive/${f.name}`,
        objects: [{ format: '', key: `drive/profile/My Drive/${f.name}`, storedAt: [] }],
      });
    }
    const cpuprofile = values.cpuprofile && resolve(values.cpuprofile);
    const job: Job = {
      minio,
      driveUrl: emulator.baseUrl,
      items,
      warmup,
      concurrency: Number(values.concurrency),
      batchSize: 100,
      cpuprofile,
    };
    const worker = fork(__filename, ['--transfer-worker'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const ours = await new Promise<{ cpuMs: number; seconds: number; files: number; failed: number; minioCpuMs: number }>((done, fail) => {
      let minioBefore = 0;
      worker.on('message', (m: FromWorker) => {
        if ('measuring' in m) minioBefore = cpuSeconds(minioPid);
        else done({ ...m.done, minioCpuMs: (cpuSeconds(minioPid) - minioBefore) * 1000 });
      });
      worker.once('exit', (code) => fail(new Error(`the transfer worker exited with ${code} before it reported`)));
      worker.send(job);
    });
    worker.disconnect();
    if (ours.failed) throw new Error(`${ours.failed} files failed`);
    const n = ours.files;
    console.log(
      `drive-vault transfer, ${n} files of ${size} B to 2 buckets: ${ours.seconds.toFixed(1)} s, worker ${(ours.cpuMs / n).toFixed(2)} ms CPU per file, MinIO ${(ours.minioCpuMs / n / 2).toFixed(2)} ms per copy (PUT + HEAD)`,
    );
    if (!values['no-rclone']) {
      // rclone copies every file (warm-up ones too, to count the same files as ours it is measured on all).
      const before = { rclone: cpuSeconds('self', true), minio: cpuSeconds(minioPid) };
      const started = performance.now();
      rcloneCopy(local, minio, 'profile-rclone');
      const seconds = (performance.now() - started) / 1000;
      const all = items.length;
      const rcloneMs = ((cpuSeconds('self', true) - before.rclone) * 1000) / all;
      const minioMs = ((cpuSeconds(minioPid) - before.minio) * 1000) / all;
      console.log(
        `rclone copy, ${all} files to 1 bucket: ${seconds.toFixed(1)} s, rclone ${rcloneMs.toFixed(2)} ms CPU per file, MinIO ${minioMs.toFixed(2)} ms per copy (PUT + HEAD)`,
      );
      console.log(
        `ratio worker CPU per file / rclone's: ${(ours.cpuMs / n / rcloneMs).toFixed(2)}; MinIO per copy, ours / rclone's: ${(ours.minioCpuMs / n / 2 / minioMs).toFixed(2)}`,
      );
    }
    if (!cpuprofile) return;
    console.log(`V8 profile ${cpuprofile}, per file (wall time on the main thread: a thread preempted in a syscall counts too):`);
    printSummary(summarizeProfile(JSON.parse(readFileSync(cpuprofile, 'utf8')), 500), n, 5);
  } finally {
    await emulator.close();
    await minio.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv.includes('--transfer-worker')) {
  process.once('message', (job: Job) => {
    runTransferWorker(job).catch((err) => {
      console.error(err);
      process.exit(1);
    });
  });
} else {
  main().catch((err) => {
    console.error(`profile failed: ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  });
}
