import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { startRun } from '../activities/catalog/runs';
import { recordFailedBatch } from '../activities/catalog/syncQueue';
import { TASK_QUEUES } from '../common/taskQueues';
import { wireActivities } from '../worker/wiring';
import { startWorkers } from '../worker/workers';
import { fullSync } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import { listedBinaryFile, openTestCatalog } from './support/catalog';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker, testLogger, workflowBundle } from './support/worker';

let stack: Stack;

before(async () => {
  stack = await startStack({ temporal: true, emulator: true });
  for (let i = 0; i < 5; i++) await stack.emulator!.store.addFile({ name: `file-${i}.txt`, content: bytesContent(`file ${i}`) });
});

after(async () => {
  await stack?.stop();
});

test('a transfer batch that fails on every try fails its files for the next run, not the run', async () => {
  const config = stackConfig(stack);
  // The real catalog activities, and a transfer worker that loses every try, as one killed each time would.
  const wired = wireActivities(config, testLogger, stackEnv(stack));
  const connection = await NativeConnection.connect({ address: stack.temporal!.address });
  const doomed = await startWorkers({
    connection,
    namespace: 'default',
    catalog: { ...wired.parts.catalog, workflowBundle: await workflowBundle() },
    transfer: {
      activities: {
        transferBatch: async () => {
          throw ApplicationFailure.nonRetryable('the worker died with this batch', 'WorkerLost');
        },
      },
    },
  });
  const client = new Client({ connection: await Connection.connect({ address: stack.temporal!.address }) });
  try {
    const summary = await client.workflow.execute(fullSync, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'doomed',
      args: [{ includeSharedDrives: false }],
    });
    assert.deepEqual([summary.filesSynced, summary.filesFailed], [0, 5]);
    assert.deepEqual(summary.degraded, ['nas']);
    const failures = wired.catalog.db.prepare(`SELECT reason, destination, message FROM failures WHERE resolved_at IS NULL`).all() as Array<
      Record<string, string>
    >;
    assert.equal(failures.length, 5);
    for (const f of failures) {
      assert.deepEqual([f.reason, f.destination], ['transferBatchFailed', 'nas']);
      assert.match(f.message, /the worker died with this batch/);
    }
  } finally {
    await doomed.shutdown();
    await connection.close();
    wired.catalog.close();
  }

  let worker: RunningWorker | undefined;
  try {
    worker = await startTestWorker(stack, config);
    const next = await worker.client.workflow.execute(fullSync, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'recovered',
      args: [{ includeSharedDrives: false }],
    });
    assert.deepEqual([next.filesSynced, next.filesFailed, next.verified.nas], [5, 0, 5], 'the next run copies them');
  } finally {
    await worker?.stop();
    await client.connection.close();
  }
});

test('a failed batch keeps what its last heartbeat finished: those files are recorded as they ended, the rest fail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-failure-'));
  const catalog = openTestCatalog(dir);
  try {
    const file = (id: string) => listedBinaryFile(id, { size: 3 });
    catalog.recordListedFiles([file('done'), file('lost')], 'l');
    startRun(catalog, { runId: 'r', kind: 'full-sync', workflowId: 'w' });
    const stored = { format: '', destination: 'nas', key: 'drive/me/My Drive/done.bin', size: 3, sha256: 'a'.repeat(64), fileVersion: '1' };
    const recorded = recordFailedBatch(catalog, ['nas'], {
      runId: 'r',
      fileIds: ['done', 'lost'],
      finished: [{ fileId: 'done', stored: [stored], bytesDownloaded: 3 }],
      message: 'heartbeat timeout',
    });
    assert.deepEqual([recorded.synced, recorded.failed, recorded.bytes], [1, 1, 3]);
    const states = catalog.db.prepare('SELECT id, state FROM files ORDER BY id').all();
    assert.deepEqual(states, [
      { id: 'done', state: 'synced' },
      { id: 'lost', state: 'failed' },
    ]);
    assert.deepEqual(catalog.db.prepare('SELECT file_id, key FROM objects').all(), [{ file_id: 'done', key: stored.key }]);
  } finally {
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
