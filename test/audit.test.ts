import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startFullSync } from '../api/fullSyncRuns';
import type { FullSyncSummary } from '../common/types';
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
