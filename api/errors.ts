import { z } from '@hono/zod-openapi';
import { ScheduleNotFoundError, ServiceError, WorkflowExecutionAlreadyStartedError, isGrpcServiceError } from '@temporalio/client';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import type { Logger } from '../common/logger';

/** Every error the API answers, whatever went wrong: `{ "error": { "code", "message" } }`. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'bad_request' }),
      message: z.string().openapi({ example: 'query.limit: Too big: expected number to be <=500' }),
    }),
  })
  .openapi('Error');

/** An error the API means to answer with: its status, a code for programs and a message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The code of an HTTP error Hono or a middleware raised (bearer auth, body limit, malformed JSON, media type). */
const CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export const errorResponse = (c: Context, status: ContentfulStatusCode, code: string, message: string) =>
  c.json({ error: { code, message } }, status);

/** A zod failure in the words of the request: `body.overwrite: Invalid input: expected boolean, received string`. */
export function describeValidation(error: ZodError, target: string): string {
  const where = target === 'json' ? 'body' : target === 'param' ? 'path' : target;
  return error.issues
    .map((issue) => {
      const field = [where, ...issue.path.map(String)].join('.');
      if (issue.code === 'unrecognized_keys') return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/** The OpenAPIHono hook every route's validators share: bad input becomes a 400 through the one error handler. */
export const validationHook = (result: { success: boolean; error?: unknown; target: string }) => {
  if (!result.success) throw new ApiError(400, 'bad_request', describeValidation(result.error as ZodError, result.target));
};

/** Temporal's server could not be reached or did not answer in time: the request may work again shortly. */
function temporalUnavailable(err: unknown): boolean {
  const grpc = isGrpcServiceError(err) ? err : err instanceof ServiceError && isGrpcServiceError(err.cause) ? err.cause : undefined;
  // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED.
  return grpc !== undefined && (grpc.code === 14 || grpc.code === 4);
}

/** The API's one error handler: every failure becomes the JSON error body; only the unexpected are a 500, and logged. */
export function errorHandler(logger: Logger): ErrorHandler {
  return (err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err.status, err.code, err.message);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      const code = CODES[status] ?? `http_${status}`;
      // bearer-auth raises its errors with a challenge header and no message: say what it wants.
      const challenge = err.getResponse().headers.get('WWW-Authenticate');
      if (challenge) c.header('WWW-Authenticate', challenge);
      const message =
        err.message ||
        (challenge
          ? status === 401
            ? 'a valid bearer token is needed: Authorization: Bearer <token>'
            : 'the Authorization header must be "Bearer <token>"'
          : code.replaceAll('_', ' '));
      return errorResponse(c, status, code, message);
    }
    if (err instanceof ScheduleNotFoundError) {
      return errorResponse(
        c,
        404,
        'schedule_not_created',
        "the schedule does not exist yet: the catalog host's worker creates it when it starts",
      );
    }
    if (err instanceof WorkflowExecutionAlreadyStartedError) return errorResponse(c, 409, 'already_started', err.message);
    if (temporalUnavailable(err)) {
      logger.warn({ event: 'api.temporal_unavailable', requestId: c.get('requestId'), err }, 'Temporal did not answer');
      return errorResponse(c, 503, 'temporal_unavailable', 'the Temporal server did not answer; try again shortly');
    }
    logger.error({ event: 'api.error', requestId: c.get('requestId'), method: c.req.method, path: c.req.path, err }, 'request failed');
    return errorResponse(c, 500, 'internal', `internal error; the API's log has it under request id ${c.get('requestId')}`);
  };
}

export const notFound: NotFoundHandler = (c) => errorResponse(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`);
