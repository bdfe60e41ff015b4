// The Drive module alone: the googleapis root loads every Google API, about 100 MB of a worker's memory.
import { drive_v3 } from 'googleapis/build/src/apis/drive/v3';
import { OAuth2Client } from 'googleapis-common';
import type { DrivePacer } from './pacer';

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
 * The googleapis Drive v3 client. `rootUrl` must be given per API: the global option does not reach it.
 * Its own retries (gaxios: GET on 408, 429 and 5xx, three times) are off: the transfer retry policy and
 * Temporal's activity retries decide, and count, every try.
 */
export function createDriveClient(auth: OAuth2Client, rootUrl: string): drive_v3.Drive {
  return new drive_v3.Drive({ auth, rootUrl, retry: false });
}
