import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { Catalog } from '../activities/catalog/catalog';
import { recordDestinationHealth } from '../activities/catalog/destinationHealth';
import { closeRun, startRun } from '../activities/catalog/runs';
import { accountPrefix } from '../api/accountsApp';
import { type ApiApp, createApiApp } from '../api/app';
import { dashboardRoutes } from '../api/dashboardRoutes';
import { GOOGLE_AUTH_OPEN_PATHS } from '../api/googleAuthRoutes';
import { SCHEDULE_NAMES } from '../api/schedules';
import { startApiServer } from '../api/server';
import { type Config, ConfigError } from '../common/config';
import { LogFeed } from '../common/logFeed';
import { createLogger } from '../common/logger';
import { reconcileSchedules } from '../worker/schedules';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { emulatorOAuth } from './support/drive';
import { listedBinaryFile } from './support/catalog';
import { twoAccounts } from './support/accounts';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker, testLogger } from './support/worker';

/*
 * Issue 13, section 1: the control API against a real Temporal dev server, MinIO and the Drive emulator, with a worker
 * running in this process. Requests go through app.request(), and through a listening server for the live log.
 */

const TOKEN = 'api-test-token-0a1b2c3d4e5f6a7b';
const WRONG_TOKEN = 'not-the-api-token-9f8e7d6c5b4a';
const ENV = { DRIVE_VAULT_API_TOKEN: TOKEN };

/** Every line the API and the worker logged, as production writes them. */
const logged: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    logged.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});
const logFeed = new LogFeed();
const logger = createLogger({ level: 'debug', feed: logFeed }, sink);

let stack: Stack;
let worker: RunningWorker;
let config: Config;
let catalog: Catalog;
let app: ApiApp;
let restoreRoot: string;
const files: Record<string, EmuFile> = {};
const brokenDownload = () => `GET /drive/v3/files/${files.broken!.id}\\?.*alt=media`;

/** The Temporal namespaces of the two accounts of the config that lists several. */
const NAMESPACES = { ana: 'accounts-ana', bo: 'accounts-bo' };

