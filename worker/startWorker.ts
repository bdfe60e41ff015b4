import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../activities/catalog/catalog';
import type { Config } from '../common/config';
import { createLogger } from '../common/logger';
import { Metrics } from '../common/metrics';
import { catalogTaskQueue } from '../common/taskQueues';
import { bundleWorkflowsInChildProcess } from './bundleWorkflows';
import { serveMetrics } from './metricsServer';
import { reconcileSchedulesAtStart } from './schedules';
import { installTemporalLogging } from './temporalLogging';
import { type WorkerRole, wireCatalogPart, wireSharedDeps, wireTransferPart } from './wiring';
import { type WorkerSet, startWorkers } from './workers';

/** Written by `npm run build` beside the compiled code; running from source bundles at start instead. */
const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

export interface StartedWorker {
  /** Temporal's name for this process's pollers: `pid@host/role`. */
  identity: string;
  /** Resolves once the worker has stopped and let go of its connection and catalog; rejects if a worker failed. */
  running: Promise<void>;
  /** Asks the worker to finish its tasks in hand and stop; resolves with `running`. */
  stop(): Promise<void>;
}

/** gRPC's NOT_FOUND, what Temporal answers for a namespace it does not have. */
const GRPC_NOT_FOUND = 5;

/** The account's Temporal namespace is missing: its runs would have nowhere to go. */
export class MissingNamespaceError extends Error {}

/** Refuses to start while an account's namespace is missing on the server, naming it and how to create it. */
async function requireNamespaces(connection: NativeConnection, accounts: Config[]): Promise<void> {
  for (const { account, temporal } of accounts) {
    try {
      await connection.workflowService.describeNamespace({ namespace: temporal.namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_NOT_FOUND) throw err;
      throw new MissingNamespaceError(
        `Temporal at ${temporal.address} has no namespace "${temporal.namespace}" (account ${account}): create it with ` +
          `"temporal operator namespace create --namespace ${temporal.namespace}" (drive-vault start makes its own dev server's)`,
      );
    }
  }
}

/**
 * Starts the worker of `role` for every account of a config (what `npm run worker` and `drive-vault worker` run): one
 * connection and one metrics registry, and per account its workers in its own namespace, with its own Drive client,
 * pacer and catalog. `catalog` serves the workflows and the catalog activities of the host that owns the SQLite
 * file, and brings the four schedules in line with the config as it starts; `transfer` only streams files, with no
 * catalog (any number of them, on any hosts); `all` does both.
 */
export async function startWorker(accounts: Config[], role: WorkerRole): Promise<StartedWorker> {
  // The sections every account shares: log, metrics, the Temporal server.
  const [shared] = accounts as [Config, ...Config[]];
  const identity = `${process.pid}@${hostname()}/${role}`;
  const logger = createLogger({ level: shared.log.level }).child({ worker: identity });
  installTemporalLogging(logger);
  const metrics = new Metrics();
  // Bound before the workers start: an address in use stops the worker at once, not after it took tasks.
  const metricsServer = shared.metrics.listen ? await serveMetrics(shared.metrics.listen, metrics.registry) : undefined;
  if (metricsServer) logger.info({ event: 'worker.metrics_listening', url: metricsServer.url }, 'serving Prometheus metrics');
  const connection = await NativeConnection.connect({ address: shared.temporal.address });
  const catalogs: Catalog[] = [];
  const sets: WorkerSet[] = [];
  const bundle =
    role === 'transfer'
      ? undefined
      : existsSync(PREBUILT_BUNDLE)
        ? { codePath: PREBUILT_BUNDLE, remove: () => undefined }
        : await bundleWorkflowsInChildProcess();
  try {
    await requireNamespaces(connection, accounts);
    for (const config of accounts) {
      const accountLogger = logger.child({ account: config.account });
      const deps = wireSharedDeps(config, accountLogger, process.env, metrics);
      const catalogPart = role === 'transfer' ? undefined : wireCatalogPart(config, deps);
      if (catalogPart) catalogs.push(catalogPart.catalog);
      const transferPart = role === 'catalog' ? undefined : wireTransferPart(config, deps);
      // The catalog host owns the config the schedules follow; a transfer worker never touches them.
      if (catalogPart) await reconcileSchedulesAtStart(config, accountLogger);
      sets.push(
        await startWorkers({
          connection,
          namespace: config.temporal.namespace,
          identity,
          catalog: catalogPart && { ...catalogPart, workflowBundle: { codePath: bundle!.codePath } },
          transfer: transferPart,
        }),
      );
      accountLogger.info({ event: 'worker.account_started', namespace: config.temporal.namespace }, 'serving the account');
    }
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    bundle?.remove();
  }

  /**
   * Stops every account's workers, then what they share. Each part is closed even when another fails, and none of
   * their errors takes the place of the failure that stopped the worker.
   */
  async function stopAll(): Promise<void> {
    await Promise.allSettled(sets.map((set) => set.shutdown()));
    await Promise.allSettled([metricsServer?.close(), connection.close()]);
    for (const catalog of catalogs) catalog.close();
  }

  // Once every account is served: what a supervisor (and a test) waits for.
  logger.info(
    {
      event: 'worker.started',
      role,
      catalogTaskQueue: role === 'transfer' ? undefined : catalogTaskQueue(shared.catalog.hostId),
      temporal: shared.temporal.address,
      namespaces: accounts.map((a) => a.temporal.namespace),
    },
    'worker started',
  );
  // One account's workers failing stop the others: the process ends with that failure, for its supervisor to restart.
  const running = Promise.all(sets.map((set) => set.running)).finally(async () => {
    await stopAll();
    logger.info({ event: 'worker.stopped' }, 'worker stopped');
  });
  return {
    identity,
    running: running.then(() => undefined),
    async stop() {
      await Promise.allSettled(sets.map((set) => set.shutdown()));
      await running;
    },
  };
}

/** Stops on the first SIGINT or SIGTERM (Ctrl-C, `kill`, systemd, docker stop). */
export function stopOnSignals(stop: () => Promise<void>): void {
  const onSignal = () => void stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
