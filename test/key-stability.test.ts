import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { TASK_QUEUES } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { fullSync } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

// DESIGN.md section 7: a key, once given to a file, stays with it; no write replaces another file's object.
let stack: Stack;
let worker: RunningWorker;
let runs = 0;
const OLD = '2020-01-01T00:00:00.000Z';

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  worker = await startTestWorker(stack, stackConfig(stack));
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function sync(): Promise<FullSyncSummary> {
  return worker.client.workflow.execute(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `keys-${++runs}`,
    args: [{ includeSharedDrives: false }],
  });
}

type ObjectRow = { file_id: string; destination: string; format: string; key: string };
const objectRows = () =>
  worker.wired.catalog.db.prepare('SELECT file_id, destination, format, key FROM objects ORDER BY destination, key').all() as ObjectRow[];

async function readBack(destination: string, key: string): Promise<Buffer> {
  if (destination === 'nas') return readFileSync(join(stack.tmp, 'nas', ...key.split('/')));
  const s3 = stack.minio!.client();
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKETS[destination as keyof typeof BUCKETS], Key: `vault/${key}` }));
    return await streamToBuffer(res.Body as NodeJS.ReadableStream);
  } finally {
    s3.destroy();
  }
}

/** Every file's bytes are under exactly one key of its own on every destination, read back and compared. */
async function assertEachFileOwnsItsKey(files: EmuFile[]): Promise<void> {
  const rows = objectRows();
  for (const destination of ['aws', 'eu', 'nas']) {
    const here = rows.filter((r) => r.destination === destination);
    assert.equal(new Set(here.map((r) => r.key)).size, here.length, `no key is shared on ${destination}`);
    for (const file of files) {
      const mine = here.filter((r) => r.file_id === file.id);
      assert.equal(mine.length, 1, `${file.name} (${file.id}) has exactly one object on ${destination}: ${JSON.stringify(mine)}`);
      const bytes = await readBack(destination, mine[0].key);
      assert.equal(sha(bytes), file.hashes!.sha256, `${destination}:${mine[0].key} holds the bytes of ${file.id}`);
    }
  }
}

test('an older file moved next to an equal name gets its own key; the first file keeps its bytes', async () => {
  const s = stack.emulator!.store;
  const x = await s.addFile({ name: 'X' });
  const other = await s.addFile({ name: 'Other' });
  const a = await s.addFile({ name: 'a.txt', parentId: x.id, content: bytesContent('A: the first a.txt in X') });
  const c = await s.addFile({
    name: 'a.txt',
    parentId: other.id,
    content: bytesContent('C: an older a.txt from elsewhere'),
    modifiedTime: OLD,
  });
  assert.equal((await sync()).filesFailed, 0);
  const keyOfA = objectRows().find((r) => r.file_id === a.id)!.key;
  assert.equal(keyOfA, 'drive/me@example.com/My Drive/X/a.txt');

  s.move(c.id, x.id);
  const second = await sync();
  assert.equal(second.filesSynced, 0, 'the moved file is not copied again');
  assert.equal(second.places?.relocated, 3, 'its objects are moved server-side, on each destination');
  assert.deepEqual(second.mismatched, {});
  await assertEachFileOwnsItsKey([a, c]);
  assert.ok(
    objectRows()
      .filter((r) => r.file_id === a.id)
      .every((r) => r.key === keyOfA),
    'A keeps its key',
  );
  assert.ok(
    objectRows()
      .filter((r) => r.file_id === c.id)
      .every((r) => r.key === `drive/me@example.com/My Drive/X/a [${c.id.slice(0, 8)}].txt`),
  );

  const before = objectRows();
  const third = await sync();
  assert.equal(third.filesSynced, 0, 'a third run changes nothing');
  assert.deepEqual(objectRows(), before);
  await assertEachFileOwnsItsKey([a, c]);
});

test('a newly created older file of the same name takes the suffix, not the key', async () => {
  const s = stack.emulator!.store;
  const z = await s.addFile({ name: 'Z' });
  const n = await s.addFile({ name: 'n.txt', parentId: z.id, content: bytesContent('N: backed up first') });
  await sync();
  const older = await s.addFile({
    name: 'n.txt',
    parentId: z.id,
    content: bytesContent('created later, with an older date'),
    modifiedTime: OLD,
  });
  await sync();
  await assertEachFileOwnsItsKey([n, older]);
  assert.ok(
    objectRows()
      .filter((r) => r.file_id === n.id)
      .every((r) => r.key === 'drive/me@example.com/My Drive/Z/n.txt'),
  );
  const before = objectRows();
  assert.equal((await sync()).filesSynced, 0);
  assert.deepEqual(objectRows(), before);
});

test('two equal names swapped between folders never overwrite each other', async () => {
  const s = stack.emulator!.store;
  const y1 = await s.addFile({ name: 'Y1' });
  const y2 = await s.addFile({ name: 'Y2' });
  const b1 = await s.addFile({ name: 'b.txt', parentId: y1.id, content: bytesContent('B1: first b.txt') });
  const b2 = await s.addFile({ name: 'b.txt', parentId: y2.id, content: bytesContent('B2: second b.txt') });
  await sync();
  s.move(b1.id, y2.id);
  s.move(b2.id, y1.id);
  // Drive cannot serve either file: the moves need no download, and B1 must not take the key that holds B2's copy.
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/(${b1.id}|${b2.id})\\?.*alt=media`, status: 500, reason: 'backendError' });
  const swapped = await sync();
  assert.deepEqual([swapped.filesSynced, swapped.filesFailed, swapped.places?.relocated], [0, 0, 6]);
  await assertEachFileOwnsItsKey([b1, b2]);
  stack.emulator!.faults.clear();
  const before = objectRows();
  assert.equal((await sync()).filesSynced, 0);
  assert.deepEqual(objectRows(), before);
});
