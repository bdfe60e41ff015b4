import { randomBytes } from 'node:crypto';
import { OAuth2Client, googleAuthLibrary } from 'googleapis-common';
import { type Config, ConfigError, secretFromEnv } from '../../common/config';
import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import { fileStateCounts } from '../catalog/catalogCounts';
import { saveGoogleToken, storedGoogleToken, storedGoogleTokenInFile } from '../catalog/googleTokens';
import { createDriveClient } from './client';
import { DRIVE_READONLY_SCOPE, refreshTokenContext, tokenRefusalOf } from './credentials';
import { driveFailureOf } from './errors';
import { sealSecret, tokenKeyFromEnv } from './tokenCipher';

/**
 * The OAuth installed-app flow (RFC 8252) that connects a personal account: a consent URL with PKCE (S256) and a
 * single-use state, Google's redirect to a loopback address with a code, and the code exchanged for a refresh token
 * that the catalog keeps encrypted. The API's routes and `drive-vault auth google` both run it.
 */

/** How long a consent may take, from its URL to the callback. */
const CONSENT_TTL_MS = 10 * 60 * 1000;
/** Consents waiting at once; the oldest is dropped beyond this, so a client calling start in a loop cannot grow memory. */
const MAX_PENDING = 16;
/** Scopes that let drive-vault read every file; the user may untick a scope on Google's consent page. */
const READ_SCOPES = [DRIVE_READONLY_SCOPE, 'https://www.googleapis.com/auth/drive'];

export interface ConsentStart {
  /** Open in a browser: Google's consent page. */
  authUrl: string;
  state: string;
  redirectUri: string;
  expiresAt: string;
}

export interface ConnectedAccount {
  account: string;
  /** The Google user who consented. */
  googleUser: string | null;
  scope: string;
  storedAt: string;
}

/** What the callback receives: Google's answer, as query parameters. */
export interface ConsentAnswer {
  state: string;
  code?: string;
  error?: string;
}

export interface ConsentDeps {
  config: Config;
  catalog: Catalog;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** The other accounts of the config: a consent by the user one of them backs up is refused. */
  otherAccounts?: Config[];
}

/** A consent that cannot go on; `status` is what an HTTP caller answers. */
export class ConsentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: 400 | 409 | 502 = 400,
  ) {
    super(message);
  }
}

interface PendingConsent {
  codeVerifier: string;
  redirectUri: string;
  expiresAt: number;
}

/** Consents begun and not yet answered, by state: each state is good for one callback, within ten minutes. */
export class PendingConsents {
  private readonly pending = new Map<string, PendingConsent>();

  constructor(
    private readonly ttlMs = CONSENT_TTL_MS,
    private readonly max = MAX_PENDING,
  ) {}

