import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Catalog } from '../activities/catalog/catalog';
import { ObjectKeyPlanner } from '../activities/catalog/objectKeys';
import { listDrivePage, listSharedDrives } from '../activities/drive/listing';
import { safeSegment, uniqueSegments } from '../activities/storage/objectNames';
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

test('equal names: the oldest keeps the name, the others get their id prefix, whatever the input order', () => {
  const siblings = [
    { fileId: 'bbbbbbbbbbbb', createdTime: '2024-02-01T00:00:00Z', name: 'report.pdf' },
    { fileId: 'aaaaaaaaaaaa', createdTime: '2024-01-01T00:00:00Z', name: 'report.pdf' },
    { fileId: 'cccccccccccc', createdTime: '2024-01-01T00:00:00Z', name: 'notes' },
  ];
  const a = uniqueSegments(siblings);
  const b = uniqueSegments([...siblings].reverse());
  assert.deepEqual([...a].sort(), [...b].sort());
  assert.equal(a.get('aaaaaaaaaaaa\u0000report.pdf'), 'report.pdf');
  assert.equal(a.get('bbbbbbbbbbbb\u0000report.pdf'), 'report [bbbbbbbb].pdf');
  assert.equal(a.get('cccccccccccc\u0000notes'), 'notes');
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

    const planner = new ObjectKeyPlanner(catalog.db, 'me@example.com', { document: ['docx', 'pdf'], spreadsheet: ['xlsx'], presentation: ['pptx'], drawing: ['pdf'], script: ['json'] });
    const base = 'drive/me@example.com/My Drive/Docs %2F 2024/%2E%2E';
    assert.deepEqual(planner.plan(older.id).objects, [{ format: '', key: `${base}/report.docx` }]);
    assert.deepEqual(planner.plan(doc.id).objects, [
      { format: 'docx', key: `${base}/report [${doc.id.slice(0, 8)}].docx` },
      { format: 'pdf', key: `${base}/report.pdf` },
    ]);
    assert.equal(planner.plan(doc.id).drivePath, 'My Drive/Docs / 2024/../report');
    assert.deepEqual(planner.plan(sheet.id).objects, [{ format: 'xlsx', key: 'drive/me@example.com/My Drive/Budget.xlsx' }]);
    const sharedKey = planner.plan(teamFile.id).objects[0].key;
    assert.equal(sharedKey, `drive/me@example.com/My Drive [${team.id.slice(0, 8)}]/plan.txt`, 'a shared drive named "My Drive" does not merge into My Drive');
    const again = new ObjectKeyPlanner(catalog.db, 'me@example.com', { document: ['docx', 'pdf'], spreadsheet: ['xlsx'], presentation: ['pptx'], drawing: ['pdf'], script: ['json'] });
    assert.deepEqual(again.plan(doc.id), planner.plan(doc.id), 'the same catalog gives the same keys');
  } finally {
    catalog.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one planner serves every batch: its keys hold until a name or place changes in the catalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-test-'));
  const catalog = Catalog.open(join(dir, 'catalog.db'));
  try {
    const base = { driveId: null, mimeType: 'text/plain', size: 1, md5: null, driveSha256: null, modifiedTime: '2024-05-01T00:00:00Z', headRevisionId: null, shortcutTargetId: null, skipReason: null };
    const folder = { ...base, id: 'folder-1', kind: 'folder' as const, name: 'Notes', mimeType: `${G}folder`, parentId: 'root', createdTime: '2024-01-01T00:00:00Z', version: '1' };
    const file = (id: string, name: string, createdTime: string, parentId = folder.id) => ({ ...base, id, kind: 'binary' as const, name, parentId, createdTime, version: '1' });
    catalog.recordListedFiles([folder, file('file-b', 'b.txt', '2024-03-01T00:00:00Z'), file('file-c', 'c.txt', '2024-03-01T00:00:00Z')], 'l1');
    const planner = new ObjectKeyPlanner(catalog.db, 'me', { document: ['docx'], spreadsheet: ['xlsx'], presentation: ['pptx'], drawing: ['pdf'], script: ['json'] });
    const keyOf = (id: string) => {
      planner.beginBatch();
      return planner.plan(id).objects[0].key;
    };
    assert.equal(keyOf('file-b'), 'drive/me/My Drive/Notes/b.txt');
    catalog.markSkipped('file-c', 'excluded');
    assert.equal(keyOf('file-b'), 'drive/me/My Drive/Notes/b.txt');

    // An older file of the same name arrives in the folder: it takes the plain name from then on.
    catalog.recordListedFiles([file('file-a', 'b.txt', '2024-02-01T00:00:00Z')], 'l2');
    assert.equal(keyOf('file-b'), 'drive/me/My Drive/Notes/b [file-b].txt');
    assert.equal(keyOf('file-a'), 'drive/me/My Drive/Notes/b.txt');

    // A renamed folder moves every key under it.
    catalog.recordListedFiles([{ ...folder, name: 'Old notes', version: '2' }], 'l3');
    assert.equal(keyOf('file-a'), 'drive/me/My Drive/Old notes/b.txt');
  } finally {
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
