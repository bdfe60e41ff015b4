import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { bundleWorkflowsInChildProcess } from './bundleWorkflows';
import { serveMetrics } from './metricsServer';
import { reconcileSchedulesAtStart } from './schedules';
import { installTemporalLogging } from './temporalLogging';
import { WORKER_ROLES, type WorkerRole, wireCatalogPart, wireSharedDeps, wireTransferPart } from './wiring';
import { startWorkers } from './workers';

/** Written by `npm run build` beside the compiled code; running from source bundles at start instead. */
const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

class UsageError extends Error {}

function parseCommandLine(args: string[]): { role: WorkerRole; configPath: string } {
  let parsed: ReturnType<typeof parseArgs<{ options: { role: { type: 'string'; default: string } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: { role: { type: 'string', default: 'all' } }, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const role = parsed.values.role;
  if (!WORKER_ROLES.includes(role as WorkerRole)) {
    throw new UsageError(`unknown worker role "${role}": --role takes ${WORKER_ROLES.join(', ')}`);
  }
  if (parsed.positionals.length > 1) throw new UsageError(`one config file at most, not ${parsed.positionals.join(' ')}`);
  const configPath = parsed.positionals[0] ?? process.env.DRIVE_VAULT_CONFIG ?? 'config.yaml';
  return { role: role as WorkerRole, configPath };
}

/**
 * `npm run worker -- [--role all|transfer|catalog] [config.yaml]`, until SIGINT/SIGTERM. `catalog` serves the
 * workflows and the catalog activities of the host that owns the SQLite file, and brings the four schedules in line
 * with its config as it starts; `transfer` only streams files, with no catalog (any number of them, on any hosts);
 * `all`, the default, does both.
 */
async function main() {
  const { role, configPath } = parseCommandLine(process.argv.slice(2));
  const config = loadConfig(configPath);
  const identity = `${process.pid}@${hostname()}/${role}`;
  const logger = createLogger({ level: config.log.level }).child({ worker: identity });
  installTemporalLogging(logger);
  const shared = wireSharedDeps(config, logger);
  const catalogPart = role === 'transfer' ? undefined : wireCatalogPart(config, shared);
  const transferPart = role === 'catalog' ? undefined : wireTransferPart(config, shared);
  // Bound before the workers start: an address in use stops the worker at once, not after it took tasks.
  const metricsServer = config.metrics.listen ? await serveMetrics(config.metrics.listen, shared.metrics.registry) : undefined;
  if (metricsServer) logger.info({ event: 'worker.metrics_listening', url: metricsServer.url }, 'serving Prometheus metrics');
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  // The catalog host owns the config the schedules follow; a transfer worker never touches them.
  if (catalogPart) await reconcileSchedulesAtStart(config, logger);
  const bundle = !catalogPart
    ? undefined
    : existsSync(PREBUILT_BUNDLE)
      ? { codePath: PREBUILT_BUNDLE, remove: () => undefined }
      : await bundleWorkflowsInChildProcess();
  const workers = await startWorkers({
    connection,
    namespace: config.temporal.namespace,
    identity,
    catalog: catalogPart && { ...catalogPart, workflowBundle: { codePath: bundle!.codePath } },
    transfer: transferPart,
  });
  bundle?.remove();
  const started = {
    event: 'worker.started',
    role,
    catalogTaskQueue: catalogPart?.taskQueue,
    temporal: config.temporal.address,
    namespace: config.temporal.namespace,
  };
  logger.info(started, 'worker started');
  const stop = () => void workers.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await workers.running;
  await metricsServer?.close();
  await connection.close();
  catalogPart?.catalog.close();
  logger.info({ event: 'worker.stopped' }, 'worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof UsageError ? `drive-vault: ${err.message}` : err);
  process.exit(err instanceof UsageError ? 2 : 1);
});
