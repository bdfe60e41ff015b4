// The Drive module alone: the googleapis root loads every Google API, about 100 MB of a worker's memory.
import { drive_v3 } from 'googleapis/build/src/apis/drive/v3';
import { OAuth2Client } from 'googleapis-common';
import type { AccountMetrics } from '../../common/metrics';
import { driveFailureOf, isRateLimited } from './errors';
import type { DrivePacer } from './pacer';

/** The counters of the requests a Drive client sends. */
export type DriveRequestMetrics = Pick<AccountMetrics, 'driveRequests' | 'driveRateLimited'>;

export interface DriveAuthOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Google's token URL in production; the emulator's `/token` in tests and the demo. */
  tokenUrl: string;
  /** Paces every request this client sends: the Drive client's, the export links' and the token refreshes. */
  pacer?: DrivePacer;
}

/** An OAuth client that refreshes its access token from the user's refresh token as needed. */
export function createOAuthClient(options: DriveAuthOptions): OAuth2Client {
  const client = new OAuth2Client({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    endpoints: { oauth2TokenUrl: options.tokenUrl },
  });
  client.setCredentials({ refresh_token: options.refreshToken });
  if (options.pacer) paceRequests(client, options.pacer);
  return client;
}

/** Every request of the client (the Drive client's go through its transporter) waits for the pacer first. */
export function paceRequests(client: OAuth2Client, pacer: DrivePacer): void {
  client.transporter.interceptors.request.add({
    resolved: async (request) => {
      await pacer.take(request.signal as AbortSignal | undefined);
      return request;
    },
  });
}

/**
 * Counts each reply as it arrives, through the transporter every request of the client goes through. A reply that
 * is an error rejects with its status and body (read into text even for a streamed download), which name the rate
 * limit; the error goes on to the caller unchanged.
 */
export function countReplies(client: OAuth2Client, metrics: DriveRequestMetrics): void {
  client.transporter.interceptors.response.add({
    resolved: async (response) => {
      metrics.driveRequests.inc({ status: String(response.status) });
      return response;
    },
    rejected: (err) => {
      const failure = driveFailureOf(err);
      metrics.driveRequests.inc({ status: failure ? String(failure.status) : 'error' });
      if (failure && isRateLimited(failure)) metrics.driveRateLimited.inc({ reason: failure.reason });
      throw err;
    },
  });
}

/**
 * The googleapis Drive v3 client. `rootUrl` must be given per API: the global option does not reach it.
 * Its own retries (gaxios: GET on 408, 429 and 5xx, three times) are off: the transfer retry policy and
 * Temporal's activity retries decide, and count, every try.
 */
export function createDriveClient(auth: OAuth2Client, rootUrl: string): drive_v3.Drive {
  return new drive_v3.Drive({ auth, rootUrl, retry: false });
}
