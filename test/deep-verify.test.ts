import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { createDestinations } from '../activities/storage/createDestinations';
import type { Destination } from '../activities/storage/destination';
import type { Config } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import type { DeepVerifySummary } from '../common/types';
import { type DeepVerifyInput, deepVerify, fullSync } from '../workflows';
import { bytesContent, generatedContent } from './drive-emulator/content';
import { runCli } from './support/cli';
import { streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker } from './support/worker';

let stack: Stack;
let worker: RunningWorker;
let config: Config;
let destinations: Map<string, Destination>;
/** Files in the Drive: 36 objects on three destinations, an even count so that two halves cover them. */
const FILES = 12;
const S3_PREFIX = 'vault';

before(async () => {
  // Continue-as-new after a few pages, so a deep verification spans several runs.
  stack = await startStack({ temporal: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 20 } }, minio: true, emulator: true });
  const store = stack.emulator!.store;
  const folder = await store.addFile({ name: 'verified' });
  for (let i = 0; i < FILES - 1; i++) {
    await store.addFile({ name: `note-${i}.txt`, parentId: folder.id, content: bytesContent(`note ${i} `.repeat(20 + i)) });
  }
  // Read in many chunks, and over the page byte bound set below: a page of its own.
  await store.addFile({ name: 'big.bin', parentId: folder.id, content: generatedContent(3 * 1024 * 1024 + 17, 7) });
  config = stackConfig(stack);
  destinations = new Map(createDestinations(config, stackEnv(stack)).map((d) => [d.name, d]));
  worker = await startTestWorker(stack, config);
  await runFullSync('initial-sync');
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

interface ObjectRow {
  rowid: number;
  file_id: string;
  destination: string;
  key: string;
  size: number;
  sha256: string;
  state: string;
  uploaded_at: string;
  deep_verified_at: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const objects = () =>
  worker.wired.catalog.db
    .prepare('SELECT rowid, file_id, destination, key, size, sha256, state, uploaded_at, deep_verified_at FROM objects ORDER BY rowid')
    .all() as ObjectRow[];
const fileState = (id: string) =>
  (worker.wired.catalog.db.prepare('SELECT state FROM files WHERE id = ?').get(id) as { state: string }).state;
const openFailures = (fileId: string) =>
  worker.wired.catalog.db
    .prepare('SELECT destination, reason, message FROM failures WHERE file_id = ? AND resolved_at IS NULL')
    .all(fileId) as Array<{ destination: string; reason: string; message: string }>;
/** An object of `destination` holding at least a few bytes, not the one in `except`. */
const someObject = (destination: string, except: string[] = []) =>
  objects().find((o) => o.destination === destination && o.size > 100 && o.size < 1024 * 1024 && !except.includes(o.file_id))!;
const flipped = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));
const localPath = (key: string) => join(stack.tmp, 'nas', ...key.split('/'));

async function runFullSync(workflowId: string) {
  return worker.client.workflow.execute(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ includeSharedDrives: false, batchSize: 20 }],
  });
}

let runs = 0;
/** Runs a deep verification with small pages (and a 1 MiB byte bound), so it pages and continues as new. */
async function runDeepVerify(input: DeepVerifyInput = {}): Promise<{ summary: DeepVerifySummary; continuedAsNew: boolean }> {
  const handle = await worker.client.workflow.start(deepVerify, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `deep-verify-${++runs}`,
    args: [{ pageObjects: 4, pageBytes: 1024 * 1024, ...input }],
  });
  const summary = await handle.result();
  const first = await worker.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
  return { summary, continuedAsNew: first.status.name === 'CONTINUED_AS_NEW' };
}

/** Rewrites an S3 object behind drive-vault's back: other bytes of the same size, the same metadata, so a HEAD still passes. */
async function forgeInMinio(o: ObjectRow): Promise<void> {
  const s3 = stack.minio!.client();
  try {
    const Key = `${S3_PREFIX}/${o.key}`;
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKETS.aws, Key }));
    const original = await streamToBuffer(
      (await s3.send(new GetObjectCommand({ Bucket: BUCKETS.aws, Key }))).Body as NodeJS.ReadableStream,
    );
    const Body = flipped(original);
    await s3.send(new PutObjectCommand({ Bucket: BUCKETS.aws, Key, Body, Metadata: head.Metadata, ContentType: head.ContentType }));
  } finally {
    s3.destroy();
  }
}

