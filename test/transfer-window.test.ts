import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import type { Destination } from '../activities/storage/destination';
import { LocalDestination } from '../activities/storage/local';
import { DriveSlots } from '../activities/transfer/driveSlots';
import { transferBatch } from '../activities/transfer/transferBatch';
import type { TransferItem, TransferOutcome } from '../common/types';
import type { EmuFile } from './drive-emulator/store';
import { emulatorOAuth } from './support/drive';
import { startFullSync } from '../api/fullSyncRuns';
import { bytesContent } from './drive-emulator/content';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker, testLogger } from './support/worker';

// Issue 10: several transfer batches stream at once, so several transfer workers share a full sync.
let stack: Stack;
let worker: RunningWorker;
const config = () => stackConfig(stack, { transfer: { batchSize: 5, batchesInFlight: 3, retryBaseDelayMs: 20 } });

before(async () => {
  stack = await startStack({ temporal: true, emulator: true });
  worker = await startTestWorker(stack, config());
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

test('a full sync keeps batchesInFlight transfer batches in flight, never more, and records every file', async () => {
  const s = stack.emulator!.store;
  const folder = await s.addFile({ name: 'Window' });
  for (let i = 0; i < 60; i++) await s.addFile({ name: `w${i}.txt`, parentId: folder.id, content: bytesContent(`window file ${i}`) });
  // Slow downloads: a batch outlasts the claims of the next ones, however loaded the machine.
  stack.emulator!.faults.add({ match: 'alt=media', delayMs: 1000 });
  const handle = await startFullSync(worker.client, config(), 'window-1');
  const summary = await handle.result();
  stack.emulator!.faults.clear();
  assert.equal(summary.filesSynced, 60);
  assert.equal(summary.verifiedWritten.nas, 60);

  const scheduled = new Map<string, string>();
  let inFlight = 0;
  let most = 0;
  for (const event of (await handle.fetchHistory()).events ?? []) {
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) scheduled.set(String(event.eventId), type);
    if (type === 'transferBatch') most = Math.max(most, ++inFlight);
    const ended =
      event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (ended && scheduled.get(String(ended.scheduledEventId)) === 'transferBatch') inFlight--;
  }
  assert.equal(most, 3, 'three batches streamed at once');
});

test('a worker streams no more files than its slots, however many batches it runs', async () => {
  const slots = new DriveSlots(2);
  let streaming = 0;
  let most = 0;
  const file = async () => {
    await slots.acquire();
    most = Math.max(most, ++streaming);
    await new Promise((r) => setTimeout(r, 5));
    streaming--;
    slots.release();
  };
  await Promise.all(Array.from({ length: 12 }, file));
  assert.equal(most, 2);
  await slots.acquire();
  await slots.acquire();
  const cancelled = new AbortController();
  const waiting = slots.acquire(cancelled.signal);
  cancelled.abort(new Error('batch cancelled'));
  await assert.rejects(waiting, /batch cancelled/);
  slots.release();
  await slots.acquire();
});

test('a file gives its Drive slot to the next one once its bytes are read, while its uploads finish', async () => {
  const emulator = stack.emulator!;
  const files: EmuFile[] = [];
  for (const name of ['slot-a.txt', 'slot-b.txt']) files.push(await emulator.store.addFile({ name, content: bytesContent(name) }));
  const items: TransferItem[] = files.map((f) => ({
    fileId: f.id,
    name: f.name,
    kind: 'binary',
    mimeType: f.mimeType,
    size: emulator.store.size(f)!,
    md5: f.hashes!.md5,
    sha256: f.hashes!.sha256,
    modifiedTime: f.modifiedTime,
    version: String(f.version),
    drivePath: `My Drive/${f.name}`,
    objects: [{ format: '', key: f.name, storedAt: [] }],
  }));
  // A destination that has read every byte but answers only when the test lets it: an upload's last round trip.
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  const local = new LocalDestination('held', join(stack.tmp, 'held'));
  const held: Destination = Object.assign(Object.create(local), {
    upload: async (request: Parameters<Destination['upload']>[0]) => {
      const written = await local.upload(request);
      await answered;
      return written;
    },
  });
  const deps = {
    drive: createDriveClient(createOAuthClient({ ...emulatorOAuth, tokenUrl: `${emulator.baseUrl}token` }), emulator.baseUrl),
    destinations: [held],
    logger: testLogger,
    attempts: 1,
    backoffBaseMs: 10,
    slots: new DriveSlots(1),
    resumableMinBytes: 64 * 1024 * 1024,
    stallTimeoutMs: 60_000,
  };
  const running = new MockActivityEnvironment().run(transferBatch, deps, items);
  const downloaded = (f: EmuFile) => emulator.requests.some((r) => r.path === `/drive/v3/files/${f.id}` && r.query.alt === 'media');
  for (let waited = 0; !downloaded(files[1]); waited += 50) {
    assert.ok(waited < 30_000, 'the second file was downloaded while the first one waited for its upload to be answered');
    await new Promise((r) => setTimeout(r, 50));
  }
  answer();
  const outcomes = (await running) as TransferOutcome[];
  assert.deepEqual(
    outcomes.map((o) => [o.failure, o.stored.length]),
    [
      [undefined, 1],
      [undefined, 1],
    ],
  );
});
