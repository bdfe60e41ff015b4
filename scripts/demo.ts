import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SearchAttributeType, TypedSearchAttributes, defineSearchAttributeKey } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { TASK_QUEUES } from '../common/taskQueues';
import { seedFromDirectory } from '../test/drive-emulator/seed';
import { DriveEmulator } from '../test/drive-emulator/server';
import { startTemporalDevServer } from '../worker/embedded/temporalDevServer';
import { installTemporalLogging } from '../worker/temporalLogging';
import { wireActivities } from '../worker/wiring';
import { startWorkers } from '../worker/workers';
import { listDriveIntoCatalog } from '../workflows';

/**
 * `npm run demo`: the embedded stack on defaults. A Temporal dev server persisted under data/ with its
 * Web UI on :8233, a worker, and the Drive emulator seeded with a sample Drive; lists it into the catalog
 * and prints what it found. `--keep-running` leaves the Web UI up until Ctrl-C.
 */
const root = resolve(__dirname, '..');
const dataDir = join(root, 'data');
const demoOAuth = { clientId: 'demo-client', clientSecret: 'demo-secret', refreshToken: 'demo-refresh-token' };

async function main() {
  const started = Date.now();
  const tools = spawnSync('bash', [join(root, 'scripts', 'install-tools.sh')], { stdio: 'inherit' });
  if (tools.status !== 0) throw new Error('the pinned tools could not be installed (see above)');
  mkdirSync(dataDir, { recursive: true });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  installTemporalLogging(logger, 'ERROR');

  console.log('demo: starting the Temporal dev server (data/temporal.db, Web UI on http://127.0.0.1:8233) and the Drive emulator');
  const temporal = await startTemporalDevServer({ dbFile: join(dataDir, 'temporal.db'), uiPort: 8233 });
  const emulator = await DriveEmulator.start({ oauth: demoOAuth, seed: 'sample-drive' });
  const seeded = await seedFromDirectory(emulator.store, join(root, 'test', 'drive-emulator', 'sample-drive'));
  console.log(`demo: sample Drive with ${seeded.size} items at ${emulator.baseUrl}`);

  const config = parseConfig(
    {
      account: 'demo@drive-vault.test',
      google: { clientId: demoOAuth.clientId, apiRootUrl: emulator.baseUrl, tokenUrl: `${emulator.baseUrl}token` },
      temporal: { address: temporal.address, webUiUrl: 'http://127.0.0.1:8233/' },
      catalog: { path: join(dataDir, 'catalog.db') },
      destinations: [{ kind: 'local', name: 'local', path: join(dataDir, 'backup') }],
    },
    'the demo defaults',
  );
  const { catalog, catalogActivities, transferActivities } = wireActivities(config, logger, { GOOGLE_CLIENT_SECRET: demoOAuth.clientSecret, GOOGLE_REFRESH_TOKEN: demoOAuth.refreshToken });
  const workerConnection = await NativeConnection.connect({ address: temporal.address });
  const workers = await startWorkers({ connection: workerConnection, namespace: 'default', catalogActivities, transferActivities });
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection });

  const shutdown = async () => {
    await workers.shutdown();
    await workerConnection.close();
    await clientConnection.close();
    catalog.close();
    await emulator.close();
    await temporal.stop();
  };
  try {
    const workflowId = `demo-listing-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(listDriveIntoCatalog, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId,
      args: [{ listingId: workflowId, includeSharedDrives: config.scope.sharedDrives }],
      typedSearchAttributes: new TypedSearchAttributes([
        { key: defineSearchAttributeKey('BackupKind', SearchAttributeType.KEYWORD), value: 'listing' },
        { key: defineSearchAttributeKey('Account', SearchAttributeType.KEYWORD), value: config.account },
      ]),
    });
    const totals = await handle.result();
    const byKind = catalog.db
      .prepare(`SELECT kind, count(*) AS n, coalesce(sum(size), 0) AS bytes FROM files WHERE last_listing_id = ? GROUP BY kind ORDER BY kind`)
      .all(workflowId) as Array<{ kind: string; n: number; bytes: number }>;
    const skipped = catalog.db.prepare(`SELECT name, skip_reason FROM files WHERE state = 'skipped' AND last_listing_id = ?`).all(workflowId) as Array<{ name: string; skip_reason: string }>;
    const seconds = (Date.now() - started) / 1000;
    console.log('\ndrive-vault demo: listing of the sample Drive');
    console.log(`  items listed    ${totals.listed} (new ${totals.new}, changed ${totals.changed}, unchanged ${totals.unchanged})`);
    for (const k of byKind) console.log(`  ${k.kind.padEnd(15)} ${String(k.n).padStart(4)}  ${k.kind === 'binary' ? `${(k.bytes / 1024 ** 2).toFixed(1)} MiB` : ''}`);
    for (const s of skipped) console.log(`  skipped         ${s.name}: ${s.skip_reason}`);
    console.log(`  pending         ${catalog.countsByState().pending ?? 0} files await transfer`);
    console.log(`  time            ${seconds.toFixed(1)} s`);
    console.log(`  catalog         ${config.catalog.path}`);
    console.log(`  Web UI          ${config.temporal.webUiUrl}namespaces/default/workflows/${workflowId}`);
    if (process.argv.includes('--keep-running')) {
      console.log('\ndemo: running; press Ctrl-C to stop');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
  } finally {
    await shutdown();
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
