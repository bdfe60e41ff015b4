import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleWithSourceMap, bundleWorkflowCode } from '@temporalio/worker';
import { type Config, parseConfig } from '../../common/config';
import { type Logger, createLogger } from '../../common/logger';
import { QUIET_SCHEDULES } from '../../scripts/launchers/workerProcess';
import { installTemporalLogging } from '../../worker/temporalLogging';
import { wireActivities } from '../../worker/wiring';
import { type WorkerSet, startWorkers } from '../../worker/workers';
import { emulatorOAuth } from './drive';
import { BUCKETS, type Stack } from './stack';

export const testLogger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let runtimeInstalled = false;
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflows bundled once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
  });
  return bundle;
}

/** The config of one of the stack's MinIO buckets as a destination, under the prefix `vault`; keys from stackEnv. */
export function minioDestination(stack: Stack, name: keyof typeof BUCKETS) {
  return {
    kind: 's3',
    name,
    endpoint: stack.minio!.endpoint,
    bucket: BUCKETS[name],
    prefix: 'vault',
    forcePathStyle: true,
    accessKeyIdEnv: 'MINIO_KEY',
    secretAccessKeyEnv: 'MINIO_SECRET',
  };
}

/**
 * A config like a user's: the emulator as Google, both MinIO buckets and a local directory as destinations, and
 * schedules that do not fire during a test.
 */
export function stackConfig(stack: Stack, overrides: Record<string, unknown> = {}): Config {
  const destinations: unknown[] = [{ kind: 'local', name: 'nas', path: join(stack.tmp, 'nas') }];
  if (stack.minio) for (const name of ['aws', 'eu'] as const) destinations.unshift(minioDestination(stack, name));
  return parseConfig({
    account: 'me@example.com',
    google: { clientId: emulatorOAuth.clientId, apiRootUrl: stack.emulator!.baseUrl, tokenUrl: `${stack.emulator!.baseUrl}token` },
    temporal: { address: stack.temporal!.address },
    catalog: { path: join(stack.tmp, 'catalog.db') },
    destinations,
    transfer: { retryBaseDelayMs: 20 },
    schedules: QUIET_SCHEDULES,
    ...overrides,
  });
}

export function stackEnv(stack: Stack): NodeJS.ProcessEnv {
  return {
    GOOGLE_CLIENT_SECRET: emulatorOAuth.clientSecret,
    GOOGLE_REFRESH_TOKEN: emulatorOAuth.refreshToken,
    MINIO_KEY: stack.minio?.accessKeyId,
    MINIO_SECRET: stack.minio?.secretAccessKey,
  };
}

export interface RunningWorker {
  client: Client;
  wired: ReturnType<typeof wireActivities>;
  workers: WorkerSet;
  stop(): Promise<void>;
}

/**
 * Wires the activities from `config` exactly as the worker entry does (secrets from `env`, by default the stack's), and
 * runs the workers in-process. With `logger`, the activities and the Temporal SDK (from its warnings up) log there; the
 * SDK's logger is process-wide, so the first worker a test file starts sets it.
 */
export async function startTestWorker(
  stack: Stack,
  config: Config,
  options: { logger?: Logger; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningWorker> {
  const logger = options.logger ?? testLogger;
  if (!runtimeInstalled) {
    installTemporalLogging(logger, options.logger ? 'WARN' : 'ERROR');
    runtimeInstalled = true;
  }
  const wired = wireActivities(config, logger, options.env ?? stackEnv(stack));
  const connection = await NativeConnection.connect({ address: stack.temporal!.address });
  const workers = await startWorkers({
    connection,
    namespace: 'default',
    catalog: { ...wired.parts.catalog, workflowBundle: await workflowBundle() },
    transfer: wired.parts.transfer,
  });
  const clientConnection = await Connection.connect({ address: stack.temporal!.address });
  return {
    client: new Client({ connection: clientConnection }),
    wired,
    workers,
    async stop() {
      await workers.shutdown();
      await connection.close();
      await clientConnection.close();
      wired.catalog.close();
    },
  };
}
