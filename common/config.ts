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

/** `host:port` (an IPv6 host in brackets), port 0 for any free one. */
const LISTEN_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const listenAddress = z
  .string()
  .regex(LISTEN_ADDRESS, 'host:port, such as 127.0.0.1:9464 or [::1]:9464')
  .refine((v) => Number(v.match(LISTEN_ADDRESS)?.[2]) <= 65535, 'a port from 0 to 65535');

/** The host and port of a validated listen address (`[::1]:9464` gives `::1`). */
export function hostAndPort(listen: string): { host: string; port: number } {
  const [, host, port] = listen.match(LISTEN_ADDRESS)!;
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port: Number(port) };
}

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

/** What a notification is sent for: a run that failed for good, a destination turning degraded (or back), the daily summary. */
export const NOTIFICATION_EVENTS = ['failure', 'degraded', 'daily-summary'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable');
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** A URL with a user or password: fetch refuses it, quoting it whole in its error. */
export const hasUserinfo = (url: string) => {
  const { username, password } = new URL(url);
  return username !== '' || password !== '';
};

/** A Slack-compatible incoming webhook. Its URL may be the secret (Slack's is): then it comes from `urlEnv`. */
const webhookNotifications = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .refine((url) => !hasUserinfo(url), 'no user or password in the URL: give it as a header (headersEnv)')
      .optional(),
    urlEnv: envName.optional(),
    /** Header name to the environment variable holding its value, e.g. `Authorization: WEBHOOK_AUTHORIZATION`. */
    headersEnv: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), envName).default({}),
    /** A POST that gets no answer in this time has failed (and is retried). */
    timeoutSeconds: z.number().int().min(1).max(120).default(10),
  })
  .strict()
  .refine((w) => (w.url === undefined) !== (w.urlEnv === undefined), 'give exactly one of url and urlEnv');

/** Email through an SMTP server; the password only from the environment variable `passwordEnv` names. */
const emailNotifications = z
  .object({
    host: z.string().min(1),
    /** Default 465 with `tls`, 587 otherwise. */
    port: z.number().int().min(1).max(65535).optional(),
    /** `tls`: TLS from the first byte (port 465); `starttls`: plain, then STARTTLS, required; `none`: no TLS at all. */
    security: z.enum(['tls', 'starttls', 'none']).default('starttls'),
    user: z.string().min(1).optional(),
    passwordEnv: envName.optional(),
    /** An address, or a name and an address: `drive-vault <backup@example.com>`. */
    from: z.string().regex(/^[^@\s<>]+@[^@\s<>]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+>$/, 'an email address, or "Name <address>"'),
    to: z.array(z.email()).min(1),
    timeoutSeconds: z.number().int().min(1).max(300).default(30),
  })
  .strict()
  .refine((e) => (e.user === undefined) === (e.passwordEnv === undefined), 'give user and passwordEnv together, or neither')
  .refine(
    (e) => e.security !== 'none' || e.user === undefined || LOOPBACK_HOSTS.has(e.host),
    'security none would send the password in clear: use starttls or tls, or an SMTP server on this host',
  );

/**
 * A Workspace service account with domain-wide delegation: its JSON key, from a file or an environment variable, and
 * the user whose Drive it reads. The admin console must grant the account's client id the drive.readonly scope.
 */
const serviceAccount = z
  .object({
    /** Path of the JSON key file. */
    keyFile: z.string().min(1).optional(),
    /** Environment variable holding the JSON key itself, or the path of its file. */
    keyFileEnv: z.string().min(1).optional(),
    /**
     * The user (email) whose Drive is backed up. Required; in an `accounts` list, each account gives its own
     * (`accounts[].google.serviceAccount.subject`) and the shared key file sits here.
     */
    subject: z.email().optional(),
  })
  .strict()
  .refine((s) => (s.keyFile === undefined) !== (s.keyFileEnv === undefined), 'give exactly one of keyFile and keyFileEnv');

/** A folder name in every destination (`drive/<account>/`, `state/<account>/`): one path segment, printable. */
const accountLabel = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^/\\\p{Cc}]+$/u, 'no "/", "\\" or control characters')
  .refine((a) => a !== '.' && a !== '..', 'not "." or "..": it names a folder');

