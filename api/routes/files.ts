import { createRoute, z } from '@hono/zod-openapi';
import { FILE_STATES } from '../../activities/catalog/catalogCounts';
import { SEARCH_SCAN_ROWS, fileDetail, filesPage } from '../../activities/catalog/fileRecords';
import type { RouteDeps } from '../deps';
import { ApiError } from '../errors';
import { decodeCursor, encodeCursor, nextCursorSchema, pageQuery } from '../pagination';
import { BEARER, apiRouter } from '../router';
import { errorResponses, fileIdSchema } from '../schemas';

const FILE_KINDS = ['binary', 'workspace', 'folder', 'shortcut', 'unsupported'] as const;

const fileItem = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(FILE_KINDS),
    mimeType: z.string(),
    size: z.number().nullable(),
    state: z.enum(FILE_STATES).nullable(),
    modifiedTime: z.string(),
    gone: z.string().nullable().openapi({ description: 'why it left the backup (trashed, removed, ...); null while in Drive' }),
    key: z.string().nullable().openapi({ description: "its object key below each destination's prefix; null until given" }),
  })
  .openapi('FileItem');

const fileObject = z.object({
  destination: z.string(),
  format: z.string().openapi({ description: "'' for a binary file, the export extension of a Workspace file" }),
  key: z.string(),
  size: z.number().nullable(),
  sha256: z.string().nullable(),
  etag: z.string().nullable(),
  versionId: z.string().nullable(),
  fileVersion: z.string().nullable(),
  state: z.enum(['pending', 'uploaded', 'verified', 'failed']),
  uploadedAt: z.string().nullable(),
  verifiedAt: z.string().nullable(),
  deepVerifiedAt: z.string().nullable(),
});

const fileDetailSchema = fileItem
  .extend({
    driveId: z.string().nullable(),
    parentId: z.string().nullable(),
    md5: z.string().nullable(),
    version: z.string(),
    createdTime: z.string().nullable(),
    skipReason: z.string().nullable(),
    drivePath: z.string(),
    destinations: z.array(z.object({ name: z.string(), objects: z.array(fileObject) })).openapi({
      description: 'every configured destination, with the objects it holds for this file (none yet: an empty list)',
    }),
    trashed: z.array(
      z.object({ destination: z.string(), key: z.string(), originalKey: z.string(), size: z.number().nullable(), trashedOn: z.string() }),
    ),
    failures: z.array(
      z.object({
        destination: z.string().nullable(),
        reason: z.string(),
        message: z.string(),
        attempts: z.number(),
        lastFailedAt: z.string(),
      }),
    ),
  })
  .openapi('File');

const list = createRoute({
  method: 'get',
  path: '/',
  summary: 'List or search the catalog, in id order',
  description:
    `With q, a page reads at most ${SEARCH_SCAN_ROWS} catalog items, so it may hold fewer than limit matches and still ` +
    'have a nextCursor: follow it until it is null.',
  security: BEARER,
  request: {
    query: z.strictObject({
      ...pageQuery,
      q: z.string().trim().min(1).max(200).optional().openapi({ description: "text in the item's name or object key, any case" }),
      state: z.enum(FILE_STATES).optional(),
    }),
  },
  responses: {
    200: {
      description: 'a page of items',
      content: { 'application/json': { schema: z.object({ items: z.array(fileItem), nextCursor: nextCursorSchema }) } },
    },
    ...errorResponses(),
  },
});

const one = createRoute({
  method: 'get',
  path: '/{fileId}',
  summary: "One file's record, and its object on every destination",
  security: BEARER,
  request: { params: z.strictObject({ fileId: fileIdSchema }) },
  responses: {
    200: { description: 'the file', content: { 'application/json': { schema: fileDetailSchema } } },
    ...errorResponses(404),
  },
});

const fileCursor = z.strictObject({ after: fileIdSchema });

export function fileRoutes(deps: RouteDeps) {
  const { catalog, config } = deps;
  return apiRouter()
    .openapi(list, (c) => {
      const { cursor, limit, q, state } = c.req.valid('query');
      const after = decodeCursor(cursor, fileCursor)?.after ?? '';
      const page = filesPage(catalog, { afterId: after, limit, q, state });
      return c.json({ items: page.items, nextCursor: page.nextAfterId === null ? null : encodeCursor({ after: page.nextAfterId }) }, 200);
    })
    .openapi(one, (c) => {
      const { fileId } = c.req.valid('param');
      const file = fileDetail(catalog, config, fileId);
      if (!file) throw new ApiError(404, 'not_found', `the catalog has no file ${fileId}`);
      const { objects, ...rest } = file;
      const destinations = [...new Set([...config.destinations.map((d) => d.name), ...objects.map((o) => o.destination)])].map((name) => ({
        name,
        objects: objects.filter((o) => o.destination === name),
      }));
      return c.json({ ...rest, destinations }, 200);
    });
}
