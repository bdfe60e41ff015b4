import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { FeedLine } from '../../common/logFeed';
import type { RouteDeps } from '../deps';
import { BEARER, apiRouter } from '../router';
import { errorResponses } from '../schemas';

/** Lines a slow client may fall behind by before the oldest are dropped (and it is told how many). */
const MAX_QUEUED = 1_000;
/** A comment this often keeps proxies from closing a quiet stream, and finds clients that went away. */
const KEEP_ALIVE_MS = 15_000;

const log = createRoute({
  method: 'get',
  path: '/',
  summary: "The API process's live log (Server-Sent Events)",
  description:
    'Each `log` event carries one JSON log line (secrets already redacted), its id a sequence number: the recent lines ' +
    'first, then live ones. Reconnecting with Last-Event-ID resumes after that line. A `dropped` event says how many ' +
    'lines a client too slow to keep up missed.',
  security: BEARER,
  request: {
    headers: z.object({
      'last-event-id': z
        .string()
        .regex(/^\d{1,15}$/, 'the id of a log event')
        .optional(),
    }),
  },
  responses: {
    200: { description: 'the event stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses(),
  },
});

/** A line of this account's stream: one of its own, or one of the whole process (it names no account). */
function ofAccount(entry: FeedLine, account: string): boolean {
  try {
    const named = (JSON.parse(entry.line) as { account?: unknown }).account;
    return named === undefined || named === account;
  } catch {
    return true;
  }
}

export function logStreamRoutes(deps: RouteDeps) {
  return apiRouter().openapi(log, (c) => {
    const resumeAfter = Number(c.req.valid('header')['last-event-id'] ?? 0);
    // An id from before this process started (a restart numbers lines from 1 again) resumes nothing: all is new.
    const after = resumeAfter <= deps.logFeed.lastSeq ? resumeAfter : 0;
    // Hono answers HEAD with the GET handler and drops the body: a stream opened for it would never be aborted.
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'content-type': 'text/event-stream' });
    return streamSSE(c, async (stream) => {
      const queue: FeedLine[] = [];
      let dropped = 0;
      let wake: (() => void) | undefined;
      // Subscribed before the recent lines are read, so none falls between them; the seq check skips repeats.
      const unsubscribe = deps.logFeed.subscribe((entry) => {
        if (queue.length >= MAX_QUEUED) {
          queue.shift();
          dropped++;
        }
        queue.push(entry);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        let sent = after;
        const send = async (entry: FeedLine) => {
          if (entry.seq <= sent) return;
          if (ofAccount(entry, deps.config.account)) await stream.writeSSE({ event: 'log', id: String(entry.seq), data: entry.line });
          sent = entry.seq;
        };
        for (const entry of deps.logFeed.recent(after)) await send(entry);
        while (!stream.aborted) {
          if (dropped) {
            await stream.writeSSE({ event: 'dropped', data: JSON.stringify({ lines: dropped }) });
            dropped = 0;
          }
          const next = queue.shift();
          if (next) {
            await send(next);
            continue;
          }
          const quiet = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), KEEP_ALIVE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          wake = undefined;
          if (quiet && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });
}
