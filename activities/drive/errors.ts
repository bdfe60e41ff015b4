import { z } from 'zod';

const driveErrorBody = z.object({
  error: z.object({
    code: z.number(),
    message: z.string(),
    errors: z.array(z.object({ reason: z.string(), domain: z.string().optional(), message: z.string().optional() })).optional(),
  }),
});

export interface DriveFailure {
  status: number;
  /** Drive's reason (`userRateLimitExceeded`, `notFound`, ...), or `unknown` when the reply had none. */
  reason: string;
  message: string;
}

function parseBody(data: unknown): z.infer<typeof driveErrorBody> | undefined {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const parsed = driveErrorBody.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Reads status and reason from a googleapis (gaxios) error. With `responseType: 'stream'` the body is not
 * parsed for us: it arrives as the error's message text.
 */
export function driveFailureOf(err: unknown): DriveFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: number; message?: string; response?: { status?: number; data?: unknown } };
  const status = e.response?.status ?? e.status;
  if (typeof status !== 'number') return undefined;
  const body = parseBody(e.response?.data) ?? parseBody(e.message);
  return {
    status,
    reason: body?.error.errors?.[0]?.reason ?? 'unknown',
    message: body?.error.message ?? e.message ?? `HTTP ${status}`,
  };
}

const RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded']);

/** Drive asking to slow down: a 429, or a 403 whose reason is a rate limit (other 403s are about the file). */
export function isRateLimited(failure: DriveFailure): boolean {
  return failure.status === 429 || (failure.status === 403 && RATE_LIMIT_REASONS.has(failure.reason));
}