/** Every status a request with bad input got: none may be a 500. */
const badInputStatuses: Array<{ request: string; status: number }> = [];

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, read by path; each test asserts the fields it uses
  body: any;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; token?: string | null; headers?: Record<string, string>; on?: Pick<ApiApp, 'request'> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await (options.on ?? app).request(path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: asserted as text where that is expected.
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** A request with bad input: a 4xx with the JSON error body, whose message names `mentions`; never a 500. */
async function refused(
  method: string,
  path: string,
  status: number,
  mentions: RegExp,
  options: Parameters<typeof call>[2] = {},
): Promise<Answer> {
  const answer = await call(method, path, options);
  badInputStatuses.push({ request: `${method} ${path}`, status: answer.status });
  assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.body)}`);
  assert.equal(typeof answer.body?.error?.code, 'string', `${method} ${path}: a JSON error body, got ${JSON.stringify(answer.body)}`);
  assert.match(answer.body.error.message, mentions, `${method} ${path}`);
  return answer;
}

/** A new app on the same deps: its status cache is empty, so its first status is read now. */
const freshApp = (overrides: Partial<Config['api']> = {}, client = worker.client) =>
  createApiApp({ config: { ...config, api: { ...config.api, ...overrides } }, client, catalog, logger, logFeed, env: ENV });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  stack = await startStack({ temporal: { namespaces: Object.values(NAMESPACES) }, minio: true, emulator: true });
  const s = stack.emulator!.store;
  const reports = await s.addFile({ name: 'Reports' });
  files.reports = reports;
  files.alpha = await s.addFile({ name: 'alpha.txt', parentId: reports.id, content: bytesContent('alpha bytes') });
  files.beta = await s.addFile({ name: 'beta.txt', parentId: reports.id, content: bytesContent('beta, a little longer') });
  files.broken = await s.addFile({ name: 'broken.bin', parentId: reports.id, content: bytesContent('never downloads at first') });
  stack.emulator!.faults.add({ match: brokenDownload(), status: 403, reason: 'forbidden' });
  restoreRoot = join(stack.tmp, 'restores');
  mkdirSync(restoreRoot);
  config = stackConfig(stack, { api: { listen: '127.0.0.1:0', restoreRoot, rateLimitPerMinute: 0 } });
  worker = await startTestWorker(stack, config, { logger });
  await reconcileSchedules(worker.client, config, testLogger);
  // The API's own connection to the catalog file, as `npm run api` beside a worker has.
  catalog = Catalog.open(config.catalog.path);
  app = freshApp();
});

after(async () => {
  catalog?.close();
  await worker?.stop();
  await stack?.stop();
});

/** The app's routes, as Hono holds them once every router is mounted, with their parameters filled in. */
function appRoutes(on: Pick<ApiApp, 'routes'> = app): Array<{ method: string; path: string; template: string }> {
  const seen = new Set<string>();
  return on.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({ method: r.method, template: r.path, path: r.path.replace(':fileId', 'someFileId').replace(':name', 'sweep') }))
    .filter((r) => !seen.has(`${r.method} ${r.template}`) && seen.add(`${r.method} ${r.template}`));
}

/** The dashboard's page and files: open, and not part of the API's document. */
const DASHBOARD = new Set(dashboardRoutes().routes.map((r) => `${r.method} ${r.path}`));
const OPEN = new Set([
  'GET /api/health',
  'GET /api/version',
  'GET /openapi.json',
  ...GOOGLE_AUTH_OPEN_PATHS.map((p) => `GET ${p}`),
  ...DASHBOARD,
]);

test('the API refuses to start without a usable token, naming the variable', () => {
  const make = (env: NodeJS.ProcessEnv) => () => createApiApp({ config, client: worker.client, catalog, logger, logFeed, env });
  assert.throws(make({}), (err: Error) => err instanceof ConfigError && /DRIVE_VAULT_API_TOKEN is not set/.test(err.message));
  assert.throws(make({ DRIVE_VAULT_API_TOKEN: 'short' }), /DRIVE_VAULT_API_TOKEN does not hold a usable bearer token/);
  assert.throws(make({ DRIVE_VAULT_API_TOKEN: 'has spaces in it, sixteen+' }), /usable bearer token/);
});

test('every route of the app, mounted routers included, is in /openapi.json', async () => {
  const doc = (await call('GET', '/openapi.json', { token: null })).body;
  assert.equal(doc.openapi, '3.1.0');
  const routes = appRoutes();
  assert.ok(routes.length >= 20, `the app's routes: ${routes.map((r) => `${r.method} ${r.template}`).join(', ')}`);
  for (const r of routes) {
    if (DASHBOARD.has(`${r.method} ${r.template}`)) continue;
    const path = r.template.replace(/:([^/]+)/g, '{$1}');
    assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path} is not in the OpenAPI document`);
  }
  assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
  // The document is open: it names no destination of this setup.
  for (const name of config.destinations.map((d) => d.name).filter((n) => n !== 'nas')) {
    assert.doesNotMatch(JSON.stringify(doc), new RegExp(`"${name}"`), `${name} is not in the open document`);
  }
});

test('health, version and the document are open; every other route answers 401 JSON without the token or with a wrong one', async () => {
  assert.deepEqual((await call('GET', '/api/health', { token: null })).body, { status: 'ok' });
  const page = await call('GET', '/', { token: null });
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>drive-vault<\/title>/);
  assert.ok(DASHBOARD.size >= 3, 'the page and its files');
  const version = (await call('GET', '/api/version', { token: null })).body;
  assert.equal(version.version, JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  for (const r of appRoutes()) {
    if (OPEN.has(`${r.method} ${r.template}`)) continue;
    for (const token of [null, WRONG_TOKEN]) {
      const answer = await call(r.method, r.path, { token, body: r.method === 'POST' ? {} : undefined });
      badInputStatuses.push({ request: `${r.method} ${r.path}`, status: answer.status });
      assert.equal(answer.status, 401, `${r.method} ${r.path} with ${token ? 'a wrong' : 'no'} token`);
      assert.equal(answer.body.error.code, 'unauthorized');
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  }
  // A route that does not exist needs the token too, and is then a JSON 404.
  assert.equal((await call('GET', '/api/nothing-here', { token: null })).status, 401);
  await refused('GET', '/api/nothing-here', 404, /no route GET \/api\/nothing-here/);
  await refused('GET', '/api/status', 400, /Authorization header must be "Bearer <token>"/, {
    headers: { authorization: 'Bearer has spaces' },
    token: null,
  });
});

let fullSyncId: string;

test('a full sync started through the API runs; the status then shows its last run, the catalog counts and each destination', async () => {
  const started = await call('POST', '/api/sync/full');
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.match(started.body.workflowId, /^full-sync-/);
  assert.match(started.body.webUi, new RegExp(`/namespaces/default/workflows/${started.body.workflowId}/${started.body.runId}$`));
  fullSyncId = started.body.workflowId;
  await worker.client.workflow.getHandle(fullSyncId).result();

  const status = (await call('GET', '/api/status')).body;
  assert.equal(status.account, 'me@example.com');
  assert.deepEqual(status.temporal, { reachable: true, error: null });
  const last = status.lastRuns['full-sync'].last;
  assert.equal(last.workflowId, fullSyncId);
  assert.equal(last.status, 'failed', 'broken.bin failed on every destination');
  assert.deepEqual(status.lastRuns['full-sync'].lastFinished, last);
  assert.equal(status.lastRuns['nightly-dump'].last, null);
  assert.deepEqual(status.catalog.files, { pending: 0, synced: 2, failed: 1, deferred: 0, skipped: 0, total: 3 });
  assert.equal(status.catalog.openFailures, 3);
  // broken.bin is Drive's refusal, not a destination's: each has an open failure for it, and is healthy.
  assert.deepEqual(
    status.destinations.map((d: { name: string; objects: number; health: string; openFailures: number }) => [
      d.name,
      d.objects,
      d.health,
      d.openFailures,
    ]),
    config.destinations.map((d) => [d.name, 2, 'ok', 1]),
  );
  // A run that finds a destination degraded records it; the status says so, and why.
  recordDestinationHealth(catalog, 'a-run', { nas: { state: 'degraded', reason: 'the disk is full' } }, '2026-11-20T00:00:00.000Z');
  const nas = (await call('GET', '/api/status', { on: freshApp() })).body.destinations.find((d: { name: string }) => d.name === 'nas');
  assert.deepEqual([nas.health, nas.reasons], ['degraded', ['degraded since 2026-11-20T00:00:00.000Z (run a-run): the disk is full']]);
  recordDestinationHealth(catalog, 'a-run', { nas: { state: 'healthy' } }, '2026-11-20T00:00:01.000Z');
  assert.deepEqual(
    status.schedules.map((s: { name: string; exists: boolean }) => [s.name, s.exists]),
    SCHEDULE_NAMES.map((n) => [n, true]),
  );
});

test('a running workflow shows in the status with its progress', async () => {
  files.slow = await stack.emulator!.store.addFile({
    name: 'slow.bin',
    parentId: files.reports!.id,
    content: generatedContent(320 * 1024, 7),
  });
  const fault = stack.emulator!.faults.add({
    match: `GET /drive/v3/files/${files.slow.id}\\?.*alt=media`,
    times: 1,
    bytesPerSecond: 32 * 1024,
  });
  const started = (await call('POST', '/api/sync/full')).body;
  const running = await waitFor('the full sync to show with its progress', async () => {
    const status = (await call('GET', '/api/status')).body;
    return status.running.find(
      (r: { workflowId: string; progress: { phase: string } | null }) =>
        r.workflowId === started.workflowId && r.progress?.phase === 'transfer',
    );
  });
  assert.equal(running.kind, 'full-sync');
  assert.equal(running.workflowType, 'fullSync');
  assert.equal(typeof running.progress.filesDone, 'number');
  assert.equal(running.progress.detail.runId, started.workflowId);
  await worker.client.workflow.getHandle(started.workflowId).result();
  assert.equal(stack.emulator!.faults.list().find((f) => f.id === fault.id)?.fired, 1);
});

test('a sweep, a dump and a rollup start through the API and run', async () => {
  for (const [path, prefix] of [
    ['/api/sync/sweep', 'sweep-'],
    ['/api/dump', 'dump-'],
    ['/api/rollup', 'rollup-'],
  ] as const) {
    const started = await call('POST', path, { body: {} });
    assert.equal(started.status, 202, `${path}: ${JSON.stringify(started.body)}`);
    assert.ok(started.body.workflowId.startsWith(prefix));
    await worker.client.workflow.getHandle(started.body.workflowId).result();
  }
  const status = (await call('GET', '/api/status', { on: freshApp() })).body;
  assert.equal(status.lastRuns['nightly-dump'].last.status, 'completed');
  assert.equal(status.lastRuns['weekly-rollup'].last.status, 'completed');
  assert.equal(status.lastRuns['incremental-sweep'].last.status, 'completed');
  await refused('POST', '/api/dump', 400, /body: unknown field extra/, { body: { extra: 1 } });
  await refused('POST', '/api/sync/full', 400, /Malformed JSON/i, { rawBody: '{"not json' });
  await refused('POST', '/api/sync/sweep', 415, /Unsupported Media Type/i, { rawBody: 'x=1', headers: { 'content-type': 'text/plain' } });
});

test('schedules: listed, paused with a note, resumed and triggered; a name that is not a schedule is a 400', async () => {
  const list = (await call('GET', '/api/schedules')).body.items;
  assert.deepEqual(
    list.map((s: { name: string }) => s.name),
    [...SCHEDULE_NAMES],
  );
  const paused = await call('POST', '/api/schedules/sweep/pause', { body: { note: 'NAS move' } });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.action, 'paused');
  const sweep = () => worker.client.schedule.getHandle('drive-vault-sweep').describe();
  assert.equal((await sweep()).state.paused, true);
  assert.equal((await sweep()).state.note, 'NAS move');
  const status = (await call('GET', '/api/status')).body;
  assert.equal(status.schedules.find((s: { name: string }) => s.name === 'sweep').paused, true, 'the status shows the pause at once');
  assert.equal((await call('POST', '/api/schedules/sweep/resume')).status, 200);
  assert.equal((await sweep()).state.paused, false);
  const before = (await worker.client.schedule.getHandle('drive-vault-nightly-dump').describe()).info.recentActions.length;
  assert.equal((await call('POST', '/api/schedules/nightly-dump/trigger', { body: {} })).status, 200);
  await waitFor('the triggered run', async () => {
    const d = await worker.client.schedule.getHandle('drive-vault-nightly-dump').describe();
    return d.info.recentActions.length > before ? true : undefined;
  });
  // A schedule no worker has created yet (here: deleted) is a 404 that says so.
  await worker.client.schedule.getHandle('drive-vault-weekly-rollup').delete();
  const missing = await refused('POST', '/api/schedules/weekly-rollup/pause', 404, /does not exist yet/);
  assert.equal(missing.body.error.code, 'schedule_not_created');
  const rows = (await call('GET', '/api/schedules')).body.items;
  assert.equal(rows.find((r: { name: string }) => r.name === 'weekly-rollup').exists, false);
  await reconcileSchedules(worker.client, config, testLogger);
  await refused('POST', '/api/schedules/everything/pause', 400, /path\.name/);
  await refused('POST', '/api/schedules/..%2F..%2Fetc/pause', 400, /path\.name/);
  await refused('POST', '/api/schedules/sweep/pause', 400, /body\.note/, { body: { note: 'x'.repeat(501) } });
  await refused('POST', '/api/schedules/sweep/pause', 400, /body\.note/, { body: { note: 42 } });
  await refused('POST', '/api/schedules/sweep/trigger', 400, /unknown field now/, { body: { now: true } });
  await refused('POST', '/api/schedules/sweep/explode', 404, /no route/);
});

test('files: listed in pages that follow their cursor, searched by name, and one file shown on every destination', async () => {
  const all: Array<{ id: string; name: string }> = [];
  let cursor: string | null = null;
  do {
    const page: Answer = await call('GET', `/api/files?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.ok(page.body.items.length <= 2);
    all.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  assert.deepEqual(all.map((f) => f.name).sort(), ['Reports', 'alpha.txt', 'beta.txt', 'broken.bin', 'slow.bin']);
  assert.deepEqual(
    all.map((f) => f.id),
    [...all.map((f) => f.id)].sort(),
    'id order',
  );
  const found = (await call('GET', '/api/files?q=ALPHA')).body;
  assert.deepEqual(
    found.items.map((f: { name: string }) => f.name),
    ['alpha.txt'],
  );
  assert.match(found.items[0].key, /^drive\/me@example\.com\/My Drive\/Reports\/alpha\.txt$/);
  assert.deepEqual(
    (await call('GET', '/api/files?state=failed')).body.items.map((f: { name: string }) => f.name),
    ['broken.bin'],
  );

  const alpha = (await call('GET', `/api/files/${files.alpha!.id}`)).body;
  assert.equal(alpha.drivePath, 'My Drive/Reports/alpha.txt');
  assert.equal(alpha.state, 'synced');
  assert.deepEqual(
    alpha.destinations.map((d: { name: string; objects: unknown[] }) => [d.name, d.objects.length]),
    config.destinations.map((d) => [d.name, 1]),
  );
  for (const d of alpha.destinations) {
    const [o] = d.objects;
    assert.equal(o.key, 'drive/me@example.com/My Drive/Reports/alpha.txt');
    assert.equal(o.size, 'alpha bytes'.length);
    assert.match(o.sha256, /^[0-9a-f]{64}$/);
    assert.equal(o.state, 'verified');
    assert.ok(o.verifiedAt);
  }
  const broken = (await call('GET', `/api/files/${files.broken!.id}`)).body;
  assert.deepEqual(
    broken.destinations.map((d: { objects: unknown[] }) => d.objects.length),
    [0, 0, 0],
  );
  assert.equal(broken.failures.length, 3);

  await refused('GET', '/api/files/no-such-file-id', 404, /no file no-such-file-id/);
  await refused('GET', `/api/files/${'a'.repeat(129)}`, 400, /path\.fileId/);
  await refused('GET', `/api/files/${encodeURIComponent("x' OR '1'='1")}`, 400, /path\.fileId/);
  await refused('GET', `/api/files/${encodeURIComponent('../../etc/passwd')}`, 400, /path\.fileId/);
  // A URL's dot segments, encoded or not, are resolved before routing: this asks for GET /api/.
  await refused('GET', '/api/files/%2E%2E', 404, /no route GET \/api\/$/);
  await refused('GET', '/api/files?limit=0', 400, /query\.limit/);
  await refused('GET', '/api/files?limit=100000', 400, /query\.limit/);
  await refused('GET', '/api/files?limit=ten', 400, /query\.limit/);
  await refused('GET', '/api/files?state=lost', 400, /query\.state/);
  await refused('GET', '/api/files?q=', 400, /query\.q/);
  await refused('GET', `/api/files?q=${'x'.repeat(201)}`, 400, /query\.q/);
  await refused('GET', '/api/files?sort=name', 400, /unknown field sort/);
  await refused('GET', '/api/files?cursor=not-a-cursor', 400, /query\.cursor/);
  await refused('GET', `/api/files?cursor=${Buffer.from('{"after":"x\' OR 1"}').toString('base64url')}`, 400, /query\.cursor/);
  await refused('GET', '/api/files?cursor=%00%00', 400, /query\.cursor/);
});