  add(state: string, consent: Omit<PendingConsent, 'expiresAt'>): number {
    const now = Date.now();
    for (const [s, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(s);
    while (this.pending.size >= this.max) this.pending.delete(this.pending.keys().next().value!);
    const expiresAt = now + this.ttlMs;
    this.pending.set(state, { ...consent, expiresAt });
    return expiresAt;
  }

  /** The consent begun with `state`, removed so that it is never answered twice; none if unknown, used or expired. */
  take(state: string): PendingConsent | undefined {
    const consent = this.pending.get(state);
    this.pending.delete(state);
    return consent && consent.expiresAt > Date.now() ? consent : undefined;
  }
}

/** The account's OAuth client, for consent; a config with a service account has nothing to consent to. */
function consentClient(config: Config, env: NodeJS.ProcessEnv): OAuth2Client {
  const { google, account } = config;
  if (!google.clientId) {
    throw new ConsentError(
      'service_account',
      `account "${account}" uses a service account (domain-wide delegation): there is no consent to give`,
      409,
    );
  }
  return new OAuth2Client({
    clientId: google.clientId,
    clientSecret: secretFromEnv(google.clientSecretEnv, env),
    endpoints: { oauth2TokenUrl: google.tokenUrl, oauth2AuthBaseUrl: google.authUrl },
    transporterOptions: { timeout: 30_000 },
  });
}

/** Google sends the installed-app flow only to a loopback address (RFC 8252 section 7.3). */
export function isLoopbackUrl(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

/** Config errors (a missing secret or key) say what to set: a consent cannot go on without them. */
function configProblem<T>(what: () => T): T {
  try {
    return what();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConsentError('not_configured', err.message, 409);
    throw err;
  }
}

/**
 * Starts a consent whose answer Google sends to `redirectUri`: the consent URL asks for offline access (a refresh
 * token), consent every time (so Google issues one again), read-only Drive, with a PKCE challenge and a fresh state.
 */
export async function beginConsent(
  config: Config,
  pending: PendingConsents,
  redirectUri: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConsentStart> {
  const client = configProblem(() => consentClient(config, env));
  // Checked now, so the user does not consent in vain and find the token cannot be stored.
  configProblem(() => tokenKeyFromEnv(config.google.tokenKeyEnv, env));
  if (!isLoopbackUrl(new URL(redirectUri))) {
    throw new ConsentError(
      'not_loopback',
      `Google sends the consent only back to a loopback address, not ${new URL(redirectUri).host}: open the API on 127.0.0.1 ` +
        '(an SSH tunnel works), or run `drive-vault auth google` on this host',
    );
  }
  const state = randomBytes(32).toString('base64url');
  const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
  const authUrl = client.generateAuthUrl({
    access_type: 'offline',
    prompt: 'consent',
    scope: [DRIVE_READONLY_SCOPE],
    state,
    code_challenge: codeChallenge,
    code_challenge_method: googleAuthLibrary.CodeChallengeMethod.S256,
    redirect_uri: redirectUri,
  });
  const expiresAt = pending.add(state, { codeVerifier, redirectUri });
  return { authUrl, state, redirectUri, expiresAt: new Date(expiresAt).toISOString() };
}

/**
 * Answers Google's redirect: the state must be one this process began and not yet answered (else nothing is
 * exchanged), then the code and the PKCE verifier are exchanged for tokens at the token endpoint, and the refresh
 * token is stored encrypted. A consent by another Google user than the one the catalog holds the Drive of is refused:
 * the next sync would see every file gone.
 */
export async function completeConsent(deps: ConsentDeps, pending: PendingConsents, answer: ConsentAnswer): Promise<ConnectedAccount> {
  const { config, catalog, logger } = deps;
  const env = deps.env ?? process.env;
  const account = config.account;
  const consent = pending.take(answer.state);
  if (!consent) {
    throw new ConsentError('invalid_state', 'unknown, expired or already used state: start the connection again');
  }
  if (answer.error) throw new ConsentError('consent_refused', `Google did not grant access: ${answer.error}`);
  if (!answer.code) throw new ConsentError('missing_code', "Google's answer has no authorization code");
  const client = configProblem(() => consentClient(config, env));
  const key = configProblem(() => tokenKeyFromEnv(config.google.tokenKeyEnv, env));
  let tokens: googleAuthLibrary.Credentials;
  try {
    ({ tokens } = await client.getToken({ code: answer.code, codeVerifier: consent.codeVerifier, redirect_uri: consent.redirectUri }));
  } catch (err) {
    const refusal = tokenRefusalOf(err) ?? (err as { response?: { data?: { error?: string } } }).response?.data?.error;
    if (refusal) throw new ConsentError('code_refused', `Google refused the authorization code (${refusal}): start the connection again`);
    throw new ConsentError('google_unreachable', `the token endpoint did not answer: ${(err as Error).message}`, 502);
  }
  if (!tokens.refresh_token) {
    throw new ConsentError(
      'no_refresh_token',
      'Google gave no refresh token: remove drive-vault at https://myaccount.google.com/permissions and connect again',
    );
  }
  const scope = tokens.scope ?? '';
  if (!scope.split(' ').some((s) => READ_SCOPES.includes(s))) {
    throw new ConsentError(
      'scope_not_granted',
      `Google granted "${scope}", not ${DRIVE_READONLY_SCOPE}: allow reading Drive on the consent page`,
    );
  }
  client.setCredentials({ access_token: tokens.access_token, expiry_date: tokens.expiry_date });
  const googleUser = await consentingUser(client, config.google.apiRootUrl);
  await checkSameDriveOwner(config, catalog, env, googleUser);
  await checkNotAnotherAccount(deps.otherAccounts ?? [], env, googleUser);
  const storedAt = new Date().toISOString();
  const clientId = config.google.clientId!;
  const sealed = sealSecret(key, tokens.refresh_token, refreshTokenContext(account, clientId));
  saveGoogleToken(catalog, { account, clientId, sealed, scope, googleUser, storedAt });
  logger.info({ event: 'google.connected', account, googleUser, scope }, 'Google account connected');
  return { account, googleUser, scope, storedAt };
}

/**
 * Another Google user's token would make the next sync see every file of the backup as gone (and trash them): the
 * consenting user must be the one whose Drive the catalog holds. That user is the stored token's, else the environment
 * token's (a catalog made with GOOGLE_REFRESH_TOKEN). A catalog that holds files of a user nobody can name refuses.
 */
async function checkSameDriveOwner(config: Config, catalog: Catalog, env: NodeJS.ProcessEnv, googleUser: string | null): Promise<void> {
  const owner = storedGoogleToken(catalog, config.account)?.googleUser ?? (await environmentTokenUser(config, env));
  if (owner && owner === googleUser) return;
  if (owner) {
    throw new ConsentError(
      'other_user',
      `the catalog holds the Drive of ${owner}, and ${googleUser ?? 'a user Drive does not name'} consented: connect as ${owner}, or give ` +
        `${googleUser ?? 'that user'} a config and catalog of its own`,
      409,
    );
  }
  if (catalogHoldsFiles(catalog)) {
    throw new ConsentError(
      'owner_unknown',
      `the catalog holds a backup of a Google user this consent cannot be checked against (no token stored, and ${config.google.refreshTokenEnv} ` +
        'unset or refused): set it to a working token of that user and connect again, or give this user a config and catalog of its own',
      409,
    );
  }
}

/**
 * Two accounts of one config connected as one Google user would back up that Drive twice and the other user's not at
 * all: a consent by the user another account backs up (its stored token's, its environment token's, or its service
 * account's subject) is refused.
 */
async function checkNotAnotherAccount(others: Config[], env: NodeJS.ProcessEnv, googleUser: string | null): Promise<void> {
  if (!googleUser) return;
  for (const other of others) {
    let stored: ReturnType<typeof storedGoogleTokenInFile>;
    try {
      stored = storedGoogleTokenInFile(other.catalog.path, other.account);
    } catch (err) {
      throw new ConsentError(
        'other_account_unreadable',
        `cannot read the catalog of account ${other.account} to check it backs up another user (${(err as Error).message}): try again`,
        409,
      );
    }
    const theirs = stored?.googleUser ?? other.google.serviceAccount?.subject ?? (await environmentTokenUser(other, env).catch(() => null));
    if (theirs?.toLowerCase() === googleUser.toLowerCase()) {
      throw new ConsentError(
        'other_account',
        `${googleUser} consented, whose Drive account ${other.account} of this config backs up: connect as this account's own user`,
        409,
      );
    }
  }
}

/** The user of the environment's refresh token, when it is set and works. */
async function environmentTokenUser(config: Config, env: NodeJS.ProcessEnv): Promise<string | null> {
  const refreshToken = env[config.google.refreshTokenEnv];
  if (!refreshToken) return null;
  const client = consentClient(config, env);
  client.setCredentials({ refresh_token: refreshToken });
  return consentingUser(client, config.google.apiRootUrl).catch(() => null);
}

const catalogHoldsFiles = (catalog: Catalog) => Object.values(fileStateCounts(catalog)).some((n) => n > 0);

/** Whose Drive the new token reads; Drive's refusal (the Drive API not enabled in the project, say) ends the consent. */
async function consentingUser(client: OAuth2Client, apiRootUrl: string): Promise<string | null> {
  try {
    const about = await createDriveClient(client, apiRootUrl).about.get({ fields: 'user(emailAddress)' });
    return about.data.user?.emailAddress ?? null;
  } catch (err) {
    const failure = driveFailureOf(err);
    const why = failure ? `${failure.status} ${failure.reason}: ${failure.message}` : (err as Error).message;
    throw new ConsentError('drive_refused', `Google gave a token, but Drive refused it (${why})`, 502);
  }
}
