import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { type Config, ConfigError } from '../common/config';

/**
 * The API's paths answered without the token (the dashboard's static files are the only others). Everything else,
 * sub-apps mounted later included, needs it: a new route is closed until it is named here.
 */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/api/health', '/api/version', '/openapi.json']);

/** What RFC 6750 allows in a bearer token, as hono/bearer-auth checks it: a token outside it could never be sent. */
const TOKEN_CHARACTERS = /^[A-Za-z0-9._~+/-]+=*$/;
const MIN_TOKEN_LENGTH = 16;

/** The API's bearer token, from the variable `api.tokenEnv` names; a missing or weak one stops the start, naming it. */
export function apiToken(config: Pick<Config, 'api'>, env: NodeJS.ProcessEnv = process.env): string {
  const variable = config.api.tokenEnv;
  const token = env[variable];
  const howTo = `(generate one with: openssl rand -hex 32)`;
  if (!token) throw new ConfigError(`environment variable ${variable} is not set: the API needs a bearer token there ${howTo}`);
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_CHARACTERS.test(token)) {
    throw new ConfigError(
      `environment variable ${variable} does not hold a usable bearer token: at least ${MIN_TOKEN_LENGTH} characters of ` +
        `letters, digits and . _ ~ + / - ${howTo}`,
    );
  }
  return token;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Bearer auth on every path but the open ones. The token given and the API's are compared as SHA-256 digests, in
 * constant time (equal lengths whatever was sent), as hono's own compare does; here synchronously, since WebCrypto's
 * digest goes through the thread pool twice per request, which costs the status its tail latency under load.
 */
export function requireToken(token: string, isOpen: (path: string) => boolean = (path) => OPEN_PATHS.has(path)): MiddlewareHandler {
  const expected = sha256(token);
  const auth = bearerAuth({ verifyToken: (given) => timingSafeEqual(sha256(given), expected) });
  return (c, next) => (isOpen(c.req.path) ? next() : auth(c, next));
}
