import { createRoute, z } from '@hono/zod-openapi';
import { FILE_STATES } from '../../activities/catalog/catalogCounts';
import { openFailuresPage } from '../../activities/catalog/failures';
import { accountKeyOf } from '../../activities/catalog/objectKeys';
import type { RouteDeps } from '../deps';
import { ApiError } from '../errors';
import { retryAllFailures, retryFailedFile } from '../failureRetry';
import { decodeCursor, encodeCursor, nextCursorSchema, pageQuery } from '../pagination';
import { BEARER, apiRouter } from '../router';
import { errorResponses, fileIdSchema, startedRunSchema } from '../schemas';

const failureSchema = z
  .object({
    failureId: z.number().int(),
    fileId: z.string(),
    destination: z.string().nullable(),
    runId: z.string().nullable(),
    attempts: z.number().int(),
    reason: z.string(),
    message: z.string(),
    firstFailedAt: z.string(),
    lastFailedAt: z.string(),
    file: z.object({ name: z.string(), state: z.enum(FILE_STATES).nullable(), gone: z.string().nullable(), key: z.string().nullable() }),
    path: z
      .string()
      .openapi({ description: 'where the file sits in the backup (its key below drive/<account>/), or its name before it has a key' }),
  })
  .openapi('Failure');

const retryBody = {
  content: {
    'application/json': {
      schema: z.strictObject({
        startSweep: z.boolean().default(true).openapi({
          description: 'start a sweep now to transfer the files (default); false leaves them to the next scheduled run',
        }),
      }),
    },
  },
  required: false,
} as const;

const retryResult = z
  .object({
    requeued: z.number().int().openapi({ description: 'files put back to pending' }),
    sweep: startedRunSchema.nullable().openapi({ description: 'the sweep started to transfer them; null when none was' }),
    note: z.string().openapi({ description: 'what happens next' }),
  })
  .openapi('RetryResult');

const list = createRoute({
  method: 'get',
  path: '/',
  summary: 'Open failures, newest first: one per file and destination, until a transfer gets the file there',
  security: BEARER,
  request: { query: z.strictObject(pageQuery) },
  responses: {
    200: {
      description: 'a page of failures',
      content: { 'application/json': { schema: z.object({ items: z.array(failureSchema), nextCursor: nextCursorSchema }) } },
    },
    ...errorResponses(),
  },
});

const RETRY_DESCRIPTION =
  'Puts the failed or deferred files back to pending in the catalog at once, and (unless startSweep is false) starts a ' +
  'sweep now, which transfers every pending file. Their failures stay open until a transfer gets them to their destinations.';

const retryAll = createRoute({
  method: 'post',
  path: '/retry',
  summary: 'Retry every failed or deferred file',
  description: RETRY_DESCRIPTION,
  security: BEARER,
  request: { body: retryBody },
  responses: {
    200: { description: 'requeued', content: { 'application/json': { schema: retryResult } } },
    ...errorResponses(413, 503),
  },
});

const retryOne = createRoute({
  method: 'post',
  path: '/{fileId}/retry',
  summary: 'Retry one file',
  description: `${RETRY_DESCRIPTION} 404: no such file; 409: the file has nothing to retry (it is not failed or deferred).`,
  security: BEARER,
  request: { params: z.strictObject({ fileId: fileIdSchema }), body: retryBody },
  responses: {
    200: { description: 'requeued', content: { 'application/json': { schema: retryResult } } },
    ...errorResponses(404, 409, 413, 503),
  },
});

export function failureRoutes(deps: RouteDeps) {
  const retried = (event: string, result: { requeued: number; sweep: { workflowId: string } | null }) => {
    deps.status.invalidate();
    deps.logger.info({ event, requeued: result.requeued, sweep: result.sweep?.workflowId }, 'failures retried');
  };
  return apiRouter()
    .openapi(list, (c) => {
      const { cursor, limit } = c.req.valid('query');
      const before = decodeCursor(cursor, z.strictObject({ before: z.number().int().positive() }))?.before;
      const page = openFailuresPage(deps.catalog, { limit: limit + 1, beforeId: before });
      const accountKey = `${accountKeyOf(deps.config.account)}/`;
      const items = page.slice(0, limit).map((f) => ({
        ...f,
        path: f.file.key?.startsWith(accountKey) ? f.file.key.slice(accountKey.length) : f.file.name,
      }));
      const nextCursor = page.length > limit ? encodeCursor({ before: items.at(-1)!.failureId }) : null;
      return c.json({ items, nextCursor }, 200);
    })
    .openapi(retryAll, async (c) => {
      const result = await retryAllFailures(deps, { startSweep: c.req.valid('json').startSweep ?? true });
      retried('api.failures_retried', result);
      return c.json(result, 200);
    })
    .openapi(retryOne, async (c) => {
      const { fileId } = c.req.valid('param');
      const { outcome, ...result } = await retryFailedFile(deps, fileId, { startSweep: c.req.valid('json').startSweep ?? true });
      if (outcome === 'unknown') throw new ApiError(404, 'not_found', result.note);
      if (outcome === 'nothing') throw new ApiError(409, 'nothing_to_retry', result.note);
      retried('api.failure_retried', result);
      return c.json(result, 200);
    });
}
