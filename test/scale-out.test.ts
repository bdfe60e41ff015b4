import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startFullSync } from '../api/fullSyncRuns';
import type { Config } from '../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { startWorkerProcess } from '../scripts/launchers/workerProcess';
import type { WorkerRole } from '../worker/wiring';
import { generatedContent } from './drive-emulator/content';
import { FOLDER } from './drive-emulator/store';
import { openTestCatalog } from './support/catalog';
import { streamToBuffer } from './support/drive';
import { runChain } from './support/histories';
import { BUCKETS, type Stack, listBucketKeys, recordProcessGroups, startStack } from './support/stack';
import { stackConfig, stackEnv } from './support/worker';

/*
 * Issue 10, section 1: N transfer workers on N hosts share a full sync, and the catalog is served only by the
 * worker of the host that owns it. Real worker processes (`worker/main.ts --role ...`), a real Temporal dev
 * server, MinIO and the Drive emulator.
 */

const BINARY_FILES = 240;
const DOCS = 2;
const FILES = BINARY_FILES + DOCS;
/** Small batches, so that a few hundred files make enough of them for two workers to share. */
const BATCH_SIZE = 10;
const TRANSFER_BATCHES_PER_SECOND = 50;

let stack: Stack;
let client: Client;
const running: ChildProcess[] = [];

interface WorkerProcess {
  child: ChildProcess & { identity: string };
  /** Every JSON line it wrote to stdout since it started, parsed. */
  events(): Array<{ event?: string; worker?: string; fileId?: string }>;
}

/** A config of its own per run: its own catalog file and host id, and its own prefix on both buckets. */
function runConfig(name: string, overrides: Record<string, unknown> = {}): Config {
  const destinations = (['aws', 'eu'] as const).map((d) => ({
    kind: 's3',
    name: d,
    endpoint: stack.minio!.endpoint,
    bucket: BUCKETS[d],
    prefix: name,
    forcePathStyle: true,
    accessKeyIdEnv: 'MINIO_KEY',
    secretAccessKeyEnv: 'MINIO_SECRET',
  }));
  return stackConfig(stack, {
    destinations,
    catalog: { path: join(stack.tmp, `${name}.db`), hostId: name },
    transfer: { retryBaseDelayMs: 20, batchSize: BATCH_SIZE, maxTaskQueueActivitiesPerSecond: TRANSFER_BATCHES_PER_SECOND },
    ...overrides,
  });
}

async function startWorker(name: string, config: Config, role: WorkerRole): Promise<WorkerProcess> {
  const configPath = join(stack.tmp, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const child = await startWorkerProcess(configPath, stackEnv(stack), { role });
  running.push(child);
  recordProcessGroups([child.pid]);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    events: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line)),
  };
}

async function stopWorkers(...workers: WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((w) => stopTied(w.child)));
}

/** Which worker (its identity) ran each activity of a workflow, every run of its continue-as-new chain. */
async function activityRuns(workflowId: string): Promise<Array<{ type: string; taskQueue: string; identity: string }>> {
  const first = await client.workflow.getHandle(workflowId).describe();
  const events = (await runChain(client, workflowId, first.runId)).flatMap((h) => h.events ?? []);
  const scheduled = new Map(
    events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!]),
  );
  return events
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => {
      const started = e.activityTaskStartedEventAttributes!;
      const task = scheduled.get(String(started.scheduledEventId))!;
      return { type: task.activityType!.name!, taskQueue: task.taskQueue!.name!, identity: started.identity! };
    });
}

/** The workers polling a queue for activity tasks, as the Temporal server knows them. */
async function activityPollers(taskQueue: string) {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return pollers ?? [];
}

