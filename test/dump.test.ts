import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { extract as extractTar } from 'tar';
import { startFullSync } from '../api/fullSyncRuns';
import { checkCatalogCopy } from '../activities/dump/dailyDump';
import { DUMP_FILES, DUMP_FILE_NAMES, localDumpDir, stateLayout } from '../activities/dump/dumpLayout';
import { readManifestLines } from '../activities/dump/manifestFile';
import { StateObjectMismatchError, verifyStateObject } from '../activities/dump/stateObjects';
import type { Destination } from '../activities/storage/destination';
import type { Config } from '../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import type { NightlyDumpResult, WeeklyRollupResult } from '../common/types';
import { nightlyDump, weeklyRollup } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import { streamToBuffer } from './support/drive';
import { runCli } from './support/cli';
import { BUCKETS, type Stack, listBucketKeys, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';
import { Readable } from 'node:stream';

// Issue 12: the nightly dump of the catalog, its retention, and the weekly rollup.
let stack: Stack;
let worker: RunningWorker;
let config: Config;
let s3: S3Client;
let runs = 0;
const KEEP_LOCAL = 1;
const KEEP_REMOTE_DAYS = 3;
const KEEP_WEEKLY = 2;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  config = stackConfig(stack, { dumps: { keepLocal: KEEP_LOCAL, keepRemoteDays: KEEP_REMOTE_DAYS, keepWeekly: KEEP_WEEKLY } });
  worker = await startTestWorker(stack, config);
  s3 = new S3Client({
    endpoint: stack.minio!.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: stack.minio!.accessKeyId, secretAccessKey: stack.minio!.secretAccessKey },
  });
});

after(async () => {
  s3?.destroy();
  await worker?.stop();
  await stack?.stop();
});

const destination = (name: string): Destination => worker.wired.destinations.find((d) => d.name === name)!;
const dumpDir = () => localDumpDir(config);
/** A config of one account: the `state/` folder dumps always had. */
const dailyKey = (day: string, file: string) => stateLayout(config).dailyKey(day, file);

async function dump(now?: string): Promise<NightlyDumpResult> {
  const handle = await worker.client.workflow.start(nightlyDump, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `dump-test-${++runs}`,
    args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId), now }],
  });
  return handle.result();
}

async function rollup(now: string): Promise<WeeklyRollupResult> {
  const handle = await worker.client.workflow.start(weeklyRollup, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `rollup-test-${++runs}`,
    args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId), now }],
  });
  return handle.result();
}

/** The days under state/daily/ on a destination. */
async function remoteDays(d: Destination): Promise<string[]> {
  return (await d.listFolders('state/daily/')).map((f) => f.slice('state/daily/'.length, -1)).sort();
}

const localDays = () =>
  readdirSync(dumpDir())
    .filter((n) => /^\d{4}-\d{2}-\d{2}$/.test(n))
    .sort();

