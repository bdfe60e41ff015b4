import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalog } from '../activities/catalog/catalog';
import { type ConnectedAccount, ConsentError, PendingConsents, beginConsent } from '../activities/drive/consentFlow';
import type { Config } from '../common/config';
import { type Logger, createLogger } from '../common/logger';
import { GOOGLE_AUTH_CALLBACK_PATH, addGoogleAuthCallback, googleAuthApp } from './googleAuthRoutes';

export interface GoogleAuthFlowOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** The catalog to store the token in; by default the config's, opened (and closed) here. */
  catalog?: Catalog;
  /** Shows the consent URL to the user; by default on stderr. */
  showUrl?: (url: string) => void;
  /** How long to wait for the browser to come back (default: the ten minutes a consent is good for). */
  timeoutMs?: number;
  /** The config's other accounts, whose Google users this account may not connect as. */
  otherAccounts?: Config[];
}

/**
 * `drive-vault auth google`: listens once on 127.0.0.1 (an ephemeral port), shows the consent URL, waits for Google's
 * redirect to it, stores the refresh token encrypted in the catalog and stops listening. Rejects with a ConsentError
 * when the consent is refused or its code does not work, and when nobody comes back in time.
 */
export async function runGoogleAuthFlow(config: Config, options: GoogleAuthFlowOptions = {}): Promise<ConnectedAccount> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const catalog = options.catalog ?? Catalog.open(config.catalog.path);
  const pending = new PendingConsents();
  let settle!: (outcome: { connected: ConnectedAccount } | { error: ConsentError }) => void;
  const ended = new Promise<{ connected: ConnectedAccount } | { error: ConsentError }>((resolve) => (settle = resolve));
  const app = googleAuthApp(logger);
  addGoogleAuthCallback(
    app,
    { config, catalog, logger, env: options.env, otherAccounts: options.otherAccounts, onConsentEnded: settle },
    pending,
  );
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve(info.port)) as Server;
      server.once('error', reject);
    });
    const start = await beginConsent(config, pending, `http://127.0.0.1:${port}${GOOGLE_AUTH_CALLBACK_PATH}`, options.env);
    (options.showUrl ?? ((url) => process.stderr.write(`Open this address in a browser to connect ${config.account}:\n\n  ${url}\n\n`)))(
      start.authUrl,
    );
    const timeoutMs = options.timeoutMs ?? Date.parse(start.expiresAt) - Date.now();
    const outcome = await Promise.race([
      ended,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ConsentError('timeout', `no answer from the browser within ${Math.round(timeoutMs / 1000)} s: run it again`)),
          timeoutMs,
        );
      }),
    ]);
    if ('error' in outcome) throw outcome.error;
    return outcome.connected;
  } finally {
    clearTimeout(timer);
    if (server) await closeAfterReplies(server);
    if (!options.catalog) catalog.close();
  }
}

/** Stops listening and lets the browser's reply go out; a connection still open after a moment is cut. */
async function closeAfterReplies(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(cut);
}
