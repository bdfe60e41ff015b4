import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { Catalog } from '../activities/catalog/catalog';
import { catalogReadings } from '../activities/catalog/metricReadings';
import { type Config, hostAndPort } from '../common/config';
import { LogFeed } from '../common/logFeed';
import { createLogger } from '../common/logger';
import { Metrics } from '../common/metrics';
import { type AccountsApp, createAccountsApp } from './accountsApp';
import type { ApiDeps } from './deps';

export interface RunningApi {
  app: AccountsApp;
  /** `http://host:port`, with the port the system gave when api.listen asked for 0. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the API of every account of a config (loadAccounts; or one Config) on `api.listen` (loopback unless
 * configured otherwise); the shared sections (api, log) are the first account's, the same for all. What `deps` leaves
 * out is made here and closed by close(): a logger feeding its own live log, one lazy Temporal connection (the API
 * starts, and answers health and the catalog's pages, while Temporal is still coming up) with a client in each
 * account's namespace, each account's catalog, a metrics registry watching them all. A client or a catalog given in
 * `deps` is for a config of one account.
 */
export async function startApiServer(configs: Config | Config[], deps: Partial<ApiDeps> = {}): Promise<RunningApi> {
  const accounts = Array.isArray(configs) ? configs : [configs];
  const [config] = accounts;
  if (!config) throw new Error('the API needs at least one account');
  if (accounts.length > 1 && (deps.client || deps.catalog)) throw new Error('a client or a catalog is given for one account only');
  const logFeed = deps.logFeed ?? new LogFeed();
  const logger = deps.logger ?? createLogger({ level: config.log.level, feed: logFeed });
  const connection = deps.client ? undefined : Connection.lazy({ address: config.temporal.address });
  const catalogs: Catalog[] = [];
  // One registry for the process: /metrics has every account's catalog gauges, each labelled with its account.
  const metrics = deps.metrics ?? new Metrics();
  const closeOwned = async () => {
    await connection?.close();
    for (const catalog of catalogs) catalog.close();
  };
  let app: AccountsApp;
  try {
    const accountDeps = accounts.map((account): ApiDeps => {
      const catalog = deps.catalog ?? Catalog.open(account.catalog.path);
      if (!deps.catalog) catalogs.push(catalog);
      const client = deps.client ?? new Client({ connection: connection!, namespace: account.temporal.namespace });
      if (!deps.metrics) metrics.watchCatalog(account.account, catalogReadings(catalog));
      // With several accounts, each line says whose it is, and each account's live log shows its own.
      const accountLogger = accounts.length > 1 ? logger.child({ account: account.account }) : logger;
      const otherAccounts = accounts.filter((other) => other !== account);
      return { config: account, client, catalog, logger: accountLogger, logFeed, env: deps.env, metrics, otherAccounts };
    });
    app = createAccountsApp(accountDeps, logger);
  } catch (err) {
    await closeOwned();
    throw err;
  }
  const { host: hostname, port } = hostAndPort(config.api.listen);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname, port }, () => resolve(s));
    s.once('error', reject);
  }).catch(async (err) => {
    await closeOwned();
    throw err;
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ event: 'api.started', url, openapi: `${url}/openapi.json`, accounts: accounts.map((a) => a.account) }, 'API listening');
  return {
    app,
    url,
    async close() {
      // Live log streams never end by themselves: close() would wait for them forever.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      await app.idle();
      await closeOwned();
      logger.info({ event: 'api.stopped' }, 'API stopped');
    },
  };
}