test('a dump taken while a full sync writes opens, passes integrity_check, and agrees with its manifest and every destination', async () => {
  const s = stack.emulator!.store;
  const folder = await s.addFile({ name: 'Busy' });
  for (let i = 0; i < 120; i++) await s.addFile({ name: `f${i}.txt`, parentId: folder.id, content: bytesContent(`file ${i}`) });
  // Slow downloads keep the full sync writing for several seconds while the dump copies the catalog.
  stack.emulator!.faults.add({ match: 'alt=media', delayMs: 700 });
  const sync = await startFullSync(worker.client, config, `dump-test-sync-${++runs}`);
  const synced = () =>
    (worker.wired.catalog.db.prepare("SELECT count(*) AS n FROM objects WHERE state = 'verified'").get() as { n: number }).n;
  while (synced() < 10) await new Promise((r) => setTimeout(r, 100));
  const result = await dump();
  const syncState = (await sync.describe()).status.name;
  const summary = await sync.result();
  stack.emulator!.faults.clear();
  assert.equal(syncState, 'RUNNING', 'the full sync was still writing when the dump finished');
  assert.equal(summary.filesFailed, 0);
  assert.equal(result.status, 'verified', JSON.stringify(result));
  for (const name of ['aws', 'eu', 'nas']) assert.deepEqual(result.destinations[name], { status: 'verified', uploaded: [result.day] });

  const dayDir = join(dumpDir(), result.day!);
  const gz = readFileSync(join(dayDir, DUMP_FILES.catalog));
  assert.equal(sha256(gz), result.catalog!.sha256);
  assert.equal(readFileSync(join(dayDir, DUMP_FILES.catalogSha256), 'utf8'), `${result.catalog!.sha256}  catalog.sqlite.gz\n`);
  const copyPath = join(stack.tmp, 'dump-copy.sqlite');
  writeFileSync(copyPath, gunzipSync(gz));
  const copy = new Database(copyPath, { readonly: true });
  try {
    checkCatalogCopy(copy, 'the dump');
    const backedUp = copy.prepare("SELECT count(*) AS n FROM objects WHERE state IN ('uploaded', 'verified')").get() as { n: number };
    assert.equal(backedUp.n, result.objects);
    // Taken mid-sync: some of the files, not all, were backed up when it was copied.
    assert.ok(result.objects! >= 10 * 3 && result.objects! < 120 * 3, `${result.objects} objects in the dump`);
    const objectLines = [];
    for await (const line of readManifestLines(Readable.from(readFileSync(join(dayDir, DUMP_FILES.manifest))))) {
      if (line.type === 'object') objectLines.push(line);
    }
    assert.equal(objectLines.length, result.objects);
    const row = copy.prepare('SELECT key, sha256, size, file_version FROM objects WHERE file_id = ? AND destination = ?');
    for (const line of objectLines) {
      assert.deepEqual(row.get(line.fileId, line.destination), {
        key: line.key,
        sha256: line.sha256,
        size: line.size,
        file_version: line.version,
      });
      assert.match(line.path, /^My Drive\/Busy\/f\d+\.txt$/);
    }
  } finally {
    copy.close();
  }
  // Every destination holds the same four files, byte for byte.
  for (const name of ['aws', 'eu', 'nas']) {
    for (const file of DUMP_FILE_NAMES) {
      const remote = await streamToBuffer(await destination(name).read(dailyKey(result.day!, file)));
      assert.ok(remote.equals(readFileSync(join(dayDir, file))), `${name} ${file}`);
    }
  }
});

test('one byte changed in an uploaded dump is reported by its verification', async () => {
  const day = localDays().at(-1)!;
  const key = `vault/${dailyKey(day, DUMP_FILES.catalog)}`;
  const expected = { size: readFileSync(join(dumpDir(), day, DUMP_FILES.catalog)).length, sha256: localSha256(day) };
  await verifyStateObject(destination('aws'), dailyKey(day, DUMP_FILES.catalog), expected);
  // Same size, same metadata (the stored SHA-256 still claims the old bytes): only reading back can tell.
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKETS.aws, Key: key }));
  const bytes = await streamToBuffer((await s3.send(new GetObjectCommand({ Bucket: BUCKETS.aws, Key: key }))).Body as Readable);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  await s3.send(new PutObjectCommand({ Bucket: BUCKETS.aws, Key: key, Body: bytes, Metadata: head.Metadata }));
  await assert.rejects(
    verifyStateObject(destination('aws'), dailyKey(day, DUMP_FILES.catalog), expected),
    (err: Error) => err instanceof StateObjectMismatchError && err.message.includes(`aws: ${key} reads back as`),
  );
  await verifyStateObject(destination('eu'), dailyKey(day, DUMP_FILES.catalog), expected);
});

function localSha256(day: string): string {
  return readFileSync(join(dumpDir(), day, DUMP_FILES.catalogSha256), 'utf8').slice(0, 64);
}

const D = (n: number) => `2027-01-${String(n).padStart(2, '0')}`;
const at = (n: number) => `${D(n)}T02:30:00Z`;

