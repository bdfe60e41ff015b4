import { Hono } from 'hono';
import type { Registry } from 'prom-client';

/**
 * `GET /`: every metric of the registry in Prometheus' text format, the catalog's gauges read as the request comes.
 * Mounted at `/metrics` by the API and by a worker's metrics listener. The registry is asked for at the first scrape:
 * the API's watches the catalog, which it need not touch before.
 */
export function metricsRoutes(registryOf: () => Registry) {
  let registry: Registry | undefined;
  return new Hono().get('/', async (c) => {
    registry ??= registryOf();
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });
}
