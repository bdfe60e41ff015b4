import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import { createCatalogActivities } from '../activities';
import { Catalog } from '../activities/catalog/catalog';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import { createLogger } from '../common/logger';
import { TASK_QUEUES } from '../common/taskQueues';
import { listDriveIntoCatalog, listingProgressQuery } from '../workflows';
import { installTemporalLogging } from '../worker/temporalLogging';
import { WorkerSet, startWorkers } from '../worker/workers';
import { bytesContent } from './drive-emulator/content';
import { emulatorOAuth } from './support/drive';
import { Stack, startStack } from './support/stack';

const logger = createLogger({ level: 'warn' });
let stack: Stack;
let catalog: Catalog;
let workers: WorkerSet;
let client: Client;
let connection: NativeConnection;
let clientConnection: Connection;

before(async () => {
  installTemporalLogging(logger, 'ERROR');
  // A low threshold makes the server suggest continue-as-new after a few pages.
  stack = await startStack({ temporal: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 12 } }, emulator: true });
  const emulator = stack.emulator!;
  for (let i = 0; i < 2500; i++) await emulator.store.addFile({ name: `file-${i}.txt`, content: bytesContent(`content ${i}`) });
  const team = emulator.store.addDrive('Team');
  for (let i = 0; i < 10; i++) await emulator.store.addFile({ name: `team-${i}.txt`, driveId: team.id, content: bytesContent(`team ${i}`) });

  catalog = Catalog.open(join(stack.tmp, 'catalog.db'));
  const drive = createDriveClient(createOAuthClient({ ...emulatorOAuth, tokenUrl: `${emulator.baseUrl}token` }), emulator.baseUrl);
  connection = await NativeConnection.connect({ address: stack.temporal!.address });
  workers = await startWorkers({
    connection,
    namespace: 'default',
    catalogActivities: createCatalogActivities({ catalog, drive, logger, includeSharedWithMe: false }),
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never }),
  });
  clientConnection = await Connection.connect({ address: stack.temporal!.address });
  client = new Client({ connection: clientConnection });
});

after(async () => {
  await workers?.shutdown();
  await connection?.close();
  await clientConnection?.close();
  catalog?.close();
  await stack?.stop();
});

test('a real worker lists the emulated Drive into the catalog through listDrivePage, continuing as new', async () => {
  const workflowId = `listing-test-${Date.now()}`;
  const handle = await client.workflow.start(listDriveIntoCatalog, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ listingId: 'listing-1', includeSharedDrives: true }],
  });
  const totals = await handle.result();
  assert.deepEqual(totals, { listed: 2510, new: 2510, changed: 0, unchanged: 0, skipped: 0, folders: 0 });

  const firstRun = client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
  assert.equal((await firstRun.describe()).status.name, 'CONTINUED_AS_NEW', 'the first run handed over to a new one');
  const last = await client.workflow.getHandle(workflowId).describe();
  assert.notEqual(last.runId, handle.firstExecutionRunId);
  assert.equal((await client.workflow.getHandle(workflowId).query(listingProgressQuery)).totals.listed, 2510);

  const files = catalog.filesPage('', 10_000);
  assert.equal(files.length, 2510);
  assert.equal(files.filter((f) => f.state === 'pending').length, 2510);
  assert.equal(files.filter((f) => f.driveId).length, 10, 'the shared drive was listed too');

  const again = await client.workflow.execute(listDriveIntoCatalog, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `${workflowId}-again`,
    args: [{ listingId: 'listing-2', includeSharedDrives: true }],
  });
  assert.deepEqual(again, { listed: 2510, new: 0, changed: 0, unchanged: 2510, skipped: 0, folders: 0 });
});
