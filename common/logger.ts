import pino, { Logger } from 'pino';

export type { Logger };

/** Keys that may hold credentials anywhere in a log event, up to two levels deep. */
const secretKeys = ['accessToken', 'access_token', 'refreshToken', 'refresh_token', 'clientSecret', 'client_secret', 'secretAccessKey', 'authorization', 'Authorization', 'password', 'token', 'apiToken'];

export const redactPaths = secretKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** JSON logs, one event per line, with secrets replaced by "[redacted]". */
export function createLogger(options: { level?: string; name?: string } = {}, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: options.name ?? 'drive-vault',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
