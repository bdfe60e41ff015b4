import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { formatFullSyncSummary, startFullSync, webUiLink } from '../api/fullSyncRuns';
import { formatScheduleRows, scheduleRows, scheduleWebUiLink } from '../api/schedules';
import { formatDumpResult, startDump } from '../api/stateRuns';
import { formatSweepSummary, startSweep } from '../api/sweepRuns';
import type { Catalog } from '../activities/catalog/catalog';
import { objectPlaces } from '../activities/catalog/placeChecks';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { bytesContent } from '../test/drive-emulator/content';
import { seedFromDirectory } from '../test/drive-emulator/seed';
import type { DriveStore, EmuFile } from '../test/drive-emulator/store';
import { DriveEmulator } from '../test/drive-emulator/server';
import { startMinio } from './launchers/minioServer';
import { startTemporalDevServer } from './launchers/temporalDevServer';
import { toolPath } from './launchers/tiedProcess';
import { installTemporalLogging } from '../worker/temporalLogging';
import { wireActivities } from '../worker/wiring';
import { reconcileSchedules } from '../worker/schedules';
import { startWorkers } from '../worker/workers';

/**
 * `npm run demo`: the main job on embedded defaults. A Temporal dev server persisted under data/ with its
 * Web UI on :8233, a worker, the Drive emulator seeded with a sample Drive, and two destinations: a local
 * directory (data/backup) and, when the pinned MinIO is installed, a MinIO bucket (data/minio). Runs a
 * full sync and prints its summary, then changes a few items in the sample Drive, runs an incremental sweep and
 * prints what each change did, then dumps the catalog to every destination. `--keep-running` creates the four schedules and leaves everything up until Ctrl-C.
 * `drive-vault demo` runs it too.
 */
const root = resolve(__dirname, '..');
const dataDir = join(root, 'data');
const demoOAuth = { clientId: 'demo-client', clientSecret: 'demo-secret', refreshToken: 'demo-refresh-token' };

function minioInstalled(): boolean {
  try {
    toolPath('minio');
    return true;
  } catch {
    return false;
  }
}

