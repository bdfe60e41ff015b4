import { Hono } from 'hono';
import type { Registry } from 'prom-client';

/**
 * `GET /`: every metric of `registry` in Prometheus' text format, the catalog's gauges read as the request comes.
 * Mounted at `/metrics` by the API (`app.route('/metrics', metricsRoutes(registry))`) and by a worker's metrics listener.
 */
export function metricsRoutes(registry: Registry) {
  return new Hono().get('/', async (c) => c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }));
}