test('failures: listed, one retried (pending again and a sweep transfers it), retry all, and what cannot be retried', async () => {
  const list = (await call('GET', '/api/failures')).body;
  assert.deepEqual(
    list.items.map((f: { fileId: string; destination: string; path: string }) => [f.fileId, f.destination, f.path]).sort(),
    ['aws', 'eu', 'nas'].map((d) => [files.broken!.id, d, 'My Drive/Reports/broken.bin']),
  );
  assert.equal(list.items[0].reason, 'forbidden');
  const firstPage = (await call('GET', '/api/failures?limit=2')).body;
  assert.equal(firstPage.items.length, 2);
  const secondPage = (await call('GET', `/api/failures?limit=2&cursor=${firstPage.nextCursor}`)).body;
  assert.equal(secondPage.items.length, 1);
  assert.equal(secondPage.nextCursor, null);

  await refused('POST', `/api/failures/${files.alpha!.id}/retry`, 409, /nothing to retry/);
  await refused('POST', '/api/failures/nosuchfile/retry', 404, /no file nosuchfile/);
  await refused('POST', `/api/failures/${files.broken!.id}/retry`, 400, /body\.startSweep/, { body: { startSweep: 'yes' } });
  await refused('POST', `/api/failures/${encodeURIComponent('a;b')}/retry`, 400, /path\.fileId/);

  stack.emulator!.faults.clear();
  const retried = await call('POST', `/api/failures/${files.broken!.id}/retry`);
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  assert.equal(retried.body.requeued, 1);
  assert.match(retried.body.sweep.workflowId, /^sweep-retry-/);
  await worker.client.workflow.getHandle(retried.body.sweep.workflowId).result();
  assert.equal(catalog.getFile(files.broken!.id)?.state, 'synced');
  assert.deepEqual((await call('GET', '/api/failures')).body, { items: [], nextCursor: null });

  const all = await call('POST', '/api/failures/retry', { body: { startSweep: true } });
  assert.deepEqual(all.body, { requeued: 0, sweep: null, note: 'nothing was failed or deferred' });
});

