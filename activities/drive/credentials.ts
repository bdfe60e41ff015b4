import { ApplicationFailure } from '@temporalio/common';
import { readFileSync } from 'node:fs';
import { JWT, OAuth2Client } from 'googleapis-common';
import { z } from 'zod';
import { type Config, ConfigError, type ServiceAccountConfig, secretFromEnv } from '../../common/config';
import type { StoredGoogleToken } from '../catalog/googleTokens';
import { type DriveRequestMetrics, countReplies, paceRequests } from './client';
import type { DrivePacer } from './pacer';
import { SecretUnreadableError, openSecret, tokenKeyFromEnv } from './tokenCipher';

/** drive-vault only reads Drive. */
export const DRIVE_READONLY_SCOPE = 'https://www.googleapis.com/auth/drive.readonly';

/** The failure type of an account Google will not (or cannot) give a token for: retrying does not help. */
export const GOOGLE_CREDENTIALS_FAILURE = 'GoogleCredentialsUnusable';

/** The token URL google-auth-library's service-account client posts to and names in its JWT's `aud`, whatever it is told. */
const LIBRARY_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** What stands in for the refresh token in the client's credentials, so that it refreshes; the real one is read at refresh. */
const REFRESH_PLACEHOLDER = 'drive-vault-reads-the-refresh-token-when-refreshing';

/** Token-endpoint errors that say these credentials will not work until someone acts (RFC 6749 section 5.2). */
const REFUSALS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'access_denied']);

export type GoogleAccountKind = 'oauth' | 'serviceAccount';

export interface GoogleAuthOptions {
  env?: NodeJS.ProcessEnv;
  pacer?: DrivePacer;
  /** Counts every request the client sends by its reply's status, and the rate limits. */
  metrics?: DriveRequestMetrics;
  /** The refresh token connected through the consent, read at every refresh, so a new consent needs no restart. */
  storedToken?: () => StoredGoogleToken | undefined;
  /** Gives up a request (token or Drive) after this long; unset, requests wait as long as the caller does. */
  timeoutMs?: number;
}

export const googleAccountKind = (config: Config): GoogleAccountKind => (config.google.serviceAccount ? 'serviceAccount' : 'oauth');

/** A non-retryable activity failure: an account Google refuses fails the run at once, saying what to do. */
function googleCredentialsFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, GOOGLE_CREDENTIALS_FAILURE);
}

export function isGoogleCredentialsFailure(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && err.type === GOOGLE_CREDENTIALS_FAILURE;
}

/** The token endpoint's refusal (`invalid_grant: Token has been expired or revoked.`), or nothing for any other error. */
export function tokenRefusalOf(err: unknown): string | undefined {
  const response = (err as { response?: { status?: number; data?: unknown } } | null)?.response;
  const body = z.object({ error: z.string(), error_description: z.string().optional() }).safeParse(response?.data);
  if (!body.success || !REFUSALS.has(body.data.error) || (response?.status !== 400 && response?.status !== 401)) return undefined;
  return body.data.error_description ? `${body.data.error}: ${body.data.error_description}` : body.data.error;
}

/** What binds an encrypted refresh token to its account and OAuth client (authenticated, not secret). */
export const refreshTokenContext = (account: string, clientId: string) => `drive-vault google refresh token\0${account}\0${clientId}`;

/**
 * The account's refresh token in clear: the catalog's (the consent's) first, else the environment's; throws a
 * credentials failure that says what is missing or wrong.
 */
function resolveRefreshToken(config: Config, options: GoogleAuthOptions): string {
  const { account, google } = config;
  const env = options.env ?? process.env;
  const stored = options.storedToken?.();
  if (stored) {
    if (stored.clientId !== google.clientId) {
      throw googleCredentialsFailure(
        `the Google token stored for account "${account}" was issued to OAuth client ${stored.clientId}, but the config names ` +
          `${google.clientId}: connect the account again (drive-vault auth google)`,
      );
    }
    try {
      const key = tokenKeyFromEnv(google.tokenKeyEnv, env);
      return openSecret(key, stored.sealed, refreshTokenContext(account, stored.clientId));
    } catch (err) {
      if (err instanceof ConfigError)
        throw googleCredentialsFailure(`cannot use the Google token stored for account "${account}": ${err.message}`);
      if (err instanceof SecretUnreadableError) {
        throw googleCredentialsFailure(
          `cannot decrypt the Google token stored for account "${account}" with the key in ${google.tokenKeyEnv}: ${err.message}. ` +
            'Set the key it was stored with, or connect the account again (drive-vault auth google)',
        );
      }
      throw err;
    }
  }
  const fromEnv = env[google.refreshTokenEnv];
  if (fromEnv) return fromEnv;
  throw googleCredentialsFailure(
    `account "${account}" is not connected to Google: no refresh token is stored in the catalog and ${google.refreshTokenEnv} ` +
      "is not set. Connect it with `drive-vault auth google` (or the API's /api/auth/google/start)",
  );
}

