import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createDestinations } from '../activities/storage/createDestinations';
import { TASK_QUEUES } from '../common/taskQueues';
import { fullSync } from '../workflows';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { streamToBuffer } from './support/drive';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker } from './support/worker';

let stack: Stack;
let worker: RunningWorker;
const files: EmuFile[] = [];
const DOWNLOAD = 'GET /drive/v3/files/[^/?]+\\?.*alt=media';
const downloadOf = (f: EmuFile) => `GET /drive/v3/files/${f.id}\\?.*alt=media`;

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  const folder = await stack.emulator!.store.addFile({ name: 'faulty' });
  for (let i = 0; i < 150; i++) {
    files.push(
      await stack.emulator!.store.addFile({
        name: `f-${i}.bin`,
        parentId: folder.id,
        content: i % 10 === 0 ? generatedContent(300_000 + i, i) : bytesContent(`file ${i} `.repeat(50)),
      }),
    );
  }
  // Eight tries per file: at a 20% fault rate the chance that one of 150 files fails every try is about 4 in 10,000.
  worker = await startTestWorker(
    stack,
    stackConfig(stack, { transfer: { attempts: 8, retryBaseDelayMs: 5, concurrency: 4, batchSize: 40, stallTimeoutSeconds: 2 } }),
  );
});
after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const run = (workflowId: string) =>
  worker.client.workflow.execute(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ includeSharedDrives: false, batchSize: 40 }],
  });

test('under rate limits, 500s, cut-off, stalled and wrong bodies every file lands with the right bytes', async () => {
  const faults = stack.emulator!.faults;
  faults.add({ match: DOWNLOAD, rate: 0.1, reason: 'userRateLimitExceeded' });
  faults.add({ match: DOWNLOAD, rate: 0.1, status: 500, reason: 'backendError' });
  // One cut-off and one corrupted body for each of 30 files: a shared `times` budget would hit the first files
  // downloaded again and again, which tests the attempt count rather than recovery.
  for (const f of files.slice(0, 10)) faults.add({ match: downloadOf(f), times: 1, cutOffAfterBytes: 100 });
  for (const f of files.slice(10, 30)) faults.add({ match: downloadOf(f), times: 1, wrongBytes: true });
  // Bodies that go silent halfway: each is given up after the 2 s stall timeout and tried again.
  for (const f of files.slice(30, 38)) faults.add({ match: downloadOf(f), times: 1, stallAfterBytes: 100 });
  const summary = await run('faulty-sync');
  const fired = faults.list().map((r) => r.fired);
  faults.clear();
  assert.ok(fired[0] > 5 && fired[1] > 5, `rate-limit and 500 faults fired: ${fired}`);
  assert.deepEqual(fired.slice(2), Array(38).fill(1), 'every cut-off, wrong-bytes and stall fault fired');
  const failures = worker.wired.catalog.db.prepare('SELECT file_id, reason, message, attempts FROM failures').all();
  assert.deepEqual([summary.filesSynced, summary.filesFailed, summary.pending], [150, 0, 0], JSON.stringify(failures));
  assert.deepEqual(summary.mismatched, {});
  const catalog = worker.wired.catalog;
  const objects = catalog.db.prepare('SELECT file_id, destination, key, sha256 FROM objects').all() as Array<{
    file_id: string;
    destination: string;
    key: string;
    sha256: string;
  }>;
  assert.equal(objects.length, 450);
  const bySource = new Map(files.map((f) => [f.id, f.hashes!.sha256]));
  for (const o of objects) assert.equal(o.sha256, bySource.get(o.file_id), 'no wrong bytes were ever recorded');
  const destinations = new Map(createDestinations(stackConfig(stack), stackEnv(stack)).map((d) => [d.name, d]));
  for (const o of objects)
    assert.equal(
      sha(await streamToBuffer(await destinations.get(o.destination)!.read(o.key))),
      bySource.get(o.file_id),
      `${o.destination}:${o.key}`,
    );
});

test('a destination that is down misses files without stopping the others; a later run completes it', async () => {
  const extra: EmuFile[] = [];
  for (let i = 0; i < 5; i++)
    extra.push(await stack.emulator!.store.addFile({ name: `late-${i}.txt`, content: bytesContent(`late ${i}`) }));
  await stack.minio!.stop();
  const degraded = await run('sync-with-minio-down');
  assert.equal(degraded.filesFailed, 5);
  assert.deepEqual(degraded.degraded, ['aws', 'eu']);
  assert.deepEqual(degraded.verifiedWritten, { nas: 5 }, 'what was written is HEADed');
  // The audit's sample: each object HEADed on the live destination, the stopped ones unverified, never marked bad.
  const count = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  assert.equal(count(degraded.audited) + count(degraded.unverified), degraded.audit!.objects);
  assert.deepEqual(degraded.mismatched, {});
  const markedBad = worker.wired.catalog.db.prepare(`SELECT count(*) AS n FROM objects WHERE state = 'failed'`).get() as { n: number };
  assert.equal(markedBad.n, 0, 'the stopped destination is unverified, not marked bad');
  const nasCopies = () =>
    worker.wired.catalog.db
      .prepare(
        `SELECT file_id, uploaded_at FROM objects WHERE destination = 'nas' AND file_id IN (${extra.map(() => '?').join(',')}) ORDER BY file_id`,
      )
      .all(...extra.map((f) => f.id));
  const before = nasCopies();
  assert.equal(before.length, 5, 'the local destination got every new file');

  const downloadsBefore = stack.emulator!.requests.filter((r) => r.query.alt === 'media').length;
  await stack.restartMinio();
  const healed = await run('sync-after-restart');
  assert.deepEqual([healed.filesFailed, healed.pending, healed.degraded], [0, 0, []]);
  assert.deepEqual(nasCopies(), before, 'the destination that had the files is not written again');
  assert.equal(
    stack.emulator!.requests.filter((r) => r.query.alt === 'media').length - downloadsBefore,
    5,
    'only the missed files are downloaded again',
  );
  assert.deepEqual(healed.verifiedWritten, { aws: 5, eu: 5 });
  assert.deepEqual(healed.mismatched, {});
});