test('runs: history newest first, by kind, a page at a time', async () => {
  const runs = (await call('GET', '/api/runs')).body.items;
  const kinds = runs.map((r: { kind: string }) => r.kind);
  for (const kind of ['full-sync', 'incremental-sweep', 'nightly-dump', 'weekly-rollup']) assert.ok(kinds.includes(kind), kind);
  const starts = runs.map((r: { startedAt: string }) => r.startedAt);
  assert.deepEqual(starts, [...starts].sort().reverse());
  const syncs = (await call('GET', '/api/runs?kind=full-sync')).body.items;
  assert.deepEqual(syncs.map((r: { workflowId: string }) => r.workflowId).at(-1), fullSyncId);
  assert.match(syncs[0].webUi, /\/workflows\/full-sync-/);
  const page = (await call('GET', '/api/runs?limit=1')).body;
  const next = (await call('GET', `/api/runs?limit=1&cursor=${page.nextCursor}`)).body;
  assert.deepEqual([page.items[0].runId, next.items[0].runId], [runs[0].runId, runs[1].runId]);
  await refused('GET', '/api/runs?kind=everything', 400, /query\.kind/);
  await refused('GET', `/api/runs?cursor=${Buffer.from('{"startedAt":5}').toString('base64url')}`, 400, /query\.cursor/);
});

