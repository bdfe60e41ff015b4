import { createRoute, z } from '@hono/zod-openapi';
import { isDumpDay } from '../../activities/dump/dumpLayout';
import type { RouteDeps } from '../deps';
import { ApiError } from '../errors';
import { webUiLink } from '../fullSyncRuns';
import { RestoreRootMissingError, RestoreTargetError, resolveRestoreTarget } from '../restoreTarget';
import { startRestore } from '../restoreRuns';
import { BEARER, apiRouter } from '../router';
import { errorResponses, startedRunSchema } from '../schemas';
import { withTemporalDeadline } from '../temporalDeadline';

/**
 * The body a restore takes; `from` is one of this config's destinations, checked here but not listed in the document,
 * which is open: it names no part of the setup.
 */
const restoreBody = (destinations: string[]) =>
  z.strictObject({
    from: z
      .string()
      .refine((name) => destinations.includes(name), `one of the configured destinations: ${destinations.join(', ')}`)
      .openapi({ description: 'the configured destination to read from', example: 'nas' }),
    target: z.string().min(1).max(1024).openapi({
      description: 'folder relative to api.restoreRoot, made if missing; absolute or ".." targets are refused',
      example: 'restores/2026-12',
    }),
    path: z
      .string()
      .max(4096)
      .refine((p) => p.replace(/\//g, '').trim() !== '', 'a Drive path such as "My Drive/Projects"; leave it out for everything')
      .optional()
      .openapi({ description: 'only this file or folder: a Drive path, or its key below drive/<account>/', example: 'My Drive/Projects' }),
    at: z
      .string()
      .refine(isDumpDay, 'a day as YYYY-MM-DD')
      .optional()
      .openapi({ description: "as of this day (UTC): that day's manifest", example: '2026-11-25' }),
    overwrite: z.boolean().default(false).openapi({ description: 'replace files already in the target' }),
  });

const restoreRoute = (destinations: string[]) =>
  createRoute({
    method: 'post',
    path: '/',
    summary: 'Restore a file, a folder or the whole account into a folder below api.restoreRoot',
    description:
      "Runs on the catalog host's worker, every file checked against its SHA-256; answers at once with the run's ids and " +
      'Web UI link. 403 when api.restoreRoot is not configured.',
    security: BEARER,
    request: { body: { content: { 'application/json': { schema: restoreBody(destinations) } }, required: true } },
    responses: {
      202: { description: 'started', content: { 'application/json': { schema: startedRunSchema } } },
      ...errorResponses(403, 409, 413, 503),
    },
  });

export function restoreRoutes(deps: RouteDeps) {
  const { config } = deps;
  const names = config.destinations.map((d) => d.name);
  return apiRouter().openapi(restoreRoute(names), async (c) => {
    const body = c.req.valid('json');
    const root = config.api.restoreRoot;
    if (!root)
      throw new ApiError(403, 'restore_disabled', 'restores over HTTP are off: set api.restoreRoot to the folder they may write below');
    let to: string;
    try {
      to = await resolveRestoreTarget(root, body.target);
    } catch (err) {
      if (err instanceof RestoreTargetError) throw new ApiError(400, 'bad_request', `body.${err.message}`);
      if (err instanceof RestoreRootMissingError) throw new ApiError(409, 'restore_root_missing', err.message);
      throw err;
    }
    const request = { from: body.from, to, path: body.path, at: body.at, overwrite: body.overwrite, within: root };
    const handle = await withTemporalDeadline(deps.client, () => startRestore(deps.client, config, request));
    deps.status.invalidate();
    deps.logger.info({ event: 'api.restore_started', workflowId: handle.workflowId, from: body.from, to }, 'restore started');
    const { workflowId, firstExecutionRunId: runId } = handle;
    return c.json({ workflowId, runId, webUi: webUiLink(config, workflowId, runId) }, 202);
  });
}
