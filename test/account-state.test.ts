import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { Catalog } from '../activities/catalog/catalog';
import { adoptionFromConfig } from '../activities/dump/adoptStoredObjects';
import { restoreCatalog } from '../activities/dump/catalogRestore';
import { writeDailyDump } from '../activities/dump/dailyDump';
import { DUMP_FILE_NAMES, localDumpDir, stateLayout } from '../activities/dump/dumpLayout';
import { applyDumpRetention } from '../activities/dump/dumpRetention';
import { uploadPendingDumps } from '../activities/dump/dumpUploads';
import { recoverCatalog } from '../activities/dump/recoverCatalog';
import { applyRollupRetention, uploadPendingRollups, writeWeeklyRollup } from '../activities/rollup/weeklyRollup';
import { createDestinations } from '../activities/storage/createDestinations';
import type { Destination } from '../activities/storage/destination';
import { resolveAccounts } from '../common/accounts';
import { type Config, parseConfigFile } from '../common/config';
import { listedBinaryFile } from './support/catalog';
import { BUCKETS, type Stack, listBucketKeys, startStack } from './support/stack';
import { minioDestination, stackEnv, testLogger } from './support/worker';

// Issue 13: two accounts of one config that share a bucket and prefix keep their dumps and rollups apart.
let stack: Stack;
let s3: S3Client;
let ana: Config;
let bo: Config;
let destinations: Destination[];
const DAYS = ['2026-11-20', '2026-11-21', '2026-11-22'];
/** Each account's files in its catalog: ana has three, bo one, so a catalog made from the other's dump shows. */
const FILES = { ana: ['ana-1', 'ana-2', 'ana-3'], bo: ['bo-1'] };

before(async () => {
  stack = await startStack({ minio: true });
  s3 = stack.minio!.client();
  const file = parseConfigFile({ accounts: [{ account: 'ana@example.com' }, { account: 'bo@example.com' }], ...sharedSections() });
  [ana, bo] = resolveAccounts(file) as [Config, Config];
  destinations = createDestinations(ana, stackEnv(stack));
});

after(async () => {
  s3?.destroy();
  await stack?.stop();
});

/** What both accounts share: the destination (one bucket, one prefix) and the folder of their catalogs. */
const sharedSections = () => ({
  google: { clientId: 'c' },
  catalog: { path: join(stack.tmp, 'catalog.db') },
  destinations: [minioDestination(stack, 'aws')],
});

/** Dumps the account's catalog on each of `days` and uploads each dump, as the nightly dump's activities do. */
async function dumpDays(config: Config, fileIds: string[], days: string[]): Promise<void> {
  const catalog = Catalog.open(config.catalog.path);
  try {
    catalog.recordListedFiles(
      fileIds.map((id) => listedBinaryFile(id)),
      `listing-${config.account}`,
    );
    const deps = { catalog, destinations, logger: testLogger, account: config.account, exportFormats: config.exportFormats };
    for (const day of days) {
      const runId = `dump-${config.account}-${day}`;
      await writeDailyDump(deps, { runId, dumpDir: localDumpDir(config), now: `${day}T02:30:00Z` });
      await uploadPendingDumps({ ...deps, layout: stateLayout(config) }, { runId, destination: 'aws', dumpDir: localDumpDir(config) });
    }
  } finally {
    catalog.close();
  }
}

/** The keys under `vault/state/<account>/<kind>/` in the shared bucket, without that folder. */
async function stateKeys(config: Config, kind: 'daily' | 'weekly'): Promise<string[]> {
  const folder = `vault/state/${config.account}/${kind}/`;
  return (await listBucketKeys(s3, BUCKETS.aws)).filter((k) => k.startsWith(folder)).map((k) => k.slice(folder.length));
}

const catalogFileIds = (path: string) => {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT id FROM files ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
  } finally {
    db.close();
  }
};

const dayKeys = (days: string[]) => days.flatMap((day) => DUMP_FILE_NAMES.map((f) => `${day}/${f}`));

test('a config of one account keeps the state/ folder its dumps always had', () => {
  const [only] = resolveAccounts(parseConfigFile({ account: 'me@example.com', ...sharedSections() }));
  const layout = stateLayout(only!);
  assert.deepEqual(
    [layout.daily, layout.weekly, layout.dailyKey('2026-11-25', 'catalog.sqlite.gz'), layout.weeklyKey('weekly_1_2.tar.gz')],
    ['state/daily/', 'state/weekly/', 'state/daily/2026-11-25/catalog.sqlite.gz', 'state/weekly/weekly_1_2.tar.gz'],
  );
});