test('storage: objects and bytes per destination, and bytes transferred per day', async () => {
  const storage = (await call('GET', '/api/storage?days=7')).body;
  const sizes = ['alpha bytes', 'beta, a little longer', 'never downloads at first'].reduce((n, s) => n + s.length, 320 * 1024);
  for (const d of storage.destinations) {
    assert.equal(d.objects, 4, d.name);
    assert.equal(d.bytes, sizes, d.name);
    assert.deepEqual(d.byState, { verified: { objects: 4, bytes: sizes } });
  }
  assert.equal(storage.bytesPerDay.length, 7);
  const today = storage.bytesPerDay.at(-1);
  assert.equal(today.day, new Date().toISOString().slice(0, 10));
  assert.equal(today.bytes, 3 * sizes);
  assert.deepEqual(Object.keys(today.perDestination).sort(), ['aws', 'eu', 'nas']);
  await refused('GET', '/api/storage?days=0', 400, /query\.days/);
  await refused('GET', '/api/storage?days=367', 400, /query\.days/);
});

test('restore: into a folder below api.restoreRoot, never outside it', async () => {
  const started = await call('POST', '/api/restore', { body: { from: 'nas', target: 'first', path: 'My Drive/Reports/alpha.txt' } });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.match(started.body.workflowId, /^restore-/);
  const summary = await worker.client.workflow.getHandle(started.body.workflowId).result();
  assert.equal((summary as { counts: { restored: number } }).counts.restored, 1);
  assert.equal(readFileSync(join(restoreRoot, 'first', 'My Drive', 'Reports', 'alpha.txt'), 'utf8'), 'alpha bytes');

  symlinkSync(stack.tmp, join(restoreRoot, 'link-out'));
  const body = (target: unknown) => ({ body: { from: 'nas', target } });
  await refused('POST', '/api/restore', 400, /body\.target.*relative/, body('/etc'));
  await refused('POST', '/api/restore', 400, /body\.target.*\.\./, body('../outside'));
  await refused('POST', '/api/restore', 400, /body\.target.*\.\./, body('a/../../outside'));
  await refused('POST', '/api/restore', 400, /body\.target.*link/, body('link-out/x'));
  await refused('POST', '/api/restore', 400, /body\.target/, body('a\\..\\..\\b'));
  // What the file system refuses about the path is the request's fault: a 400 naming it, not a 500.
  symlinkSync('loop', join(restoreRoot, 'loop'));
  await refused('POST', '/api/restore', 400, /body\.target.*loop of links/, body('loop/x'));
  await refused('POST', '/api/restore', 400, /body\.target.*longer than/, body('a'.repeat(300)));
  await refused('POST', '/api/restore', 400, /body\.target.*longer than/, body(`in/${'b'.repeat(256)}/c`));
  await refused('POST', '/api/restore', 400, /body\.target/, body(''));
  await refused('POST', '/api/restore', 400, /body\.target/, body(7));
  await refused('POST', '/api/restore', 400, /body\.from: one of the configured destinations: eu, aws, nas/, {
    body: { from: 'tape', target: 'x' },
  });
  await refused('POST', '/api/restore', 400, /body\.at/, { body: { from: 'nas', target: 'x', at: 'yesterday' } });
  await refused('POST', '/api/restore', 400, /body\.overwrite/, { body: { from: 'nas', target: 'x', overwrite: 'yes' } });
  await refused('POST', '/api/restore', 400, /unknown field to/, { body: { from: 'nas', target: 'x', to: '/etc' } });
  await refused('POST', '/api/restore', 400, /body/, {});
  await refused('POST', '/api/restore', 413, /larger than 65536 bytes/, { body: { from: 'nas', target: 'x', path: 'p'.repeat(100_000) } });
  await refused('POST', '/api/restore', 403, /api\.restoreRoot/, {
    body: { from: 'nas', target: 'x' },
    on: freshApp({ restoreRoot: undefined }),
  });
});

