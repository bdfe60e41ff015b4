import { z } from '@hono/zod-openapi';
import { ApiError } from './errors';

/** `?cursor&limit`: a page's size is bounded, and a cursor is what the previous page returned, never made by hand. */
export const pageQuery = {
  cursor: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9_-]+$/, 'a cursor a previous page returned as nextCursor')
    .optional()
    .openapi({ description: 'nextCursor of the previous page; leave it out for the first page' }),
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: 'items per page, 1 to 500 (default 50)' }),
};

export const nextCursorSchema = z.string().nullable().openapi({ description: 'give it as cursor for the next page; null after the last' });

/** A cursor is its position as base64url JSON: opaque to clients, read back through a schema so a crafted one is a 400. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    position = undefined;
  }
  const parsed = schema.safeParse(position);
  if (!parsed.success) throw new ApiError(400, 'bad_request', 'query.cursor: not a cursor this API returned (start again without one)');
  return parsed.data;
}