test("two accounts sharing a bucket and prefix: each one's dumps under its own folder, its retention, restore and recover its own", async () => {
  // bo's dumps stopped a day before ana's: ana's newest day is one bo does not have.
  await dumpDays(ana, FILES.ana, DAYS);
  await dumpDays(bo, FILES.bo, DAYS.slice(0, 2));
  assert.deepEqual((await stateKeys(ana, 'daily')).sort(), dayKeys(DAYS).sort(), "ana's dumps under state/ana@example.com/daily/");
  assert.deepEqual((await stateKeys(bo, 'daily')).sort(), dayKeys(DAYS.slice(0, 2)).sort(), "bo's under state/bo@example.com/daily/");

  // ana's retention keeps one day: it deletes ana's older days, never bo's.
  const retention = await applyDumpRetention(
    { destinations, logger: testLogger, layout: stateLayout(ana) },
    { runId: 'retention-ana', dumpDir: localDumpDir(ana), keepLocal: 30, keepRemoteDays: 1, now: `${DAYS[2]}T02:30:00Z` },
  );
  assert.deepEqual(retention.remoteDeleted, { aws: DAYS.slice(0, 2) });
  assert.deepEqual((await stateKeys(ana, 'daily')).sort(), dayKeys(DAYS.slice(2)).sort());
  assert.deepEqual((await stateKeys(bo, 'daily')).sort(), dayKeys(DAYS.slice(0, 2)).sort(), "bo's days are all still there");

  // bo's catalog restore takes bo's newest day, not ana's newer one.
  const [aws] = destinations;
  const restored = await restoreCatalog({
    catalogPath: bo.catalog.path,
    destination: aws!,
    layout: stateLayout(bo),
    logger: testLogger,
    // The catalogs record no running run: Temporal is never asked.
    workflowRunning: async (workflowId) => assert.fail(`Temporal asked about ${workflowId}`),
    adoption: adoptionFromConfig(bo, destinations, testLogger),
  });
  assert.equal(restored.day, DAYS[1]);
  assert.equal(restored.key, `vault/state/bo@example.com/daily/${DAYS[1]}/catalog.sqlite.gz`);
  assert.deepEqual(catalogFileIds(bo.catalog.path), FILES.bo);

  // bo's recovery on a new machine finds bo's days, and installs bo's dump.
  const recoveredPath = join(stack.tmp, 'new-machine', 'bo', 'catalog.db');
  const recovered = await recoverCatalog({
    config: { ...bo, catalog: { ...bo.catalog, path: recoveredPath } },
    destination: aws!,
    destinations,
    logger: testLogger,
  });
  assert.deepEqual([recovered.day, recovered.source, recovered.skipped], [DAYS[1], 'dump', []]);
  assert.equal(recovered.key, `vault/state/bo@example.com/daily/${DAYS[1]}/catalog.sqlite.gz`);
  assert.deepEqual(catalogFileIds(recoveredPath), FILES.bo);
});

test("each account's weekly rollup goes under its own folder, and one account's rollup retention leaves the other's", async () => {
  const now = `${DAYS[2]}T03:45:00Z`;
  for (const config of [ana, bo]) {
    const deps = { destinations, logger: testLogger, layout: stateLayout(config) };
    const week = await writeWeeklyRollup(deps, { runId: `rollup-${config.account}`, dumpDir: localDumpDir(config), now });
    await uploadPendingRollups(deps, { runId: `rollup-${config.account}`, destination: 'aws', dumpDir: localDumpDir(config) });
    assert.deepEqual(await stateKeys(config, 'weekly'), [week.name], `${config.account}'s rollup under its own weekly/`);
  }
  const retention = await applyRollupRetention(
    { destinations, logger: testLogger, layout: stateLayout(ana) },
    { runId: 'rollup-retention-ana', dumpDir: localDumpDir(ana), keepWeekly: 0 },
  );
  assert.deepEqual(retention.remoteDeleted, { aws: ['weekly_20261116_20261122.tar.gz'] });
  assert.deepEqual(await stateKeys(ana, 'weekly'), []);
  assert.deepEqual(await stateKeys(bo, 'weekly'), ['weekly_20261116_20261122.tar.gz'], "bo's rollup is still there");
});
