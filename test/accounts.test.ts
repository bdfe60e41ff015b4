import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { Catalog } from '../activities/catalog/catalog';
import { startFullSync } from '../api/fullSyncRuns';
import { loadAccounts } from '../common/accounts';
import type { Config } from '../common/config';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { QUIET_SCHEDULES, startWorkerProcess } from '../scripts/launchers/workerProcess';
import { DriveEmulator } from './drive-emulator/server';
import { emulatorOAuth } from './support/drive';
import { scrape } from './support/metrics';
import { BUCKETS, type Stack, listBucketKeys, recordProcessGroups, startStack } from './support/stack';
import { minioDestination } from './support/worker';

/** Two Google accounts, each its own Drive (an emulator apiece), in one config file served by one worker process. */
const ACCOUNTS = ['ana@example.org', 'bo'] as const;
const NAMESPACES = ['drive-vault-ana-example-org', 'drive-vault-bo'];

let stack: Stack;
let secondDrive: DriveEmulator;
let s3: S3Client;
let connection: Connection;

before(async () => {
  stack = await startStack({ temporal: { namespaces: NAMESPACES }, minio: true, emulator: true });
  secondDrive = await DriveEmulator.start({ oauth: emulatorOAuth });
  connection = await Connection.connect({ address: stack.temporal!.address });
  s3 = stack.minio!.client();
});

after(async () => {
  s3?.destroy();
  await connection?.close();
  await secondDrive?.close();
  await stack?.stop();
});

const drives = () => [stack.emulator!, secondDrive];

/** A config file of both accounts, written like a user's: the shared sections once, each account's Drive apart. */
function writeConfig(name: string, extra: Record<string, unknown>[] = []): string {
  const google = (drive: DriveEmulator) => ({ apiRootUrl: drive.baseUrl, tokenUrl: `${drive.baseUrl}token` });
  const file = {
    accounts: [...ACCOUNTS.map((account, i) => ({ account, google: google(drives()[i]!) })), ...extra],
    google: { clientId: emulatorOAuth.clientId },
    temporal: { address: stack.temporal!.address },
    catalog: { path: join(stack.tmp, name, 'catalog.db') },
    destinations: [minioDestination(stack, 'aws'), { kind: 'local', name: 'nas', path: join(stack.tmp, 'nas') }],
    schedules: QUIET_SCHEDULES,
    metrics: { listen: '127.0.0.1:0' },
  };
  const path = join(stack.tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(file));
  return path;
}

const env = () => ({
  GOOGLE_CLIENT_SECRET: emulatorOAuth.clientSecret,
  GOOGLE_REFRESH_TOKEN_ANA_EXAMPLE_ORG: emulatorOAuth.refreshToken,
  GOOGLE_REFRESH_TOKEN_BO: emulatorOAuth.refreshToken,
  MINIO_KEY: stack.minio!.accessKeyId,
  MINIO_SECRET: stack.minio!.secretAccessKey,
});

async function objectText(key: string): Promise<string> {
  const reply = await s3.send(new GetObjectCommand({ Bucket: BUCKETS.aws, Key: key }));
  return reply.Body!.transformToString();
}

