import { createCatalogActivities, createTransferActivities } from '../activities';
import { Catalog } from '../activities/catalog/catalog';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import { createDestinations } from '../activities/storage/createDestinations';
import { Config, secretFromEnv } from '../common/config';
import type { Logger } from '../common/logger';

/** Builds every activity's dependencies from a validated config; secrets come from `env`. */
export function wireActivities(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env) {
  const auth = createOAuthClient({
    clientId: config.google.clientId,
    clientSecret: secretFromEnv(config.google.clientSecretEnv, env),
    refreshToken: secretFromEnv(config.google.refreshTokenEnv, env),
    tokenUrl: config.google.tokenUrl,
  });
  const drive = createDriveClient(auth, config.google.apiRootUrl);
  const destinations = createDestinations(config, env);
  const catalog = Catalog.open(config.catalog.path);
  const catalogActivities = createCatalogActivities({
    catalog,
    drive,
    destinations,
    logger,
    account: config.account,
    exportFormats: config.exportFormats,
    includeSharedWithMe: config.scope.sharedWithMe,
    scopeRules: { exclude: config.scope.exclude, maxFileSizeBytes: config.scope.maxFileSizeBytes },
  });
  const transferActivities = createTransferActivities({
    drive,
    destinations,
    logger,
    attempts: config.transfer.attempts,
    backoffBaseMs: config.transfer.retryBaseDelayMs,
    concurrency: config.transfer.concurrency,
    resumableMinBytes: config.transfer.resumableMinBytes,
    stallTimeoutMs: config.transfer.stallTimeoutSeconds * 1000,
  });
  return { catalog, catalogActivities, transferActivities };
}
