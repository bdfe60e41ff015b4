import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import { validationHook } from './errors';

export type ApiEnv = { Variables: RequestIdVariables };

/** A router of the API: its routes' zod schemas validate requests (bad input goes to the one error handler) and make the OpenAPI document. */
export const apiRouter = () => new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
export type ApiRouter = ReturnType<typeof apiRouter>;

/** What the accounts app adds to the environment of an account's app it hands a request to (api/accountsApp.ts). */
export interface ForwardedEnv {
  /** The URL the caller asked for: the account's app sees it without the account's prefix. */
  reachedUrl?: string;
}

/** The URL the caller asked for, prefix and all (a Google consent's redirect must come back to it). */
export const reachedUrl = (c: Context): string => (c.env as ForwardedEnv | undefined)?.reachedUrl ?? c.req.url;

/** Who asks the protected routes: the OpenAPI document names it on each. */
export const BEARER = [{ bearer: [] }];
