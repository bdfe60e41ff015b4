import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { rateLimiter } from 'hono-rate-limiter';
import type { HttpBindings } from '@hono/node-server';
import { catalogReadings } from '../activities/catalog/metricReadings';
import { googleAccountStatus } from '../activities/drive/accountStatus';
import type { Logger } from '../common/logger';
import { Metrics } from '../common/metrics';
import { OPEN_PATHS, apiToken, requireToken } from './auth';
import { DASHBOARD_PATHS, dashboardRoutes } from './dashboardRoutes';
import type { ApiDeps, RouteDeps } from './deps';
import { errorHandler, errorResponse, notFound } from './errors';
import { GOOGLE_AUTH_OPEN_PATHS, googleAuthRoutes } from './googleAuthRoutes';
import { metricsRoutes } from './metricsRoute';
import { type ApiRouter, BEARER, apiRouter } from './router';
import { errorResponses } from './schemas';
import { failureRoutes } from './routes/failures';
import { fileRoutes } from './routes/files';
import { logStreamRoutes } from './routes/logStream';
import { metaRoutes } from './routes/meta';
import { restoreRoutes } from './routes/restore';
import { runRoutes } from './routes/runs';
import { scheduleRoutes } from './routes/schedules';
import { statusRoutes } from './routes/status';
import { storageRoutes } from './routes/storage';
import { StatusCache, readStatus } from './statusReport';
import { DRIVE_VAULT_VERSION } from './version';

/** Google's token endpoint is asked for the accounts' status once a minute, not at every status report. */
const ACCOUNT_STATUS_TTL_MS = 60_000;

/**
 * `read`, its answer kept for `ttlMs`; once older, the old answer is still given while one new read runs, so a status
 * never waits on a slow token endpoint but the first time.
 */
export function atMostEvery<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let last: { value: T; at: number } | undefined;
  let reading: Promise<T> | undefined;
  const refresh = () => {
    reading ??= read()
      .then((value) => {
        last = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  return () => {
    if (!last) return refresh();
    if (Date.now() - last.at >= ttlMs) refresh().catch(() => undefined);
    return Promise.resolve(last.value);
  };
}

/** The metrics /metrics serves: the worker's of this process, or a registry with the catalog's gauges alone. */
function processMetrics(deps: ApiDeps): Metrics {
  if (deps.metrics) return deps.metrics;
  const metrics = new Metrics();
  metrics.watchCatalog(deps.config.account, catalogReadings(deps.catalog));
  return metrics;
}

/** The client's address on a real server; requests made in-process (app.request in tests) share one bucket. */
function clientAddress(c: { env: unknown }): string {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress ?? 'in-process';
}

/** One line per request: reads that worked at debug (a dashboard polls), the rest at info; never a header or a body. */
function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const { status } = c.res;
    const event = {
      event: 'api.request',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) logger.error(event, 'request');
    else if (status === 429 || (c.req.method === 'GET' && status < 400)) logger.debug(event, 'request');
    else logger.info(event, 'request');
  };
}

/** The paths of an account's app answered without the token: health, version, the document, the consent callback, the dashboard. */
export const APP_OPEN_PATHS: ReadonlySet<string> = new Set([...OPEN_PATHS, ...GOOGLE_AUTH_OPEN_PATHS, ...DASHBOARD_PATHS]);

/**
 * What every request passes once, before any route: its log line, the rate limit, the bearer token (on every path
 * `isOpen` does not name; no token set: this throws, naming the variable) and the body limit.
 */
export function guardRequests(app: ApiRouter, deps: Pick<ApiDeps, 'config' | 'env' | 'logger'>, isOpen: (path: string) => boolean) {
  const token = apiToken(deps.config, deps.env);
  const { api } = deps.config;
  app.use(requestLog(deps.logger));
  if (api.rateLimitPerMinute > 0) {
    app.use(
      rateLimiter({
        windowMs: 60_000,
        limit: api.rateLimitPerMinute,
        keyGenerator: clientAddress,
        handler: (c) => errorResponse(c, 429, 'rate_limited', `more than ${api.rateLimitPerMinute} requests a minute from this client`),
      }),
    );
  }
  // The dashboard's page and files hold no data: the page asks for the token and sends it with each API request.
  app.use(requireToken(token, isOpen));
  app.use(
    bodyLimit({
      maxSize: api.bodyLimitBytes,
      onError: (c) => errorResponse(c, 413, 'payload_too_large', `the body is larger than ${api.bodyLimitBytes} bytes`),
    }),
  );
}

