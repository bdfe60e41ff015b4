import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { metricsRoutes } from '../api/metricsRoute';
import { hostAndPort } from '../common/config';

export interface MetricsServer {
  /** Where `/metrics` is served, with the port actually bound (`metrics.listen` may ask for port 0). */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` on `listen` (`host:port`), so a worker's counters can be scraped: they live in its process. Only
 * that path; anything else is a 404. Rejects if the address cannot be bound (in use, not this host's).
 */
export async function serveMetrics(listen: string, registry: Registry): Promise<MetricsServer> {
  const { host, port } = hostAndPort(listen);
  const app = new Hono().route('/metrics', metricsRoutes(registry));
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const urlHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${urlHost}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // A scraper's keep-alive connection would hold close() open until it times out.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