test('no request with bad input got a 500', () => {
  assert.ok(badInputStatuses.length > 40, `${badInputStatuses.length} bad requests were made`);
  const errors = badInputStatuses.filter((a) => a.status >= 500);
  assert.deepEqual(errors, []);
});

test('the live log streams over SSE: recent lines first, then live ones', async () => {
  const server = await startApiServer(config, { client: worker.client, catalog, logger, logFeed, env: ENV });
  const abort = new AbortController();
  try {
    logger.info({ event: 'test.before_connect' }, 'logged before the client connected');
    const res = await fetch(`${server.url}/api/log`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: Array<{ event?: string; id?: string; data: string }> = [];
    let buffer = '';
    const readUntil = async (found: () => boolean) => {
      while (!found()) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += value;
        const parts = buffer.split('\n\n');
        buffer = parts.pop()!;
        for (const part of parts) {
          const fields = Object.fromEntries(part.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          if (fields.data !== undefined) events.push(fields as { data: string });
        }
      }
    };
    const has = (event: string) => () => events.some((e) => JSON.parse(e.data).event === event);
    await readUntil(has('test.before_connect'));
    logger.info({ event: 'test.after_connect', token: TOKEN }, 'logged while the client listens');
    await readUntil(has('test.after_connect'));
    assert.ok(events.every((e) => e.event === 'log' && /^\d+$/.test(e.id ?? '')));
    const ids = events.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'in order',
    );
    const live = events.find((e) => JSON.parse(e.data).event === 'test.after_connect')!;
    assert.equal(JSON.parse(live.data).token, '[redacted]');
    // Resuming after the last line seen sends only what came after it; an id this process never gave sends all it has.
    const resume = async (lastEventId: string, until: RegExp) => {
      const again = await fetch(`${server.url}/api/log`, {
        headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': lastEventId },
        signal: abort.signal,
      });
      const stream = again.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!until.test(text)) text += (await stream.read()).value ?? '';
      return text;
    };
    logger.info({ event: 'test.after_resume_point' }, 'one more line');
    const resumed = await resume(live.id!, /test\.after_resume_point/);
    assert.doesNotMatch(resumed, /test\.after_connect/);
    assert.match(await resume('999999999', /test\.after_connect/), /^event: log\n/);
    // A HEAD is answered without a stream: one would never be aborted, and would hold a listener for ever.
    const before = logFeed.listeners;
    const head = await fetch(`${server.url}/api/log`, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(head.status, 200);
    logger.info({ event: 'test.after_head' }, 'a line after the HEAD');
    assert.equal(logFeed.listeners, before, 'no listener left by a HEAD');
    const listening = logFeed.listeners;
    abort.abort();
    await waitFor('the stream to let go of the feed', async () => (logFeed.listeners < listening ? true : undefined), 15_000);
  } finally {
    abort.abort();
    await server.close();
  }
});

test('a client over the rate limit gets 429 JSON', async () => {
  const limited = freshApp({ rateLimitPerMinute: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await call('GET', '/api/health', { on: limited, token: null })).status, 200);
  const over = await refused('GET', '/api/health', 429, /more than 3 requests a minute/, { on: limited, token: null });
  assert.equal(over.body.error.code, 'rate_limited');
});

test('with Temporal unreachable, the status says so and starting a run is a 503, not a 500', async () => {
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const unreachable = freshApp({}, new Client({ connection }));
  try {
    const status = await call('GET', '/api/status', { on: unreachable });
    assert.equal(status.status, 200);
    assert.equal(status.body.temporal.reachable, false);
    assert.deepEqual(status.body.schedules, []);
    assert.equal(status.body.catalog.files.total, 4, 'the catalog part is there all the same');
    const started = await call('POST', '/api/sync/full', { on: unreachable });
    assert.equal(started.status, 503, JSON.stringify(started.body));
    assert.equal(started.body.error.code, 'temporal_unavailable');
  } finally {
    await connection.close();
  }
});