/** The OpenAPI document's header. */
export const documentInfo = (description?: string) => ({
  openapi: '3.1.0',
  info: { title: 'drive-vault control API', version: DRIVE_VAULT_VERSION, ...(description && { description }) },
});

/** GET /openapi.json. */
export const documentRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This document (no token needed)',
  responses: {
    200: { description: 'the OpenAPI 3.1 document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
  },
});

/**
 * The control API of one account (DESIGN.md section 11): every route declared with its zod schemas, which validate
 * requests and make the OpenAPI document at /openapi.json; the dashboard at /. Health, version, the document and the
 * dashboard's files are open; everything else needs the bearer token from the variable `api.tokenEnv` names (no
 * token: this throws, naming it). Every error is `{ "error": { "code", "message" } }`, from one handler. A sub-app
 * (metrics, Google sign-in) is mounted with one `app.route(path, subApp)` below the others: it gets the rate limit,
 * the token check, the body limit and the error handling, and appears in the document if it is an OpenAPIHono.
 * `guarded: false` leaves the checks of guardRequests out, for an app reached only through the accounts app
 * (api/accountsApp.ts), which makes them once for every account.
 */
export function createApiApp(deps: ApiDeps, { guarded = true }: { guarded?: boolean } = {}) {
  const accounts = atMostEvery(ACCOUNT_STATUS_TTL_MS, () => googleAccountStatus(deps.config, deps.catalog, { env: deps.env }));
  const routeDeps: RouteDeps = {
    ...deps,
    status: new StatusCache(() => readStatus({ ...deps, accounts }), {
      onBackgroundError: (err) => deps.logger.warn({ event: 'api.status_failed', err }, 'status read failed'),
    }),
  };
  const app = apiRouter();
  app.onError(errorHandler(deps.logger));
  app.notFound(notFound);
  app.use(requestId());
  if (guarded) guardRequests(app, deps, (path) => APP_OPEN_PATHS.has(path));

  app.route('/api', metaRoutes(deps.config));
  app.route('/api/status', statusRoutes(routeDeps));
  app.route('/api', runRoutes(routeDeps));
  app.route('/api/schedules', scheduleRoutes(routeDeps));
  app.route('/api/files', fileRoutes(routeDeps));
  app.route('/api/failures', failureRoutes(routeDeps));
  app.route('/api/storage', storageRoutes(routeDeps));
  app.route('/api/restore', restoreRoutes(routeDeps));
  app.route('/api/log', logStreamRoutes(routeDeps));
  app.route('/api/auth/google', googleAuthRoutes(deps));
  app.route(
    '/metrics',
    metricsRoutes(() => processMetrics(deps).registry),
  );
  // A plain Hono route (the worker's listener serves it too): described here so the document lists it.
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/metrics',
    summary:
      'Prometheus metrics: files and bytes per destination, failures, Drive requests and rate limits, sweep lag, last success per kind',
    security: BEARER,
    responses: { 200: { description: "Prometheus' text format", content: { 'text/plain': { schema: z.string() } } }, ...errorResponses() },
  });
  app.route('/', dashboardRoutes());

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  let document: unknown;
  app.openapi(documentRoute, (c) => {
    // Made on first request, once every sub-app is mounted.
    document ??= app.getOpenAPI31Document(documentInfo());
    return c.json(document as Record<string, unknown>, 200);
  });
  return Object.assign(app, {
    // For a server that stops: the status read running in the background is waited for, not cut off.
    idle: () => routeDeps.status.idle(),
    /** The account's Google connection, as the status shows it (asked of the token endpoint at most once a minute). */
    googleAccounts: accounts,
  });
}

export type ApiApp = ReturnType<typeof createApiApp>;
