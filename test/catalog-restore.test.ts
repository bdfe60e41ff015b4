import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { closeAbandonedRun } from '../activities/catalog/accountHold';
import { startRun } from '../activities/catalog/runs';
import { adoptionFromConfig } from '../activities/dump/adoptStoredObjects';
import { CatalogRestoreFailedError, restoreCatalog } from '../activities/dump/catalogRestore';
import { localDumpDir, stateLayout } from '../activities/dump/dumpLayout';
import { StateObjectMismatchError } from '../activities/dump/stateObjects';
import { createDestinations } from '../activities/storage/createDestinations';
import type { Destination } from '../activities/storage/destination';
import { isWorkflowRunning } from '../activities/sweep/abandonedRuns';
import { startFullSync } from '../api/fullSyncRuns';
import { runningDeepVerifications, startDeepVerify } from '../api/verifyRuns';
import { parseCommandLine } from '../cli/main';
import type { Config } from '../common/config';
import { bytesContent } from './drive-emulator/content';
import { runCli } from './support/cli';
import { catalogTables, corruptObject, runNightlyDump } from './support/dumps';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker, testLogger } from './support/worker';

// Issue 12, section 4: `drive-vault catalog restore` replaces the catalog with a verified dump, under a running worker.
let stack: Stack;
let worker: RunningWorker;
let config: Config;
let destinations: Map<string, Destination>;
let s3: S3Client;
let configPath: string;
let dump: Awaited<ReturnType<typeof runNightlyDump>>;
let syncs = 0;
const DAY = '2026-11-20';
const DUMP_KEY = `vault/state/daily/${DAY}/catalog.sqlite.gz`;

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  config = stackConfig(stack);
  destinations = new Map(createDestinations(config, stackEnv(stack)).map((d) => [d.name, d]));
  s3 = stack.minio!.client();
  configPath = join(stack.tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  worker = await startTestWorker(stack, config);
  const store = stack.emulator!.store;
  const docs = await store.addFile({ name: 'Docs' });
  await store.addFile({ name: 'a.txt', parentId: docs.id, content: bytesContent('alpha') });
  await store.addFile({ name: 'b.txt', parentId: docs.id, content: bytesContent('bravo') });
  await store.addFile({ name: 'Plan', parentId: docs.id, mimeType: 'application/vnd.google-apps.document', text: 'the plan' });
  assert.equal((await fullSync()).filesFailed, 0);
});

after(async () => {
  s3?.destroy();
  await worker?.stop();
  await stack?.stop();
});

async function fullSync(workflowId = `restore-test-sync-${++syncs}`) {
  return (await startFullSync(worker.client, config, workflowId)).result();
}

