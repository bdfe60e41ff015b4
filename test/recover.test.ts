import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { Catalog } from '../activities/catalog/catalog';
import { migrations } from '../activities/catalog/migrations';
import { LATEST_SCHEMA_VERSION } from '../activities/catalog/restoredCatalog';
import { localDumpDir } from '../activities/dump/dumpLayout';
import { type RecoverResult, recoverCatalog } from '../activities/dump/recoverCatalog';
import { createDestinations } from '../activities/storage/createDestinations';
import type { Destination } from '../activities/storage/destination';
import { LocalDestination } from '../activities/storage/local';
import { startFullSync } from '../api/fullSyncRuns';
import type { Config } from '../common/config';
import type { FullSyncSummary } from '../common/types';
import { bytesContent, generatedContent } from './drive-emulator/content';
import { runCli } from './support/cli';
import { corruptObject, runNightlyDump } from './support/dumps';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker, testLogger } from './support/worker';

// Issue 12, section 4: a new machine takes over from the bucket alone, and its first full sync transfers nothing.
let stack: Stack;
let worker: RunningWorker | undefined;
let config: Config;
let configPath: string;
let destinations: Map<string, Destination>;
let s3: S3Client;
let syncs = 0;
const G = 'application/vnd.google-apps.';

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  config = stackConfig(stack, { scope: { exclude: ['*.tmp'] }, transfer: { retryBaseDelayMs: 20, batchSize: 1, batchesInFlight: 1 } });
  destinations = new Map(createDestinations(config, stackEnv(stack)).map((d) => [d.name, d]));
  s3 = stack.minio!.client();
  // recover works from the config alone, with no Temporal: this one's address answers nothing.
  configPath = join(stack.tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...config, temporal: { ...config.temporal, address: '127.0.0.1:1' } }));
  const s = stack.emulator!.store;
  const projects = await s.addFile({ name: 'Projects' });
  // Equal names: the second file holds a key with its id, which a recovered catalog must give it again.
  await s.addFile({ name: 'report.pdf', parentId: projects.id, content: bytesContent('first report') });
  await s.addFile({ name: 'report.pdf', parentId: projects.id, content: bytesContent('second report, same name') });
  for (const name of ['a/b', '..', 'emoji 📦', `${'long'.repeat(80)}.txt`]) {
    await s.addFile({ name, parentId: projects.id, content: bytesContent(`hostile: ${name}`) });
  }
  await s.addFile({ name: 'video.mp4', parentId: projects.id, content: generatedContent(3 * 1024 * 1024 + 5, 3) });
  await s.addFile({ name: 'Plan', parentId: projects.id, mimeType: `${G}document`, text: 'the plan' });
  await s.addFile({ name: 'Budget', mimeType: `${G}spreadsheet`, text: 'budget' });
  await s.addFile({ name: 'Survey', mimeType: `${G}form` });
  await s.addFile({ name: 'scratch.tmp', parentId: projects.id, content: bytesContent('excluded by name') });
  await s.addFile({ name: 'link to projects', mimeType: `${G}shortcut`, shortcutTargetId: projects.id });
  const ana = await s.addFile({ name: 'Shared by Ana', sharedWithMe: true });
  await s.addFile({ name: 'ana notes.txt', parentId: ana.id, sharedWithMe: true, content: bytesContent('followed through a shortcut') });
  await s.addFile({ name: 'link to ana', mimeType: `${G}shortcut`, shortcutTargetId: ana.id });
  const team = s.addDrive('Team');
  await s.addFile({ name: 't.txt', driveId: team.id, parentId: team.id, content: bytesContent('tango') });
  const gone = await s.addFile({ name: 'gone.txt', content: bytesContent('deleted after the first sync') });

  worker = await startTestWorker(stack, config);
  assert.equal((await fullSync()).filesFailed, 0);
  // A file removed from Drive: its objects go under .trash/, where the recovered catalog must leave them.
  s.delete(gone.id);
  const second = await fullSync();
  assert.equal(second.filesFailed, 0);
  assert.equal(second.filesSynced, 0);
});

after(async () => {
  s3?.destroy();
  await worker?.stop();
  await stack?.stop();
});

async function fullSync(): Promise<FullSyncSummary> {
  return (await startFullSync(worker!.client, config, `recover-test-sync-${++syncs}`)).result();
}

/**
 * Every object on every destination, with what changes when it is written again: LastModified and ETag on MinIO,
 * inode and mtime in the local directory (a write there is a new file renamed into place).
 */