/** Waits until every one of `identities` polls `taskQueue` (a worker polls within moments of its start). */
async function untilPolling(taskQueue: string, identities: string[]): Promise<void> {
  for (let tries = 0; ; tries++) {
    const polling = new Set((await activityPollers(taskQueue)).map((p) => p.identity));
    if (identities.every((i) => polling.has(i))) return;
    if (tries === 120) assert.fail(`${identities.join(', ')} never polled ${taskQueue}; pollers: ${[...polling].join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** key below the run's prefix → SHA-256 of the object's bytes, for one bucket. */
async function objectsUnder(bucket: string, prefix: string): Promise<Map<string, string>> {
  const s3 = stack.minio!.client();
  try {
    const objects = new Map<string, string>();
    for (const key of (await listBucketKeys(s3, bucket)).filter((k) => k.startsWith(`${prefix}/`))) {
      const body = await streamToBuffer((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as NodeJS.ReadableStream);
      objects.set(key.slice(prefix.length + 1), createHash('sha256').update(body).digest('hex'));
    }
    return objects;
  } finally {
    s3.destroy();
  }
}

const assertComplete = (summary: FullSyncSummary, what: string) => {
  assert.deepEqual([summary.filesSynced, summary.filesFailed, summary.filesDeferred, summary.pending], [FILES, 0, 0, 0], what);
  assert.deepEqual(summary.verified, { aws: FILES, eu: FILES }, `${what}: every object verified`);
};

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  const store = stack.emulator!.store;
  const folders = await Promise.all(Array.from({ length: 6 }, (_, i) => store.addFile({ name: `folder ${i}`, mimeType: FOLDER })));
  for (let i = 0; i < BINARY_FILES; i++) {
    const size = (i * 7919) % (48 * 1024);
    await store.addFile({ name: `item-${i}.bin`, parentId: folders[i % folders.length].id, content: generatedContent(size, 5000 + i) });
  }
  for (let i = 0; i < DOCS; i++)
    await store.addFile({ name: `Notes ${i}`, mimeType: 'application/vnd.google-apps.document', text: `doc ${i}` });
  client = new Client({ connection: await Connection.connect({ address: stack.temporal!.address }) });
});

after(async () => {
  await Promise.all(running.map((c) => stopTied(c)));
  await client?.connection.close();
  await stack?.stop();
});

test('a worker given an unknown role stops at once with a message naming the roles', () => {
  const worker = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'worker', 'main.ts'), '--role', 'bogus', 'x.yaml'], {
    encoding: 'utf8',
  });
  assert.equal(worker.status, 2, worker.stderr);
  assert.match(worker.stderr, /drive-vault: unknown worker role "bogus": --role takes all, transfer, catalog/);
});

/** A catalog path no process can create, root or not: its parent is a regular file. */
function unusableCatalogPath(): string {
  const notADirectory = join(stack.tmp, 'not-a-directory');
  writeFileSync(notADirectory, 'a file, where a catalog host would have its data directory');
  return join(notADirectory, 'catalog.db');
}

test('a transfer worker opens no catalog: it starts where the catalog path cannot exist, and a catalog worker cannot', async () => {
  const config = runConfig('no-catalog', { catalog: { path: unusableCatalogPath(), hostId: 'no-catalog' } });
  const transfer = await startWorker('no-catalog-transfer', config, 'transfer');
  await untilPolling(TASK_QUEUES.transfer, [transfer.child.identity]);
  assert.equal((await activityPollers(catalogTaskQueue('no-catalog'))).length, 0, 'nobody serves that catalog');
  await stopWorkers(transfer);
  await assert.rejects(
    startWorker('no-catalog-catalog', config, 'catalog'),
    /exited with 1 before it started[\s\S]*catalog\.ts[\s\S]*not-a-directory/,
  );
});

test('two transfer-worker processes share a full sync, and both destinations end up as a single worker leaves them', {
  timeout: 15 * 60_000,
}, async (t) => {
  // The reference: one worker of role all.
  const single = await startWorker('single', runConfig('single'), 'all');
  const reference = await startFullSync(client, runConfig('single'), 'single-worker');
  assertComplete(await reference.result(), 'single worker');
  await stopWorkers(single);

  // Two transfer hosts, whose config names a catalog path that cannot exist, and the catalog host.
  const scaled = runConfig('scaled');
  const transferConfig = { ...scaled, catalog: { ...scaled.catalog, path: unusableCatalogPath() } };
  const transfers = await Promise.all([
    startWorker('transfer-1', transferConfig, 'transfer'),
    startWorker('transfer-2', transferConfig, 'transfer'),
  ]);
  const catalogHost = await startWorker('scaled', scaled, 'catalog');
  await untilPolling(
    TASK_QUEUES.transfer,
    transfers.map((t) => t.child.identity),
  );
  for (const poller of await activityPollers(TASK_QUEUES.transfer)) {
    assert.equal(poller.ratePerSecond, TRANSFER_BATCHES_PER_SECOND, `${poller.identity}: the queue's server-side rate`);
  }
  const handle = await startFullSync(client, scaled, 'scaled-out');
  assertComplete(await handle.result(), 'two transfer workers');
  const activities = await activityRuns('scaled-out');
  await stopWorkers(...transfers, catalogHost);

  // Who did what: the batches went to both transfer processes, every catalog task to the catalog host.
  const transferIds = transfers.map((t) => t.child.identity);
  const batches = activities.filter((a) => a.type === 'transferBatch');
  const batchesOf = transferIds.map((id) => batches.filter((b) => b.identity === id).length);
  assert.equal(batchesOf[0] + batchesOf[1], batches.length, `every batch ran on a transfer process: ${JSON.stringify(batches)}`);
  assert.ok(
    batchesOf.every((n) => n > 0),
    `both transfer processes ran batches: ${batchesOf.join(' and ')} of ${batches.length}`,
  );
  const catalogTasks = activities.filter((a) => a.type !== 'transferBatch');
  assert.ok(catalogTasks.length > 0);
  for (const task of catalogTasks) {
    assert.deepEqual([task.taskQueue, task.identity], [catalogTaskQueue('scaled'), catalogHost.child.identity], task.type);
  }
  const filesOf = transfers.map((w) => w.events().filter((e) => e.event === 'transfer.file_done' && e.worker === w.child.identity).length);
  t.diagnostic(`batches per transfer process: ${batchesOf.join(' and ')}; files: ${filesOf.join(' and ')}`);
  assert.ok(
    filesOf.every((n) => n > 0),
    `both transfer processes logged files they moved: ${filesOf.join(' and ')}`,
  );
  assert.equal(filesOf[0] + filesOf[1], FILES, 'each file moved once, by one of them');
  assert.equal(catalogHost.events().filter((e) => e.event === 'transfer.file_done').length, 0, 'the catalog host moved no file');

  // The result: the same keys and bytes on both destinations as the single worker's.
  for (const bucket of Object.values(BUCKETS)) {
    const expected = await objectsUnder(bucket, 'single');
    assert.equal(expected.size, FILES, `${bucket}: one object per file`);
    assert.deepEqual(await objectsUnder(bucket, 'scaled'), expected, `${bucket}: scaled-out objects are the single worker's`);
  }
});

