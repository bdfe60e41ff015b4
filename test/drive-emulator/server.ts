import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentSize, readContent } from './content';
import { DriveApiError, errorForReason, invalidParameter } from './errors';
import { EXPORT_LIMIT_BYTES, exportFormats, renderExport } from './exports';
import { type ActiveFault, FaultTable, type LoggedRequest, corruptBytes, throttleBytes } from './faults';
import { type FieldMask, applyFieldMask, parseFieldMask } from './fields';
import { compileQuery } from './query';
import { fileResource, knownFileField, knownListField, mimeForExportFormat } from './resources';
import { DriveStore, type EmuFile, FOLDER, SHORTCUT, isExportable, isWorkspaceType } from './store';
import { handleAdmin } from './admin';
import { type OAuthClientConfig, OAuthEndpoints, type ServiceAccountGrant } from './oauth';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | Readable | object;
}

type Query = URLSearchParams;

export type { OAuthClientConfig, ServiceAccountGrant } from './oauth';

export interface DriveEmulatorOptions {
  host?: string;
  port?: number;
  /** Seeds ids and the fault generator, so runs repeat. */
  seed?: string;
  /** The OAuth client the consent and token endpoints accept, and a refresh token that works from the start. */
  oauth?: OAuthClientConfig;
  /** Service accounts the token endpoint accepts JWT bearer assertions from, with their domain-wide delegation. */
  serviceAccounts?: ServiceAccountGrant[];
  /** How long issued access tokens work; after that the API answers 401 authError. Default 3600. */
  accessTokenLifetimeSeconds?: number;
}

const json = (status: number, body: object): Reply => ({ status, body });
const bool = (q: Query, name: string, fallback = false) => {
  const v = q.get(name);
  if (v === null) return fallback;
  if (v !== 'true' && v !== 'false') throw invalidParameter(name);
  return v === 'true';
};
const intParam = (q: Query, name: string, fallback: number, max: number) => {
  const v = q.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalidParameter(name, `Invalid value '${v}'. Values must be within the range: [1, ${max}]`);
  return Math.min(n, max);
};
const encodeToken = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
function decodeToken<T>(token: string, check: (t: T) => boolean): T {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as T;
    if (check(t)) return t;
  } catch {
    // fall through to the Drive-shaped error
  }
  throw invalidParameter('pageToken', 'Invalid Value');
}
const masked = (q: Query, body: object, fallback: string, known: (p: string) => boolean) => {
  const mask: FieldMask = parseFieldMask(q.get('fields') ?? fallback);
  return applyFieldMask(body, mask, known) as object;
};

/**
 * An HTTP server that answers the unmodified googleapis Drive v3 client like Google does:
 * same paths, fields, paging, errors and limits, plus an admin API for tests (see README.md).
 */
export class DriveEmulator {
  readonly store: DriveStore;
  readonly faults: FaultTable;
  readonly requests: LoggedRequest[] = [];
  baseUrl = '';
  private server?: Server;
  /** Issued access tokens: when each stops working (ms since epoch), and the refresh token it was issued for. */
  private readonly accessTokens = new Map<string, { expiresAt: number; grant?: string }>();
  /** Google's OAuth endpoints: consent, token, revoke. */
  readonly oauth: OAuthEndpoints;
  /**
   * Each listing's sorted matches, kept until the store next changes (every mutation writes a change): a client
   * pages through one result, and matching and sorting the whole store again for every page made listing a large
   * Drive quadratic (0.6 s a page at 100,000 files).
   */
  private listings = { revision: -1, byQuery: new Map<string, EmuFile[]>() };

  constructor(readonly options: DriveEmulatorOptions = {}) {
    this.store = new DriveStore(options.seed);
    this.faults = new FaultTable();
    this.oauth = new OAuthEndpoints(options.oauth, options.serviceAccounts ?? [], {
      issueAccessToken: (grant) => this.issueAccessToken(grant),
      revokeAccessTokensOf: (grant) => {
        for (const [token, issued] of this.accessTokens) if (issued.grant === grant) this.accessTokens.delete(token);
      },
      lifetimeSeconds: () => this.tokenLifetimeSeconds(),
    });
  }

