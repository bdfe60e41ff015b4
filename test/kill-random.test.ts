import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { once } from 'node:events';
import {
  type WriteStream,
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand, GetObjectTaggingCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { decodeTimeoutType } from '@temporalio/common';
import type { Config } from '../common/config';
import { EXPORT_MIME_TYPES, exportExtensionsFor } from '../common/exportFormats';
import { TASK_QUEUES } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { startWorkerProcess } from '../scripts/launchers/workerProcess';
import { fullSync, fullSyncProgressQuery } from '../workflows';
import { contentSize, generatedContent } from './drive-emulator/content';
import { renderExport } from './drive-emulator/exports';
import { seedFromDirectory } from './drive-emulator/seed';
import { type EmuFile, FOLDER, SHORTCUT } from './drive-emulator/store';
import { openTestCatalog } from './support/catalog';
import { BUCKETS, type Stack, listBucketKeys, recordProcessGroups, startStack } from './support/stack';
import { stackConfig, stackEnv } from './support/worker';

/*
 * Issue 9, section 8: a full sync of 500 files to two S3 buckets and a directory while the worker process is
 * killed with SIGKILL at 5 random moments and restarted each time. The moments come from a seeded generator:
 * the seed is printed, and KILL_RANDOM_SEED=<seed> replays the same delays (where they land still depends on
 * how fast the machine is). It prints the bytes downloaded and uploaded again because of the kills.
 *
 * It found two bugs, fixed since: five kills on one batch failed the whole run (the batch had 5 tries), and a
 * catalog task lost with a killed worker was waited out for its 5-minute start-to-close timeout, stalling the
 * run (KILL_RANDOM_SEED=983418212 and 3 hit it: "recordTransferOutcomes attempt 2 began 301 s after it was
 * scheduled; last failure START_TO_CLOSE"). The last assertion catches the second.
 */

const MiB = 1024 * 1024;
const FILES = 500;
const KILLS = 5;
/** Each kill lands this long after the worker (re)started. */
const KILL_DELAY_MS = { min: 1_000, max: 7_000 };
/**
 * Drive serves each download no faster than this, as a real network would: the 72 MiB video alone then takes
 * 36 s, so the run outlasts five kills (at most 35 s of delays plus the restarts) on a fast machine too. At
 * 3 MiB/s with kills up to 9 s apart, CI's run ended 52 s in, before the fifth kill (seed 332115679).
 */
const DOWNLOAD_BYTES_PER_SECOND = 2 * MiB;
const WORKFLOW_ID = 'kill-random';
const seed = process.env.KILL_RANDOM_SEED ? Number(process.env.KILL_RANDOM_SEED) : randomInt(2 ** 31);
assert.ok(Number.isSafeInteger(seed), `KILL_RANDOM_SEED must be an integer, not ${process.env.KILL_RANDOM_SEED}`);

/** mulberry32: a small seeded generator of floats in [0, 1), so one number replays a whole schedule. */
function seededRandom(s: number): () => number {
  let x = s >>> 0;
  return () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = x;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** What one object must hold: the bytes Drive gives for the file (or for its export in that format). */
interface Expected {
  file: EmuFile;
  format: string;
  size: number;
  sha256: string;
}

let stack: Stack;
let client: Client;
let config: Config;
let configPath: string;
let worker: ChildProcess;
const workers: ChildProcess[] = [];
const expected = new Map<string, Expected>();
const expectedKey = (fileId: string, format: string) => `${fileId}/${format}`;

/** Every worker's log after its start line, kept when the test fails (the path is printed) and removed when it passes. */
const logDir = mkdtempSync(join(tmpdir(), `kill-random-${seed}-`));
const logs: WriteStream[] = [];

const startWorker = async () => {
  const child = await startWorkerProcess(configPath, stackEnv(stack));
  workers.push(child);
  recordProcessGroups([child.pid]);
  const log = createWriteStream(join(logDir, `worker-${workers.length}.log`));
  logs.push(log);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
};

/** What the workers logged about resuming (batches, large files), and every warning or error, counted by message. */
async function loggedEvents(): Promise<Record<string, number>> {
  await Promise.all(logs.map((log) => (log.writableFinished ? undefined : once(log, 'finish'))));
  const counts: Record<string, number> = {};
  const count = (what: string) => (counts[what] = (counts[what] ?? 0) + 1);
  for (const name of readdirSync(logDir)) {
    for (const line of readFileSync(join(logDir, name), 'utf8').split('\n').filter(Boolean)) {
      let entry: { level?: number; event?: string; msg?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line);
      } catch {
        count('(not a log line)');
        continue;
      }
      // Why a checkpoint could not be used, e.g. NoSuchUpload: the file had completed after the last heartbeat.
      const why = entry.err?.message?.match(/failed: (\w+)/)?.[1] ?? entry.err?.message?.slice(0, 60);
      if (entry.event === 'transfer.resume_failed') count(`${entry.event} (${why})`);
      else if (entry.event?.match(/^transfer\.(resume|batch_resumed)$/)) count(entry.event);
      else if ((entry.level ?? 0) >= 40) count(`${entry.level === 40 ? 'warn' : 'error'}: ${entry.msg}`);
    }
  }
  return counts;
}

/**
 * The tree: the emulator's sample seed (Workspace files of every exportable type, a 64 MiB video, a form,
 * a shortcut, a shared drive, a trashed file), two more binary files of 64 MiB or more (part by part,
 * resumable), a few of several MiB (one streamed PUT), and small files up to 500. The file contents are
 * fixed (their own seed); only the kill schedule varies between runs.
 */
async function seedDrive(): Promise<void> {
  const store = stack.emulator!.store;
  await seedFromDirectory(store, join(__dirname, 'drive-emulator', 'sample-drive'));
  const footage = await store.addFile({ name: 'Footage', mimeType: FOLDER });
  const add = (name: string, parentId: string, size: number, contentSeed: number, withoutSha256: boolean) =>
    store.addFile({ name, parentId, content: generatedContent(size, contentSeed), withoutSha256 });
  await add('raw-1.mov', footage.id, 64 * MiB + 12_345, 801, true);
  await add('raw-2.mp4', footage.id, 72 * MiB, 802, false);
  for (const [i, size] of [2 * MiB + 1, 5 * MiB, 11 * MiB - 7].entries()) await add(`scan-${i}.pdf`, footage.id, size, 810 + i, i === 1);
  const sizes = seededRandom(8);
  const folders: EmuFile[] = [];
  for (let i = 0; i < 6; i++) folders.push(await store.addFile({ name: `bulk ${i}`, mimeType: FOLDER }));
  const extensions = ['bin', 'jpg', 'pdf', 'txt', 'dat', 'zip'];
  const backedUp = [...store.files.values()].filter((f) => contentFormats(f).length > 0).length;
  for (let i = 0; i < FILES - backedUp; i++) {
    const size = Math.floor(sizes() ** 3 * 256 * 1024);
    await add(`item-${i}.${extensions[i % extensions.length]}`, folders[i % folders.length].id, size, 1000 + i, i % 7 === 0);
  }
}

/** The formats an emulator file is backed up in: '' for a binary file, the export extensions for a Workspace file. */
function contentFormats(f: EmuFile): string[] {
  if (f.trashed || f.mimeType === FOLDER || f.mimeType === SHORTCUT) return [];
  if (f.content) return [''];
  return exportExtensionsFor(f.mimeType, config.exportFormats);
}

before(async () => {
  // MinIO's per-bucket byte counters, read without a token, measure what every upload and re-upload cost.
  process.env.MINIO_PROMETHEUS_AUTH_TYPE = 'public';
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  config = stackConfig(stack);
  await seedDrive();
  stack.emulator!.faults.add({ match: 'alt=media', bytesPerSecond: DOWNLOAD_BYTES_PER_SECOND });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const file of stack.emulator!.store.files.values()) {
    for (const format of contentFormats(file)) {
      const exported = format ? renderExport(file, EXPORT_MIME_TYPES[format]) : undefined;
      const size = exported ? exported.length : contentSize(file.content!);
      const sha256 = exported ? sha(exported) : file.hashes!.sha256;
      expected.set(expectedKey(file.id, format), { file, format, size, sha256 });
    }
  }
  configPath = join(stack.tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  client = new Client({ connection: await Connection.connect({ address: stack.temporal!.address }) });
});

after(async () => {
  await Promise.all(workers.map((w) => stopTied(w)));
  await client?.connection.close();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes MinIO has received in request bodies, per bucket (its Prometheus counter). */
async function receivedBytes(): Promise<Record<string, number>> {
  const text = await (await fetch(`${stack.minio!.endpoint}/minio/v2/metrics/bucket`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^minio_bucket_traffic_received_bytes\{bucket="([^"]+)"[^}]*\} (\S+)$/gm)) {
    counts[m[1]] = Number(m[2]);
  }
  return counts;
}

/** Bytes the emulator has sent as file content (downloads and exports), all requests counted. */
const contentBytesServed = () =>
  stack
    .emulator!.requests.filter((r) => r.query.alt === 'media' || r.path.endsWith('/export') || r.path.startsWith('/feeds/download/'))
    .reduce((sum, r) => sum + r.bytesSent, 0);

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A Temporal failure with every cause below it: which activity failed, and why. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as (Error & { cause?: unknown }) | undefined; e; e = e.cause as typeof e) {
    parts.push(`${e.name}: ${e.message}`);
  }
  return parts.join(' <- ');
}

/**
 * The activities of a workflow run that took more than one attempt: after how long the last one started, and
 * what ended the one before (a heartbeat timeout is a killed transfer noticed; a start-to-close timeout is a
 * task that died with its worker and was waited out to the end).
 */
async function retriedActivities(workflowId: string): Promise<Array<{ line: string; lastFailure?: string; waitedSeconds: number }>> {
  const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
  const ms = (ts?: { seconds?: unknown; nanos?: number | null } | null) => Number(String(ts?.seconds ?? 0)) * 1000 + (ts?.nanos ?? 0) / 1e6;
  const scheduled = new Map<string, { type: string; at: number }>();
  const retried: Array<{ line: string; lastFailure?: string; waitedSeconds: number }> = [];
  for (const e of events ?? []) {
    const task = e.activityTaskScheduledEventAttributes;
    if (task) scheduled.set(String(e.eventId), { type: task.activityType?.name ?? '?', at: ms(e.eventTime) });
    const start = e.activityTaskStartedEventAttributes;
    if (!start || (start.attempt ?? 1) <= 1) continue;
    const of = scheduled.get(String(start.scheduledEventId))!;
    const lastFailure = decodeTimeoutType(start.lastFailure?.timeoutFailureInfo?.timeoutType) ?? start.lastFailure?.message ?? undefined;
    const after = ((ms(e.eventTime) - of.at) / 1000).toFixed(0);
    const line = `${of.type} attempt ${start.attempt} began ${after} s after it was scheduled; last failure ${lastFailure}`;
    retried.push({ line, lastFailure, waitedSeconds: (ms(e.eventTime) - of.at) / 1000 });
  }
  return retried;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Files under the local destination's root that no catalog row names, its metadata folder aside. */
function unrecordedLocalFiles(root: string, recorded: Set<string>, dir = root): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (dir === root && entry === '.drive-vault-meta') return [];
    if (statSync(path).isDirectory()) return unrecordedLocalFiles(root, recorded, path);
    return recorded.has(relative(root, path)) ? [] : [relative(root, path)];
  });
}

