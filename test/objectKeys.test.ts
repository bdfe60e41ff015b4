import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../activities/catalog/catalog';
import { migrations } from '../activities/catalog/migrations';
import { ObjectKeyPlanner, safeSegment } from '../activities/catalog/objectKeys';
import { SHARED_WITH_ME_SKIP, claimPendingBatch } from '../activities/catalog/syncQueue';
import { listDrivePage, listSharedDrives } from '../activities/drive/listing';
import { createLogger } from '../common/logger';
import { bytesContent } from './drive-emulator/content';
import { startDrive } from './support/drive';

const G = 'application/vnd.google-apps.';

test('hostile names become safe, distinct segments and none is dropped', () => {
  assert.equal(safeSegment('a/b'), 'a%2Fb');
  assert.equal(safeSegment('a\\b'), 'a%5Cb');
  assert.equal(safeSegment('tab\there\n'), 'tab%09here%0A');
  assert.equal(safeSegment('100%'), '100%25');
  assert.equal(safeSegment('.'), '%2E');
  assert.equal(safeSegment('..'), '%2E%2E');
  assert.equal(safeSegment('...'), '...', 'only the exact . and .. are special');
  assert.equal(safeSegment(' leading and trailing '), ' leading and trailing ');
  assert.equal(safeSegment('emoji 📦.txt'), 'emoji 📦.txt');
  assert.notEqual(safeSegment('a/b'), safeSegment('a%2Fb'), 'encoding keeps distinct names distinct');
  const long1 = `${'é'.repeat(300)}-one.pdf`;
  const long2 = `${'é'.repeat(300)}-two.pdf`;
  for (const long of [long1, long2]) {
    assert.ok(Buffer.byteLength(safeSegment(long)) <= 200, 'fits a filesystem name');
    assert.ok(safeSegment(long).endsWith('.pdf'), 'keeps the extension');
  }
  assert.notEqual(safeSegment(long1), safeSegment(long2));
  assert.equal(safeSegment(long1), safeSegment(long1), 'deterministic');
});