  static async start(options: DriveEmulatorOptions = {}): Promise<DriveEmulator> {
    const emulator = new DriveEmulator(options);
    await emulator.listen();
    return emulator;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve);
    });
    this.server = server;
    const { address, port } = server.address() as AddressInfo;
    this.baseUrl = `http://${address}:${port}/`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** An access token the API accepts, as if the token endpoint had issued it (for the refresh token `grant`, if any). */
  issueAccessToken(grant?: string): string {
    const token = `ya29.emu-${randomBytes(12).toString('hex')}`;
    this.accessTokens.set(token, { expiresAt: Date.now() + this.tokenLifetimeSeconds() * 1000, grant });
    return token;
  }

  private tokenLifetimeSeconds(): number {
    return this.options.accessTokenLifetimeSeconds ?? 3600;
  }

  /** Every issued access token stops working at once, as a revocation does. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const entry: LoggedRequest = {
      seq: this.requests.length + 1,
      method,
      path: url.pathname,
      query: Object.fromEntries(
        [...url.searchParams.keys()].map((k) => {
          const all = url.searchParams.getAll(k);
          return [k, all.length === 1 ? all[0] : all];
        }),
      ),
      range: req.headers.range,
      status: 0,
      bytesSent: 0,
    };
    const isAdmin = url.pathname.startsWith('/_admin/');
    if (!isAdmin) this.requests.push(entry);
    let fault: ActiveFault | undefined;
    let reply: Reply;
    try {
      const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
      if (isAdmin) {
        reply = await handleAdmin(this, method, url, body);
      } else {
        fault = this.faults.take(method, url.pathname + url.search);
        if (fault) entry.faultId = fault.id;
        if (fault?.delayMs) await delayUnlessClosed(fault.delayMs, res);
        if (fault?.replaceBody !== undefined) {
          reply = {
            status: fault.status ?? 200,
            headers: { 'content-type': 'application/json; charset=UTF-8' },
            body: Buffer.from(fault.replaceBody),
          };
        } else if (fault && (fault.status !== undefined || fault.reason !== undefined)) {
          throw errorForReason(fault.reason ?? 'backendError', fault.status, fault.message);
        } else {
          reply = await this.route(method, url, req, body);
        }
      }
    } catch (err) {
      reply = errorReply(err);
    }
    entry.status = reply.status;
    entry.ended = await send(res, reply, fault, (n) => (entry.bytesSent = n));
  }

  private async route(method: string, url: URL, req: IncomingMessage, body: Buffer): Promise<Reply> {
    const path = url.pathname;
    const q = url.searchParams;
    if (method === 'POST' && path === '/token') return this.oauth.token(body);
    if (method === 'POST' && path === '/revoke') return this.oauth.revoke(q, body);
    if (method === 'GET' && path === '/o/oauth2/v2/auth') return this.oauth.consent(q);
    this.authenticate(req);
    if (method === 'GET' && path.startsWith('/feeds/download/documents/export/Export')) return this.exportLink(q);
    if (!path.startsWith('/drive/v3/')) throw new DriveApiError(404, 'notFound', `Not Found: ${path}`);
    const rest = path.slice('/drive/v3'.length);
    if (method !== 'GET') throw new DriveApiError(405, 'methodNotAllowed', `The emulator is read-only over the API: ${method} ${path}`);
    let m: RegExpMatchArray | null;
    if (rest === '/about') return this.about(q);
    if (rest === '/files') return this.listFiles(q);
    if ((m = rest.match(/^\/files\/([^/]+)\/export$/))) return this.exportFile(decodeURIComponent(m[1]), q);
    if ((m = rest.match(/^\/files\/([^/]+)$/))) return this.getFile(decodeURIComponent(m[1]), q, req);
    if (rest === '/changes/startPageToken') return this.startPageToken(q);
    if (rest === '/changes') return this.listChanges(q);
    if (rest === '/drives') return this.listDrives(q);
    if ((m = rest.match(/^\/drives\/([^/]+)$/))) return this.getDrive(decodeURIComponent(m[1]), q);
    throw new DriveApiError(404, 'notFound', `Not Found: ${path}`);
  }

  private authenticate(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if ((this.accessTokens.get(token)?.expiresAt ?? 0) < Date.now()) {
      throw new DriveApiError(401, 'authError', 'Invalid Credentials', 'global', 'Authorization', 'header');
    }
  }

  private about(q: Query): Reply {
    if (!q.get('fields')) {
      throw new DriveApiError(400, 'required', "The 'fields' parameter is required for this method.", 'global', 'fields');
    }
    const usage = [...this.store.files.values()].reduce((n, f) => n + (this.store.size(f) ?? 0), 0);
    const trash = [...this.store.files.values()].filter((f) => f.trashed).reduce((n, f) => n + (this.store.size(f) ?? 0), 0);
    const about = {
      kind: 'drive#about',
      user: { kind: 'drive#user', ...this.store.user, me: true },
      storageQuota: { limit: String(15 * 1024 ** 3), usage: String(usage), usageInDrive: String(usage), usageInDriveTrash: String(trash) },
      exportFormats,
      importFormats: {},
      maxUploadSize: String(5 * 1024 ** 4),
    };
    return json(
      200,
      masked(q, about, '', (p) => Object.keys(about).includes(p.split('.')[0])),
    );
  }

  /** A file the caller may see: shared-drive items need supportsAllDrives=true, as in Drive. */
  private visibleFile(id: string, q: Query): EmuFile {
    const file = this.store.getFile(id);
    if (file.driveId && !bool(q, 'supportsAllDrives') && !bool(q, 'supportsTeamDrives')) {
      throw new DriveApiError(404, 'notFound', `File not found: ${id}.`, 'global', 'fileId');
    }
    return file;
  }

  private listFiles(q: Query): Reply {
    const corpora = q.get('corpora') ?? 'user';
    const driveId = q.get('driveId');
    const allDrives = bool(q, 'includeItemsFromAllDrives');
    const supportsAllDrives = bool(q, 'supportsAllDrives');
    if (!['user', 'drive', 'allDrives', 'domain'].includes(corpora)) throw invalidParameter('corpora');
    if (corpora === 'drive' && !driveId)
      throw invalidParameter('driveId', 'The driveId parameter must be specified if and only if corpora is set to drive.');
    if (driveId && corpora !== 'drive')
      throw invalidParameter('corpora', 'The driveId parameter must be specified if and only if corpora is set to drive.');
    if ((corpora !== 'user' || allDrives) && !(allDrives && supportsAllDrives)) {
      throw new DriveApiError(
        403,
        'teamDriveInclusionRequired',
        'The includeItemsFromAllDrives and supportsAllDrives parameters must be set to true when corpora is drive or allDrives.',
        'global',
        'includeItemsFromAllDrives',
      );
    }
    if (driveId && !this.store.drives.has(driveId))
      throw new DriveApiError(404, 'notFound', `Shared drive not found: ${driveId}`, 'global', 'driveId');
    const predicate = q.get('q') ? compileQuery(q.get('q')!) : () => true;
    const pageSize = intParam(q, 'pageSize', 100, 1000);
    const orderBy = q.get('orderBy') ?? '';
    const queryKey = JSON.stringify([corpora, driveId, allDrives, q.get('q'), orderBy]);
    const offset = q.get('pageToken')
      ? decodeToken<{ o: number; k: string }>(q.get('pageToken')!, (t) => Number.isInteger(t.o) && t.k === queryKey).o
      : 0;

    const inScope = (f: EmuFile) => {
      if (corpora === 'drive') return f.driveId === driveId;
      if (corpora === 'allDrives' || allDrives) return true;
      return !f.driveId;
    };
    const match = () =>
      [...this.store.files.values()]
        .filter(inScope)
        .filter((f) =>
          predicate({
            name: f.name,
            mimeType: f.mimeType,
            parents: f.parentId === undefined ? [] : f.parentId === this.store.rootId ? [f.parentId, 'root'] : [f.parentId],
            trashed: f.trashed,
            modifiedTime: f.modifiedTime,
          }),
        )
        .sort(fileOrder(orderBy));
    if (this.listings.revision !== this.store.changes.length) this.listings = { revision: this.store.changes.length, byQuery: new Map() };
    const matching = this.listings.byQuery.get(queryKey) ?? match();
    this.listings.byQuery.set(queryKey, matching);
    const page = matching.slice(offset, offset + pageSize);
    const list: Record<string, unknown> = {
      kind: 'drive#fileList',
      incompleteSearch: false,
      files: page.map((f) => fileResource(this.store, f, this.baseUrl)),
    };
    if (offset + pageSize < matching.length) list.nextPageToken = encodeToken({ o: offset + pageSize, k: queryKey });
    const known = knownListField(['kind', 'nextPageToken', 'incompleteSearch', 'files'], 'files', knownFileField);
    return json(200, masked(q, list, 'kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)', known));
  }

  private async getFile(id: string, q: Query, req: IncomingMessage): Promise<Reply> {
    const file = this.visibleFile(id, q);
    if (q.get('alt') === 'media') return this.download(file, q, req.headers.range);
    if (q.get('alt') && q.get('alt') !== 'json') throw invalidParameter('alt');
    return json(200, masked(q, fileResource(this.store, file, this.baseUrl), 'kind,id,name,mimeType', knownFileField));
  }

  private download(file: EmuFile, q: Query, range: string | undefined): Reply {
    if (!file.content || file.mimeType === FOLDER || file.mimeType === SHORTCUT) {
      throw errorForReason(
        'fileNotDownloadable',
        403,
        'Only files with binary content can be downloaded. Use Export with Docs Editors files.',
      );
    }
    if (file.abusive && !bool(q, 'acknowledgeAbuse')) throw errorForReason('cannotDownloadAbusiveFile');
    const size = contentSize(file.content);
    const headers: Record<string, string> = { 'content-type': file.mimeType, 'accept-ranges': 'bytes' };
    if (!range) {
      headers['content-length'] = String(size);
      return { status: 200, headers, body: readContent(file.content) };
    }
    const m = range.match(/^bytes=(\d*)-(\d*)$/);
    let start = m && m[1] !== '' ? Number(m[1]) : NaN;
    let end = m && m[2] !== '' ? Number(m[2]) : size - 1;
    if (m && m[1] === '' && m[2] !== '') {
      start = Math.max(size - Number(m[2]), 0);
      end = size - 1;
    }
    if (!m || Number.isNaN(start) || start >= size || end < start) {
      return { status: 416, headers: { 'content-range': `bytes */${size}` }, body: Buffer.from('Requested range not satisfiable') };
    }
    end = Math.min(end, size - 1);
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    headers['content-length'] = String(end - start + 1);
    return { status: 206, headers, body: readContent(file.content, start, end) };
  }

  private renderOrFail(file: EmuFile, target: string): Buffer {
    if (!isWorkspaceType(file.mimeType)) throw errorForReason('fileNotExportable');
    const bytes = isExportable(file.mimeType) ? renderExport({ ...file }, target) : undefined;
    if (!bytes) {
      throw new DriveApiError(400, 'badRequest', 'The requested conversion is not supported.', 'global', 'convertTo');
    }
    return bytes;
  }

  /** files.export takes no supportsAllDrives: shared-drive files export like any other. */
  private exportFile(id: string, q: Query): Reply {
    const file = this.store.getFile(id);
    const target = q.get('mimeType');
    if (!target) throw new DriveApiError(400, 'required', 'Required parameter: mimeType', 'global', 'mimeType');
    const bytes = this.renderOrFail(file, target);
    if (bytes.length > EXPORT_LIMIT_BYTES) throw errorForReason('exportSizeLimitExceeded');
    return { status: 200, headers: { 'content-type': target, 'content-length': String(bytes.length) }, body: bytes };
  }

  /** The docs host's export URL from exportLinks: same bytes as files.export, with no size limit. */
  private exportLink(q: Query): Reply {
    const file = this.store.getFile(q.get('id') ?? '');
    const target = mimeForExportFormat(q.get('exportFormat') ?? '');
    if (!target) throw new DriveApiError(400, 'badRequest', 'The requested conversion is not supported.', 'global', 'exportFormat');
    const bytes = this.renderOrFail(file, target);
    return { status: 200, headers: { 'content-type': target, 'content-length': String(bytes.length) }, body: bytes };
  }

  private startPageToken(q: Query): Reply {
    const driveId = q.get('driveId');
    if (driveId && !bool(q, 'supportsAllDrives'))
      throw invalidParameter('supportsAllDrives', 'The supportsAllDrives parameter must be set to true when driveId is specified.');
    if (driveId && !this.store.drives.has(driveId))
      throw new DriveApiError(404, 'notFound', `Shared drive not found: ${driveId}`, 'global', 'driveId');
    return json(200, { kind: 'drive#startPageToken', startPageToken: this.store.nextChangeToken() });
  }

  private listChanges(q: Query): Reply {
    const token = q.get('pageToken');
    if (!token) throw new DriveApiError(400, 'required', 'Required parameter: pageToken', 'global', 'pageToken');
    const from = Number(token);
    const next = this.store.changes.length + 1;
    if (!/^\d+$/.test(token) || from < 1 || from > next) throw invalidParameter('pageToken', 'Invalid Value');
    const pageSize = intParam(q, 'pageSize', 100, 1000);
    const includeRemoved = bool(q, 'includeRemoved', true);
    const restrictToMyDrive = bool(q, 'restrictToMyDrive');
    const allDrives = bool(q, 'includeItemsFromAllDrives');
    const driveId = q.get('driveId');
    if ((driveId || allDrives) && !bool(q, 'supportsAllDrives')) throw invalidParameter('supportsAllDrives');

    // Drive reports each file once, at its latest change: earlier entries for the same file are superseded.
    const latest = new Map<string, number>();
    for (const c of this.store.changes) latest.set(c.fileId, c.seq);
    const changes: object[] = [];
    let seq = from;
    for (; seq < next && changes.length < pageSize; seq++) {
      const c = this.store.changes[seq - 1];
      if (latest.get(c.fileId) !== c.seq) continue;
      if (driveId ? c.driveId !== driveId : c.driveId && (!allDrives || restrictToMyDrive)) continue;
      if (c.removed && !includeRemoved) continue;
      const file = this.store.files.get(c.fileId);
      const change: Record<string, unknown> = {
        kind: 'drive#change',
        changeType: 'file',
        type: 'file',
        fileId: c.fileId,
        removed: c.removed || !file,
        time: c.time,
      };
      if (c.driveId) change.driveId = c.driveId;
      if (file && !c.removed) change.file = fileResource(this.store, file, this.baseUrl);
      changes.push(change);
    }
    const list: Record<string, unknown> = { kind: 'drive#changeList', changes };
    if (seq < next) list.nextPageToken = String(seq);
    else list.newStartPageToken = String(next);
    const known = knownListField(['kind', 'nextPageToken', 'newStartPageToken', 'changes'], 'changes', (p) => {
      const [top, ...rest] = p.split('.');
      if (top === 'file') return rest.length === 0 || knownFileField(rest.join('.'));
      return ['kind', 'changeType', 'type', 'fileId', 'removed', 'time', 'driveId', 'drive'].includes(top);
    });
    return json(200, masked(q, list, 'kind,nextPageToken,newStartPageToken,changes', known));
  }

  private listDrives(q: Query): Reply {
    const pageSize = intParam(q, 'pageSize', 10, 100);
    const offset = q.get('pageToken') ? decodeToken<{ d: number }>(q.get('pageToken')!, (t) => Number.isInteger(t.d)).d : 0;
    const drives = [...this.store.drives.values()].sort((a, b) => a.id.localeCompare(b.id));
    const list: Record<string, unknown> = {
      kind: 'drive#driveList',
      drives: drives.slice(offset, offset + pageSize).map((d) => ({ kind: 'drive#drive', ...d })),
    };
    if (offset + pageSize < drives.length) list.nextPageToken = encodeToken({ d: offset + pageSize });
    const known = knownListField(['kind', 'nextPageToken', 'drives'], 'drives', (p) => ['kind', 'id', 'name', 'createdTime'].includes(p));
    return json(200, masked(q, list, 'kind,nextPageToken,drives(kind,id,name)', known));
  }

  private getDrive(id: string, q: Query): Reply {
    const drive = this.store.drives.get(id);
    if (!drive) throw new DriveApiError(404, 'notFound', `Shared drive not found: ${id}`, 'global', 'driveId');
    const known = (p: string) => ['kind', 'id', 'name', 'createdTime'].includes(p);
    return json(200, masked(q, { kind: 'drive#drive', ...drive }, 'kind,id,name', known));
  }
}

