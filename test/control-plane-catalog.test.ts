import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../activities/catalog/catalog';
import { MY_DRIVE_SCOPE, promoteStagedTokens, saveChangeToken, stageChangeToken } from '../activities/catalog/changeTokens';
import { catalogReadings } from '../activities/catalog/metricReadings';
import { fileStateCounts, objectTotals } from '../activities/catalog/catalogCounts';
import { requeueFailedFile } from '../activities/catalog/failures';
import { SEARCH_SCAN_ROWS, filesPage } from '../activities/catalog/fileRecords';
import { migrations } from '../activities/catalog/migrations';
import { recordObjectVerdicts } from '../activities/catalog/objectVerification';
import { lastRunOf, runsPage } from '../activities/catalog/runHistory';
import { closeRun, startRun } from '../activities/catalog/runs';
import { recordTransferOutcomes } from '../activities/catalog/syncQueue';
import { transferDays } from '../activities/catalog/transferDays';
import { RestoreRootMissingError, RestoreTargetError, resolveRestoreTarget } from '../api/restoreTarget';
import { type StatusReport, StatusCache } from '../api/statusReport';
import { LogFeed } from '../common/logFeed';
import { createLogger } from '../common/logger';
import type { TransferOutcome } from '../common/types';
import { listedBinaryFile } from './support/catalog';