test('retention keeps the configured dumps, and a local dump until every destination holds it verified', async () => {
  for (let n = 1; n <= 5; n++) assert.equal((await dump(at(n))).status, 'verified');
  assert.deepEqual(localDays(), [D(5)]);
  for (const name of ['aws', 'eu', 'nas']) assert.deepEqual(await remoteDays(destination(name)), [D(3), D(4), D(5)], name);

  // With MinIO down, the two buckets fail and the directory verifies: D6 and D7 stay local until the buckets hold them.
  await stack.minio!.stop();
  const down6 = await dump(at(6));
  assert.equal(down6.status, 'degraded');
  assert.equal(down6.destinations.nas?.status, 'verified');
  assert.equal(down6.destinations.aws?.status, 'failed');
  assert.deepEqual(down6.retention!.localDeleted, [D(5)], 'D5 was verified everywhere: it goes');
  assert.deepEqual(down6.retention!.remoteDeleted, { nas: [D(3)] }, 'the buckets, not uploaded to, keep every day');
  const down7 = await dump(at(7));
  assert.deepEqual(down7.retention!.localKeptUnverified, [D(6)], 'D6 is past the local retention but the buckets lack it');
  assert.deepEqual(localDays(), [D(6), D(7)]);
  assert.deepEqual(await remoteDays(destination('nas')), [D(5), D(6), D(7)]);

  await stack.restartMinio();
  const back = await dump(at(8));
  assert.equal(back.status, 'verified');
  assert.deepEqual(back.destinations.aws, { status: 'verified', uploaded: [D(8), D(7), D(6)] });
  assert.deepEqual(back.destinations.nas, { status: 'verified', uploaded: [D(8)] });
  assert.deepEqual(back.retention!.localDeleted, [D(7), D(6)]);
  assert.deepEqual(localDays(), [D(8)]);
  for (const name of ['aws', 'eu', 'nas']) assert.deepEqual(await remoteDays(destination(name)), [D(6), D(7), D(8)], name);
  const late = (await listBucketKeys(s3, BUCKETS.eu)).filter((k) => k.startsWith(`vault/state/daily/${D(6)}/`)).sort();
  assert.deepEqual(late, DUMP_FILE_NAMES.map((f) => `vault/${dailyKey(D(6), f)}`).sort(), 'the late upload carries the whole day');
});

test("the weekly rollup packs the week's dumps, reports missing days, and keeps the newest archives", async () => {
  const first = await rollup(at(8));
  assert.equal(first.status, 'verified', JSON.stringify(first));
  assert.equal(first.name, 'weekly_20270102_20270108.tar.gz');
  assert.deepEqual(first.days, [D(8)]);
  assert.deepEqual(first.missing, [D(2), D(3), D(4), D(5), D(6), D(7)]);
  // The archive on a bucket unpacks to the local dump's files, byte for byte.
  const archive = await streamToBuffer(await destination('eu').read(`state/weekly/${first.name}`));
  assert.equal(sha256(archive), first.archive!.sha256);
  const unpacked = join(stack.tmp, 'unpacked');
  mkdirSync(unpacked);
  await new Promise<void>((resolve, reject) => {
    const tar = extractTar({ cwd: unpacked });
    tar.on('finish', resolve).on('error', reject);
    tar.end(archive);
  });
  assert.deepEqual(readdirSync(join(unpacked, D(8))).sort(), [...DUMP_FILE_NAMES].sort());
  for (const file of DUMP_FILE_NAMES) {
    assert.ok(readFileSync(join(unpacked, D(8), file)).equals(readFileSync(join(dumpDir(), D(8), file))), file);
  }
  assert.deepEqual(first.retention!.localDeleted, [first.name], 'verified everywhere: the local archive goes');

  for (const n of [15, 22]) {
    await dump(at(n));
    assert.equal((await rollup(at(n))).status, 'verified');
  }
  const names = ['weekly_20270109_20270115.tar.gz', 'weekly_20270116_20270122.tar.gz'];
  for (const name of ['aws', 'eu', 'nas']) {
    const kept = [];
    for await (const { key } of destination(name).list('state/weekly/')) kept.push(key.slice('state/weekly/'.length));
    assert.deepEqual(kept.sort(), names, `${name} keeps the newest ${KEEP_WEEKLY}`);
  }
  const empty = await rollup(at(31));
  assert.equal(empty.status, 'empty');
  assert.deepEqual(empty.missing.length, 7);
  assert.equal(existsSync(join(dumpDir(), 'weekly', 'weekly_20270125_20270131.tar.gz')), false);
});

test('drive-vault dump --wait --json runs the dump and prints its result', async () => {
  const configPath = join(stack.tmp, 'cli-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      account: 'me@example.com',
      google: { clientId: 'c' },
      temporal: { address: stack.temporal!.address },
      destinations: [{ kind: 'local', name: 'nas', path: join(stack.tmp, 'unused') }],
    }),
  );
  const cli = await runCli(['dump', '--wait', '--json', '--config', configPath]);
  assert.equal(cli.status, 0, cli.stderr);
  const printed = JSON.parse(cli.stdout) as NightlyDumpResult;
  assert.equal(printed.status, 'verified');
  assert.deepEqual(Object.keys(printed.destinations).sort(), ['aws', 'eu', 'nas']);
  const text = await runCli(['rollup', '--config', configPath]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^started rollup-/);
});
