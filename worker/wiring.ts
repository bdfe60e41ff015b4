import type { drive_v3 } from 'googleapis';
import { createCatalogActivities, createTransferActivities } from '../activities';
import { Catalog } from '../activities/catalog/catalog';
import { storedGoogleTokenInFile } from '../activities/catalog/googleTokens';
import { createDriveClient } from '../activities/drive/client';
import { createGoogleAuth } from '../activities/drive/credentials';
import { DrivePacer } from '../activities/drive/pacer';
import { localDumpDir } from '../activities/dump/dumpLayout';
import type { Destination } from '../activities/storage/destination';
import { createDestinations } from '../activities/storage/createDestinations';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { catalogTaskQueue } from '../common/taskQueues';

/** What a worker runs: `all` (the default), only the stateless transfers, or the catalog host's part. */
export const WORKER_ROLES = ['all', 'transfer', 'catalog'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** What both kinds of activities share: one Drive client, paced for the whole process, and the destinations. */
export interface SharedDeps {
  drive: drive_v3.Drive;
  destinations: Destination[];
  logger: Logger;
}

export function wireSharedDeps(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): SharedDeps {
  const auth = createGoogleAuth(config, {
    env,
    pacer: new DrivePacer(config.google.maxRequestsPerSecond),
    // Read at each token refresh: a transfer worker on another host has no catalog file and uses the environment's token.
    storedToken: () => storedGoogleTokenInFile(config.catalog.path, config.account),
  });
  return { drive: createDriveClient(auth, config.google.apiRootUrl), destinations: createDestinations(config, env), logger };
}

/** The transfer part of a worker: Drive, the destinations and a logger; no catalog. */
export function wireTransferPart(config: Config, deps: SharedDeps) {
  const activities = createTransferActivities({
    ...deps,
    attempts: config.transfer.attempts,
    backoffBaseMs: config.transfer.retryBaseDelayMs,
    concurrency: config.transfer.concurrency,
    resumableMinBytes: config.transfer.resumableMinBytes,
    stallTimeoutMs: config.transfer.stallTimeoutSeconds * 1000,
  });
  return { activities, maxTaskQueueActivitiesPerSecond: config.transfer.maxTaskQueueActivitiesPerSecond };
}

/** The catalog host's part of a worker: the SQLite file it owns (opened, and migrated, here), its activities and queue. */
export function wireCatalogPart(config: Config, deps: SharedDeps) {
  const catalog = Catalog.open(config.catalog.path);
  const activities = createCatalogActivities({
    ...deps,
    catalog,
    account: config.account,
    exportFormats: config.exportFormats,
    includeSharedWithMe: config.scope.sharedWithMe,
    scopeRules: { exclude: config.scope.exclude, maxFileSizeBytes: config.scope.maxFileSizeBytes },
    dumps: { dir: localDumpDir(config), ...config.dumps },
  });
  return { catalog, activities, taskQueue: catalogTaskQueue(config.catalog.hostId) };
}

/**
 * Everything a worker of role `all` serves, from a validated config with secrets from `env`: `parts` goes to
 * `startWorkers`; the catalog is closed by whoever stops the workers.
 */
export function wireActivities(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env) {
  const deps = wireSharedDeps(config, logger, env);
  const catalog = wireCatalogPart(config, deps);
  const transfer = wireTransferPart(config, deps);
  return { catalog: catalog.catalog, destinations: deps.destinations, parts: { catalog, transfer } };
}