test('the planner keys files by drive and folder path, with exports, collisions and shared drives', async () => {
  const { emulator, drive } = await startDrive();
  const dir = mkdtempSync(join(tmpdir(), 'keys-test-'));
  const catalog = Catalog.open(join(dir, 'catalog.db'));
  try {
    const s = emulator.store;
    const docs = await s.addFile({ name: 'Docs / 2024' });
    const nested = await s.addFile({ name: '..', parentId: docs.id });
    const older = await s.addFile({ name: 'report.docx', parentId: nested.id, content: bytesContent('a real docx upload') });
    const doc = await s.addFile({ name: 'report', parentId: nested.id, mimeType: `${G}document` });
    const sheet = await s.addFile({ name: 'Budget', mimeType: `${G}spreadsheet` });
    const team = s.addDrive('My Drive');
    const teamFile = await s.addFile({ name: 'plan.txt', driveId: team.id, content: bytesContent('p') });
    const deps = { drive, catalog, logger: createLogger({ level: 'silent' }), includeSharedWithMe: false };
    await listSharedDrives(deps);
    await listDrivePage(deps, { scope: { kind: 'my-drive' }, listingId: 'l' });
    await listDrivePage(deps, { scope: { kind: 'shared-drive', driveId: team.id, name: team.name }, listingId: 'l' });

    const planner = new ObjectKeyPlanner(catalog.db, 'me@example.com', {
      document: ['docx', 'pdf'],
      spreadsheet: ['xlsx'],
      presentation: ['pptx'],
      drawing: ['pdf'],
      script: ['json'],
    });
    const base = 'drive/me@example.com/My Drive/Docs %2F 2024/%2E%2E';
    assert.deepEqual(planner.assignKeys(older.id), [{ format: '', key: `${base}/report.docx` }]);
    assert.deepEqual(planner.assignKeys(doc.id), [
      { format: 'docx', key: `${base}/report [${doc.id.slice(0, 8)}].docx` },
      { format: 'pdf', key: `${base}/report.pdf` },
    ]);
    assert.equal(planner.locate(doc.id).drivePath, 'My Drive/Docs / 2024/../report');
    assert.deepEqual(planner.assignKeys(sheet.id), [{ format: 'xlsx', key: 'drive/me@example.com/My Drive/Budget.xlsx' }]);
    const sharedKey = planner.assignKeys(teamFile.id)[0].key;
    assert.equal(
      sharedKey,
      `drive/me@example.com/My Drive [${team.id.slice(0, 8)}]/plan.txt`,
      'a shared drive named "My Drive" does not merge into My Drive',
    );
    const again = new ObjectKeyPlanner(catalog.db, 'me@example.com', {
      document: ['docx', 'pdf'],
      spreadsheet: ['xlsx'],
      presentation: ['pptx'],
      drawing: ['pdf'],
      script: ['json'],
    });
    assert.deepEqual(again.assignKeys(doc.id), planner.assignKeys(doc.id), 'keys are read back from the catalog');
  } finally {
    catalog.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const formats = { document: ['docx'], spreadsheet: ['xlsx'], presentation: ['pptx'], drawing: ['pdf'], script: ['json'] };
const listed = {
  driveId: null,
  mimeType: 'text/plain',
  size: 1,
  md5: null,
  driveSha256: null,
  headRevisionId: null,
  shortcutTargetId: null,
  skipReason: null,
};
const folderInput = (id: string, name: string, parentId: string | null = 'root') => ({
  ...listed,
  id,
  kind: 'folder' as const,
  name,
  mimeType: `${G}folder`,
  parentId,
  size: null,
  modifiedTime: '2024-01-01T00:00:00Z',
  createdTime: '2024-01-01T00:00:00Z',
  version: '1',
});
const fileInput = (id: string, name: string, parentId: string | null, createdTime = '2024-03-01T00:00:00Z', version = '1') => ({
  ...listed,
  id,
  kind: 'binary' as const,
  name,
  parentId,
  createdTime,
  modifiedTime: createdTime,
  version,
});

/** A catalog file as migration 6 left it, before keys were recorded. */
function catalogAsVersion6Left(path: string): Database.Database {
  const old = new Database(path);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  for (const m of migrations.filter((m) => m.version <= 6)) old.exec(m.sql);
  old.prepare('INSERT INTO schema_migrations VALUES (6, ?, ?)').run('six', '2026-01-01T00:00:00Z');
  return old;
}

/** A temp catalog and a claim that takes every pending file, as the full sync does batch by batch. */
function claimingCatalog(includeSharedWithMe = false) {
  const dir = mkdtempSync(join(tmpdir(), 'keys-test-'));
  const catalog = Catalog.open(join(dir, 'catalog.db'));
  const planner = new ObjectKeyPlanner(catalog.db, 'me', formats);
  const claim = () => {
    const batch = claimPendingBatch(catalog, { planner, scopeRules: { exclude: [] }, includeSharedWithMe }, { afterId: '', limit: 100 });
    return Object.fromEntries(batch.items.map((i) => [i.fileId, i.objects[0].key]));
  };
  /** What a transfer records: the claimed keys now hold each file's object on one destination. */
  const store = (keys: Record<string, string>) => {
    const insert =
      catalog.db.prepare(`INSERT INTO objects (file_id, destination, format, key, file_version, state) VALUES (?, 'aws', '', ?, '1', 'uploaded')
      ON CONFLICT (file_id, destination, format) DO UPDATE SET key = excluded.key`);
    for (const [id, key] of Object.entries(keys)) insert.run(id, key);
    catalog.db.prepare(`UPDATE files SET state = 'synced' WHERE state = 'pending'`).run();
  };
  return {
    catalog,
    claim,
    store,
    close: () => {
      catalog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a key stays with its file: an older newcomer of the same name gets the suffix, whatever its age', () => {
  const c = claimingCatalog();
  try {
    c.catalog.recordListedFiles([folderInput('folder-1', 'Notes'), fileInput('file-b', 'b.txt', 'folder-1')], 'l1');
    const first = c.claim();
    assert.deepEqual(first, { 'file-b': 'drive/me/My Drive/Notes/b.txt' });
    c.store(first);
    // Older by its date and lower by its id: under the old rule it took the plain name, and b's object.
    c.catalog.recordListedFiles([fileInput('file-a', 'b.txt', 'folder-1', '2020-01-01T00:00:00Z')], 'l2');
    assert.deepEqual(c.claim(), { 'file-a': 'drive/me/My Drive/Notes/b [file-a].txt' });
    c.catalog.recordListedFiles([fileInput('file-b', 'b.txt', 'folder-1', '2024-03-01T00:00:00Z', '2')], 'l3');
    assert.equal(
      (c.catalog.db.prepare("SELECT state FROM files WHERE id = 'file-b'").get() as { state: string }).state,
      'synced',
      'a new version with the same bytes changes nothing',
    );
  } finally {
    c.close();
  }
});

test('a renamed file gets a new key, and its old key is not given away while its object is still there', () => {
  const c = claimingCatalog();
  try {
    c.catalog.recordListedFiles([folderInput('folder-1', 'Notes'), fileInput('file-x', 'x.txt', 'folder-1')], 'l1');
    c.store(c.claim());
    c.catalog.recordListedFiles(
      [{ ...fileInput('file-x', 'renamed.txt', 'folder-1', '2024-03-01T00:00:00Z', '2') }, fileInput('file-y', 'x.txt', 'folder-1')],
      'l2',
    );
    // x's content is unchanged: it is not transferred again but queued for a place check, which moves its object
    // server-side. Until then its object still sits at x.txt, so the newcomer y does not get that key.
    assert.deepEqual(c.claim(), { 'file-y': 'drive/me/My Drive/Notes/x [file-y].txt' });
    assert.deepEqual(c.catalog.db.prepare('SELECT file_id FROM place_checks').all(), [{ file_id: 'file-x' }]);
  } finally {
    c.close();
  }
});

test('items without a visible parent go under Shared with me, and only when the scope asks for them', () => {
  for (const includeSharedWithMe of [false, true]) {
    const c = claimingCatalog(includeSharedWithMe);
    try {
      c.catalog.recordListedFiles(
        [
          { ...fileInput('file-s', 'shared.txt', null), ownedByMe: false },
          { ...folderInput('folder-s', 'Shared folder', null), ownedByMe: false },
          fileInput('file-in', 'inside.txt', 'folder-s'),
          fileInput('file-m', 'mine.txt', 'root'),
          // The user's own file whose folder is gone from view ("unorganized"): part of My Drive.
          { ...fileInput('file-u', 'unorganized.txt', null), ownedByMe: true },
          // The user's own file put into a folder someone shared with them: theirs, so always backed up.
          { ...fileInput('file-o', 'my upload.txt', 'folder-s'), ownedByMe: true },
        ],
        'l1',
      );
      const claimed = c.claim();
      if (includeSharedWithMe) {
        assert.deepEqual(claimed, {
          'file-in': 'drive/me/Shared with me/Shared folder/inside.txt',
          'file-m': 'drive/me/My Drive/mine.txt',
          'file-o': 'drive/me/Shared with me/Shared folder/my upload.txt',
          'file-s': 'drive/me/Shared with me/shared.txt',
          'file-u': 'drive/me/My Drive/unorganized.txt',
        });
      } else {
        assert.deepEqual(claimed, {
          'file-m': 'drive/me/My Drive/mine.txt',
          'file-o': 'drive/me/Shared with me/Shared folder/my upload.txt',
          'file-u': 'drive/me/My Drive/unorganized.txt',
        });
        const skipped = c.catalog.db.prepare(`SELECT id, skip_reason FROM files WHERE state = 'skipped' ORDER BY id`).all();
        assert.deepEqual(skipped, [
          { id: 'file-in', skip_reason: SHARED_WITH_ME_SKIP },
          { id: 'file-s', skip_reason: SHARED_WITH_ME_SKIP },
        ]);
      }
    } finally {
      c.close();
    }
  }
});

test('a shared drive named like a later one, or like "Shared with me", keeps the key it was given', () => {
  const c = claimingCatalog(true);
  try {
    c.catalog.upsertDrive({ id: 'drive-b', name: 'Team', kind: 'shared-drive' });
    c.catalog.upsertDrive({ id: 'drive-c', name: 'Shared with me', kind: 'shared-drive' });
    c.catalog.recordListedFiles(
      [
        { ...fileInput('file-1', 'one.txt', 'drive-b'), driveId: 'drive-b' },
        { ...fileInput('file-2', 'two.txt', 'drive-c'), driveId: 'drive-c' },
      ],
      'l1',
    );
    c.store(c.claim());
    c.catalog.upsertDrive({ id: 'drive-a', name: 'Team', kind: 'shared-drive' });
    c.catalog.recordListedFiles(
      [
        { ...fileInput('file-0', 'zero.txt', 'drive-a'), driveId: 'drive-a' },
        { ...fileInput('file-3', 'three.txt', null), ownedByMe: false },
      ],
      'l2',
    );
    assert.deepEqual(c.claim(), { 'file-0': 'drive/me/Team [drive-a]/zero.txt', 'file-3': 'drive/me/Shared with me/three.txt' });
    const held = c.catalog.db.prepare(`SELECT key FROM objects WHERE file_id IN ('file-1', 'file-2') ORDER BY file_id`).all();
    assert.deepEqual(held, [{ key: 'drive/me/Team/one.txt' }, { key: 'drive/me/Shared with me [drive-c]/two.txt' }]);
  } finally {
    c.close();
  }
});

test('migration 7 records the keys objects already have, so a file changed later keeps its key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-test-'));
  const path = join(dir, 'catalog.db');
  // A catalog as version 6 left it: under the old rule the newer report.pdf got the suffix.
  const old = catalogAsVersion6Left(path);
  const insertFile =
    old.prepare(`INSERT INTO files (id, kind, name, mime_type, parent_id, modified_time, version, state, last_listing_id, created_at, updated_at)
    VALUES (?, 'binary', 'report.pdf', 'application/pdf', 'root', 't', '1', 'synced', 'l', 't', 't')`);
  const insertObject = old.prepare(
    `INSERT INTO objects (file_id, destination, format, key, file_version, state) VALUES (?, ?, '', ?, '1', 'verified')`,
  );
  for (const [id, key] of [
    ['file-old', 'drive/me/My Drive/report.pdf'],
    ['file-new', 'drive/me/My Drive/report [file-new].pdf'],
  ]) {
    insertFile.run(id);
    for (const destination of ['aws', 'nas']) insertObject.run(id, destination, key);
  }
  old.close();
  const catalog = Catalog.open(path);
  try {
    assert.deepEqual(catalog.db.prepare('SELECT holder, format, key, parent_key, name FROM object_keys ORDER BY holder').all(), [
      {
        holder: 'file-new',
        format: '',
        key: 'drive/me/My Drive/report [file-new].pdf',
        parent_key: 'drive/me/My Drive',
        name: 'report.pdf',
      },
      { holder: 'file-old', format: '', key: 'drive/me/My Drive/report.pdf', parent_key: 'drive/me/My Drive', name: 'report.pdf' },
    ]);
    catalog.recordListedFiles([{ ...fileInput('file-new', 'report.pdf', 'root', '2024-03-01T00:00:00Z', '2'), md5: '0'.repeat(32) }], 'l2');
    const planner = new ObjectKeyPlanner(catalog.db, 'me', formats);
    const batch = claimPendingBatch(
      catalog,
      { planner, scopeRules: { exclude: [] }, includeSharedWithMe: false },
      { afterId: '', limit: 10 },
    );
    assert.deepEqual(
      batch.items.map((i) => i.objects[0].key),
      ['drive/me/My Drive/report [file-new].pdf'],
    );
  } finally {
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 7 gives a key two files hold on different destinations to neither, and copies robbed files again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-test-'));
  const path = join(dir, 'catalog.db');
  // What the old rule left: C moved next to A took A's key K; C's upload reached aws (A's aws row deleted)
  // but not nas, where A's object still sits at K. P, a parentless file, lost its '.../undefined' key to Q.
  const old = catalogAsVersion6Left(path);
  const insertFile =
    old.prepare(`INSERT INTO files (id, kind, name, mime_type, parent_id, modified_time, version, state, last_listing_id, created_at, updated_at)
    VALUES (?, 'binary', ?, 'text/plain', ?, 't', '1', ?, 'l', 't', 't')`);
  const insertObject = old.prepare(
    `INSERT INTO objects (file_id, destination, format, key, file_version, state) VALUES (?, ?, '', ?, '1', 'verified')`,
  );
  const K = 'drive/me/My Drive/a.txt';
  insertFile.run('file-c', 'a.txt', 'root', 'failed');
  insertObject.run('file-c', 'aws', K);
  insertFile.run('file-a', 'a.txt', 'root', 'synced');
  insertObject.run('file-a', 'nas', K);
  insertFile.run('file-p', 'p.txt', null, 'synced');
  insertFile.run('file-q', 'q.txt', null, 'synced');
  for (const destination of ['aws', 'nas']) insertObject.run('file-q', destination, 'drive/me/My Drive/undefined');
  insertFile.run('file-ok', 'ok.txt', 'root', 'synced');
  for (const destination of ['aws', 'nas']) insertObject.run('file-ok', destination, 'drive/me/My Drive/ok.txt');
  old.close();
  const catalog = Catalog.open(path);
  try {
    assert.deepEqual(catalog.db.prepare('SELECT holder, key FROM object_keys').all(), [
      { holder: 'file-ok', key: 'drive/me/My Drive/ok.txt' },
    ]);
    const states = catalog.db.prepare('SELECT id, state FROM files ORDER BY id').all();
    assert.deepEqual(states, [
      { id: 'file-a', state: 'pending' },
      { id: 'file-c', state: 'failed' },
      { id: 'file-ok', state: 'synced' },
      { id: 'file-p', state: 'pending' },
      { id: 'file-q', state: 'pending' },
    ]);
    catalog.db.prepare(`UPDATE files SET state = 'pending' WHERE id = 'file-c'`).run();
    const planner = new ObjectKeyPlanner(catalog.db, 'me', formats);
    const batch = claimPendingBatch(
      catalog,
      { planner, scopeRules: { exclude: [] }, includeSharedWithMe: true },
      { afterId: '', limit: 10 },
    );
    const keys = Object.fromEntries(batch.items.map((i) => [i.fileId, i.objects[0].key]));
    // K still holds A's bytes on nas and C's on aws: neither file is sent there again.
    assert.deepEqual(keys, {
      'file-a': 'drive/me/My Drive/a [file-a].txt',
      'file-c': 'drive/me/My Drive/a [file-c].txt',
      'file-p': 'drive/me/My Drive/p.txt',
      'file-q': 'drive/me/My Drive/q.txt',
    });
  } finally {
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