async function objectStamps(): Promise<Record<string, string>> {
  const stamps: Record<string, string> = {};
  for (const bucket of Object.values(BUCKETS)) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) stamps[`${bucket}/${o.Key}`] = `${o.LastModified!.toISOString()} ${o.ETag} ${o.Size}`;
      token = page.NextContinuationToken;
    } while (token);
  }
  const nas = (config.destinations.find((d) => d.name === 'nas') as { path: string }).path;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const st = statSync(path);
        stamps[`nas/${relative(nas, path)}`] = `${st.ino} ${st.mtimeMs} ${st.size}`;
      }
    }
  };
  walk(nas);
  return stamps;
}

/** Drive requests from `from` on that moved file content: downloads and exports. */
const contentRequestsSince = (from: number) =>
  stack.emulator!.requests.slice(from).filter((r) => r.query.alt === 'media' || r.path.includes('/export') || r.path.startsWith('/feeds/'));

/** The catalog host is lost: the worker stops, and its catalog and local dumps are gone with the machine. */
async function loseCatalogHost(): Promise<void> {
  await worker!.stop();
  worker = undefined;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${config.catalog.path}${suffix}`, { force: true });
  rmSync(localDumpDir(config), { recursive: true, force: true });
}

/** What a recovered catalog must not hold: runs still running, the account hold, claims on files. */
function leftovers(): { running: number; holds: number; claims: number } {
  const db = new Database(config.catalog.path, { readonly: true });
  try {
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      running: count(`SELECT count(*) FROM runs WHERE status = 'running'`),
      holds: count('SELECT count(*) FROM account_hold'),
      claims: count('SELECT count(*) FROM files WHERE claimed_by IS NOT NULL'),
    };
  } finally {
    db.close();
  }
}

/** A new worker on the recovered catalog runs a full sync: it downloads nothing, uploads nothing, rewrites nothing. */
async function fullSyncTransfersNothing(recovered: RecoverResult): Promise<void> {
  const stamps = await objectStamps();
  const requestsBefore = stack.emulator!.requests.length;
  worker = await startTestWorker(stack, config);
  const summary = await fullSync();
  assert.equal(summary.filesFailed, 0);
  assert.equal(summary.filesSynced, 0, 'no file transferred');
  assert.equal(summary.bytes, 0);
  assert.equal(summary.pending, 0);
  assert.deepEqual(summary.mismatched, {});
  assert.deepEqual(contentRequestsSince(requestsBefore), [], 'nothing downloaded or exported from Drive');
  assert.deepEqual(await objectStamps(), stamps, 'no object written on any destination');
  assert.ok(recovered.counts.objects > 0);
}

test('recover from the newest dump, with no Temporal: the full sync after it transfers nothing', async () => {
  const dump = await runNightlyDump(worker!, config, { workflowId: 'recover-test-dump-1', now: '2026-11-21T02:30:00Z' });
  await loseCatalogHost();

  const cli = await runCli(['recover', '--from', 'aws', '--json', '--config', configPath], { ...process.env, ...stackEnv(stack) });
  assert.equal(cli.status, 0, cli.stderr);
  const recovered = JSON.parse(cli.stdout) as RecoverResult & { ok: boolean };
  assert.equal(recovered.ok, true);
  assert.equal(recovered.day, '2026-11-21');
  assert.equal(recovered.source, 'dump');
  assert.equal(recovered.key, 'vault/state/daily/2026-11-21/catalog.sqlite.gz');
  assert.deepEqual(recovered.skipped, []);
  assert.equal(recovered.counts.objects, dump.objects);
  assert.deepEqual(recovered.adopted, { checked: 0, objects: 0, files: 0, unreachable: [] }, 'nothing was waiting for a transfer');
  assert.deepEqual(
    recovered.runsClosed.map((r) => [r.kind, r.workflowId]),
    [['nightly-dump', 'recover-test-dump-1']],
    'the dump recorded its own run as running',
  );
  assert.equal(statSync(config.catalog.path).mode & 0o777, 0o600);
  assert.deepEqual(leftovers(), { running: 0, holds: 0, claims: 0 });
  assert.deepEqual(
    readdirSync(join(stack.tmp)).filter((n) => n.startsWith('.catalog-recover-')),
    [],
    'no temporary file left',
  );
  await fullSyncTransfersNothing(recovered);
});

test('recover refuses a catalog that holds files, and names what to do', async () => {
  const cli = await runCli(['recover', '--from', 'aws', '--config', configPath], { ...process.env, ...stackEnv(stack) });
  assert.equal(cli.status, 1);
  assert.match(
    cli.stderr,
    new RegExp(`the catalog ${config.catalog.path} already holds \\d+ files: move it aside first \\(mv ${config.catalog.path} `),
  );
});

// Found by a cold review: two accounts sharing a bucket and prefix would each recover the other's catalog.
test('recover refuses the dump and the manifest of another account', async () => {
  const other = {
    ...config,
    account: 'someone-else@example.com',
    catalog: { ...config.catalog, path: join(stack.tmp, 'other', 'catalog.db') },
  };
  const destinations = createDestinations(other, { ...process.env, ...stackEnv(stack) });
  await assert.rejects(recoverCatalog({ config: other, destination: destinations[0]!, destinations, logger: testLogger }), (err: Error) => {
    assert.match(err.message, /is not a catalog of someone-else@example\.com: it holds the key drive\/me@example\.com\//);
    return true;
  });
  assert.deepEqual(
    readdirSync(join(stack.tmp, 'other')).filter((n) => n.endsWith('.db')),
    [],
    'no catalog installed',
  );
});

test('with no dump that verifies, recover rebuilds from the newest manifest, reporting the days it skipped', async () => {
  await runNightlyDump(worker!, config, { workflowId: 'recover-test-dump-2', now: '2026-11-22T02:30:00Z' });
  // The newest dump has a flipped byte, the older one is gone: only the manifests are left to recover from.
  await corruptObject(s3, BUCKETS.aws, 'vault/state/daily/2026-11-22/catalog.sqlite.gz');
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKETS.aws, Key: 'vault/state/daily/2026-11-21/catalog.sqlite.gz' }));
  await loseCatalogHost();

  const recovered = await recoverCatalog({
    config,
    destination: destinations.get('aws')!,
    destinations: [...destinations.values()],
    logger: testLogger,
  });
  assert.equal(recovered.source, 'manifest');
  assert.equal(recovered.day, '2026-11-22');
  assert.equal(recovered.key, 'vault/state/daily/2026-11-22/manifest.jsonl.gz');
  assert.deepEqual(
    recovered.skipped.map((s) => [s.day, s.source]),
    [
      ['2026-11-22', 'dump'],
      ['2026-11-21', 'dump'],
    ],
  );
  assert.match(recovered.skipped[0]!.problem, /catalog\.sqlite\.gz does not match its checksum: expected SHA-256 [0-9a-f]{64}/);
  assert.equal(recovered.skipped[1]!.problem, 'aws: vault/state/daily/2026-11-21/catalog.sqlite.gz is missing');
  assert.deepEqual(leftovers(), { running: 0, holds: 0, claims: 0 });
  await fullSyncTransfersNothing(recovered);
});

test('a dump taken while a full sync transfers: recover lets go of its hold and claims, and adopts what it stored after the dump', async () => {
  const s = stack.emulator!.store;
  const added = [
    await s.addFile({ name: 'late.txt', content: bytesContent('uploaded after the dump') }),
    await s.addFile({ name: 'early.txt', content: bytesContent('uploaded after the dump too') }),
    await s.addFile({ name: 'Minutes', mimeType: `${G}document`, text: 'exported after the dump' }),
  ];
  // One file per batch, one batch at a time (the next claimed ahead), each download held back: when the dump is taken,
  // the full sync holds the account and has claimed some of the three (their keys given); the rest wait, keyless.
  for (const f of added) {
    stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}(\\?.*alt=media|/export)`, times: 1, delayMs: 4_000 });
  }
  const sync = await startFullSync(worker!.client, config, 'recover-test-mid-sync');
  const contentAsked = () => stack.emulator!.requests.some((r) => added.some((f) => r.path.startsWith(`/drive/v3/files/${f.id}`)));
  for (let i = 0; !contentAsked(); i++) {
    assert.ok(i < 1200, 'the full sync reaches a held-back download');
    await new Promise((r) => setTimeout(r, 100));
  }
  await runNightlyDump(worker!, config, { workflowId: 'recover-test-dump-3', now: '2026-11-23T02:30:00Z' });
  const dumped = join(stack.tmp, 'dump-3.db');
  writeFileSync(dumped, gunzipSync(readFileSync(join(localDumpDir(config), '2026-11-23', 'catalog.sqlite.gz'))));
  const inDump = new Database(dumped, { readonly: true });
  const ids = JSON.stringify(added.map((f) => f.id));
  const count = (sql: string) => inDump.prepare(sql).pluck().get(ids) as number;
  assert.equal(count(`SELECT count(*) FROM files WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending'`), 3);
  const claimed = count(`SELECT count(*) FROM files WHERE id IN (SELECT value FROM json_each(?)) AND claimed_by IS NOT NULL`);
  const keyed = count(`SELECT count(DISTINCT holder) FROM object_keys WHERE holder IN (SELECT value FROM json_each(?))`);
  assert.ok(claimed >= 1 && keyed === claimed && keyed < 3, `${claimed} claimed, ${keyed} with keys: some claimed, some not`);
  assert.equal(inDump.prepare('SELECT workflow_id FROM account_hold').pluck().get(), 'recover-test-mid-sync');
  inDump.close();
  assert.equal((await sync.result()).filesSynced, 3);
  await loseCatalogHost();

  const recovered = await recoverCatalog({
    config,
    destination: destinations.get('aws')!,
    destinations: [...destinations.values()],
    logger: testLogger,
  });
  assert.equal(recovered.day, '2026-11-23');
  assert.equal(recovered.source, 'dump');
  assert.deepEqual(recovered.runsClosed.map((r) => r.workflowId).sort(), ['recover-test-dump-3', 'recover-test-mid-sync']);
  assert.deepEqual(leftovers(), { running: 0, holds: 0, claims: 0 });
  assert.deepEqual({ ...recovered.adopted, objects: undefined }, { checked: 3, files: 3, objects: undefined, unreachable: [] });
  assert.ok(recovered.adopted.objects >= 9, 'each object of the three files, on each of the three destinations');
  await fullSyncTransfersNothing(recovered);
});