const dir = mkdtempSync(join(tmpdir(), 'control-plane-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let catalogs = 0;
const openCatalog = () => Catalog.open(join(dir, `catalog-${++catalogs}.db`));

/** What the totals must say: a count over the objects themselves. */
function countedTotals(catalog: Catalog) {
  const rows = catalog.db
    .prepare('SELECT destination, state, count(*) AS objects, sum(size) AS bytes FROM objects GROUP BY destination, state')
    .all() as Array<{ destination: string; state: string; objects: number; bytes: number }>;
  const out: Record<string, { objects: number; bytes: number; byState: Record<string, { objects: number; bytes: number }> }> = {};
  for (const r of rows) {
    const t = (out[r.destination] ??= { objects: 0, bytes: 0, byState: {} });
    t.objects += r.objects;
    t.bytes += r.bytes;
    t.byState[r.state] = { objects: r.objects, bytes: r.bytes };
  }
  return out;
}

const stored = (fileId: string, destination: string, size: number, version = '1') => ({
  format: '',
  destination,
  key: `drive/me/My Drive/${fileId}.bin`,
  size,
  sha256: 'ab'.repeat(32),
  fileVersion: version,
  verifiedAt: '2026-11-20T00:00:00Z',
});

function transfer(catalog: Catalog, runId: string, outcomes: TransferOutcome[]) {
  return recordTransferOutcomes(catalog, { runId, outcomes });
}

test('the objects and bytes per destination follow every write to the objects: uploads, re-uploads, verdicts, removals', () => {
  const catalog = openCatalog();
  startRun(catalog, { runId: 'r1', kind: 'incremental-sweep', workflowId: 'w1' });
  catalog.recordListedFiles(
    ['a', 'b', 'c'].map((id) => listedBinaryFile(id)),
    'l1',
  );
  transfer(catalog, 'r1', [
    { fileId: 'a', stored: [stored('a', 'aws', 100), stored('a', 'nas', 100)], bytesDownloaded: 100 },
    { fileId: 'b', stored: [stored('b', 'aws', 30)], bytesDownloaded: 30 },
  ]);
  assert.deepEqual(Object.fromEntries(objectTotals(catalog)), countedTotals(catalog));
  assert.equal(objectTotals(catalog).get('aws')?.bytes, 130);
  // b written again, larger: an update of its row, not a second object.
  transfer(catalog, 'r1', [{ fileId: 'b', stored: [stored('b', 'aws', 70, '2')], bytesDownloaded: 70 }]);
  assert.equal(objectTotals(catalog).get('aws')?.bytes, 170);
  // A HEAD that finds a's object on nas changed marks it failed: it moves from verified to failed.
  const rowid = (catalog.db.prepare(`SELECT rowid FROM objects WHERE file_id = 'a' AND destination = 'nas'`).get() as { rowid: number })
    .rowid;
  recordObjectVerdicts(catalog, [{ rowid, fileId: 'a', destination: 'nas', problem: 'size 1, not 100' }], 'HEAD');
  assert.deepEqual(objectTotals(catalog).get('nas')?.byState, { failed: { objects: 1, bytes: 100 } });
  // A file removed from the catalog takes its objects with it (the foreign key cascades).
  catalog.db.prepare(`DELETE FROM files WHERE id = 'a'`).run();
  assert.deepEqual(Object.fromEntries(objectTotals(catalog)), countedTotals(catalog));
  assert.equal(objectTotals(catalog).has('nas'), false);
  catalog.close();
});

test('a catalog from before the totals gets them, and its bytes per day, from the objects it holds', () => {
  const path = join(dir, 'old.db');
  const db = new Database(path);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  for (const m of migrations.filter((m) => m.version <= 11)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01');
  }
  db.exec(`INSERT INTO files (id, kind, name, mime_type, modified_time, version, state, last_listing_id, created_at, updated_at)
           VALUES ('f', 'binary', 'f', 'x', '2026-01-01', '1', 'synced', 'l', '2026-01-01', '2026-01-01')`);
  const insert = db.prepare(
    `INSERT INTO objects (file_id, destination, format, key, size, state, uploaded_at) VALUES ('f', ?, ?, ?, ?, 'verified', ?)`,
  );
  insert.run('aws', '', 'k1', 10, '2026-11-01T10:00:00Z');
  insert.run('aws', 'pdf', 'k2', 5, '2026-11-02T10:00:00Z');
  insert.run('nas', '', 'k3', 10, '2026-11-01T11:00:00Z');
  db.close();
  const catalog = Catalog.open(path);
  assert.deepEqual(Object.fromEntries(objectTotals(catalog)), countedTotals(catalog));
  assert.deepEqual(transferDays(catalog, '2026-11-01'), [
    { day: '2026-11-01', destination: 'aws', objects: 1, bytes: 10 },
    { day: '2026-11-01', destination: 'nas', objects: 1, bytes: 10 },
    { day: '2026-11-02', destination: 'aws', objects: 1, bytes: 5 },
  ]);
  catalog.close();
});

test('bytes transferred per day count every upload, a file written twice included, and an outcome recorded twice once', () => {
  const catalog = openCatalog();
  startRun(catalog, { runId: 'r1', kind: 'full-sync', workflowId: 'w1' });
  catalog.recordListedFiles([listedBinaryFile('a')], 'l1');
  transfer(catalog, 'r1', [{ fileId: 'a', stored: [stored('a', 'aws', 100), stored('a', 'eu', 100)], bytesDownloaded: 100 }]);
  transfer(catalog, 'r1', [{ fileId: 'a', stored: [stored('a', 'aws', 40, '2')], bytesDownloaded: 40 }]);
  // The same outcomes recorded again: a retried activity whose first try committed. Nothing new was written.
  transfer(catalog, 'r1', [{ fileId: 'a', stored: [stored('a', 'aws', 40, '2')], bytesDownloaded: 40 }]);
  // The same version written again after a HEAD found its object wrong: new bytes on the destination, counted.
  const rowid = (catalog.db.prepare(`SELECT rowid FROM objects WHERE file_id = 'a' AND destination = 'eu'`).get() as { rowid: number })
    .rowid;
  recordObjectVerdicts(catalog, [{ rowid, fileId: 'a', destination: 'eu', problem: 'size 1, not 100' }], 'HEAD');
  transfer(catalog, 'r1', [{ fileId: 'a', stored: [stored('a', 'eu', 100)], bytesDownloaded: 100 }]);
  const today = new Date().toISOString().slice(0, 10);
  assert.deepEqual(transferDays(catalog, today), [
    { day: today, destination: 'aws', objects: 2, bytes: 140 },
    { day: today, destination: 'eu', objects: 2, bytes: 200 },
  ]);
  catalog.close();
});

test('retrying one file: failed or deferred go back to pending, a pending one with an open failure stays, a synced one has nothing to retry', () => {
  const catalog = openCatalog();
  startRun(catalog, { runId: 'r1', kind: 'full-sync', workflowId: 'w1' });
  catalog.recordListedFiles(
    ['failed', 'deferred', 'synced', 'mismatch', 'gone'].map((id) => listedBinaryFile(id)),
    'l1',
  );
  const failure = (deferred: boolean) => ({ reason: 'x', message: 'm', attempts: 5, destinations: ['aws'], deferred });
  transfer(catalog, 'r1', [
    { fileId: 'failed', stored: [], bytesDownloaded: 0, failure: failure(false) },
    { fileId: 'deferred', stored: [], bytesDownloaded: 0, failure: failure(true) },
    { fileId: 'synced', stored: [stored('synced', 'aws', 1)], bytesDownloaded: 1 },
    { fileId: 'mismatch', stored: [stored('mismatch', 'aws', 1)], bytesDownloaded: 1 },
    { fileId: 'gone', stored: [], bytesDownloaded: 0, failure: failure(false) },
  ]);
  const rowid = (catalog.db.prepare(`SELECT rowid FROM objects WHERE file_id = 'mismatch'`).get() as { rowid: number }).rowid;
  recordObjectVerdicts(catalog, [{ rowid, fileId: 'mismatch', destination: 'aws', problem: 'gone' }], 'HEAD');
  catalog.db.transaction(() => catalog.places.markGone(['gone'], 'trashed'))();
  assert.equal(requeueFailedFile(catalog, 'failed'), 'requeued');
  assert.equal(requeueFailedFile(catalog, 'deferred'), 'requeued');
  assert.equal(requeueFailedFile(catalog, 'mismatch'), 'pending');
  assert.equal(requeueFailedFile(catalog, 'synced'), 'nothing');
  assert.equal(requeueFailedFile(catalog, 'gone'), 'nothing');
  assert.equal(requeueFailedFile(catalog, 'no-such-file'), 'unknown');
  assert.equal(catalog.getFile('failed')?.state, 'pending');
  assert.equal(catalog.getFile('deferred')?.state, 'pending');
  assert.deepEqual(fileStateCounts(catalog), { pending: 3, synced: 1, failed: 0, deferred: 0, skipped: 0 }, 'the gone file is not counted');
  catalog.close();
});

test('a search reads a bounded number of items per page, and following its cursor finds every match', () => {
  const catalog = openCatalog();
  const total = SEARCH_SCAN_ROWS * 2 + 100;
  const id = (n: number) => `f${String(n).padStart(6, '0')}`;
  const matches = new Set([id(3), id(SEARCH_SCAN_ROWS + 7), id(total - 1)]);
  const files = Array.from({ length: total }, (_, n) =>
    listedBinaryFile(id(n), { name: matches.has(id(n)) ? `Quarterly-Report-${n}.pdf` : `photo-${n}.jpg` }),
  );
  for (let i = 0; i < files.length; i += 1000) catalog.recordListedFiles(files.slice(i, i + 1000), 'l1');
  const found: string[] = [];
  let afterId = '';
  let pages = 0;
  for (;;) {
    const page = filesPage(catalog, { afterId, limit: 50, q: 'quarterly-report' });
    found.push(...page.items.map((i) => i.id));
    pages++;
    if (page.nextAfterId === null) break;
    afterId = page.nextAfterId;
  }
  assert.deepEqual(found, [...matches]);
  assert.equal(pages, 3, 'each page read at most SEARCH_SCAN_ROWS items');
  const first = filesPage(catalog, { afterId: '', limit: 2 });
  assert.deepEqual(
    first.items.map((i) => i.id),
    [id(0), id(1)],
  );
  assert.equal(filesPage(catalog, { afterId: first.nextAfterId!, limit: 1 }).items[0]?.id, id(2));
  catalog.close();
});

test('runs come newest first, a page at a time, and the last finished run of a kind is told apart from a running one', () => {
  const catalog = openCatalog();
  for (const [i, kind] of (['nightly-dump', 'nightly-dump', 'weekly-rollup', 'nightly-dump'] as const).entries()) {
    catalog.db
      .prepare(`INSERT INTO runs (id, kind, workflow_id, started_at, status) VALUES (?, ?, ?, ?, 'running')`)
      .run(`run${i}`, kind, `wf${i}`, `2026-11-0${i + 1}T00:00:00Z`);
  }
  closeRun(catalog, { runId: 'run0', status: 'completed', summary: { ok: true } });
  closeRun(catalog, { runId: 'run1', status: 'failed', summary: { ok: false } });
  const page1 = runsPage(catalog, { limit: 2 });
  assert.deepEqual(
    page1.map((r) => r.runId),
    ['run3', 'run2'],
  );
  const last = page1.at(-1)!;
  assert.deepEqual(
    runsPage(catalog, { limit: 5, before: { startedAt: last.startedAt, runId: last.runId } }).map((r) => r.runId),
    ['run1', 'run0'],
  );
  assert.deepEqual(
    runsPage(catalog, { limit: 5, kind: 'nightly-dump' }).map((r) => r.runId),
    ['run3', 'run1', 'run0'],
  );
  const dumps = lastRunOf(catalog, 'nightly-dump');
  assert.equal(dumps.last?.runId, 'run3');
  assert.equal(dumps.lastFinished?.runId, 'run1');
  assert.deepEqual(dumps.lastFinished?.summary, { ok: false });
  assert.deepEqual(lastRunOf(catalog, 'full-sync'), { last: null, lastFinished: null });
  catalog.close();
});

const report = (n: number) => ({ generatedAt: String(n) }) as unknown as StatusReport;

test('the status cache shares one read within its lifetime, serves an older report while one read refreshes it, and reads anew after invalidate', async () => {
  let clock = 0;
  let reads = 0;
  const pending: Array<(r: StatusReport) => void> = [];
  const cache = new StatusCache(
    () => {
      reads++;
      return new Promise<StatusReport>((resolve) => pending.push(resolve));
    },
    { ttlMs: 2000, now: () => clock },
  );
  const first = [cache.get(), cache.get()];
  assert.equal(reads, 1, 'two requests, one read');
  pending.shift()!(report(1));
  assert.deepEqual(await Promise.all(first), [report(1), report(1)]);
  clock = 1999;
  assert.deepEqual(await cache.get(), report(1));
  assert.equal(reads, 1);
  clock = 2000;
  assert.deepEqual(await cache.get(), report(1), 'stale, served at once');
  assert.deepEqual(await cache.get(), report(1));
  assert.equal(reads, 2, 'one refresh for both');
  // A read begun before invalidate is not kept: the change may not be in it.
  cache.invalidate();
  const waiting = cache.get();
  assert.equal(reads, 3);
  pending.shift()!(report(2));
  pending.shift()!(report(3));
  assert.deepEqual(await waiting, report(3));
  assert.deepEqual(await cache.get(), report(3));
});

test('a restore target must stay below the restore root: relative, no "..", and not through a link that leads out', async () => {
  const root = join(dir, 'restore-root');
  const outside = join(dir, 'outside');
  mkdirSync(join(root, 'existing'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  symlinkSync(outside, join(root, 'escape'));
  symlinkSync(join(root, 'existing'), join(root, 'inside-link'));
  writeFileSync(join(root, 'a-file'), 'x');
  assert.equal(await resolveRestoreTarget(root, 'new/folder'), join(root, 'new', 'folder'));
  assert.equal(await resolveRestoreTarget(root, './existing/x'), join(root, 'existing', 'x'));
  assert.equal(await resolveRestoreTarget(root, 'inside-link/y'), join(root, 'existing', 'y'), 'a link that stays inside is resolved');
  for (const target of [
    '/etc',
    '../outside',
    'a/../../outside',
    '..',
    'escape',
    'escape/deeper',
    'C:/x',
    'a\\..\\b',
    'a-file',
    'a-file/x',
  ]) {
    await assert.rejects(resolveRestoreTarget(root, target), RestoreTargetError, target);
  }
  await assert.rejects(resolveRestoreTarget(join(dir, 'no-root'), 'x'), RestoreRootMissingError);
});

test('the log feed keeps the last lines, resumes after a given one, and feeds listeners lines already redacted', () => {
  const feed = new LogFeed(3);
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const logger = createLogger({ level: 'info', feed }, sink);
  const live: string[] = [];
  const stop = feed.subscribe((e) => live.push(e.line));
  feed.subscribe(() => {
    throw new Error('a listener that fails is dropped, never the logging');
  });
  for (let i = 1; i <= 5; i++) logger.info({ i, token: `secret-${i}` }, 'line');
  assert.deepEqual(
    feed.recent().map((e) => JSON.parse(e.line).i),
    [3, 4, 5],
  );
  assert.deepEqual(
    feed.recent(4).map((e) => e.seq),
    [5],
  );
  assert.equal(live.length, 5);
  assert.ok(live.every((l) => !l.includes('secret-') && JSON.parse(l).token === '[redacted]'));
  assert.equal(feed.listeners, 1, 'the failing listener was dropped');
  stop();
  assert.equal(feed.listeners, 0);
});

// The sweep lag read low by a full sync's whole length: its tokens, taken before the listing, counted from its end.
test("a full sync's change tokens count the sweep lag from when they were taken, a sweep's from when it read the feed", () => {
  const catalog = openCatalog();
  const readings = catalogReadings(catalog);
  stageChangeToken(catalog, 'full', MY_DRIVE_SCOPE, 't1', '2026-11-01T00:00:00.000Z');
  stageChangeToken(catalog, 'full', 'shared-1', 't2', '2026-11-01T00:00:05.000Z');
  assert.equal(readings.oldestChangesRead(), undefined, 'staged tokens are not read yet');
  assert.equal(promoteStagedTokens(catalog, 'full'), 2);
  assert.equal(readings.oldestChangesRead(), '2026-11-01T00:00:00.000Z');
  const before = new Date().toISOString();
  saveChangeToken(catalog, MY_DRIVE_SCOPE, 't3');
  assert.equal(readings.oldestChangesRead(), '2026-11-01T00:00:05.000Z', 'the drive read longest ago');
  saveChangeToken(catalog, 'shared-1', 't4');
  assert.ok(readings.oldestChangesRead()! >= before, 'read now');
  catalog.close();
});
