import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FileSlots } from '../activities/transfer/fileSlots';
import { startFullSync } from '../api/fullSyncRuns';
import { bytesContent } from './drive-emulator/content';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

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
  const handle = await startFullSync(worker.client, config(), 'window-1');
  const summary = await handle.result();
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
  const slots = new FileSlots(2);
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