const title = `a full sync killed with SIGKILL at ${KILLS} random moments completes with every object's bytes right on every destination`;
test(title, { timeout: 15 * 60_000 }, async (t) => {
  const random = seededRandom(seed);
  const delays = Array.from({ length: KILLS }, () => Math.round(KILL_DELAY_MS.min + random() * (KILL_DELAY_MS.max - KILL_DELAY_MS.min)));
  // Printed at once, not only at the end, so a run that hangs can still be replayed.
  console.log(`kill-random: seed ${seed} (replay with KILL_RANDOM_SEED=${seed}); kill delays after each start: ${delays.join(', ')} ms`);
  console.log(`kill-random: worker logs in ${logDir}`);
  t.diagnostic(`seed ${seed}; kill delays ${delays.join(', ')} ms`);
  const sourceBytes = [...expected.values()].reduce((sum, e) => sum + e.size, 0);
  assert.equal(expected.size, FILES, 'the tree backs up 500 files');

  const started = Date.now();
  worker = await startWorker();
  const handle = await client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: WORKFLOW_ID,
    // A killed worker's batch is retried once its heartbeat is 5 s late, not after the default minute.
    args: [{ includeSharedDrives: true, transferHeartbeatTimeout: '5 seconds' }],
  });
  const latest = client.workflow.getHandle(WORKFLOW_ID);
  const kills: string[] = [];
  for (const [k, delay] of delays.entries()) {
    await sleep(delay);
    const { status, startTime, closeTime } = await latest.describe();
    const ran = closeTime ? `it ran ${(closeTime.getTime() - startTime.getTime()) / 1000} s` : '';
    assert.equal(status.name, 'RUNNING', `kill ${k + 1} of ${KILLS} (seed ${seed}) came after the run had ended: ${ran}`);
    const progress = await latest.query(fullSyncProgressQuery).catch(() => undefined);
    process.kill(-worker.pid!, 'SIGKILL');
    await once(worker, 'exit');
    const at = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    const where = progress ? `${progress.phase}, ${progress.totals.filesSynced} files recorded` : 'progress unknown';
    kills.push(`kill ${k + 1} at ${at}: ${where}`);
    const restarting = Date.now();
    worker = await startWorker();
    kills[k] += `; restarted in ${((Date.now() - restarting) / 1000).toFixed(1)} s`;
    console.log(`kill-random: ${kills[k]}`);
  }
  const restartedAt = Date.now();
  const summary: FullSyncSummary = await handle.result().catch((err: Error) => {
    throw new Error(`the run failed (seed ${seed}): ${causeChain(err)}`);
  });
  const seconds = (Date.now() - started) / 1000;
  const afterLastRestart = (Date.now() - restartedAt) / 1000;
  const retried = [...(await retriedActivities(WORKFLOW_ID)), ...(await retriedActivities(`${WORKFLOW_ID}-listing`))];
  const received = await receivedBytes();
  const served = contentBytesServed();
  await stopTied(worker);

  for (const line of kills) t.diagnostic(line);
  t.diagnostic(`run took ${seconds.toFixed(0)} s, ${afterLastRestart.toFixed(0)} s after the last restart`);
  t.diagnostic(`worker logs: ${JSON.stringify(await loggedEvents())}`);
  for (const { line } of retried) t.diagnostic(line);
  // Without kills both counts equal the source size to the byte: what is beyond it is the kills' cost.
  const beyond = (what: string, total: number) => {
    const again = total - sourceBytes;
    return `${what} ${total} bytes, ${again} (${mib(again)}) beyond the source, ${mib(again / KILLS)} per kill`;
  };
  t.diagnostic(`source ${sourceBytes} bytes (${mib(sourceBytes)}); ${beyond('downloaded from the emulator', served)}`);
  for (const bucket of Object.values(BUCKETS)) t.diagnostic(beyond(`uploaded to ${bucket}`, received[bucket] ?? 0));

  const counts = [summary.filesSynced, summary.filesFailed, summary.filesDeferred, summary.pending];
  assert.deepEqual(counts, [FILES, 0, 0, 0], `synced, failed, deferred, pending in ${JSON.stringify(summary)}`);
  for (const d of ['aws', 'eu', 'nas']) assert.equal(summary.verified[d], FILES, `${d}: every object verified`);
  assert.deepEqual(summary.mismatched, {});

  // The catalog: every file synced, every object row verified with the source's SHA-256 and size.
  const catalog = openTestCatalog(stack.tmp);
  const states = catalog.db.prepare('SELECT id, state FROM files WHERE state IS NOT NULL').all() as Array<{ id: string; state: string }>;
  const stateOf = new Map(states.map((r) => [r.id, r.state]));
  for (const e of expected.values()) assert.equal(stateOf.get(e.file.id), 'synced', `${e.file.name} (${e.file.id}) is synced`);
  type ObjectRow = { fileId: string; destination: string; format: string; key: string; size: number; sha256: string; state: string };
  const objectRows = 'SELECT file_id AS fileId, destination, format, key, size, sha256, state FROM objects';
  const rows = catalog.db.prepare(objectRows).all() as ObjectRow[];
  catalog.db.close();
  assert.equal(rows.length, FILES * 3, 'one object row per file and destination');
  for (const row of rows) {
    const e = expected.get(expectedKey(row.fileId, row.format));
    assert.ok(e, `object row for a file that should not be backed up: ${JSON.stringify(row)}`);
    const recorded = [row.state, row.sha256, row.size];
    assert.deepEqual(recorded, ['verified', e.sha256, e.size], `catalog row of ${row.key} on ${row.destination}`);
  }
  for (const destination of ['aws', 'eu', 'nas']) {
    const held = new Set(rows.filter((r) => r.destination === destination).map((r) => expectedKey(r.fileId, r.format)));
    assert.deepEqual(
      [...expected.keys()].filter((k) => !held.has(k)),
      [],
      `no file missing from the catalog for ${destination}`,
    );
  }

  // Every object read back from every destination, against the emulator's bytes.
  const s3 = stack.minio!.client();
  try {
    for (const [destination, bucket] of [
      ['aws', BUCKETS.aws],
      ['eu', BUCKETS.eu],
    ] as const) {
      const mine = rows.filter((r) => r.destination === destination);
      const keys = new Set(await listBucketKeys(s3, bucket));
      assert.deepEqual(keys, new Set(mine.map((r) => `vault/${r.key}`)), `${bucket} holds exactly the recorded keys`);
      for (const row of mine) {
        const e = expected.get(expectedKey(row.fileId, row.format))!;
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `vault/${row.key}` }));
        assert.equal(await sha256Of(object.Body as NodeJS.ReadableStream), e.sha256, `bytes of ${row.key} in ${bucket}`);
        // The SHA-256 is in the metadata when known as the upload began, else in a tag on the version written.
        const tagged = async () => {
          const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: `vault/${row.key}`, VersionId: object.VersionId }));
          return tags.TagSet?.find((tag) => tag.Key === 'sha256')?.Value;
        };
        const stored = [object.Metadata?.['drive-file-id'], object.Metadata?.sha256 ?? (await tagged())];
        assert.deepEqual(stored, [e.file.id, e.sha256], `file id and SHA-256 stored with ${row.key} in ${bucket}`);
      }
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      t.diagnostic(`${bucket}: ${open.Uploads?.length ?? 0} multipart uploads left open`);
    }
  } finally {
    s3.destroy();
  }
  const nas = join(stack.tmp, 'nas');
  const onNas = rows.filter((r) => r.destination === 'nas');
  for (const row of onNas) {
    const e = expected.get(expectedKey(row.fileId, row.format))!;
    assert.equal(await sha256Of(createReadStream(join(nas, ...row.key.split('/')))), e.sha256, `bytes of ${row.key} in nas`);
  }
  // A killed write leaves its temporary file behind; anything else there would be an object nobody recorded.
  const leftovers = unrecordedLocalFiles(nas, new Set(onNas.map((r) => join(...r.key.split('/')))));
  assert.deepEqual(
    leftovers.filter((p) => !p.endsWith('.partial')),
    [],
    'nas holds no file the catalog does not name',
  );
  t.diagnostic(`nas: ${leftovers.length} temporary files left by killed writes`);

  // A task that died with its worker is noticed by a missed heartbeat, or by a start-to-close timeout short enough
  // (30 s for the full sync's catalog tasks, 2 minutes for a listing page) that the run does not stall for minutes.
  const waitedOut = retried.filter((r) => r.waitedSeconds > 150).map((r) => r.line);
  assert.deepEqual(waitedOut, [], `the run stalled on tasks lost with a killed worker (seed ${seed})`);
  rmSync(logDir, { recursive: true, force: true });
});
