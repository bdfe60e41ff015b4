import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startFullSync } from '../api/fullSyncRuns';
import { TASK_QUEUES } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { fullSync } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import { streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

// Issue 10: a full sync HEADs what it writes and a rotating sample of the rest, not every object every run.
let stack: Stack;
let worker: RunningWorker;
let runs = 0;
const config = () => stackConfig(stack, { verify: { auditPercent: 25 } });

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  worker = await startTestWorker(stack, config());
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const sync = async (): Promise<FullSyncSummary> => (await startFullSync(worker.client, config(), `audit-${++runs}`)).result();
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const verifiedAt = () =>
  worker.wired.catalog.db.prepare('SELECT rowid, verified_at AS at FROM objects ORDER BY rowid').all() as Array<{
    rowid: number;
    at: string;
  }>;

test('an object changed in MinIO behind our back is found by the audit within its bound, and uploaded again', async () => {
  const s = stack.emulator!.store;
  const folder = await s.addFile({ name: 'Audited' });
  for (let i = 0; i < 30; i++) await s.addFile({ name: `f${i}.txt`, parentId: folder.id, content: bytesContent(`file ${i} of the audit`) });
  const first = await sync();
  assert.equal(first.filesSynced, 30);
  const objects = 30 * 3;
  assert.equal(total(first.verifiedWritten), objects, 'what the run wrote is HEADed right after the upload');
  assert.equal(first.audit?.checked, 0, 'nothing written before this run: nothing to audit');

  const victim = worker.wired.catalog.db.prepare(`SELECT key FROM objects WHERE destination = 'aws' ORDER BY key LIMIT 1`).get() as {
    key: string;
  };
  const s3 = stack.minio!.client();
  const location = { Bucket: BUCKETS.aws, Key: `vault/${victim.key}` };
  const original = await streamToBuffer((await s3.send(new GetObjectCommand(location))).Body as NodeJS.ReadableStream);
  await s3.send(new PutObjectCommand({ ...location, Body: 'bit rot' }));

  const bound = Math.ceil(100 / 25);
  const auditStarted = new Date().toISOString();
  let foundInRun: number | undefined;
  for (let run = 1; run <= bound && foundInRun === undefined; run++) {
    const summary = await sync();
    assert.equal(summary.filesSynced, 0, 'an audit run downloads nothing');
    assert.deepEqual(summary.audit, {
      percent: 25,
      objects: Math.ceil(objects / 4),
      of: objects,
      withinRuns: bound,
      checked: Math.ceil(objects / 4),
    });
    if (summary.mismatched.aws) foundInRun = run;
    else assert.equal(total(summary.audited), Math.ceil(objects / 4), 'every sampled object was whole');
  }
  assert.ok(foundInRun, `the changed object was found within ${bound} runs`);

  const repair = await sync();
  assert.equal(repair.filesSynced, 1, 'the file whose object changed is uploaded again');
  const restored = await streamToBuffer((await s3.send(new GetObjectCommand(location))).Body as NodeJS.ReadableStream);
  assert.equal(createHash('sha256').update(restored).digest('hex'), createHash('sha256').update(original).digest('hex'));
  for (let run = foundInRun + 2; run <= bound; run++) await sync();
  const notAudited = verifiedAt().filter((o) => o.at < auditStarted);
  assert.deepEqual(notAudited, [], `every object was HEADed within ${bound} runs`);
  s3.destroy();
});

const auditAll = async (): Promise<FullSyncSummary> =>
  (await startFullSync(worker.client, stackConfig(stack, { verify: { auditPercent: 100 } }), `audit-${++runs}`)).result();
const objectState = (key: string, destination: string) =>
  (
    worker.wired.catalog.db.prepare('SELECT state FROM objects WHERE key = ? AND destination = ?').get(key, destination) as {
      state: string;
    }
  ).state;

test('an object found bad stays failed, whatever a HEAD of its stale metadata says, until it is uploaded again', async () => {
  const s = stack.emulator!.store;
  const file = await s.addFile({ name: 'rotten.txt', content: bytesContent('found bad by a deep verify') });
  await sync();
  const { key } = worker.wired.catalog.db.prepare(`SELECT key FROM objects WHERE file_id = ? AND destination = 'aws'`).get(file.id) as {
    key: string;
  };
  // What a deep verify does when the bytes rotted under unchanged metadata.
  worker.wired.catalog.db.prepare(`UPDATE objects SET state = 'failed' WHERE file_id = ? AND destination = 'aws'`).run(file.id);
  worker.wired.catalog.db.prepare(`UPDATE files SET state = 'pending' WHERE id = ?`).run(file.id);
  // Its re-upload fails this time.
  stack.emulator!.faults.add({ match: `/files/${file.id}\\?.*alt=media`, status: 403, reason: 'forbidden' });
  const summary = await auditAll();
  stack.emulator!.faults.clear();
  assert.equal(summary.filesFailed, 1);
  assert.equal(objectState(key, 'aws'), 'failed', 'the audit did not call the bad object whole');
});

test('a destination found unreachable is left out of the rest of the audit; the others are audited in full', async () => {
  await stack.minio!.stop();
  try {
    // Small pages: with the stopped destinations' objects first in line, each page would be theirs.
    const summary = await worker.client.workflow.execute(fullSync, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: `audit-${++runs}`,
      args: [{ includeSharedDrives: false, auditPercent: 100, verifyPageSize: 5, catalogTaskQueue: worker.wired.parts.catalog!.taskQueue }],
    });
    const nasObjects = (
      worker.wired.catalog.db.prepare(`SELECT count(*) AS n FROM objects WHERE destination = 'nas' AND state != 'failed'`).get() as {
        n: number;
      }
    ).n;
    assert.equal(summary.audited.nas, nasObjects, 'every object on the reachable destination was HEADed');
    assert.ok((summary.unverified.aws ?? 0) + (summary.unverified.eu ?? 0) <= 2 * 5, 'one page of each unreachable destination at most');
  } finally {
    await stack.restartMinio();
  }
});

test('objects on a destination no longer configured are not audited, and do not hold the others back', async () => {
  await worker.stop();
  const withoutEu = stackConfig(stack, { verify: { auditPercent: 100 } });
  withoutEu.destinations = withoutEu.destinations.filter((d) => d.name !== 'eu');
  worker = await startTestWorker(stack, withoutEu);
  const summary = await (await startFullSync(worker.client, withoutEu, `audit-${++runs}`)).result();
  const configured = (
    worker.wired.catalog.db
      .prepare(`SELECT count(*) AS n FROM objects WHERE destination IN ('aws', 'nas') AND state != 'failed'`)
      .get() as { n: number }
  ).n;
  assert.equal(summary.audit?.of, configured);
  assert.equal(summary.audited.eu, undefined);
  // Every object there but those this run wrote (and HEADed) was audited.
  assert.equal(total(summary.audited) + total(summary.mismatched), configured - total(summary.verifiedWritten));
});
