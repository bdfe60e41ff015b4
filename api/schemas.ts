import { z } from '@hono/zod-openapi';
import { RUN_KINDS } from '../activities/catalog/runs';
import { errorSchema } from './errors';

/** Drive file ids: letters, digits, `_` and `-`; bounded, so a crafted id never reaches SQL or a log at length. */
export const fileIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'a Drive file id: 1 to 128 letters, digits, _ or -')
  .openapi({ param: { name: 'fileId', in: 'path' }, example: '1a2B3c4D5e6F7g8H9i0J' });

/** A run the API started: its ids and where the Temporal Web UI shows it. */
export const startedRunSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    webUi: z.string().openapi({ description: 'the run in the Temporal Web UI' }),
  })
  .openapi('StartedRun');

/** For a POST that takes no input: an empty JSON object or no body; any field is refused. */
export const noFieldsBody = {
  content: { 'application/json': { schema: z.strictObject({}) } },
  required: false,
} as const;

/** The error responses a protected route may give, described once. */
export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: 'bad input: the message names the field',
    401: 'no bearer token, or not the API token',
    403: 'refused by the configuration',
    404: 'no such thing',
    409: 'not possible in the current state',
    413: 'body larger than api.bodyLimitBytes',
    429: 'too many requests from this client (api.rateLimitPerMinute)',
    503: 'the Temporal server did not answer',
  };
  return Object.fromEntries(
    [400, 401, 429, ...statuses].map((s) => [
      s,
      { description: descriptions[s] ?? 'error', content: { 'application/json': { schema: errorSchema } } },
    ]),
  );
}

/** A run as the catalog records it, with its link into the Temporal Web UI. */
export const runOutlineSchema = z
  .object({
    runId: z.string(),
    kind: z.enum(RUN_KINDS),
    workflowId: z.string(),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled']),
    webUi: z.string(),
  })
  .openapi('RunOutline');

/** A Google account's connection: whether its credentials are there and work. */
export const googleAccountSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['oauth', 'serviceAccount']),
    connected: z.boolean(),
    tokenWorks: z.boolean().openapi({ description: "Google's token endpoint gave an access token (asked at most once a minute)" }),
    error: z.string().optional(),
    tokenSource: z.enum(['catalog', 'env']).optional(),
    googleUser: z.string().optional(),
    connectedAt: z.string().optional(),
    subject: z.string().optional(),
  })
  .openapi('GoogleAccount');