test('a dump from an older schema is migrated as it is recovered; one from a newer schema is skipped', async () => {
  const root = join(stack.tmp, 'schemas');
  mkdirSync(root);
  const destination = new LocalDestination('old-nas', join(root, 'nas'));
  /** Writes a day's dump straight into the directory, as an older (or newer) drive-vault uploaded it. */
  const writeDump = (day: string, schemaVersion: number) => {
    const path = join(root, `${day}.db`);
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of migrations.filter((m) => m.version <= Math.min(schemaVersion, 10))) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00Z');
    }
    if (schemaVersion > 10)
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(schemaVersion, 'from the future', '2027-01-01');
    db.exec(`
      INSERT INTO files (id, kind, name, mime_type, parent_id, size, modified_time, version, state, last_listing_id, created_at, updated_at)
        VALUES ('f1', 'binary', 'old.txt', 'text/plain', 'root', 3, '2026-01-01T00:00:00Z', '4', 'synced', 'l1', '2026-01-01', '2026-01-01');
      INSERT INTO objects (file_id, destination, key, size, sha256, state, file_version)
        VALUES ('f1', 'old-nas', 'drive/me/My Drive/old.txt', 3, '${'a'.repeat(64)}', 'verified', '4');`);
    db.close();
    const gz = gzipSync(readFileSync(path));
    const dir = join(root, 'nas', 'state', 'daily', day);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'catalog.sqlite.gz'), gz);
    writeFileSync(join(dir, 'catalog.sqlite.gz.sha256'), `${createHash('sha256').update(gz).digest('hex')}  catalog.sqlite.gz\n`);
  };
  writeDump('2026-11-10', 10);
  writeDump('2026-11-11', LATEST_SCHEMA_VERSION + 1);
  const other = { ...config, catalog: { ...config.catalog, path: join(root, 'data', 'catalog.db') } };

  const recovered = await recoverCatalog({ config: other, destination, destinations: [destination], logger: testLogger });
  assert.equal(recovered.day, '2026-11-10');
  assert.deepEqual(recovered.skipped, [
    {
      day: '2026-11-11',
      source: 'dump',
      problem: `the dump old-nas: state/daily/2026-11-11/catalog.sqlite.gz has catalog schema ${LATEST_SCHEMA_VERSION + 1}, newer than this drive-vault's ${LATEST_SCHEMA_VERSION}`,
    },
  ]);
  assert.deepEqual(recovered.counts, { files: 1, objects: 1, schemaVersion: LATEST_SCHEMA_VERSION });
  const catalog = Catalog.open(other.catalog.path);
  try {
    assert.equal(catalog.getFile('f1')?.state, 'synced');
    assert.equal(catalog.db.prepare('SELECT claimed_by FROM files').pluck().get(), null, 'columns of later migrations are there');
  } finally {
    catalog.close();
  }
});