/** How drive-vault reaches one Google account: an OAuth client and refresh token, or a service account. */
const googleSection = z
  .object({
    apiRootUrl: z.url().default('https://www.googleapis.com/'),
    tokenUrl: z.url().default('https://oauth2.googleapis.com/token'),
    /** Where the OAuth consent starts (`drive-vault auth google`, the API's `/api/auth/google/start`). */
    authUrl: z.url().default('https://accounts.google.com/o/oauth2/v2/auth'),
    /** The OAuth client (Desktop app type) of a personal account; give it, or `serviceAccount`. */
    clientId: z.string().min(1).optional(),
    /**
     * Environment variables holding the OAuth client secret and the user's refresh token. A refresh token stored
     * in the catalog by `drive-vault auth google` is used first; the variable's is the fallback.
     */
    clientSecretEnv: z.string().default('GOOGLE_CLIENT_SECRET'),
    refreshTokenEnv: z.string().default('GOOGLE_REFRESH_TOKEN'),
    /** Environment variable holding the 32-byte key (base64 or hex) that encrypts the refresh token in the catalog. */
    tokenKeyEnv: z.string().default('DRIVE_VAULT_TOKEN_KEY'),
    /** A Workspace service account with domain-wide delegation, acting as `subject`; instead of `clientId`. */
    serviceAccount: serviceAccount.optional(),
    /**
     * Drive requests per second of one worker process, with a burst of one second's worth (rclone's drive pacer).
     * 200 is Drive's historic per-user quota (12,000 per minute); the server-side rate of the transfer queue
     * (`transfer.maxTaskQueueActivitiesPerSecond`) shares the quota between workers.
     */
    maxRequestsPerSecond: z.number().positive().max(10_000).default(200),
  })
  .strict()
  .refine(
    (g) => (g.clientId === undefined) !== (g.serviceAccount === undefined),
    'give exactly one of clientId (an OAuth client, for a personal account) and serviceAccount (Workspace domain-wide delegation)',
  );

/**
 * What one account of an `accounts` list changes in the shared `google` section (its own subject, refresh token
 * variable, OAuth client or Drive root); the rest is the shared section's.
 */
const googleOverrides = z
  .object({
    apiRootUrl: z.url().optional(),
    tokenUrl: z.url().optional(),
    authUrl: z.url().optional(),
    clientId: z.string().min(1).optional(),
    clientSecretEnv: z.string().optional(),
    refreshTokenEnv: z.string().optional(),
    tokenKeyEnv: z.string().optional(),
    serviceAccount: z
      .object({ keyFile: z.string().min(1).optional(), keyFileEnv: z.string().min(1).optional(), subject: z.email().optional() })
      .strict()
      .optional(),
    maxRequestsPerSecond: z.number().positive().max(10_000).optional(),
  })
  .strict();

/** Temporal's namespace names; the dev server and the CLI accept these. */
const namespaceName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, ".", "_" and "-", at most 64 characters');

/**
 * One Google account of an `accounts` list. Each account is backed up on its own: its catalog file, its Temporal
 * namespace (so its schedules, runs and queues are its own), its `state/<account>/` dumps; destinations, schedules
 * and the rest of the config are shared.
 */