test('one worker backs up two accounts of one config, each from its own Drive into its own keys, catalog and namespace', async () => {
  for (const [i, drive] of drives().entries()) {
    await drive.store.addFile({ name: 'same name.txt', content: { kind: 'bytes', bytes: Buffer.from(`the ${ACCOUNTS[i]} copy`) } });
    await drive.store.addFile({ name: `only ${ACCOUNTS[i]}.txt`, content: { kind: 'bytes', bytes: Buffer.from(ACCOUNTS[i]!) } });
  }
  const configPath = writeConfig('two');
  const accounts = loadAccounts(configPath);
  const worker = await startWorkerProcess(configPath, env());
  recordProcessGroups([worker.pid]);
  try {
    const clients = accounts.map((a) => new Client({ connection, namespace: a.temporal.namespace }));
    const summaries = await Promise.all(
      accounts.map(async (config: Config, i) => (await startFullSync(clients[i]!, config, `two-accounts-${i}`)).result()),
    );
    assert.deepEqual(
      summaries.map((s) => [s.filesSynced, s.filesFailed]),
      [
        [2, 0],
        [2, 0],
      ],
    );

    const keys = (await listBucketKeys(s3, BUCKETS.aws)).filter((k) => k.startsWith('vault/drive/'));
    assert.deepEqual(keys.sort(), [
      'vault/drive/ana@example.org/My Drive/only ana@example.org.txt',
      'vault/drive/ana@example.org/My Drive/same name.txt',
      'vault/drive/bo/My Drive/only bo.txt',
      'vault/drive/bo/My Drive/same name.txt',
    ]);
    assert.equal(await objectText('vault/drive/ana@example.org/My Drive/same name.txt'), 'the ana@example.org copy');
    assert.equal(await objectText('vault/drive/bo/My Drive/same name.txt'), 'the bo copy');
    assert.equal(readFileSync(join(stack.tmp, 'nas', 'drive', 'bo', 'My Drive', 'same name.txt'), 'utf8'), 'the bo copy');

    for (const [i, config] of accounts.entries()) {
      assert.equal(config.catalog.path, join(stack.tmp, 'two', i === 0 ? 'ana-example-org' : 'bo', 'catalog.db'));
      const catalog = Catalog.open(config.catalog.path);
      try {
        const names = catalog.db.prepare("SELECT name FROM files WHERE kind = 'binary' ORDER BY name").pluck().all();
        assert.deepEqual(names, ['same name.txt', `only ${ACCOUNTS[i]}.txt`].sort(), `${config.account}'s catalog holds its files only`);
      } finally {
        catalog.close();
      }
      const runs = [];
      for await (const run of clients[i]!.workflow.list({ query: "WorkflowType = 'fullSync'" })) runs.push(run.workflowId);
      assert.deepEqual(runs, [`two-accounts-${i}`], `${config.account}'s namespace holds its run only`);
      const schedules = [];
      for await (const schedule of clients[i]!.schedule.list()) schedules.push(schedule.scheduleId);
      assert.equal(schedules.length, 4, `${config.account}'s four schedules, in its namespace`);
    }

    const url = /"url":"([^"]+\/metrics)"/.exec(worker.startupLog)?.[1];
    assert.ok(url, 'the worker logged where it serves metrics');
    const m = (await scrape(url)).scrape;
    for (const account of ACCOUNTS) {
      assert.equal(m.value('drive_vault_files_transferred_total', { account, destination: 'aws' }), 2, account);
      assert.ok(m.value('drive_vault_last_success_timestamp_seconds', { account, kind: 'full-sync' })! > 0, account);
      assert.ok(m.sum('drive_vault_drive_requests_total', { account }) > 0, `${account}'s Drive requests`);
    }
  } finally {
    await stopTied(worker);
  }
});

// Found by a cold review: two catalog paths swapped in the config would have had each account's full sync take the other's
// files for gone from Drive, and move every object of theirs under .trash/.
test("a worker refuses to start on a catalog that holds another account's keys", async () => {
  const two = loadAccounts(join(stack.tmp, 'two.json'));
  const configPath = join(stack.tmp, 'swapped.json');
  const file = JSON.parse(readFileSync(join(stack.tmp, 'two.json'), 'utf8')) as { accounts: Array<Record<string, unknown>> };
  file.accounts[0]!.catalog = { path: two[1]!.catalog.path };
  file.accounts[1]!.catalog = { path: two[0]!.catalog.path };
  writeFileSync(configPath, JSON.stringify(file));
  await assert.rejects(
    startWorkerProcess(configPath, env(), { timeoutMs: 60_000 }),
    /the catalog .*bo\/catalog\.db holds drive\/bo\/.*, not a key of account ana@example\.org: it is another account's, or the account was given another label since/,
  );
});

test('a worker refuses to start while an account has no namespace on the server, naming it and how to make it', async () => {
  const configPath = writeConfig('missing', [{ account: 'cy', google: { refreshTokenEnv: 'GOOGLE_REFRESH_TOKEN' } }]);
  await assert.rejects(
    startWorkerProcess(configPath, env(), { timeoutMs: 60_000 }),
    /no namespace "drive-vault-cy" \(account cy\): create it with "temporal operator namespace create --namespace drive-vault-cy"/,
  );
  assert.equal(existsSync(join(stack.tmp, 'missing', 'cy', 'catalog.db')), false, 'nothing of the account was made');
});
