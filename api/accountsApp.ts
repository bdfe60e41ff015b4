import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { requestId } from 'hono/request-id';
import { type ApiApp, APP_OPEN_PATHS, createApiApp, documentInfo, documentRoute, guardRequests } from './app';
import { OPEN_PATHS } from './auth';
import { DASHBOARD_PATHS } from './dashboardRoutes';
import type { Logger } from '../common/logger';
import type { ApiDeps } from './deps';
import { ApiError, errorHandler, notFound } from './errors';
import { GOOGLE_AUTH_CALLBACK_PATH } from './googleAuthRoutes';
import { type ApiEnv, BEARER, type ForwardedEnv, apiRouter } from './router';
import { errorResponses, googleAccountSchema } from './schemas';

/** Where an account's routes are: `/api/status` of account `ana@example.org` is `/api/accounts/ana%40example.org/status`. */
export const accountPrefix = (account: string) => `/api/accounts/${encodeURIComponent(account)}`;

const CALLBACK_PATH = new RegExp(`^/api/accounts/([^/]+)/auth/google${GOOGLE_AUTH_CALLBACK_PATH}$`);
/** Open, and the same for every account: served by the first account's app, unprefixed. */
const SHARED_OPEN_PATHS: ReadonlySet<string> = new Set([...OPEN_PATHS, ...DASHBOARD_PATHS]);

const decodeLabel = (encoded: string) => {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
};

const accountsRoute = createRoute({
  method: 'get',
  path: '/api/accounts',
  summary: "The config's Google accounts, each with its Temporal namespace, where its routes are and its Google connection",
  security: BEARER,
  responses: {
    200: {
      description: 'the accounts, in the order of the config',
      content: {
        'application/json': {
          schema: z.object({
            items: z.array(
              z.object({
                account: z.string().openapi({ example: 'ana@example.org' }),
                namespace: z.string().openapi({ example: 'drive-vault-ana-example-org' }),
                path: z.string().openapi({ description: "the prefix of the account's routes", example: '/api/accounts/ana%40example.org' }),
                google: googleAccountSchema,
              }),
            ),
          }),
        },
      },
    },
    ...errorResponses(),
  },
});

const DESCRIPTION =
  "Each account of the config has its own routes: every path below that starts with /api/, but /api/health, /api/version and /api/accounts, is an account's route, served at /api/accounts/{account}/... with the account's label URL-encoded (GET /api/status of account ana@example.org is GET /api/accounts/ana%40example.org/status). " +
  'GET /api/accounts lists the accounts. With one account in the config, its routes also answer as listed, unprefixed; ' +
  'with several, an unprefixed account route is a 400 account_required.';

type Document = ReturnType<ApiApp['getOpenAPI31Document']>;

/** One OpenAPI document of the accounts app's own routes and the account routes. */
function mergedDocument(own: Document, account: Document): Document {
  const components: Record<string, object> = { ...account.components };
  for (const [kind, entries] of Object.entries(own.components ?? {})) components[kind] = { ...components[kind], ...entries };
  return { ...account, info: own.info, paths: { ...account.paths, ...own.paths }, components };
}

/**
 * The API of every account of a config, in one process. It makes the checks of guardRequests once (request log, rate
 * limit, token, body limit), lists the accounts at /api/accounts and hands each request on to its account's app
 * (createApiApp, unguarded) with the path that app knows: `/api/accounts/{account}/status` as `/api/status`. Health,
 * version, /metrics and the dashboard are the first account's app's, unprefixed; with one account, so is everything.
 */
export function createAccountsApp(accounts: ApiDeps[], logger: Logger) {
  const [first] = accounts;
  if (!first) throw new Error('the API needs at least one account');
  const apps = new Map<string, ApiApp>(accounts.map((deps) => [deps.config.account, createApiApp(deps, { guarded: false })]));
  const shared = apps.get(first.config.account)!;
  const names = [...apps.keys()].join(', ');
  const isAccountCallback = (path: string) => {
    const encoded = CALLBACK_PATH.exec(path)?.[1];
    return encoded !== undefined && apps.has(decodeLabel(encoded) ?? '');
  };
  const open = apps.size === 1 ? APP_OPEN_PATHS : SHARED_OPEN_PATHS;

  const app = apiRouter();
  // The process's logger, not an account's: a request line is every account's until it reaches one.
  app.onError(errorHandler(logger));
  app.notFound(notFound);
  app.use(requestId());
  guardRequests(app, { ...first, logger }, (path) => open.has(path) || isAccountCallback(path));

  app.openapi(accountsRoute, async (c) => {
    const items = await Promise.all(
      accounts.map(async ({ config }) => ({
        account: config.account,
        namespace: config.temporal.namespace,
        path: accountPrefix(config.account),
        google: (await apps.get(config.account)!.googleAccounts())[0]!,
      })),
    );
    return c.json({ items }, 200);
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  let document: Document | undefined;
  app.openapi(documentRoute, (c) => {
    document ??= mergedDocument(app.getOpenAPI31Document(documentInfo(DESCRIPTION)), shared.getOpenAPI31Document(documentInfo()));
    return c.json(document as unknown as Record<string, unknown>, 200);
  });

  app.all('*', (c) => {
    const pathname = new URL(c.req.url).pathname;
    // Told apart on the decoded segments, as the account's app routes them: `/%61pi/files` is `/api/files`.
    const raw = pathname.split('/');
    const segments = raw.map(decodeLabel);
    if (segments.includes(undefined)) throw new ApiError(400, 'bad_request', 'the path holds a malformed percent-encoding');
    const path = segments.join('/');
    if (path === '/api/accounts') return notFound(c);
    if (segments[1] === 'api' && segments[2] === 'accounts') {
      const account = segments[3]!;
      const target = apps.get(account);
      if (!target) throw new ApiError(404, 'unknown_account', `no account "${account}" in the config; it lists ${names}`);
      return forward(c, target, ['/api', ...raw.slice(4)].join('/'));
    }
    if (apps.size > 1 && (path === '/api' || path.startsWith('/api/')) && !SHARED_OPEN_PATHS.has(path)) {
      throw new ApiError(
        400,
        'account_required',
        `the config lists ${apps.size} accounts (${names}): ask /api/accounts/{account}${path.slice('/api'.length)}`,
      );
    }
    return forward(c, shared, pathname);
  });
  return Object.assign(app, {
    idle: () => Promise.all([...apps.values()].map((a) => a.idle())).then(() => undefined),
  });
}

/** The request, at `pathname`, to the account's app, which answers it; the request id stays the same. */
function forward(c: Context<ApiEnv>, target: ApiApp, pathname: string): Response | Promise<Response> {
  const url = new URL(c.req.url);
  url.pathname = pathname;
  const { raw } = c.req;
  const headers = new Headers(raw.headers);
  headers.set('x-request-id', c.get('requestId'));
  const init = { method: raw.method, headers, body: raw.body, signal: raw.signal, duplex: 'half' };
  const env: ForwardedEnv = { ...(c.env as object), reachedUrl: c.req.url };
  return target.fetch(new Request(url, init as RequestInit), env);
}

export type AccountsApp = ReturnType<typeof createAccountsApp>;
