import { createRoute, z } from '@hono/zod-openapi';
import { runsPage } from '../../activities/catalog/runHistory';
import { RUN_KINDS } from '../../activities/catalog/runs';
import type { RouteDeps } from '../deps';
import { startFullSync, webUiLink } from '../fullSyncRuns';
import { decodeCursor, encodeCursor, nextCursorSchema, pageQuery } from '../pagination';
import { BEARER, apiRouter } from '../router';
import { errorResponses, noFieldsBody, runOutlineSchema, startedRunSchema } from '../schemas';
import { startDump, startRollup } from '../stateRuns';
import { startSweep } from '../sweepRuns';
import { withTemporalDeadline } from '../temporalDeadline';

type Starter = (deps: RouteDeps) => Promise<{ workflowId: string; firstExecutionRunId: string }>;

/** Each POST that starts a run now, outside its schedule, and what it starts. */
const STARTS: Array<{ path: string; summary: string; start: Starter }> = [
  { path: '/sync/full', summary: 'Start a full sync now', start: (d) => startFullSync(d.client, d.config) },
  { path: '/sync/sweep', summary: 'Start an incremental sweep now', start: (d) => startSweep(d.client, d.config) },
  { path: '/dump', summary: 'Dump the catalog now', start: (d) => startDump(d.client, d.config) },
  { path: '/rollup', summary: 'Roll up the week of dumps now', start: (d) => startRollup(d.client, d.config) },
];

const startRoute = (path: string, summary: string) =>
  createRoute({
    method: 'post',
    path,
    summary,
    description: 'Starts the run and answers at once with its ids and its Web UI link; GET /api/status shows its progress.',
    security: BEARER,
    request: { body: noFieldsBody },
    responses: {
      202: { description: 'started', content: { 'application/json': { schema: startedRunSchema } } },
      ...errorResponses(413, 503),
    },
  });

const runRecordSchema = runOutlineSchema
  .extend({ summary: z.unknown().openapi({ description: 'what the run reported when it ended; null while it runs' }) })
  .openapi('Run');

const runCursor = z.strictObject({ startedAt: z.string().max(64), runId: z.string().max(512) });

const runs = createRoute({
  method: 'get',
  path: '/runs',
  summary: 'Run history, newest first, from the catalog',
  security: BEARER,
  request: { query: z.strictObject({ ...pageQuery, kind: z.enum(RUN_KINDS).optional() }) },
  responses: {
    200: {
      description: 'a page of runs',
      content: { 'application/json': { schema: z.object({ items: z.array(runRecordSchema), nextCursor: nextCursorSchema }) } },
    },
    ...errorResponses(),
  },
});

/** Starting runs by hand, and the history of runs. */
export function runRoutes(deps: RouteDeps) {
  const app = apiRouter();
  for (const { path, summary, start } of STARTS) {
    app.openapi(startRoute(path, summary), async (c) => {
      const handle = await withTemporalDeadline(deps.client, () => start(deps));
      deps.status.invalidate();
      deps.logger.info({ event: 'api.run_started', path, workflowId: handle.workflowId, requestId: c.get('requestId') }, 'run started');
      const { workflowId, firstExecutionRunId: runId } = handle;
      return c.json({ workflowId, runId, webUi: webUiLink(deps.config, workflowId, runId) }, 202);
    });
  }
  return app.openapi(runs, (c) => {
    const { cursor, limit, kind } = c.req.valid('query');
    const page = runsPage(deps.catalog, { limit: limit + 1, before: decodeCursor(cursor, runCursor), kind });
    const items = page.slice(0, limit).map((r) => ({ ...r, webUi: webUiLink(deps.config, r.workflowId) }));
    const last = items.at(-1);
    const nextCursor = page.length > limit && last ? encodeCursor({ startedAt: last.startedAt, runId: last.runId }) : null;
    return c.json({ items, nextCursor }, 200);
  });
}
