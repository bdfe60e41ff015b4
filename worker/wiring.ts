import { createCatalogActivities } from '../activities';
import { Catalog } from '../activities/catalog/catalog';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import { Config, secretFromEnv } from '../common/config';
import type { Logger } from '../common/logger';

/** Builds the catalog-side dependencies from a validated config; secrets come from `env`. */
export function wireCatalogActivities(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env) {
  const auth = createOAuthClient({
    clientId: config.google.clientId,
    clientSecret: secretFromEnv(config.google.clientSecretEnv, env),
    refreshToken: secretFromEnv(config.google.refreshTokenEnv, env),
    tokenUrl: config.google.tokenUrl,
  });
  const drive = createDriveClient(auth, config.google.apiRootUrl);
  const catalog = Catalog.open(config.catalog.path);
  const activities = createCatalogActivities({ catalog, drive, logger, includeSharedWithMe: config.scope.sharedWithMe });
  return { catalog, activities };
}
