import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TASK_QUEUES } from '../common/taskQueues';
import { listDriveIntoCatalog, listingProgressQuery } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

let stack: Stack;
let worker: RunningWorker;

before(async () => {
  // A low threshold makes the server suggest continue-as-new after a few pages.
  stack = await startStack({ temporal: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 12 } }, emulator: true });
  const emulator = stack.emulator!;
  for (let i = 0; i < 2500; i++) await emulator.store.addFile({ name: `file-${i}.txt`, content: bytesContent(`content ${i}`) });
  const team = emulator.store.addDrive('Team');
  for (let i = 0; i < 10; i++)
    await emulator.store.addFile({ name: `team-${i}.txt`, driveId: team.id, content: bytesContent(`team ${i}`) });
  worker = await startTestWorker(stack, stackConfig(stack));
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

test('a real worker lists the emulated Drive into the catalog through listDrivePage, continuing as new', async () => {
  const workflowId = `listing-test-${Date.now()}`;
  const handle = await worker.client.workflow.start(listDriveIntoCatalog, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ listingId: 'listing-1', includeSharedDrives: true }],
  });
  const totals = await handle.result();
  assert.deepEqual(totals, {
    listed: 2510,
    new: 2510,
    changed: 0,
    unchanged: 0,
    skipped: 0,
    folders: 0,
    shortcuts: { inScope: 0, followed: 0, dangling: 0, loops: 0 },
  });

  const firstRun = worker.client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
  assert.equal((await firstRun.describe()).status.name, 'CONTINUED_AS_NEW', 'the first run handed over to a new one');
  const last = await worker.client.workflow.getHandle(workflowId).describe();
  assert.notEqual(last.runId, handle.firstExecutionRunId);
  assert.equal((await worker.client.workflow.getHandle(workflowId).query(listingProgressQuery)).totals.listed, 2510);

  const files = worker.wired.catalog.filesPage('', 10_000);
  assert.equal(files.length, 2510);
  assert.equal(files.filter((f) => f.state === 'pending').length, 2510);
  assert.equal(files.filter((f) => f.driveId).length, 10, 'the shared drive was listed too');

  const again = await worker.client.workflow.execute(listDriveIntoCatalog, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `${workflowId}-again`,
    args: [{ listingId: 'listing-2', includeSharedDrives: true }],
  });
  assert.deepEqual(again, {
    listed: 2510,
    new: 0,
    changed: 0,
    unchanged: 2510,
    skipped: 0,
    folders: 0,
    shortcuts: { inScope: 0, followed: 0, dangling: 0, loops: 0 },
  });
});
