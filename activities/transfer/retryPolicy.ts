import { isGoogleCredentialsFailure } from '../drive/credentials';
import { driveFailureOf } from '../drive/errors';
import { DestinationError } from '../storage/destination';
import { CorruptDownloadError } from './hashingVerifier';
import { TransferStalledError } from './stallWatch';

export type TransferErrorClass =
  | { action: 'retry'; reason: string; message: string }
  | { action: 'retry-acknowledging-abuse'; reason: string; message: string }
  | { action: 'defer'; reason: string; message: string }
  | { action: 'fail'; reason: string; message: string };

const RETRYABLE_DRIVE_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'backendError', 'internalError']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'ECONNABORTED',
]);

/** The one place that decides what a transfer error means (DESIGN.md section 9). */
export function classifyTransferError(err: unknown): TransferErrorClass {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CorruptDownloadError) return { action: 'retry', reason: 'corruptDownload', message };
  if (err instanceof DestinationError) return { action: 'retry', reason: 'destinationError', message };
  if (err instanceof TransferStalledError) return { action: 'retry', reason: 'stalled', message };
  // Google refuses the account's credentials: no try of this file will do better until someone connects it again.
  if (isGoogleCredentialsFailure(err)) return { action: 'fail', reason: 'googleCredentials', message };
  const drive = driveFailureOf(err);
  if (drive) {
    const m = `Drive ${drive.status} ${drive.reason}: ${drive.message}`;
    if (drive.reason === 'downloadQuotaExceeded') return { action: 'defer', reason: drive.reason, message: m };
    if (drive.reason === 'cannotDownloadAbusiveFile') return { action: 'retry-acknowledging-abuse', reason: drive.reason, message: m };
    if (drive.status === 429 || drive.status >= 500 || RETRYABLE_DRIVE_REASONS.has(drive.reason))
      return { action: 'retry', reason: drive.reason, message: m };
    return { action: 'fail', reason: drive.reason === 'unknown' ? `http${drive.status}` : drive.reason, message: m };
  }
  const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code;
  if ((code && NETWORK_CODES.has(code)) || /premature close|aborted|socket hang up|terminated/i.test(message)) {
    return { action: 'retry', reason: 'network', message };
  }
  return { action: 'fail', reason: 'unexpected', message };
}

/** Truncated exponential backoff with full jitter. */
export function backoffMs(attempt: number, baseMs: number, maxMs = 60_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}
