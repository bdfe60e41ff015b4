import { readFileSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EXPORT_FORMATS } from './exportFormats';
import { cronProblem, intervalMs, timeZoneProblem } from './scheduleTimes';

const exportFormat = z.enum(EXPORT_FORMATS);
const destinationName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lowercase letters, digits and dashes, at most 31 characters');

const s3Destination = z
  .object({
    kind: z.literal('s3'),
    name: destinationName,
    endpoint: z.url().optional().describe('unset for AWS; the provider URL for Scaleway, OVH, Hetzner, Exoscale, MinIO'),
    region: z.string().min(1).default('us-east-1'),
    bucket: z.string().min(3).max(63),
    prefix: z
      .string()
      .default('')
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'no leading "/" and no ".." segment'),
    forcePathStyle: z.boolean().default(false),
    storageClass: z
      .enum(['STANDARD', 'INTELLIGENT_TIERING', 'STANDARD_IA', 'ONEZONE_IA', 'GLACIER_IR', 'ONEZONE', 'STANDARD_IA'])
      .optional(),
    serverSideEncryption: z.enum(['AES256', 'aws:kms']).optional(),
    /**
     * Some S3-compatible providers reject checksum headers: with when_required, a streamed upload without Drive's
     * MD5 carries no CRC32. Bodies in memory are checked through their signed SHA-256 either way.
     */
    requestChecksums: z.enum(['when_supported', 'when_required']).default('when_supported'),
    /** The provider's multipart part limit: 10,000 on AWS, 1,000 on Scaleway. */
    maxParts: z.number().int().min(1).max(10000).default(10000),
    /** Environment variables holding the credentials; secrets never sit in the config file. */
    accessKeyIdEnv: z.string().default('AWS_ACCESS_KEY_ID'),
    secretAccessKeyEnv: z.string().default('AWS_SECRET_ACCESS_KEY'),
  })
  .strict();

const localDestination = z
  .object({
    kind: z.literal('local'),
    name: destinationName,
    path: z.string().min(1),
  })
  .strict();

/** A zod check from a function that says what is wrong with a value, or nothing. */
const problemCheck =
  (problem: (value: string) => string | undefined) =>
  (value: string, ctx: z.RefinementCtx<string>): void => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  };

/**
 * When a schedule runs: a cron string or an interval, exactly one, read in an IANA time zone. Temporal reads cron
 * times in the zone's local time, so a run inside the hour a DST change skips does not happen that day.
 */
const scheduleTimes = z
  .object({
    cron: z.string().superRefine(problemCheck(cronProblem)).optional(),
    every: z
      .string()
      .superRefine(problemCheck((v) => (intervalMs(v) ? undefined : `"${v}" is not an interval such as 30s, 5m, 1h, 1d or 1h30m`)))
      .optional(),
    timezone: z.string().superRefine(problemCheck(timeZoneProblem)).default('UTC'),
  })
  .strict()
  .refine((s) => (s.cron === undefined) !== (s.every === undefined), 'give exactly one of cron (a cron string) and every (an interval)');

/** `127.0.0.1:8080` or `[::1]:8080` as a host and a port (0 picks a free one); undefined when it is neither. */
export function parseListen(listen: string): { hostname: string; port: number } | undefined {
  const m = listen.match(/^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) return undefined;
  return { hostname: m[1] ?? m[2]!, port };
}

