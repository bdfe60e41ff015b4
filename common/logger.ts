import { types } from 'node:util';
import pino, { type Logger } from 'pino';
import type { LogFeed } from './logFeed';

export type { Logger };

/** Keys that may hold credentials, at any depth of a log event. */
const SECRET_KEYS = new Set([
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'secretAccessKey',
  'authorization',
  'Authorization',
  'password',
  // nodemailer's auth object
  'pass',
  'token',
  'apiToken',
]);
const CENSOR = '[redacted]';

/**
 * `value` as it is safe to log: every Error, whatever its key, through pino's error serializer (message, stack, cause
 * and its own fields, which JSON would print as `{}`), and every secret key censored at any depth. pino's `redact`
 * paths name fixed depths; this walk has none. Objects are copied only where something changes, so an ordinary
 * event of a few flat fields costs a loop over its keys.
 */
function scrub(value: unknown, ancestors: Set<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Errors from another realm (the workflow sandbox) fail `instanceof Error`.
  const isError = value instanceof Error || types.isNativeError(value);
  // Dates, Buffers and the like print through their own toJSON: nothing below them is logged as is.
  if (!isError && (typeof (value as { toJSON?: unknown }).toJSON === 'function' || ArrayBuffer.isView(value))) return value;
  if (ancestors.has(value)) return '[Circular]';
  const object: object = isError ? pino.stdSerializers.err(value as Error) : value;
  ancestors.add(value);
  try {
    if (Array.isArray(object)) {
      let copy: unknown[] | undefined;
      object.forEach((item, i) => {
        const safe = scrub(item, ancestors);
        if (safe !== item) (copy ??= [...object])[i] = safe;
      });
      return copy ?? object;
    }
    let copy: Record<string, unknown> | undefined = object === value ? undefined : { ...object };
    for (const [key, item] of Object.entries(object)) {
      const safe = SECRET_KEYS.has(key) && item !== undefined ? CENSOR : scrub(item, ancestors);
      if (safe !== item) (copy ??= { ...object })[key] = safe;
    }
    return copy ?? object;
  } finally {
    ancestors.delete(value);
  }
}

const scrubEvent = (event: Record<string, unknown>) => scrub(event, new Set()) as Record<string, unknown>;

/**
 * JSON logs, one event per line, with errors serialized and secrets replaced by "[redacted]". With `feed`, every line
 * written also goes to it (redacted as well): the API's live log stream reads it.
 */
export function createLogger(
  options: { level?: string; name?: string; feed?: LogFeed } = {},
  destination?: pino.DestinationStream,
): Logger {
  const streams = options.feed
    ? pino.multistream([
        // The logger's own level filters; each stream takes whatever passes it.
        { level: 'trace', stream: destination ?? pino.destination(1) },
        { level: 'trace', stream: options.feed },
      ])
    : destination;
  return pino(
    {
      name: options.name ?? 'drive-vault',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      formatters: { log: scrubEvent, bindings: scrubEvent },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    streams,
  );
}