test('deep verify finds same-size bytes that a HEAD passes, rewritten in S3 and on disk; the next sync rewrites only those', async () => {
  const inAws = someObject('aws');
  const onNas = someObject('nas', [inAws.file_id]);
  await forgeInMinio(inAws);
  const local = localPath(onNas.key);
  const original = readFileSync(local);
  writeFileSync(local, flipped(original));
  for (const o of [inAws, onNas]) {
    assert.deepEqual(
      await destinations
        .get(o.destination)!
        .head(o.key)
        .then((h) => ({ size: h?.size, sha256: h?.sha256 })),
      { size: o.size, sha256: o.sha256 },
      `a HEAD of the rewritten ${o.destination} object still matches the catalog`,
    );
  }

  const before = objects();
  const { summary, continuedAsNew } = await runDeepVerify();
  assert.ok(continuedAsNew, 'the verification continued as new between pages');
  assert.equal(summary.how, 'deep');
  assert.equal(summary.samplePercent, null);
  assert.equal(summary.objectsChosen, before.length);
  const perDestination = Object.fromEntries(
    ['aws', 'eu', 'nas'].map((d) => {
      const mine = before.filter((o) => o.destination === d);
      const bad = d === 'aws' || d === 'nas' ? 1 : 0;
      const bytesRead = mine.reduce((sum, o) => sum + o.size, 0);
      return [d, { verified: mine.length - bad, mismatched: bad, unverified: 0, bytesRead }];
    }),
  );
  assert.deepEqual(summary.perDestination, perDestination);
  assert.deepEqual(summary.degraded, []);

  const after = new Map(objects().map((o) => [o.rowid, o]));
  for (const o of before) {
    const bad = o.rowid === inAws.rowid || o.rowid === onNas.rowid;
    assert.equal(after.get(o.rowid)!.state, bad ? 'failed' : 'verified', `${o.destination} ${o.key}`);
    assert.ok(after.get(o.rowid)!.deep_verified_at > '', 'every object is recorded as read back');
  }
  for (const o of [inAws, onNas]) {
    assert.equal(fileState(o.file_id), 'pending');
    const [failure] = openFailures(o.file_id);
    assert.equal(failure.destination, o.destination);
    assert.equal(failure.reason, 'deepVerifyMismatch');
    assert.match(
      failure.message,
      new RegExp(`expected ${o.size} bytes with SHA-256 ${o.sha256}, found ${o.size} bytes with SHA-256 [0-9a-f]{64}`),
    );
  }

  await runFullSync('sync-after-deep-verify');
  const synced = new Map(objects().map((o) => [o.rowid, o]));
  for (const o of before) {
    const rewritten = o.rowid === inAws.rowid || o.rowid === onNas.rowid;
    assert.equal(
      synced.get(o.rowid)!.uploaded_at !== o.uploaded_at,
      rewritten,
      `only the mismatched objects are written again (${o.destination} ${o.key})`,
    );
  }
  for (const o of [inAws, onNas]) {
    assert.equal(synced.get(o.rowid)!.deep_verified_at, '', 'bytes written anew count as never read back');
    assert.equal(fileState(o.file_id), 'synced');
    assert.deepEqual(openFailures(o.file_id), []);
    assert.equal(
      sha(await streamToBuffer(await destinations.get(o.destination)!.read(o.key))),
      o.sha256,
      `${o.destination} holds the right bytes again`,
    );
  }
  assert.ok(readFileSync(local).equals(original));

  const clean = await runDeepVerify();
  for (const [d, c] of Object.entries(clean.summary.perDestination)) {
    assert.deepEqual([c.verified, c.mismatched, c.unverified], [before.filter((o) => o.destination === d).length, 0, 0], d);
  }
});

test("an object deleted behind drive-vault's back is found missing", async () => {
  const gone = someObject('eu');
  const s3 = stack.minio!.client();
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKETS.eu, Key: `${S3_PREFIX}/${gone.key}` }));
  s3.destroy();
  const { summary } = await runDeepVerify({ destination: 'eu' });
  assert.equal(summary.perDestination.eu.mismatched, 1);
  assert.match(openFailures(gone.file_id)[0].message, /found no object/);
  await runFullSync('sync-after-missing');
  assert.equal(sha(await streamToBuffer(await destinations.get('eu')!.read(gone.key))), gone.sha256);
});

