import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Catalog } from '../activities/catalog/catalog';
import { type ConnectedAccount, ConsentError, PendingConsents, beginConsent, completeConsent } from '../activities/drive/consentFlow';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { errorHandler, validationHook } from './errors';
import { reachedUrl } from './router';

/**
 * Connecting a Google account over HTTP: `POST /start` gives the consent URL, Google sends the browser back to
 * `GET /callback`. Mounted by the API at `/api/auth/google`. The browser carries no bearer token to the callback, so
 * the API leaves that one path open (`GOOGLE_AUTH_OPEN_PATHS`): the single-use state that only `/start` (behind the
 * token) hands out is what protects it, and nothing is exchanged without it.
 */

export interface GoogleAuthRouteDeps {
  config: Config;
  catalog: Catalog;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** The other accounts of the config, whose users this account may not connect as. */
  otherAccounts?: Config[];
  /** The consents begun and not yet answered; one set per process. */
  pending?: PendingConsents;
  /** Told when a begun consent ends, stored or failed (not for requests with an unknown state). */
  onConsentEnded?: (outcome: { connected: ConnectedAccount } | { error: ConsentError }) => void;
}

/** The callback's path below the mount point; the API must not ask the browser for the bearer token there. */
export const GOOGLE_AUTH_CALLBACK_PATH = '/callback';
/** Full paths, as mounted at `/api/auth/google`, that are open (no bearer token). */
export const GOOGLE_AUTH_OPEN_PATHS = [`/api/auth/google${GOOGLE_AUTH_CALLBACK_PATH}`];

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const errorResponse = (description: string) => ({ content: { 'application/json': { schema: errorBody } }, description });

export const googleAuthStartRoute = createRoute({
  method: 'post',
  path: '/start',
  summary: 'Start connecting the Google account (OAuth consent with PKCE)',
  description:
    'Returns the consent URL to open in a browser. Google then redirects to /callback on the same host, which must be ' +
    'a loopback address (127.0.0.1, localhost or [::1]). The state is good for one callback within ten minutes.',
  responses: {
    200: {
      content: {
        'application/json': {
          schema: z.object({
            authUrl: z.url(),
            state: z.string(),
            redirectUri: z.url(),
            expiresAt: z.iso.datetime(),
          }),
        },
      },
      description: 'The consent to open',
    },
    400: errorResponse('The API is not reached on a loopback address'),
    409: errorResponse('The account uses a service account, or a secret or the token key is not set'),
  },
});

export const googleAuthCallbackRoute = createRoute({
  method: 'get',
  path: GOOGLE_AUTH_CALLBACK_PATH,
  summary: "Google's redirect after the consent (open: protected by the single-use state)",
  security: [],
  request: {
    // Google adds parameters of its own (authuser, prompt, hd, iss): they are ignored, not refused.
    query: z.object({
      state: z.string().min(1).max(512),
      code: z.string().min(1).max(4096).optional(),
      error: z.string().min(1).max(256).optional(),
      scope: z.string().max(4096).optional(),
    }),
  },
  responses: {
    200: { content: { 'text/html': { schema: z.string() } }, description: 'The token is stored, encrypted' },
    400: errorResponse('Unknown, expired or used state; consent refused; code refused'),
    409: errorResponse('Another Google user than the one whose Drive the catalog holds; or not configured'),
    502: errorResponse('Google did not answer'),
  },
});

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/**
 * An app for the consent routes, answering bad input and failures in the API's error shape with the API's own handlers:
 * mounted in the API, or alone on the CLI's loopback listener.
 */
export function googleAuthApp(logger: Logger): OpenAPIHono {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.onError(errorHandler(logger));
  return app;
}

/** Registers the callback on `app` (the CLI's loopback listener serves only this one). */
export function addGoogleAuthCallback(app: OpenAPIHono, deps: GoogleAuthRouteDeps, pending: PendingConsents): void {
  app.openapi(googleAuthCallbackRoute, async (c) => {
    const answer = c.req.valid('query');
    try {
      const connected = await completeConsent(deps, pending, answer);
      deps.onConsentEnded?.({ connected });
      const who = connected.googleUser ? ` (${escapeHtml(connected.googleUser)})` : '';
      return c.html(
        `<!doctype html><meta charset="utf-8"><title>drive-vault</title>` +
          `<p>Google account <b>${escapeHtml(connected.account)}</b>${who} connected. You can close this tab.</p>`,
        200,
      );
    } catch (err) {
      if (!(err instanceof ConsentError)) throw err;
      deps.logger.warn(
        { event: 'google.consent_failed', account: deps.config.account, code: err.code, err: err.message },
        'consent failed',
      );
      if (err.code !== 'invalid_state') deps.onConsentEnded?.({ error: err });
      return c.json({ error: { code: err.code, message: err.message } }, err.status);
    }
  });
}

/** The sub-app the API mounts at `/api/auth/google`: `app.route('/api/auth/google', googleAuthRoutes(deps))`. */
export function googleAuthRoutes(deps: GoogleAuthRouteDeps): OpenAPIHono {
  const pending = deps.pending ?? new PendingConsents();
  const app = googleAuthApp(deps.logger);
  app.openapi(googleAuthStartRoute, async (c) => {
    // The callback is this app's own, on the host, port and account prefix the caller reached: Google sends the browser there.
    const redirectUri = new URL(`.${GOOGLE_AUTH_CALLBACK_PATH}`, reachedUrl(c)).href;
    try {
      return c.json(await beginConsent(deps.config, pending, redirectUri, deps.env), 200);
    } catch (err) {
      if (!(err instanceof ConsentError) || (err.status !== 400 && err.status !== 409)) throw err;
      return c.json({ error: { code: err.code, message: err.message } }, err.status);
    }
  });
  addGoogleAuthCallback(app, deps, pending);
  return app;
}
