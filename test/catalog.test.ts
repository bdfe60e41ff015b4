import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { drive_v3 } from 'googleapis';
import { migrations } from '../activities/catalog/migrations';
import { Catalog } from '../activities/catalog/catalog';
import { finishRun, startRun } from '../activities/catalog/runs';
import { recordTransferOutcomes } from '../activities/catalog/syncQueue';
import { listDrivePage, listSharedDrives } from '../activities/drive/listing';
import { createLogger } from '../common/logger';
import { type DriveScope, type ListingCounts, addListingCounts, emptyFullSyncTotals, emptyListingCounts } from '../common/types';
import { bytesContent } from './drive-emulator/content';
import type { DriveEmulator } from './drive-emulator/server';
import { startDrive } from './support/drive';
import { listedBinaryFile } from './support/catalog';

const G = 'application/vnd.google-apps.';
let emulator: DriveEmulator;
let drive: drive_v3.Drive;
let dir: string;
const logger = createLogger({ level: 'silent' });

before(async () => {
  ({ emulator, drive } = await startDrive());
  dir = mkdtempSync(join(tmpdir(), 'catalog-test-'));
  const s = emulator.store;
  const docs = await s.addFile({ name: 'Docs' });
  await s.addFile({ name: 'report.pdf', parentId: docs.id, content: bytesContent('pdf bytes') });
  await s.addFile({ name: 'report.pdf', parentId: docs.id, content: bytesContent('other pdf bytes') });
  await s.addFile({ name: 'Plan', parentId: docs.id, mimeType: `${G}document`, text: 'plan' });
  await s.addFile({ name: 'Survey', parentId: docs.id, mimeType: `${G}form` });
  await s.addFile({ name: 'binned.txt', content: bytesContent('x'), trashed: true });
  await s.addFile({ name: 'from-a-colleague.txt', content: bytesContent('shared'), sharedWithMe: true });
  await s.addFile({ name: 'colleague-in-docs.txt', parentId: docs.id, ownedByMe: false, content: bytesContent('theirs, in my folder') });
  const team = s.addDrive('Team');
  await s.addFile({ name: 'team.txt', driveId: team.id, content: bytesContent('team') });
  for (let i = 0; i < 1500; i++) await s.addFile({ name: `bulk-${i}.bin`, parentId: docs.id, content: bytesContent(`bulk ${i}`) });
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listEverything(catalog: Catalog, listingId: string): Promise<ListingCounts> {
  const deps = { drive, catalog, logger };
  const scopes: DriveScope[] = [
    { kind: 'my-drive' },
    ...(await listSharedDrives(deps)).map((d) => ({ kind: 'shared-drive' as const, ...d })),
  ];
  let totals = emptyListingCounts();
  for (const scope of scopes) {
    let pageToken: string | undefined;
    do {
      const page = await listDrivePage(deps, { scope, pageToken, listingId });
      assert.deepEqual(
        Object.keys(page).sort(),
        page.nextPageToken ? ['counts', 'nextPageToken'] : ['counts', 'nextPageToken'].filter((k) => k in page),
      );
      totals = addListingCounts(totals, page.counts);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
  return totals;
}

test('the catalog is a 0600 WAL file with foreign keys on and every migration applied', () => {
  const latest = Math.max(...migrations.map((m) => m.version));
  const catalog = Catalog.open(join(dir, 'fresh', 'catalog.db'));
  try {
    assert.equal(statSync(join(dir, 'fresh', 'catalog.db')).mode & 0o777, 0o600);
    assert.equal(catalog.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(catalog.db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(catalog.schemaVersion(), latest);
    const tables = (catalog.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map(
      (t) => t.name,
    );
    for (const t of ['files', 'objects', 'runs', 'failures', 'change_tokens', 'drives']) assert.ok(tables.includes(t), t);
  } finally {
    catalog.close();
  }
  const reopened = Catalog.open(join(dir, 'fresh', 'catalog.db'));
  assert.equal(reopened.schemaVersion(), latest, 'reopening applies nothing twice');
  reopened.close();
});

test('listDrivePage pages My Drive and shared drives into the catalog; a re-list changes nothing', async () => {
  const catalog = Catalog.open(join(dir, 'list.db'));
  try {
    const first = await listEverything(catalog, 'listing-1');
    // 1 folder + 2 equal-named pdfs + doc + form + 1500 bulk + a colleague's file in My Drive, 1 shared with me,
    // 1 in the shared drive; trashed left out
    assert.deepEqual(first, { listed: 1508, new: 1508, changed: 0, unchanged: 0, skipped: 1, folders: 1 });
    const all = catalog.filesPage('', 5000);
    assert.equal(all.length, 1508);
    assert.equal(all.filter((f) => f.name === 'report.pdf').length, 2, 'equal names are two files');
    const form = all.find((f) => f.name === 'Survey')!;
    assert.deepEqual([form.kind, form.state], ['unsupported', 'skipped']);
    assert.match(form.skipReason!, /Forms cannot be exported/);
    const doc = all.find((f) => f.name === 'Plan')!;
    assert.deepEqual([doc.kind, doc.state, doc.md5], ['workspace', 'pending', null]);
    const team = all.find((f) => f.name === 'team.txt')!;
    assert.ok(team.driveId, 'shared drive files carry their drive id');
    assert.equal(
      all.find((f) => f.name === 'bulk-7.bin')!.md5,
      emulator.store.files.get(all.find((f) => f.name === 'bulk-7.bin')!.id)!.hashes!.md5,
    );
    assert.ok(!all.some((f) => f.name === 'binned.txt'));

    catalog.db.prepare("UPDATE files SET state = 'synced' WHERE state = 'pending'").run();
    const before = catalog.db.prepare('SELECT * FROM files ORDER BY id').all();
    const second = await listEverything(catalog, 'listing-2');
    assert.deepEqual(second, { listed: 1508, new: 0, changed: 0, unchanged: 1508, skipped: 1, folders: 1 });
    const afterRows = catalog.db.prepare('SELECT * FROM files ORDER BY id').all() as Array<Record<string, unknown>>;
    assert.deepEqual(
      afterRows.map(({ last_listing_id: _l, updated_at: _u, ...rest }) => rest),
      (before as Array<Record<string, unknown>>).map(({ last_listing_id: _l, updated_at: _u, ...rest }) => rest),
      'nothing but the listing id and the time it was seen changed',
    );

    const bulk = all.find((f) => f.name === 'bulk-3.bin')!;
    await emulator.store.modifyContent(bulk.id, { content: bytesContent('new bytes') });
    emulator.store.rename(all.find((f) => f.name === 'bulk-4.bin')!.id, 'bulk-4-renamed.bin');
    const third = await listEverything(catalog, 'listing-3');
    assert.equal(third.changed, 2);
    assert.equal(catalog.getFile(bulk.id)!.state, 'pending', 'changed content is pending again');
    // A rename is no new content: the file stays synced, and a place check will move its objects server-side.
    const renamed = all.find((f) => f.name === 'bulk-4.bin')!;
    assert.equal(catalog.getFile(renamed.id)!.state, 'synced');
    assert.deepEqual(catalog.db.prepare('SELECT file_id FROM place_checks').all(), [{ file_id: renamed.id }]);
    assert.equal(catalog.countsByState().synced, 1505);
  } finally {
    catalog.close();
  }
});

test("every listed item is recorded whoever owns it: a colleague's file under my folder, a shared file with no parent", async () => {
  // Whether an item seen only under "Shared with me" is backed up is decided when keys are planned, not here.
  const catalog = Catalog.open(join(dir, 'shared-with-me.db'));
  try {
    const counts = await listEverything(catalog, 'l');
    assert.equal(counts.listed, 1508);
    const files = catalog.filesPage('', 5000);
    const docs = files.find((f) => f.name === 'Docs')!;
    const place = (name: string) => files.filter((f) => f.name === name).map((f) => [f.parentId, f.driveId, f.state, f.ownedByMe]);
    assert.deepEqual(place('colleague-in-docs.txt'), [[docs.id, null, 'pending', false]]);
    assert.deepEqual(place('from-a-colleague.txt'), [[null, null, 'pending', false]]);
    assert.deepEqual(place('Plan'), [[docs.id, null, 'pending', true]]);
    assert.equal(files.find((f) => f.name === 'team.txt')!.ownedByMe, null, 'shared drive items have no owner');
  } finally {
    catalog.close();
  }
});

test('a Drive reply of the wrong shape is an error naming the field, and nothing is recorded', async () => {
  const catalog = Catalog.open(join(dir, 'bad.db'));
  const badPage = { files: [{ id: 'x', name: 'n', mimeType: 'text/plain', modifiedTime: 't', version: '1', md5Checksum: 'not-a-md5' }] };
  emulator.faults.add({ match: '^GET /drive/v3/files\\?', times: 1, status: 200, replaceBody: JSON.stringify(badPage) });
  try {
    await assert.rejects(
      listDrivePage({ drive, catalog, logger }, { scope: { kind: 'my-drive' }, listingId: 'l' }),
      (err: Error) => err.name === 'InvalidDriveReplyError' && /files\.0\.md5Checksum/.test(err.message),
    );
    assert.equal(catalog.filesPage('', 10).length, 0);
  } finally {
    catalog.close();
  }
});

test('only content or place counts as a change: a folder edit, a new version with the same bytes and a re-listed shortcut do not', async () => {
  const catalog = Catalog.open(join(dir, 'metadata-only.db'));
  const s = emulator.store;
  try {
    const folder = await s.addFile({ name: 'meta-folder' });
    const bin = await s.addFile({ name: 'meta.bin', parentId: folder.id, content: bytesContent('same bytes') });
    const target = await s.addFile({ name: 'meta-target.txt', parentId: folder.id, content: bytesContent('t') });
    const shortcut = await s.addFile({ name: 'meta-link', parentId: folder.id, mimeType: `${G}shortcut`, shortcutTargetId: target.id });
    await listEverything(catalog, 'm1');
    catalog.db.prepare("UPDATE files SET state = 'synced' WHERE state = 'pending'").run();
    await s.modifyContent(bin.id, { content: bytesContent('same bytes') }); // new version, same bytes
    s.rename(folder.id, 'meta-folder'); // a new version, same modifiedTime
    s.rename(shortcut.id, 'meta-link');
    const counts = await listEverything(catalog, 'm2');
    assert.equal(counts.changed, 0);
    assert.equal(catalog.getFile(bin.id)!.state, 'synced');
    assert.equal(
      catalog.getFile(bin.id)!.version,
      s.files.get(bin.id)!.version.toString(),
      'metadata is refreshed even when nothing changed',
    );
    s.rename(folder.id, 'meta-folder-renamed');
    assert.equal((await listEverything(catalog, 'm3')).changed, 1, 'a renamed folder is a change of place');
  } finally {
    catalog.close();
  }
});

test('transfer failures are kept per destination: a destination that has the file stops failing, and old lists are split', () => {
  const path = join(dir, 'failures', 'catalog.db');
  mkdirSync(join(dir, 'failures'));
  // A catalog as version 5 left it, with a failure naming two destinations in one comma-separated row.
  const old = new Database(path);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  for (const m of migrations.filter((m) => m.version <= 5)) {
    old.exec(m.sql);
    old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00Z');
  }
  const file = (id: string) => listedBinaryFile(id);
  old
    .prepare(
      `INSERT INTO files (id, kind, name, mime_type, parent_id, modified_time, version, state, last_listing_id, created_at, updated_at) VALUES ('old', 'binary', 'old.bin', 'x', 'root', 't', '1', 'failed', 'l', 't', 't')`,
    )
    .run();
  old
    .prepare(
      `INSERT INTO failures (file_id, destination, run_id, attempts, reason, message, first_failed_at, last_failed_at) VALUES ('old', 'aws,eu', 'r0', 5, 'destinationError', 'down', 't', 't')`,
    )
    .run();
  old.close();

  const catalog = Catalog.open(path);
  try {
    const open = (id: string) =>
      catalog.db
        .prepare('SELECT destination, attempts FROM failures WHERE file_id = ? AND resolved_at IS NULL ORDER BY destination')
        .all(id);
    assert.deepEqual(
      open('old'),
      [
        { destination: 'aws', attempts: 5 },
        { destination: 'eu', attempts: 5 },
      ],
      'the migration split the list',
    );

    catalog.recordListedFiles([file('f1')], 'l1');
    const fail = (destinations: string[]) => ({
      fileId: 'f1',
      stored: [],
      bytesDownloaded: 0,
      failure: { reason: 'destinationError', message: 'down', attempts: 5, destinations, deferred: false },
    });
    recordTransferOutcomes(catalog, { runId: 'r1', outcomes: [fail(['aws', 'eu'])] });
    assert.deepEqual(open('f1'), [
      { destination: 'aws', attempts: 5 },
      { destination: 'eu', attempts: 5 },
    ]);
    startRun(catalog, { runId: 'r2', kind: 'full-sync', workflowId: 'w' });
    recordTransferOutcomes(catalog, { runId: 'r2', outcomes: [fail(['eu'])] });
    assert.deepEqual(open('f1'), [{ destination: 'eu', attempts: 10 }], 'aws has the file now; eu keeps failing');
    assert.deepEqual(finishRun(catalog, { runId: 'r2', totals: emptyFullSyncTotals() }).degraded, ['eu']);
    recordTransferOutcomes(catalog, { runId: 'r3', outcomes: [{ fileId: 'f1', stored: [], bytesDownloaded: 0 }] });
    assert.deepEqual(open('f1'), []);
  } finally {
    catalog.close();
  }
});