const accountEntry = z
  .object({
    account: accountLabel,
    google: googleOverrides.optional(),
    /** Default `drive-vault-<account in lowercase letters, digits and dashes>`. */
    namespace: namespaceName.optional(),
    catalog: z
      .object({
        /** Default `<folder of catalog.path>/<account in lowercase letters, digits and dashes>/<its file name>`. */
        path: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * The folder of its dumps and rollups on each destination; default `state/<account>/`. `state/` keeps the folder
     * of a config of one `account`, for an account moved into a list.
     */
    stateFolder: z
      .string()
      .regex(/^([^/\\]+\/)+$/, 'a folder path ending in "/", such as state/ or state/ana/')
      .refine((f) => !f.split('/').some((s) => s === '.' || s === '..'), 'no "." or ".." folder')
      .refine((f) => !/^(drive|photos|\.trash)\//.test(f), 'not in drive/, photos/ or .trash/: they hold the backed-up files')
      .optional(),
    dumps: z
      .object({
        /** Where its dumps are written before upload; default `<the shared dumps folder>/<account slug>`. */
        localDir: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Each default is written once, on its key: a section left out is parsed as written empty (`prefault`). */
export const configSchema = z
  .object({
    /** The account's label in object keys: `<prefix>/drive/<account>/...`. Give it, or `accounts`. */
    account: accountLabel.optional(),
    /** Several Google accounts backed up by one config, each on its own (see `accountEntry`); instead of `account`. */
    accounts: z.array(accountEntry).min(1).optional(),
    google: googleSection,
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
        listen: listenAddress.default('127.0.0.1:8080'),
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
    metrics: z
      .object({
        /**
         * Where a worker serves Prometheus metrics at `/metrics` (its transfers, Drive requests and catalog gauges);
         * unset, it serves none. Unauthenticated: keep it on loopback or a network only the scraper reaches.
         */
        listen: listenAddress.optional(),
      })
      .strict()
      .prefault({}),
    /** Where to tell people that something needs them (DESIGN.md section 12): no channel, no message. */
    notifications: z
      .object({
        webhook: webhookNotifications.optional(),
        email: emailNotifications.optional(),
        events: z.array(z.enum(NOTIFICATION_EVENTS)).default([...NOTIFICATION_EVENTS]),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

/** A config file as written: one account (`account`) or several (`accounts`). */
export type ConfigFile = z.infer<typeof configSchema>;
export type AccountEntry = z.infer<typeof accountEntry>;

/**
 * The config of one account, what every part of drive-vault runs on: a file's only account, or one account of its
 * `accounts` list with the shared sections (see `common/accounts.ts`).
 */
export type Config = Omit<ConfigFile, 'account' | 'accounts'> & {
  account: string;
  /** Where its dumps and rollups go on each destination; `state/` when unset (a config of one `account`). */
  stateRoot?: string;
  /** The folder of the file's own `catalog.path`, for what every account shares (Temporal's database of `start`). */
  sharedDataDir?: string;
};
export type DestinationConfig = Config['destinations'][number];
export type S3DestinationConfig = z.infer<typeof s3Destination>;
export type GoogleConfig = Config['google'];
export type ServiceAccountConfig = z.infer<typeof serviceAccount>;
export type ScheduleTimesConfig = z.infer<typeof scheduleTimes>;
export type NotificationsConfig = Config['notifications'];
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

/** Validates a parsed config file, one account or several; throws ConfigError naming every bad key. */
export function parseConfigFile(raw: unknown, source = 'config'): ConfigFile {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(source, result.error));
  const file = result.data;
  const problems: string[] = [];
  if ((file.account === undefined) === (file.accounts === undefined)) {
    problems.push('  account, accounts: give exactly one of account (one Google account) and accounts (a list of them)');
  }
  if (file.account !== undefined && file.google.serviceAccount && !file.google.serviceAccount.subject) {
    problems.push('  google.serviceAccount.subject: the user whose Drive is backed up is required');
  }
  if (problems.length) throw new ConfigError(`invalid configuration in ${source}:\n${problems.join('\n')}`);
  return file;
}

/** Validates a config of one account (`account`); a file listing `accounts` is refused, naming them. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const { account, accounts, ...rest } = parseConfigFile(raw, source);
  if (account === undefined) {
    throw new ConfigError(
      `${source} lists ${accounts!.length} accounts (${accounts!.map((a) => a.account).join(', ')}): name one with --account`,
    );
  }
  return { ...rest, account };
}

/** Reads a YAML or JSON config file, not yet validated. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** Reads a config file of one account and validates it. */
export function loadConfig(path: string): Config {
  return parseConfig(readConfigFile(path), path);
}

/** Reads a secret from the environment variable the config names; missing is a start-up error naming it. */
export function secretFromEnv(variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (!value) throw new ConfigError(`environment variable ${variable} is not set (the config names it as the source of a secret)`);
  return value;
}
