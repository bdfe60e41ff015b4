import { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestIdVariables } from 'hono/request-id';
import { validationHook } from './errors';

export type ApiEnv = { Variables: RequestIdVariables };

/** A router of the API: its routes' zod schemas validate requests (bad input goes to the one error handler) and make the OpenAPI document. */
export const apiRouter = () => new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });

/** Who asks the protected routes: the OpenAPI document names it on each. */
export const BEARER = [{ bearer: [] }];