/** `orderBy=folder,name desc,modifiedTime`: the keys Drive sorts by; ties go by id so paging is stable. */
function fileOrder(orderBy: string): (a: EmuFile, b: EmuFile) => number {
  const keys = orderBy
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [key, dir] = s.split(/\s+/);
      if (!['folder', 'name', 'modifiedTime', 'createdTime', 'name_natural'].includes(key) || (dir && dir !== 'desc')) {
        throw invalidParameter('orderBy', `Invalid sorting field: ${s}`);
      }
      return { key, sign: dir === 'desc' ? -1 : 1 };
    });
  return (a, b) => {
    for (const { key, sign } of keys) {
      let d = 0;
      if (key === 'folder') d = Number(b.mimeType === FOLDER) - Number(a.mimeType === FOLDER);
      else if (key === 'name' || key === 'name_natural') d = a.name.localeCompare(b.name);
      else d = a[key as 'modifiedTime' | 'createdTime'].localeCompare(b[key as 'modifiedTime' | 'createdTime']);
      if (d !== 0) return d * sign;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

function errorReply(err: unknown): Reply {
  if (err instanceof DriveApiError) {
    return { status: err.status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: Buffer.from(err.body()) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 500,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: Buffer.from(new DriveApiError(500, 'backendError', `Emulator error: ${message}`).body()),
  };
}

/** Waits `ms`, or until the client hangs up (or the emulator closes), whichever comes first. */
function delayUnlessClosed(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes the reply, applying a fault's cut-off, stall or corruption to its body; says whether all of it went out. */
async function send(
  res: ServerResponse,
  reply: Reply,
  fault: ActiveFault | undefined,
  onSent: (bytes: number) => void,
): Promise<'complete' | 'early'> {
  let body: Readable;
  const headers = { ...reply.headers };
  if (reply.body === undefined) body = Readable.from([]);
  else if (Buffer.isBuffer(reply.body)) body = Readable.from([reply.body]);
  else if (reply.body instanceof Readable) body = reply.body;
  else {
    const text = Buffer.from(JSON.stringify(reply.body));
    headers['content-type'] ??= 'application/json; charset=UTF-8';
    headers['content-length'] = String(text.length);
    body = Readable.from([text]);
  }
  if (Buffer.isBuffer(reply.body)) headers['content-length'] ??= String(reply.body.length);
  res.writeHead(reply.status, headers);
  let sent = 0;
  const cutOff = fault?.cutOffAfterBytes;
  const stallAt = fault?.stallAfterBytes;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (cutOff !== undefined && sent + chunk.length >= cutOff) {
        const head = chunk.subarray(0, cutOff - sent);
        sent += head.length;
        onSent(sent);
        res.write(head, () => res.destroy());
        return;
      }
      if (stallAt !== undefined && sent + chunk.length > stallAt) {
        const head = chunk.subarray(0, stallAt - sent);
        sent += head.length;
        onSent(sent);
        // Never calls done: the reply goes silent, the connection stays open.
        if (head.length > 0) this.push(head);
        return;
      }
      sent += chunk.length;
      onSent(sent);
      done(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [
    ...(fault?.wrongBytes ? [corruptBytes(fault.wrongBytesAfter)] : []),
    ...(fault?.bytesPerSecond ? [throttleBytes(fault.bytesPerSecond)] : []),
    counter,
  ];
  try {
    await pipeline(body, ...(stages as [Transform]), res);
    return 'complete';
  } catch {
    // The client hung up or a cut-off fault ended the reply: nothing more to send.
    return 'early';
  }
}
