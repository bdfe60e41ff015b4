import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { Catalog } from '../activities/catalog/catalog';
import { type Config, hostAndPort } from '../common/config';
import { LogFeed } from '../common/logFeed';
import { createLogger } from '../common/logger';
import { type ApiApp, createApiApp } from './app';
import type { ApiDeps } from './deps';

export interface RunningApi {
  app: ApiApp;
  /** `http://host:port`, with the port the system gave when api.listen asked for 0. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the API on `api.listen` (loopback unless configured otherwise). What `deps` leaves out is made here and
 * closed by close(): a logger feeding its own live log, a lazy Temporal connection (the API starts, and answers
 * health and the catalog's pages, while Temporal is still coming up), the catalog of this host.
 */
export async function startApiServer(config: Config, deps: Partial<ApiDeps> = {}): Promise<RunningApi> {
  const logFeed = deps.logFeed ?? new LogFeed();
  const logger = deps.logger ?? createLogger({ level: config.log.level, feed: logFeed });
  const connection = deps.client ? undefined : Connection.lazy({ address: config.temporal.address });
  const client = deps.client ?? new Client({ connection: connection!, namespace: config.temporal.namespace });
  const catalog = deps.catalog ?? Catalog.open(config.catalog.path);
  const closeOwned = async () => {
    await connection?.close();
    if (!deps.catalog) catalog.close();
  };
  let app: ApiApp;
  try {
    app = createApiApp({ config, client, catalog, logger, logFeed, env: deps.env, metrics: deps.metrics });
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
  logger.info({ event: 'api.started', url, openapi: `${url}/openapi.json` }, 'API listening');
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
