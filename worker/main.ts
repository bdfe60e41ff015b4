import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { bundleWorkflowsInChildProcess } from './bundleWorkflows';
import { installTemporalLogging } from './temporalLogging';
import { wireActivities } from './wiring';
import { startWorkers } from './workers';

/** Written by `npm run build` beside the compiled code; running from source bundles at start instead. */
const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

/** `npm run worker -- [config.yaml]`: serves the workflow and catalog task queues until SIGINT/SIGTERM. */
async function main() {
  const configPath = process.argv[2] ?? process.env.DRIVE_VAULT_CONFIG ?? 'config.yaml';
  const config = loadConfig(configPath);
  const logger = createLogger({ level: config.log.level });
  installTemporalLogging(logger);
  const { catalog, catalogActivities, transferActivities } = wireActivities(config, logger);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const bundle = existsSync(PREBUILT_BUNDLE)
    ? { codePath: PREBUILT_BUNDLE, remove: () => undefined }
    : await bundleWorkflowsInChildProcess();
  const workers = await startWorkers({
    connection,
    namespace: config.temporal.namespace,
    catalogActivities,
    transferActivities,
    workflowBundle: { codePath: bundle.codePath },
  });
  bundle.remove();
  logger.info({ event: 'worker.started', temporal: config.temporal.address, namespace: config.temporal.namespace }, 'worker started');
  const stop = () => void workers.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await workers.running;
  await connection.close();
  catalog.close();
  logger.info({ event: 'worker.stopped' }, 'worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `drive-vault: ${err.message}` : err);
  process.exit(1);
});
