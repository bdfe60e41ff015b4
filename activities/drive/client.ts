import { Auth, drive_v3, google } from 'googleapis';

export interface DriveAuthOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Google's token URL in production; the emulator's `/token` in tests and the demo. */
  tokenUrl: string;
}

/** An OAuth client that refreshes its access token from the user's refresh token as needed. */
export function createOAuthClient(options: DriveAuthOptions): Auth.OAuth2Client {
  const client = new google.auth.OAuth2({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    endpoints: { oauth2TokenUrl: options.tokenUrl },
  });
  client.setCredentials({ refresh_token: options.refreshToken });
  return client;
}

/** The googleapis Drive v3 client. `rootUrl` must be given per API: the global option does not reach it. */
export function createDriveClient(auth: Auth.OAuth2Client, rootUrl: string): drive_v3.Drive {
  return google.drive({ version: 'v3', auth, rootUrl });
}
