import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../common/config';
import { createLogger } from '../common/logger';
import { bundleWorkflowsInChildProcess } from './bundleWorkflows';
import { serveMetrics } from './metricsServer';
import { reconcileSchedulesAtStart } from './schedules';
import { installTemporalLogging } from './temporalLogging';
import { type WorkerRole, wireCatalogPart, wireSharedDeps, wireTransferPart } from './wiring';
import { startWorkers } from './workers';

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

/**
 * Starts the worker of `role` on `config` (what `npm run worker` and `drive-vault worker` run). `catalog` serves the
 * workflows and the catalog activities of the host that owns the SQLite file, and brings the four schedules in line
 * with its config as it starts; `transfer` only streams files, with no catalog (any number of them, on any hosts);
 * `all` does both.
 */
export async function startWorker(config: Config, role: WorkerRole): Promise<StartedWorker> {
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
  const running = workers.running.finally(async () => {
    await metricsServer?.close();
    await connection.close();
    catalogPart?.catalog.close();
    logger.info({ event: 'worker.stopped' }, 'worker stopped');
  });
  return {
    identity,
    running,
    async stop() {
      await workers.shutdown();
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