const catalogPath = () => config.catalog.path;
const restoreDeps = (from = 'aws') => ({
  catalogPath: catalogPath(),
  destination: destinations.get(from)!,
  layout: stateLayout(config),
  logger: testLogger,
  workflowRunning: (workflowId: string) => isWorkflowRunning(worker.client, workflowId),
  adoption: adoptionFromConfig(config, [...destinations.values()], testLogger),
});
const fileNames = (db: Database.Database) =>
  (db.prepare(`SELECT name FROM files WHERE kind != 'folder' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
/** What sits beside the catalog: a restore that is refused or fails before the replace leaves nothing new there. */
const besideCatalog = () => readdirSync(dirname(catalogPath())).sort();
const cliEnv = () => ({ ...process.env, ...stackEnv(stack) });

test('a catalog restore brings back the dump, seen by a connection opened before it, and keeps a safety copy of what it replaced', async () => {
  // The dump records its own run as running while it copies the catalog.
  dump = await runNightlyDump(worker, config, { workflowId: 'restore-test-dump', now: `${DAY}T02:30:00Z` });
  const dumpCopy = join(stack.tmp, 'dump-copy.db');
  writeFileSync(dumpCopy, gunzipSync(readFileSync(join(localDumpDir(config), DAY, 'catalog.sqlite.gz'))));
  const dumped = catalogTables(dumpCopy);

  await stack.emulator!.store.addFile({ name: 'c.txt', content: bytesContent('charlie') });
  assert.equal((await fullSync()).filesSynced, 1);
  const before = catalogTables(catalogPath());
  const reader = new Database(catalogPath(), { readonly: true });
  assert.deepEqual(fileNames(reader), ['Plan', 'a.txt', 'b.txt', 'c.txt']);

  const result = await restoreCatalog(restoreDeps());
  assert.equal(result.day, DAY);
  assert.equal(result.key, DUMP_KEY);
  assert.equal(result.sha256, dump.catalog!.sha256);
  assert.deepEqual(catalogTables(result.safetyCopy), before, 'the safety copy is the catalog as it was');
  assert.equal(statSync(result.safetyCopy).mode & 0o777, 0o600);

  const restored = catalogTables(catalogPath());
  const settled = ['runs', 'catalog_state'];
  assert.deepEqual(
    Object.fromEntries(Object.entries(restored).filter(([t]) => !settled.includes(t))),
    Object.fromEntries(Object.entries(dumped).filter(([t]) => !settled.includes(t))),
    'every table but the runs and the names version is the dump',
  );
  const runs = (rows: unknown[]) => rows as Array<{ id: string; status: string; summary: string | null }>;
  assert.deepEqual(
    runs(restored.runs).map((r) => [r.id, r.status]),
    runs(dumped.runs).map((r) => [r.id, r.id === dump.runId ? 'cancelled' : r.status]),
    'the run the dump recorded as running is closed',
  );
  assert.equal(runs(dumped.runs).find((r) => r.id === dump.runId)?.status, 'running');
  assert.match(runs(restored.runs).find((r) => r.id === dump.runId)!.summary!, /recorded as running in the dump of 2026-11-20/);
  assert.deepEqual(result.runsClosed, [{ runId: dump.runId, kind: 'nightly-dump', workflowId: 'restore-test-dump' }]);

  assert.deepEqual(fileNames(reader), ['Plan', 'a.txt', 'b.txt'], 'a connection opened before the restore reads the restored rows');
  assert.deepEqual(fileNames(worker.wired.catalog.db), ['Plan', 'a.txt', 'b.txt'], "and so does the worker's own");
  assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal');
  reader.close();

  // The worker goes on with the restored catalog: c.txt, unknown to it, is found again; nothing else is transferred.
  const next = await fullSync();
  assert.equal(next.filesFailed, 0);
  assert.equal(next.filesSynced, 1);
});

test('a restore that fails after the replace writes the safety copy back', async () => {
  const before = catalogTables(catalogPath());
  let seenDuringReplace: string[] = [];
  const failure = await restoreCatalog({
    ...restoreDeps(),
    afterReplace: () => {
      const db = new Database(catalogPath(), { readonly: true });
      seenDuringReplace = fileNames(db);
      db.close();
      throw new Error('injected failure after the replace');
    },
  }).then(
    () => assert.fail('the restore should fail'),
    (err: unknown) => err,
  );
  assert.ok(failure instanceof CatalogRestoreFailedError, String(failure));
  assert.equal(failure.rolledBack, true);
  assert.match(failure.message, /injected failure after the replace\. Rolled back: the catalog is the safety copy .*\.safety-/);
  assert.deepEqual(seenDuringReplace, ['Plan', 'a.txt', 'b.txt'], 'the dump had replaced the catalog when the failure came');
  assert.deepEqual(catalogTables(catalogPath()), before, 'the catalog is what it was');
  assert.deepEqual(catalogTables(failure.safetyCopy), before);
  assert.deepEqual(fileNames(worker.wired.catalog.db), ['Plan', 'a.txt', 'b.txt', 'c.txt']);
});

test('a corrupt byte in the uploaded dump is reported, naming the object and both hashes, and nothing is touched', async () => {
  await corruptObject(s3, BUCKETS.aws, DUMP_KEY);
  const corrupt = await (await s3.send(new GetObjectCommand({ Bucket: BUCKETS.aws, Key: DUMP_KEY }))).Body!.transformToByteArray();
  const found = createHash('sha256').update(corrupt).digest('hex');
  const before = catalogTables(catalogPath());
  const beside = besideCatalog();

  const refused = await restoreCatalog(restoreDeps()).then(
    () => assert.fail('a corrupt dump must not be restored'),
    (err: unknown) => err as Error,
  );
  assert.ok(refused instanceof StateObjectMismatchError, String(refused));
  assert.equal(
    refused.message,
    `aws: ${DUMP_KEY} does not match its checksum: expected SHA-256 ${dump.catalog!.sha256} (catalog.sqlite.gz.sha256), ` +
      `found ${found} (${corrupt.length} bytes read)`,
  );

  const cli = await runCli(['catalog', 'restore', '--from', 'aws', '--json', '--config', configPath], cliEnv());
  assert.equal(cli.status, 1, cli.stderr);
  const out = JSON.parse(cli.stdout) as { ok: boolean; error: { name: string; message: string } };
  assert.deepEqual(out, { ok: false, error: { name: 'StateObjectMismatchError', message: refused.message } });
  assert.deepEqual(catalogTables(catalogPath()), before);
  assert.deepEqual(besideCatalog(), beside, 'no safety copy and no temporary file');

  // The same day on the local destination is whole: the CLI restores from it.
  const fromNas = await runCli(['catalog', 'restore', '--from', 'nas', '--date', DAY, '--config', configPath], cliEnv());
  assert.equal(fromNas.status, 0, fromNas.stderr);
  assert.match(fromNas.stdout, /^catalog restored from nas: .*state\/daily\/2026-11-20\/catalog\.sqlite\.gz\n/);
  assert.match(fromNas.stdout, /safety copy {2}.*catalog\.db\.safety-/);
  assert.deepEqual(fileNames(worker.wired.catalog.db), ['Plan', 'a.txt', 'b.txt']);
});

test('catalog restore refuses while a full sync runs, naming it, and goes ahead once its workflow is gone', async () => {
  const late = await stack.emulator!.store.addFile({ name: 'late.txt', content: bytesContent('lima') });
  // The full sync waits on this download: it is running, and holds the account, while the restore is tried.
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${late.id}\\?.*alt=media`, times: 1, delayMs: 120_000 });
  const workflowId = 'restore-test-busy-sync';
  const handle = await startFullSync(worker.client, config, workflowId);
  const running = worker.wired.catalog.db.prepare(`SELECT 1 FROM runs WHERE id = ? AND status = 'running'`);
  for (let i = 0; !stack.emulator!.requests.some((r) => r.path.endsWith(late.id) && r.query.alt === 'media'); i++) {
    assert.ok(i < 1200, 'the full sync reaches the delayed download');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(running.get(workflowId), 'the catalog records the full sync as running');
  const before = catalogTables(catalogPath());
  const beside = besideCatalog();

  await assert.rejects(restoreCatalog(restoreDeps('nas')), {
    name: 'CatalogBusyError',
    message: `the catalog is being written: full-sync run ${workflowId} (workflow ${workflowId}) still runs. Wait for it to finish (or cancel it), then restore`,
  });
  const cli = await runCli(['catalog', 'restore', '--from', 'nas', '--config', configPath], cliEnv());
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, new RegExp(`full-sync run ${workflowId} \\(workflow ${workflowId}\\) still runs`));
  assert.deepEqual(catalogTables(catalogPath()), before);
  assert.deepEqual(besideCatalog(), beside);

  await handle.terminate('the test is done with it');
  const result = await restoreCatalog(restoreDeps('nas'));
  assert.equal(result.day, DAY);
  assert.equal(result.previous.files > result.restored.files, true);
  assert.equal(
    worker.wired.catalog.db.prepare('SELECT count(*) AS n FROM account_hold').pluck().get(),
    0,
    'the hold of the terminated run went with the catalog it was in',
  );
  stack.emulator!.faults.clear();

  // A run recorded as running that Temporal cannot be asked about may be writing: refused too.
  startRun(worker.wired.catalog, { runId: 'restore-test-sweep', kind: 'incremental-sweep', workflowId: 'restore-test-sweep' });
  const unreachable = async () => {
    throw new Error('Temporal at 127.0.0.1:1 does not answer');
  };
  await assert.rejects(restoreCatalog({ ...restoreDeps('nas'), workflowRunning: unreachable }), {
    name: 'CatalogBusyError',
    message:
      'the catalog records incremental-sweep run restore-test-sweep (workflow restore-test-sweep) as running, and Temporal cannot be ' +
      'asked whether it still runs (Temporal at 127.0.0.1:1 does not answer). Start Temporal and try again',
  });
  closeAbandonedRun(worker.wired.catalog, 'restore-test-sweep', 'the test is done with it');
});

