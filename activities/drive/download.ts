import type { Readable } from 'node:stream';
import type { drive_v3 } from 'googleapis';
import type { OAuth2Client } from 'googleapis-common';
import { driveFailureOf } from './errors';

/**
 * Opens a binary file's bytes (`alt=media`), from `offset` on when resuming. `signal` aborts the request,
 * and the body while it streams. It goes straight through the Drive client's OAuth client (its token, its
 * interceptors, no retries of its own): the generated files.get builds the same request for about 0.1 ms more
 * CPU, which a small file pays on every download.
 */
export async function openDriveDownload(
  drive: drive_v3.Drive,
  fileId: string,
  options: { acknowledgeAbuse?: boolean; offset?: number; signal?: AbortSignal } = {},
): Promise<Readable> {
  const { auth, rootUrl } = drive.context._options as { auth: OAuth2Client; rootUrl: string };
  const query = options.acknowledgeAbuse ? 'alt=media&supportsAllDrives=true&acknowledgeAbuse=true' : 'alt=media&supportsAllDrives=true';
  const res = await auth.request<Readable>({
    url: `${rootUrl.replace(/\/+$/, '')}/drive/v3/files/${encodeURIComponent(fileId)}?${query}`,
    responseType: 'stream',
    headers: options.offset ? { Range: `bytes=${options.offset}-` } : {},
    signal: options.signal,
    retry: false,
  });
  return res.data;
}

/**
 * Opens a Workspace file's export. Drive caps files.export at 10 MB; past that it answers
 * exportSizeLimitExceeded and the file's exportLinks serve the same export without the cap.
 */
export async function openDriveExport(drive: drive_v3.Drive, fileId: string, mimeType: string, signal?: AbortSignal): Promise<Readable> {
  try {
    const res = await drive.files.export({ fileId, mimeType }, { responseType: 'stream', signal });
    return res.data as unknown as Readable;
  } catch (err) {
    if (driveFailureOf(err)?.reason !== 'exportSizeLimitExceeded') throw err;
  }
  const meta = await drive.files.get({ fileId, fields: 'exportLinks', supportsAllDrives: true }, { signal });
  const link = meta.data.exportLinks?.[mimeType];
  if (!link)
    throw new Error(`export of ${fileId} as ${mimeType} is over Drive's 10 MB limit and the file has no export link for that type`);
  const auth = drive.context._options.auth as OAuth2Client;
  const res = await auth.request<Readable>({ url: link, responseType: 'stream', signal });
  return res.data;
}
