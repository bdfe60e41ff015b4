import type { Config } from '../../common/config';
import type { Catalog } from '../catalog/catalog';
import { storedGoogleToken } from '../catalog/googleTokens';
import { type GoogleAccountKind, createGoogleAuth, googleAccountKind, serviceAccountKey } from './credentials';

export interface GoogleAccountStatus {
  /** The account's label (`account` in the config). */
  name: string;
  kind: GoogleAccountKind;
  /** OAuth: a refresh token is stored or set in the environment; service account: its key can be read. */
  connected: boolean;
  /** The token endpoint gave an access token just now. */
  tokenWorks: boolean;
  /** Why not connected, or why the token does not work. */
  error?: string;
  /** OAuth: where the refresh token comes from. */
  tokenSource?: 'catalog' | 'env';
  /** OAuth: the Google user who consented, and when (tokens from the consent only). */
  googleUser?: string;
  connectedAt?: string;
  /** Service account: the user it acts as. */
  subject?: string;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Each configured account (one today) with whether its credentials are there and whether they work, found by asking
 * the token endpoint for an access token; each try is given up after `timeoutMs` (the client tries up to 4 times).
 */
export async function googleAccountStatus(
  config: Config,
  catalog: Catalog,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<GoogleAccountStatus[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 5000;
  const kind = googleAccountKind(config);
  const status: GoogleAccountStatus = { name: config.account, kind, connected: false, tokenWorks: false };
  const stored = kind === 'oauth' ? storedGoogleToken(catalog, config.account) : undefined;
  if (kind === 'serviceAccount') {
    status.subject = config.google.serviceAccount!.subject;
    try {
      serviceAccountKey(config.google.serviceAccount!, env);
    } catch (err) {
      return [{ ...status, error: messageOf(err) }];
    }
  } else {
    if (stored) Object.assign(status, { tokenSource: 'catalog', googleUser: stored.googleUser ?? undefined, connectedAt: stored.storedAt });
    else if (env[config.google.refreshTokenEnv]) status.tokenSource = 'env';
    else return [{ ...status, error: 'not connected: run `drive-vault auth google`, or start the consent from the API' }];
  }
  status.connected = true;
  try {
    const auth = createGoogleAuth(config, { env, storedToken: () => stored, timeoutMs });
    await auth.getAccessToken();
    status.tokenWorks = true;
  } catch (err) {
    const timedOut = (err as { code?: unknown }).code === 'TimeoutError';
    status.error = timedOut ? `the token endpoint ${config.google.tokenUrl} did not answer within ${timeoutMs} ms` : messageOf(err);
  }
  return [status];
}

/**
 * googleAccountStatus at most once per `maxAgeMs` (default a minute), callers in between sharing the last answer or
 * the one in flight: a status page polled often must not ask Google for a token on every request.
 */
export function cachedGoogleAccountStatus(
  config: Config,
  catalog: Catalog,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; maxAgeMs?: number } = {},
): () => Promise<GoogleAccountStatus[]> {
  let last: { at: number; answer: Promise<GoogleAccountStatus[]> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > (options.maxAgeMs ?? 60_000)) {
      last = { at: Date.now(), answer: googleAccountStatus(config, catalog, options) };
    }
    return last.answer;
  };
}