export async function runDemo(options: { keepRunning: boolean }): Promise<void> {
  const tools = spawnSync('bash', [join(root, 'scripts', 'install-tools.sh')], { stdio: 'inherit' });
  if (tools.status !== 0) console.error('demo: the pinned tools could not all be installed (see above); going on with what is there');
  mkdirSync(dataDir, { recursive: true });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  installTemporalLogging(logger, 'ERROR');

  console.log('demo: starting the Temporal dev server (data/temporal.db, Web UI on http://127.0.0.1:8233) and the Drive emulator');
  const temporal = await startTemporalDevServer({ dbFile: join(dataDir, 'temporal.db'), uiPort: 8233 });
  const emulator = await DriveEmulator.start({ oauth: demoOAuth, seed: 'sample-drive' });
  const seeded = await seedFromDirectory(emulator.store, join(root, 'test', 'drive-emulator', 'sample-drive'));
  console.log(`demo: sample Drive with ${seeded.size} items at ${emulator.baseUrl}`);
  const minio = minioInstalled() ? await startMinio(join(dataDir, 'minio')) : undefined;
  if (minio) {
    await minio.createBucket('drive-vault-demo').catch((err: Error) => {
      if (!/BucketAlreadyOwnedByYou|already own it/.test(err.name + err.message)) throw err;
    });
    console.log(`demo: MinIO on ${minio.endpoint}, bucket drive-vault-demo (data/minio)`);
  } else {
    console.log('demo: MinIO is not installed (npm run tools): backing up to the local directory only');
  }

  const destinations: unknown[] = [{ kind: 'local', name: 'local', path: join(dataDir, 'backup') }];
  if (minio)
    destinations.push({
      kind: 's3',
      name: 'minio',
      endpoint: minio.endpoint,
      bucket: 'drive-vault-demo',
      prefix: 'vault',
      forcePathStyle: true,
      accessKeyIdEnv: 'DEMO_S3_KEY',
      secretAccessKeyEnv: 'DEMO_S3_SECRET',
    });
  const config = parseConfig(
    {
      account: 'demo@drive-vault.test',
      google: { clientId: demoOAuth.clientId, apiRootUrl: emulator.baseUrl, tokenUrl: `${emulator.baseUrl}token` },
      temporal: { address: temporal.address, webUiUrl: `${temporal.uiUrl}/` },
      catalog: { path: join(dataDir, 'catalog.db') },
      destinations,
    },
    'the demo defaults',
  );
  const env = {
    GOOGLE_CLIENT_SECRET: demoOAuth.clientSecret,
    GOOGLE_REFRESH_TOKEN: demoOAuth.refreshToken,
    DEMO_S3_KEY: minio?.accessKeyId,
    DEMO_S3_SECRET: minio?.secretAccessKey,
  };
  const wired = wireActivities(config, logger, env);
  const workerConnection = await NativeConnection.connect({ address: temporal.address });
  const workers = await startWorkers({ connection: workerConnection, namespace: config.temporal.namespace, ...wired.parts });
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection });

  try {
    const handle = await startFullSync(client, config);
    console.log(`demo: full sync ${handle.workflowId} running; watch it at ${webUiLink(config, handle.workflowId)}`);
    const summary = await handle.result();
    console.log(`\n${formatFullSyncSummary(summary, webUiLink(config, handle.workflowId))}`);
    console.log(`  backup    ${join(dataDir, 'backup')}${minio ? ` and s3://drive-vault-demo/vault on ${minio.endpoint}` : ''}`);

    const changes = await changeSampleDrive(emulator.store, seeded);
    const sweep = await startSweep(client, config);
    console.log(`\ndemo: changed ${changes.length} items in the sample Drive; sweep ${sweep.workflowId} reads Drive's changes feed`);
    console.log(`\n${formatSweepSummary(await sweep.result(), webUiLink(config, sweep.workflowId))}`);
    console.log('\nwhat each change did:');
    for (const change of changes) console.log(describeChange(wired.catalog, change));
    const dump = await startDump(client, config);
    console.log(`\ndemo: dump ${dump.workflowId} backs up the catalog itself to every destination`);
    console.log(formatDumpResult(await dump.result(), webUiLink(config, dump.workflowId)));
    if (options.keepRunning) {
      // As a catalog host's worker does at start: the four schedules, for the Web UI to show, pause and trigger.
      await reconcileSchedules(client, config, logger);
      console.log(`\n${formatScheduleRows(await scheduleRows(client), scheduleWebUiLink(config))}`);
      console.log('\ndemo: running, with the schedules above (the sweep every 5 minutes); press Ctrl-C to stop');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
  } finally {
    await workers.shutdown();
    await workerConnection.close();
    await clientConnection.close();
    wired.catalog.close();
    await emulator.close();
    await Promise.all([temporal.stop(), minio?.stop()]);
  }
}

interface DemoChange {
  what: string;
  file: EmuFile;
}

/** Edits, renames, moves, trashes, restores and creates a few items, as a user would between two sweeps. */
async function changeSampleDrive(store: DriveStore, seeded: Map<string, EmuFile>): Promise<DemoChange[]> {
  const item = (path: string) => {
    const file = seeded.get(path);
    if (!file) throw new Error(`the sample Drive has no ${path}`);
    return file;
  };
  const documents = item('Documents');
  const report = await store.modifyContent(item('Documents/Report.txt').id, { content: bytesContent('Report, second edition\n') });
  const notes = store.rename(item('Photos/2024/notes.md').id, 'notes (2024).md');
  const moved = store.move(item('Archive/empty.txt').id, documents.id);
  const photos = store.rename(item('Photos').id, 'Pictures');
  const budget = store.setTrashed(item('Documents/Budget 2026').id, true);
  const draft = store.setTrashed(item('Archive/old-draft.txt').id, false);
  const holiday = [...seeded].find(([path]) => path.startsWith('Photos/2024/holiday'))?.[1];
  const ideas = await store.addFile({ name: 'Ideas.txt', parentId: documents.id, content: bytesContent('a new file\n') });
  return [
    { what: 'edited Documents/Report.txt', file: report },
    { what: 'renamed Photos/2024/notes.md to notes (2024).md', file: notes },
    { what: 'moved Archive/empty.txt into Documents', file: moved },
    { what: 'renamed the folder Photos to Pictures (the holiday photo inside)', file: holiday ?? photos },
    { what: 'trashed the Sheet Documents/Budget 2026', file: budget },
    { what: 'restored Archive/old-draft.txt from the trash', file: draft },
    { what: 'created Documents/Ideas.txt', file: ideas },
  ];
}

/** Where the changed file's objects are now: at their keys, and what went under .trash/. */
function describeChange(catalog: Catalog, change: DemoChange): string {
  const places = objectPlaces(catalog, change.file.id);
  const lines = [...places.live.map((p) => `${p.destination}: ${p.key}`), ...places.trashed.map((p) => `${p.destination}: ${p.key}`)];
  return [`  ${change.what}`, ...lines.map((line) => `      ${line}`)].join('\n');
}

if (require.main === module) {
  runDemo({ keepRunning: process.argv.includes('--keep-running') }).catch((err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