test('an unexpected failure is a 500 JSON naming a request id, and the log has the error under that id', async () => {
  const closed = Catalog.open(config.catalog.path);
  closed.close();
  const broken = createApiApp({ config, client: worker.client, catalog: closed, logger, logFeed, env: ENV });
  const answer = await call('GET', '/api/files', { on: broken });
  assert.equal(answer.status, 500);
  assert.equal(answer.body.error.code, 'internal');
  const requestId = answer.headers.get('x-request-id')!;
  assert.match(answer.body.error.message, new RegExp(`request id ${requestId}$`));
  const line = logged.map((l) => JSON.parse(l)).find((e) => e.event === 'api.error' && e.requestId === requestId);
  assert.match(line.err.message, /database connection is not open/);
  assert.equal(line.path, '/api/files');
});

test('the token and the other secrets never reach the log, though every request was logged', () => {
  const text = logged.join('\n');
  assert.ok(
    logged.some((l) => JSON.parse(l).event === 'api.request' && JSON.parse(l).status === 401),
    'refused requests are logged',
  );
  assert.ok(logged.some((l) => JSON.parse(l).event === 'api.request' && JSON.parse(l).method === 'POST'));
  const secrets = [TOKEN, WRONG_TOKEN, emulatorOAuth.clientSecret, emulatorOAuth.refreshToken, stack.minio!.secretAccessKey];
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}...) is in the log`);
});

test('with one account, /api/accounts lists it and its routes answer at its prefix as well as unprefixed', async () => {
  const server = await startApiServer(config, { client: worker.client, catalog, logger, logFeed, env: ENV });
  try {
    const listed = (await call('GET', '/api/accounts', { on: server.app })).body.items;
    assert.deepEqual(
      listed.map((a: { account: string; namespace: string; path: string }) => [a.account, a.namespace, a.path]),
      [['me@example.com', 'default', '/api/accounts/me%40example.com']],
    );
    assert.equal(listed[0].google.name, 'me@example.com');
    const prefixed = await call('GET', '/api/accounts/me%40example.com/files?limit=500', { on: server.app });
    const unprefixed = await call('GET', '/api/files?limit=500', { on: server.app });
    assert.equal(prefixed.status, 200);
    assert.deepEqual(prefixed.body, unprefixed.body);
    assert.equal((await call('GET', '/api/accounts/me%40example.com/status', { on: server.app })).body.account, 'me@example.com');
    assert.equal((await call('GET', '/api/accounts/me%40example.com/status', { on: server.app, token: null })).status, 401);
  } finally {
    await server.close();
  }
});

test('several accounts in one config: listed, each at its prefix with its own catalog and namespace; unprefixed is a 400', {
  timeout: 120_000,
}, async () => {
  const accounts = twoAccounts(config, NAMESPACES);
  const own = { ana: ['ana-1'], bo: ['bo-1', 'bo-2'] };
  for (const [i, ids] of [own.ana, own.bo].entries()) {
    const accountCatalog = Catalog.open(accounts[i]!.catalog.path);
    accountCatalog.recordListedFiles(
      ids.map((id) => listedBinaryFile(id)),
      'l1',
    );
    // A dump each, so that /metrics has a sample of each account.
    startRun(accountCatalog, { runId: `dump-${i}`, kind: 'nightly-dump', workflowId: `dump-${i}` });
    closeRun(accountCatalog, { runId: `dump-${i}`, status: 'completed', summary: {} });
    accountCatalog.close();
  }
  const env = { ...ENV, GOOGLE_CLIENT_SECRET: emulatorOAuth.clientSecret, DRIVE_VAULT_TOKEN_KEY: randomBytes(32).toString('base64') };
  const server = await startApiServer(accounts, { logger, logFeed, env });
  const answers: Answer[] = [];
  const ask = async (method: string, path: string, options: Parameters<typeof call>[2] = {}) => {
    const answer = await call(method, path, { on: server.app, ...options });
    answers.push(answer);
    return answer;
  };
  const ana = accountPrefix('ana@example.org');
  const bo = accountPrefix('bo');
  const connection = await Connection.connect({ address: stack.temporal!.address });
  try {
    assert.equal(ana, '/api/accounts/ana%40example.org');
    const listed = await ask('GET', '/api/accounts');
    assert.deepEqual(
      listed.body.items.map((a: { account: string; namespace: string; path: string; google: { name: string } }) => [
        a.account,
        a.namespace,
        a.path,
        a.google.name,
      ]),
      [
        ['ana@example.org', NAMESPACES.ana, ana, 'ana@example.org'],
        ['bo', NAMESPACES.bo, bo, 'bo'],
      ],
    );
    assert.equal(listed.body.items[1].google.connected, false, "bo's refresh token variable is not set");

    // Each account's pages read its own catalog.
    const ids = async (prefix: string) => (await ask('GET', `${prefix}/files`)).body.items.map((f: { id: string }) => f.id).sort();
    assert.deepEqual(await ids(ana), own.ana);
    assert.deepEqual(await ids(bo), own.bo);
    assert.deepEqual((await ask('GET', `${bo}/files/bo-2`)).body.id, 'bo-2');
    await refused('GET', `${ana}/files/bo-2`, 404, /no file bo-2/, { on: server.app });
    const status = (await ask('GET', `${bo}/status`)).body;
    assert.deepEqual([status.account, status.catalog.files.total, status.temporal.reachable], ['bo', 2, true]);

    // A run started for bo is in bo's namespace, and in no other.
    const started = await ask('POST', `${bo}/sync/full`);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.match(started.body.webUi, new RegExp(`/namespaces/${NAMESPACES.bo}/workflows/${started.body.workflowId}/`));
    const inNamespace = (namespace: string) => new Client({ connection, namespace }).workflow.getHandle(started.body.workflowId);
    assert.equal((await inNamespace(NAMESPACES.bo).describe()).runId, started.body.runId);
    for (const other of [NAMESPACES.ana, 'default']) {
      await assert.rejects(inNamespace(other).describe(), WorkflowNotFoundError, `not in ${other}`);
    }
    await inNamespace(NAMESPACES.bo).terminate('the test only looks for it');

    // A consent begun for bo comes back to bo's prefix, and only bo's app knows its state.
    const consent = (await ask('POST', `${bo}/auth/google/start`)).body;
    assert.equal(consent.redirectUri, `http://localhost${bo}/auth/google/callback`);
    const callback = (prefix: string) => `${prefix}/auth/google/callback?state=${consent.state}&error=access_denied`;
    const notAna = await refused('GET', callback(ana), 400, /unknown, expired or already used state/, { on: server.app, token: null });
    assert.equal(notAna.body.error.code, 'invalid_state');
    const atBo = await refused('GET', callback(bo), 400, /did not grant access/, { on: server.app, token: null });
    assert.equal(atBo.body.error.code, 'consent_refused');

    // Unprefixed, an account route does not guess the account; an unknown account is a 404; both need the token.
    for (const [method, path] of [
      ['GET', '/api/status'],
      ['POST', '/api/sync/full'],
      ['GET', '/api/log'],
      // Found by a cold review: percent-encoded, the path reached the first account's app.
      ['GET', '/%61pi/files'],
      ['POST', '/%61pi/sync/full'],
    ]) {
      const answer = await refused(method!, path!, 400, /2 accounts \(ana@example\.org, bo\)/, { on: server.app });
      assert.equal(answer.body.error.code, 'account_required');
    }
    await refused('GET', '/api/accounts/%E0%A4%A/status', 400, /malformed percent-encoding/, { on: server.app });
    const unknown = await refused('GET', '/api/accounts/carol/status', 404, /no account "carol".*ana@example\.org, bo/, { on: server.app });
    assert.equal(unknown.body.error.code, 'unknown_account');
    for (const [method, path] of [
      ['GET', '/api/accounts'],
      ['GET', `${bo}/status`],
      ['GET', `${ana}/files`],
      ['POST', `${bo}/sync/full`],
      ['POST', `${bo}/auth/google/start`],
      ['GET', `${bo}/log`],
      ['GET', '/api/accounts/carol/status'],
      ['GET', '/api/status'],
    ]) {
      const answer = await ask(method!, path!, { token: null });
      assert.deepEqual([answer.status, answer.body.error?.code], [401, 'unauthorized'], `${method} ${path} without the token`);
      assert.equal((await ask(method!, path!, { token: WRONG_TOKEN })).status, 401, `${method} ${path} with a wrong token`);
    }

    // Each account's live log has its own lines and the process's, not the other account's.
    logger.child({ account: 'ana@example.org' }).info({ event: 'test.ana_line' }, "ana's");
    logger.child({ account: 'bo' }).info({ event: 'test.bo_line' }, "bo's");
    const abort = new AbortController();
    const stream = await fetch(`${server.url}${bo}/log`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    while (!seen.includes('test.bo_line')) {
      const { value, done } = await reader.read();
      if (done) assert.fail(`bo's log ended before its line came:\n${seen}`);
      seen += value;
    }
    abort.abort();
    assert.doesNotMatch(seen, /test\.ana_line/, "ana's line is not in bo's log");
    assert.match(seen, /"event":"api\.request"/, "the process's lines are");

    // What is the same for every account stays unprefixed and open.
    for (const path of ['/api/health', '/api/version', '/openapi.json', '/']) {
      assert.equal((await ask('GET', path, { token: null })).status, 200, path);
    }
    const metrics = await ask('GET', '/metrics');
    assert.equal(metrics.status, 200);
    for (const account of ['ana@example.org', 'bo']) assert.match(metrics.body, new RegExp(`\\{account="${account}"`), account);
    const doc = (await ask('GET', '/openapi.json', { token: null })).body;
    assert.ok(doc.paths['/api/accounts']?.get, '/api/accounts is documented');
    assert.match(doc.info.description, /\/api\/accounts\/\{account\}\//);
    for (const r of [...appRoutes(server.app), ...appRoutes()]) {
      if (DASHBOARD.has(`${r.method} ${r.template}`)) continue;
      const path = r.template.replace(/:([^/]+)/g, '{$1}');
      assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path} is not in the OpenAPI document`);
    }
    assert.deepEqual(
      answers.filter((a) => a.status >= 500).map((a) => a.body),
      [],
    );
    assert.deepEqual(
      badInputStatuses.filter((a) => a.status >= 500),
      [],
    );
  } finally {
    await connection.close();
    await server.close();
  }
});