test('catalog restore refuses while a deep verification runs: it records no run, Temporal names it', async () => {
  // Its catalog task queue is served by no worker: it stays running, on its first step.
  const elsewhere = { ...config, catalog: { ...config.catalog, hostId: 'nowhere' } };
  const handle = await startDeepVerify(worker.client, elsewhere, {}, 'restore-test-deep-verify');
  const running = () => runningDeepVerifications(worker.client, config);
  for (let i = 0; !(await running()).includes('restore-test-deep-verify'); i++) {
    assert.ok(i < 300, 'Temporal lists the deep verification');
    await new Promise((r) => setTimeout(r, 100));
  }
  const before = catalogTables(catalogPath());
  await assert.rejects(restoreCatalog({ ...restoreDeps('nas'), unrecordedWriters: running }), {
    name: 'CatalogBusyError',
    message:
      'the catalog is being written: deep verification restore-test-deep-verify still runs. Wait for it to finish (or cancel it), then restore',
  });
  assert.deepEqual(catalogTables(catalogPath()), before);
  await handle.terminate('the test is done with it');
});

test('catalog restore and recover read --from and --date, and refuse a bad one as a usage error', () => {
  assert.deepEqual(parseCommandLine(['catalog', 'restore', '--from', 'aws', '--date', '2026-11-20', '--json'], {}), {
    kind: 'catalog-restore',
    config: 'config.yaml',
    from: 'aws',
    date: '2026-11-20',
    json: true,
  });
  assert.deepEqual(parseCommandLine(['recover', '--from', 'nas', '--config', 'c.yaml'], {}), {
    kind: 'recover',
    config: 'c.yaml',
    from: 'nas',
    date: undefined,
    json: false,
  });
  const cases: Array<[string[], RegExp]> = [
    [['catalog', 'restore'], /catalog restore needs --from DESTINATION/],
    [['recover', '--from', ''], /recover needs --from DESTINATION/],
    [['recover', '--from', 'aws', '--date', '2026-13-01'], /--date takes a day as YYYY-MM-DD, such as 2026-11-25; "2026-13-01" is not one/],
    [['recover', '--from', 'aws', '--date', 'yesterday'], /"yesterday" is not one/],
    [['catalog', 'dump'], /unknown command 'dump'/],
    [['recover', 'now', '--from', 'aws'], /too many arguments for 'recover'\. Expected 0 arguments but got 1: now/],
    [['recover', '--from', 'aws', '--wait'], /unknown option '--wait'/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseCommandLine(argv, {}), { name: 'UsageError', message }, argv.join(' '));
  // A global option before the command, or a value that is a command's name, leaves the command as it is.
  assert.equal(parseCommandLine(['--config', 'c.yaml', 'recover', '--from', 'aws'], {}).kind, 'recover');
  assert.equal(parseCommandLine(['catalog', 'restore', '--from', 'aws'], {}).kind, 'catalog-restore');
  assert.equal(parseCommandLine(['verify', '--deep', '--sample', '5%'], {}).kind, 'verify-deep');
  assert.deepEqual(parseCommandLine(['--config', 'catalog', 'sync', 'full'], {}), {
    kind: 'sync-full',
    config: 'catalog',
    wait: false,
    json: false,
  });
});

test('the CLI exits 2 for a --from the config does not name', async () => {
  const cli = await runCli(['recover', '--from', 'tape', '--config', configPath], cliEnv());
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /--from tape: the config has no such destination; it has eu, aws, nas/);
  assert.match(cli.stderr, /drive-vault recover --from DESTINATION/);
});