test('a catalog worker of another host never serves a run that names this host', { timeout: 10 * 60_000 }, async () => {
  // Only the other host runs: it serves the workflows, and its own catalog queue.
  const other = await startWorker('other', runConfig('other'), 'catalog');
  const handle = await startFullSync(client, runConfig('scaled'), 'for-the-scaled-host');
  await untilPolling(catalogTaskQueue('other'), [other.child.identity]);
  let pending: Awaited<ReturnType<typeof handle.describe>>['raw']['pendingActivities'] = [];
  for (let tries = 0; !pending?.length; tries++) {
    assert.ok(tries < 120, 'the run schedules its first catalog task');
    await new Promise((r) => setTimeout(r, 500));
    pending = (await handle.describe()).raw.pendingActivities;
  }
  // Long enough for a poller of that queue to have taken it many times over.
  await new Promise((r) => setTimeout(r, 5_000));
  const waiting = (await handle.describe()).raw.pendingActivities ?? [];
  assert.deepEqual(
    waiting.map((a) => [a.activityType?.name, a.state, a.attempt]),
    [['startRun', temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED, 1]],
    'the run waits for its own catalog host',
  );
  const pollers = (await activityPollers(catalogTaskQueue('scaled'))).map((p) => p.identity);
  assert.ok(!pollers.includes(other.child.identity), `the other host does not poll the scaled host's queue: ${pollers.join(', ')}`);
  const otherCatalog = openTestCatalog(stack.tmp, 'other.db');
  try {
    const runs = otherCatalog.db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number };
    assert.equal(runs.n, 0, "the other host's catalog saw nothing");
  } finally {
    otherCatalog.close();
  }

  // Its own host back: the run goes on there (nothing is left to transfer, a sample is audited), and only there.
  const scaledHost = await startWorker('scaled-again', runConfig('scaled'), 'catalog');
  const summary = await handle.result();
  assert.deepEqual([summary.filesSynced, summary.filesFailed, summary.pending, summary.mismatched], [0, 0, 0, {}]);
  assert.ok(summary.verified.aws > 0 && summary.verified.eu > 0, `its audit sample was HEADed: ${JSON.stringify(summary.verified)}`);
  const catalogTasks = (await activityRuns('for-the-scaled-host')).filter((a) => a.taskQueue.startsWith(TASK_QUEUES.catalog));
  assert.ok(catalogTasks.length > 0);
  for (const task of catalogTasks) assert.equal(task.identity, scaledHost.child.identity, `${task.type} ran on the scaled host`);
  await stopWorkers(other, scaledHost);
});