/** An OAuth client whose refresh token is looked up at each refresh, and whose refusals fail the run clearly. */
class AccountOAuthClient extends OAuth2Client {
  constructor(
    options: ConstructorParameters<typeof OAuth2Client>[0],
    private readonly account: string,
    private readonly refreshTokenNow: () => string,
  ) {
    super(options);
    this.setCredentials({ refresh_token: REFRESH_PLACEHOLDER });
  }

  protected override async refreshTokenNoCache() {
    const token = this.refreshTokenNow();
    try {
      return await super.refreshTokenNoCache(token);
    } catch (err) {
      const refusal = tokenRefusalOf(err);
      if (!refusal) throw err;
      throw googleCredentialsFailure(
        `Google refused the refresh token of account "${this.account}" (${refusal}): connect the account again (drive-vault auth google)`,
      );
    }
  }
}

/** A service account's client acting as `subject` (domain-wide delegation), whose refusals fail the run clearly. */
class DelegatedJwtClient extends JWT {
  constructor(
    options: ConstructorParameters<typeof JWT>[0],
    private readonly account: string,
  ) {
    super(options);
  }

  protected override async refreshTokenNoCache() {
    try {
      return await super.refreshTokenNoCache();
    } catch (err) {
      const refusal = tokenRefusalOf(err);
      if (!refusal) throw err;
      throw googleCredentialsFailure(
        `Google refused service account ${this.email} acting as ${this.subject} for account "${this.account}" (${refusal}): check ` +
          `that the Workspace admin console grants its client id domain-wide delegation of ${DRIVE_READONLY_SCOPE}`,
      );
    }
  }
}

const serviceAccountKeySchema = z.object({
  type: z.literal('service_account'),
  client_email: z.email(),
  private_key: z.string().includes('PRIVATE KEY'),
  private_key_id: z.string().optional(),
});

export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  keyId?: string;
}

/** The service account's JSON key, from its file or its variable; errors name where it was read, never what it holds. */
export function serviceAccountKey(sa: ServiceAccountConfig, env: NodeJS.ProcessEnv = process.env): ServiceAccountKey {
  let where: string;
  let text: string;
  const readKeyFile = (path: string) => {
    where = `the key file ${path}`;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the service account key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
  if (sa.keyFile) text = readKeyFile(sa.keyFile);
  else {
    const value = secretFromEnv(sa.keyFileEnv!, env);
    where = `environment variable ${sa.keyFileEnv}`;
    text = value.trimStart().startsWith('{') ? value : readKeyFile(value.trim());
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: a key must never reach a log.
    throw new ConfigError(`the service account key in ${where!} is not JSON`);
  }
  const key = serviceAccountKeySchema.safeParse(json);
  if (!key.success) {
    const fields = key.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new ConfigError(`the service account key in ${where!} is not a Google service account JSON key (check ${fields})`);
  }
  return { clientEmail: key.data.client_email, privateKey: key.data.private_key, keyId: key.data.private_key_id };
}

/**
 * The credentials of the configured account: an OAuth client (the refresh token stored in the catalog by the consent,
 * else the environment's) or a service account acting as its subject. Token refusals become non-retryable failures
 * that say what to do; a 401 from Drive (a token revoked meanwhile) makes the client ask for a new one once.
 */
export function createGoogleAuth(config: Config, options: GoogleAuthOptions = {}): OAuth2Client {
  const { google, account } = config;
  const env = options.env ?? process.env;
  const transporterOptions = options.timeoutMs ? { timeout: options.timeoutMs } : undefined;
  let client: OAuth2Client;
  if (google.serviceAccount) {
    const key = serviceAccountKey(google.serviceAccount, env);
    client = new DelegatedJwtClient(
      {
        email: key.clientEmail,
        key: key.privateKey,
        keyId: key.keyId,
        subject: google.serviceAccount.subject,
        scopes: [DRIVE_READONLY_SCOPE],
        forceRefreshOnFailure: true,
        transporterOptions,
      },
      account,
    );
    routeTokenRequests(client, google.tokenUrl);
  } else {
    client = new AccountOAuthClient(
      {
        clientId: google.clientId,
        clientSecret: secretFromEnv(google.clientSecretEnv, env),
        endpoints: { oauth2TokenUrl: google.tokenUrl },
        forceRefreshOnFailure: true,
        transporterOptions,
      },
      account,
      () => resolveRefreshToken(config, options),
    );
  }
  if (options.pacer) paceRequests(client, options.pacer);
  if (options.metrics) countReplies(client, options.metrics);
  return client;
}

/** The service-account client posts to Google's token URL whatever it is told: send it to the configured one. */
function routeTokenRequests(client: OAuth2Client, tokenUrl: string): void {
  if (tokenUrl === LIBRARY_TOKEN_URL) return;
  client.transporter.interceptors.request.add({
    resolved: async (request) => {
      if (request.url.href === LIBRARY_TOKEN_URL) request.url = new URL(tokenUrl);
      return request;
    },
  });
}
