/** Drive v3 error replies: `{ error: { code, message, errors: [{ domain, reason, message }] } }`. */
export class DriveApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly domain = 'global',
    readonly location?: string,
    readonly locationType: 'parameter' | 'header' = 'parameter',
  ) {
    super(message);
  }

  body(): string {
    const detail: Record<string, string> = { domain: this.domain, reason: this.reason, message: this.message };
    if (this.location) {
      detail.location = this.location;
      detail.locationType = this.locationType;
    }
    return JSON.stringify({ error: { code: this.status, message: this.message, errors: [detail] } });
  }
}

/** The canonical (status, domain, message) of each reason the emulator can answer, for fault rules. */
export const reasonDefaults: Record<string, { status: number; domain: string; message: string }> = {
  userRateLimitExceeded: { status: 403, domain: 'usageLimits', message: 'User rate limit exceeded.' },
  rateLimitExceeded: { status: 403, domain: 'usageLimits', message: 'Rate limit exceeded.' },
  downloadQuotaExceeded: { status: 403, domain: 'global', message: 'The download quota for this file has been exceeded.' },
  cannotDownloadAbusiveFile: {
    status: 403,
    domain: 'global',
    message: 'This file has been identified as malware or spam and cannot be downloaded.',
  },
  fileNotDownloadable: {
    status: 403,
    domain: 'global',
    message: 'Only files with binary content can be downloaded. Use Export with Docs Editors files.',
  },
  fileNotExportable: { status: 403, domain: 'global', message: 'Export only supports Docs Editors files.' },
  exportSizeLimitExceeded: { status: 403, domain: 'global', message: 'This file is too large to be exported.' },
  notFound: { status: 404, domain: 'global', message: 'File not found.' },
  authError: { status: 401, domain: 'global', message: 'Invalid Credentials' },
  invalid: { status: 400, domain: 'global', message: 'Invalid Value' },
  badRequest: { status: 400, domain: 'global', message: 'Bad Request' },
  required: { status: 400, domain: 'global', message: 'Required' },
  backendError: { status: 500, domain: 'global', message: 'Backend Error' },
};

export function errorForReason(reason: string, status?: number, message?: string): DriveApiError {
  const d = reasonDefaults[reason];
  if (!d && status === undefined) throw new Error(`unknown Drive error reason "${reason}" and no status given`);
  return new DriveApiError(status ?? d.status, reason, message ?? d?.message ?? reason, d?.domain ?? 'global');
}

export const invalidParameter = (name: string, message = `Invalid Value`) => new DriveApiError(400, 'invalid', message, 'global', name);
export const fileNotFound = (id: string) => new DriveApiError(404, 'notFound', `File not found: ${id}.`, 'global', 'fileId');
