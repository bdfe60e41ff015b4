import type { drive_v3 } from 'googleapis';
import { createCatalogActivities, createTransferActivities } from '../activities';
import { Catalog } from '../activities/catalog/catalog';
import { catalogReadings } from '../activities/catalog/metricReadings';
import { storedGoogleTokenInFile } from '../activities/catalog/googleTokens';
import { accountKeyOf } from '../activities/catalog/objectKeys';
import { keyOutsideAccount } from '../activities/catalog/restoredCatalog';
import { createDriveClient } from '../activities/drive/client';
import { createGoogleAuth } from '../activities/drive/credentials';
import { DrivePacer } from '../activities/drive/pacer';
import { localDumpDir, stateLayout } from '../activities/dump/dumpLayout';
import { createNotifications } from '../activities/notify/channels';
import type { Destination } from '../activities/storage/destination';
import { createDestinations } from '../activities/storage/createDestinations';
import { webUiLink } from '../api/fullSyncRuns';
import { type Config, ConfigError } from '../common/config';
import type { Logger } from '../common/logger';
import { Metrics } from '../common/metrics';
import { catalogTaskQueue } from '../common/taskQueues';

/** What a worker runs: `all` (the default), only the stateless transfers, or the catalog host's part. */
export const WORKER_ROLES = ['all', 'transfer', 'catalog'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/**
 * What both kinds of activities share: one Drive client, paced for the whole process, the destinations, and the
 * process's metrics.
 */
export interface SharedDeps {
  drive: drive_v3.Drive;
  destinations: Destination[];
  logger: Logger;
  metrics: Metrics;
}

export function wireSharedDeps(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env, metrics = new Metrics()): SharedDeps {
  const auth = createGoogleAuth(config, {
    env,
    pacer: new DrivePacer(config.google.maxRequestsPerSecond),
    metrics: metrics.forAccount(config.account),
    // Read at each token refresh: a transfer worker on another host has no catalog file and uses the environment's token.
    storedToken: () => storedGoogleTokenInFile(config.catalog.path, config.account),
  });
  return { drive: createDriveClient(auth, config.google.apiRootUrl), destinations: createDestinations(config, env), logger, metrics };
}

/** The transfer part of a worker: Drive, the destinations, a logger and the metrics; no catalog. */
export function wireTransferPart(config: Config, deps: SharedDeps) {
  const activities = createTransferActivities({
    ...deps,
    metrics: deps.metrics.forAccount(config.account),
    attempts: config.transfer.attempts,
    backoffBaseMs: config.transfer.retryBaseDelayMs,
    concurrency: config.transfer.concurrency,
    resumableMinBytes: config.transfer.resumableMinBytes,
    stallTimeoutMs: config.transfer.stallTimeoutSeconds * 1000,
  });
  return { activities, maxTaskQueueActivitiesPerSecond: config.transfer.maxTaskQueueActivitiesPerSecond };
}

/**
 * The catalog host's part of a worker: the SQLite file it owns (opened, and migrated, here), its activities and queue, and
 * the notification channels (their secrets from `env`).
 */
export function wireCatalogPart(config: Config, deps: SharedDeps, env: NodeJS.ProcessEnv = process.env) {
  const notifications = createNotifications(config.notifications, (workflowId) => webUiLink(config, workflowId), env);
  const catalog = Catalog.open(config.catalog.path);
  // Another account's catalog (two paths swapped in a config of several) would see all its files as gone from Drive.
  const foreign = keyOutsideAccount(catalog, accountKeyOf(config.account));
  if (foreign !== undefined) {
    catalog.close();
    throw new ConfigError(
      `the catalog ${config.catalog.path} holds ${foreign}, not a key of account ${config.account}: it is another account's, ` +
        'or the account was given another label since (keys keep the label they were given); check catalog.path and account',
    );
  }
  deps.metrics.watchCatalog(config.account, catalogReadings(catalog));
  const activities = createCatalogActivities({
    ...deps,
    catalog,
    account: config.account,
    exportFormats: config.exportFormats,
    includeSharedWithMe: config.scope.sharedWithMe,
    scopeRules: { exclude: config.scope.exclude, maxFileSizeBytes: config.scope.maxFileSizeBytes },
    dumps: { dir: localDumpDir(config), layout: stateLayout(config), ...config.dumps },
    notifications,
  });
  return { catalog, activities, taskQueue: catalogTaskQueue(config.catalog.hostId) };
}

/**
 * Everything a worker of role `all` serves, from a validated config with secrets from `env`: `parts` goes to
 * `startWorkers`; the catalog is closed by whoever stops the workers. `metrics` counts there (a new registry unless
 * given one, as the API of the same process would).
 */
export function wireActivities(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env, metrics = new Metrics()) {
  const deps = wireSharedDeps(config, logger, env, metrics);
  const catalog = wireCatalogPart(config, deps, env);
  const transfer = wireTransferPart(config, deps);
  return { catalog: catalog.catalog, destinations: deps.destinations, metrics, parts: { catalog, transfer } };
}