test('a 50% sample reads half the objects, those read back longest ago, and the next one the other half', async () => {
  const all = objects();
  const readSince = (at: string) =>
    new Set(
      objects()
        .filter((o) => o.deep_verified_at >= at)
        .map((o) => o.rowid),
    );
  const oldestHalf = [...all]
    .sort((a, b) => a.deep_verified_at.localeCompare(b.deep_verified_at) || a.rowid - b.rowid)
    .slice(0, all.length / 2);
  assert.equal(all.length % 2, 0);

  const first = await runDeepVerify({ samplePercent: 50 });
  assert.equal(first.summary.objectsChosen, Math.ceil(all.length / 2));
  assert.equal(first.summary.withinRuns, 2);
  const firstRead = readSince(first.summary.startedAt);
  assert.deepEqual([...firstRead].sort(), oldestHalf.map((o) => o.rowid).sort(), 'the first sample reads the longest unread half');
  const second = await runDeepVerify({ samplePercent: 50 });
  const secondRead = readSince(second.summary.startedAt);
  assert.equal(secondRead.size, all.length / 2);
  assert.deepEqual(
    [...firstRead].filter((r) => secondRead.has(r)),
    [],
    'the second sample reads none the first did',
  );
  assert.equal(new Set([...firstRead, ...secondRead]).size, all.length, 'two samples of 50% read every object');
  const verified = Object.values(second.summary.perDestination).reduce((n, c) => n + c.verified, 0);
  assert.equal(verified, all.length / 2);
});

test("--destination reads only that destination's objects, and an unknown one fails the run with its name", async () => {
  const startedBefore = new Date().toISOString();
  const { summary } = await runDeepVerify({ destination: 'nas', samplePercent: 100 });
  assert.deepEqual(summary.destinations, ['nas']);
  assert.deepEqual(Object.keys(summary.perDestination), ['nas']);
  const mine = objects().filter((o) => o.destination === 'nas');
  assert.equal(summary.perDestination.nas.verified, mine.length);
  const read = objects().filter((o) => o.deep_verified_at >= startedBefore);
  assert.deepEqual([...new Set(read.map((o) => o.destination))], ['nas']);

  await assert.rejects(runDeepVerify({ destination: 'nope' }), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure);
    const failure = err.cause.cause;
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'UnknownDestination');
    assert.match(failure.message, /no destination is named "nope"; the configured ones are eu, aws, nas/);
    return true;
  });
});

test('a destination that cannot be reached leaves its objects unverified, not failed, and first in line next time', async () => {
  const before = objects();
  await stack.minio!.stop();
  let summary: DeepVerifySummary;
  try {
    ({ summary } = await runDeepVerify());
  } finally {
    await stack.restartMinio();
  }
  const count = (d: string) => before.filter((o) => o.destination === d).length;
  assert.equal(summary.perDestination.aws.unverified, count('aws'));
  assert.equal(summary.perDestination.eu.unverified, count('eu'));
  assert.equal(summary.perDestination.aws.mismatched + summary.perDestination.eu.mismatched, 0);
  assert.equal(summary.perDestination.nas.verified, count('nas'));
  assert.deepEqual(summary.degraded, ['aws', 'eu']);
  const after = new Map(objects().map((o) => [o.rowid, o]));
  for (const o of before.filter((o) => o.destination !== 'nas')) {
    assert.equal(after.get(o.rowid)!.state, o.state, 'an unread object keeps its state');
    assert.equal(after.get(o.rowid)!.deep_verified_at, o.deep_verified_at, 'and its place in line');
    assert.notEqual(fileState(o.file_id), 'pending');
  }
  // Fewer objects than the S3 destinations hold together: every one read must be one the last run could not read.
  const next = await runDeepVerify({ samplePercent: 50 });
  assert.ok(next.summary.objectsChosen < count('aws') + count('eu'));
  assert.equal(next.summary.perDestination.nas.verified, 0, 'the next sample reads the unread S3 objects first');
  assert.equal(next.summary.perDestination.aws.verified + next.summary.perDestination.eu.verified, next.summary.objectsChosen);
});

test('reading an object back stops when its signal aborts, on S3 and on a local directory', async () => {
  const big = objects().filter((o) => o.size > 3 * 1024 * 1024);
  assert.equal(big.length, 3);
  for (const o of big) {
    const controller = new AbortController();
    const body = await destinations.get(o.destination)!.read(o.key, { signal: controller.signal });
    let read = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          read += chunk.length;
          controller.abort();
        }
      })(),
      { name: 'AbortError' },
      o.destination,
    );
    assert.ok(read < o.size, `${o.destination}: the stream ended before its last byte`);
  }
});

test('the CLI runs a deep verification and prints its summary as JSON', async () => {
  const configPath = join(stack.tmp, 'cli-config.json');
  writeFileSync(configPath, JSON.stringify(config));
  const cli = await runCli(['verify', '--deep', '--destination', 'eu', '--sample', '100%', '--wait', '--json', '--config', configPath]);
  assert.equal(cli.status, 0, cli.stderr);
  const summary = JSON.parse(cli.stdout) as DeepVerifySummary;
  assert.equal(summary.how, 'deep');
  assert.deepEqual(summary.destinations, ['eu']);
  assert.equal(summary.perDestination.eu.verified, objects().filter((o) => o.destination === 'eu').length);
});