/** Each default is written once, on its key: a section left out is parsed as written empty (`prefault`). */
export const configSchema = z
  .object({
    /** The account's label in object keys: `<prefix>/drive/<account>/...`. */
    account: z
      .string()
      .min(1)
      .regex(/^[^/\\]+$/, 'no "/" or "\\"'),
    google: z
      .object({
        apiRootUrl: z.url().default('https://www.googleapis.com/'),
        tokenUrl: z.url().default('https://oauth2.googleapis.com/token'),
        clientId: z.string().min(1),
        /** Environment variables holding the OAuth client secret and the user's refresh token. */
        clientSecretEnv: z.string().default('GOOGLE_CLIENT_SECRET'),
        refreshTokenEnv: z.string().default('GOOGLE_REFRESH_TOKEN'),
        /**
         * Drive requests per second of one worker process, with a burst of one second's worth (rclone's drive pacer).
         * 200 is Drive's historic per-user quota (12,000 per minute); the server-side rate of the transfer queue
         * (`transfer.maxTaskQueueActivitiesPerSecond`) shares the quota between workers.
         */
        maxRequestsPerSecond: z.number().positive().max(10_000).default(200),
      })
      .strict(),
    scope: z
      .object({
        sharedDrives: z.boolean().default(true),
        sharedWithMe: z.boolean().default(false),
        exclude: z.array(z.string().min(1)).default([]),
        maxFileSizeBytes: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    exportFormats: z
      .object({
        document: z.array(exportFormat).min(1).default(['docx']),
        spreadsheet: z.array(exportFormat).min(1).default(['xlsx']),
        presentation: z.array(exportFormat).min(1).default(['pptx']),
        drawing: z.array(exportFormat).min(1).default(['pdf']),
        script: z.array(exportFormat).min(1).default(['json']),
      })
      .strict()
      .prefault({}),
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        webUiUrl: z.url().default('http://127.0.0.1:8233/'),
      })
      .strict()
      .prefault({}),
    transfer: z
      .object({
        /** Files downloading from Drive at once per transfer worker (twice as many may be finishing their uploads). */
        concurrency: z.number().int().min(1).max(32).default(4),
        /** Files per transfer activity. */
        batchSize: z.number().int().min(1).max(1000).default(100),
        /** Batches streaming at once over all transfer workers; each worker takes two, so 4 keeps two workers busy. */
        batchesInFlight: z.number().int().min(1).max(64).default(4),
        /** Tries per file before it is recorded as a failure. */
        attempts: z.number().int().min(1).max(20).default(5),
        /** First retry delay; doubles per try, with jitter. */
        retryBaseDelayMs: z.number().int().min(1).max(600_000).default(1000),
        /** Binary files from this size on are sent part by part with checkpoints, resumable after a crash. */
        resumableMinBytes: z
          .number()
          .int()
          .min(1)
          .default(64 * 1024 * 1024),
        /** A Drive or S3 stream that moves no byte for this long is given up, and the file retried. */
        stallTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
        /**
         * Transfer batches the Temporal server hands out per second across every transfer worker of the queue (its
         * server-side rate limit); unset, no limit. Every transfer worker should set the same value.
         */
        maxTaskQueueActivitiesPerSecond: z.number().positive().optional(),
      })
      .strict()
      .prefault({}),
    verify: z
      .object({
        /**
         * A full sync HEADs what it writes, and this percentage of all objects besides, those checked longest
         * ago: every object is HEADed at least once every 100/auditPercent runs.
         */
        auditPercent: z.number().min(0.1).max(100).default(2),
      })
      .strict()
      .prefault({}),
    catalog: z
      .object({
        path: z.string().min(1).default('data/catalog.db'),
        /** Names the host that owns the catalog file; its catalog task queue carries it (`drive-vault-catalog-<hostId>`). */
        hostId: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63 characters')
          .default('local'),
      })
      .strict()
      .prefault({}),
    destinations: z
      .array(z.discriminatedUnion('kind', [s3Destination, localDestination]))
      .min(1, 'at least one destination is needed')
      .refine((ds) => new Set(ds.map((d) => d.name)).size === ds.length, 'destination names must be unique'),
    /** Objects moved under `.trash/<date>/` (removed, trashed or replaced in Drive) are purged after this many days. */
    trashRetentionDays: z.number().int().min(1).max(3650).default(30),
    /**
     * The nightly dump of the catalog and the weekly rollup of the dumps (DESIGN.md sections 4 and 7). A local dump is
     * deleted only once every destination holds a verified copy of it, whatever `keepLocal` says.
     */
    dumps: z
      .object({
        /** Where dumps are written before upload; default: `dumps/` beside the catalog file. */
        localDir: z.string().min(1).optional(),
        /** Daily dumps kept on this machine, newest first. */
        keepLocal: z.number().int().min(1).max(3650).default(30),
        /** Days a daily dump is kept under `state/daily/` on each destination. */
        keepRemoteDays: z.number().int().min(1).max(3650).default(30),
        /** Weekly rollups kept under `state/weekly/` on each destination, newest first. */
        keepWeekly: z.number().int().min(1).max(520).default(12),
      })
      .strict()
      .prefault({}),
    /** The four Temporal Schedules (DESIGN.md section 4), reconciled with this when the catalog host's worker starts. */
    schedules: z
      .object({
        fullSync: scheduleTimes.prefault({ cron: '0 1 * * SUN' }),
        sweep: scheduleTimes.prefault({ every: '5m' }),
        nightlyDump: scheduleTimes.prefault({ cron: '30 2 * * *' }),
        weeklyRollup: scheduleTimes.prefault({ cron: '45 3 * * SUN' }),
      })
      .strict()
      .prefault({}),
    /** The control API (`drive-vault api`, `npm run api`): DESIGN.md section 11. */
    api: z
      .object({
        /** host:port to listen on; loopback by default, so nothing outside this machine reaches it unless asked. */
        listen: z
          .string()
          .superRefine(problemCheck((v) => (parseListen(v) ? undefined : `"${v}" is not host:port, such as 127.0.0.1:8080 or [::1]:8080`)))
          .default('127.0.0.1:8080'),
        /** The environment variable holding the bearer token every route but health, version and the OpenAPI document needs. */
        tokenEnv: z.string().min(1).default('DRIVE_VAULT_API_TOKEN'),
        /** The folder restores asked over HTTP write below (their target is relative to it); unset, the API refuses restores. */
        restoreRoot: z
          .string()
          .refine((p) => isAbsolute(p), 'an absolute path')
          .optional(),
        /** Requests per minute from one client address; 0 turns the limit off (a benchmark on loopback). */
        rateLimitPerMinute: z.number().int().min(0).default(600),
        /** Largest request body, in bytes; a larger one gets 413. */
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type DestinationConfig = Config['destinations'][number];
export type S3DestinationConfig = z.infer<typeof s3Destination>;
export type ScheduleTimesConfig = z.infer<typeof scheduleTimes>;
/** Export formats (extensions) per Workspace type. */
export type ExportFormatConfig = Config['exportFormats'];

export class ConfigError extends Error {}

/** Turns zod issues into lines that name the key and say what is expected. */
function describeIssues(source: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.map((k) => (issue.path.length ? `${key}.${k}` : k)).join(', ');
      return `  ${names}: unknown key${issue.keys.length > 1 ? 's' : ''} (check the spelling against config.example.yaml)`;
    }
    return `  ${key}: ${issue.message}`;
  });
  return `invalid configuration in ${source}:\n${lines.join('\n')}`;
}

/** Validates a parsed config object; throws ConfigError naming every bad key. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(source, result.error));
  return result.data;
}

/** Reads a YAML or JSON config file and validates it. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseConfig(raw, path);
}

/** Reads a secret from the environment variable the config names; missing is a start-up error naming it. */
export function secretFromEnv(variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (!value) throw new ConfigError(`environment variable ${variable} is not set (the config names it as the source of a secret)`);
  return value;
}
