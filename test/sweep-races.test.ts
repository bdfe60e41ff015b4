import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accountHolder, holdAccount } from '../activities/catalog/accountHold';
import { ObjectKeyPlanner } from '../activities/catalog/objectKeys';
import { claimForPlaceCheck, planPlaceCheck, queuedPlaceChecks } from '../activities/catalog/placeChecks';
import { startRun } from '../activities/catalog/runs';
import { claimPendingBatch, recordTransferOutcomes } from '../activities/catalog/syncQueue';
import { saveChangeToken } from '../activities/catalog/changeTokens';
import { readChangesPage } from '../activities/drive/changes';
import type { TransferOutcome } from '../common/types';
import { bytesContent } from './drive-emulator/content';
import { startDrive } from './support/drive';
import { testLogger } from './support/worker';
import { listedBinaryFile, openTestCatalog } from './support/catalog';

// Races between a sweep and a full sync, and renames of files not fully synced (found by a cold review of issue 11).
const formats = { document: ['docx'], spreadsheet: ['xlsx'], presentation: ['pptx'], drawing: ['pdf'], script: ['json'] } as const;

function catalogAt() {
  const dir = mkdtempSync(join(tmpdir(), 'drive-vault-races-'));
  const catalog = openTestCatalog(dir);
  const planner = new ObjectKeyPlanner(catalog.db, 'me', formats as never);
  const options = { planner, scopeRules: { exclude: [] }, includeSharedWithMe: false };
  const dispose = () => {
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { catalog, planner, options, [Symbol.dispose]: dispose };
}

const stored = (fileId: string, key: string, version: string, destination = 'a'): TransferOutcome => ({
  fileId,
  version,
  bytesDownloaded: 1,
  stored: [{ format: '', destination, key, size: 1, sha256: `sha-${fileId}-${version}`, fileVersion: version }],
});
const stateOf = (c: ReturnType<typeof catalogAt>, id: string) =>
  (c.catalog.db.prepare('SELECT state FROM files WHERE id = ?').get(id) as { state: string }).state;

test('an edit listed while the older version streams leaves the file pending, not synced on the old bytes', () => {
  using c = catalogAt();
  c.catalog.recordListedFiles([listedBinaryFile('x', { md5: 'a'.repeat(32), version: '1' })], 'first');
  startRun(c.catalog, { runId: 'sweep', kind: 'incremental-sweep', workflowId: 'sweep' });
  const batch = claimPendingBatch(c.catalog, c.options, { afterId: '', limit: 10, runId: 'sweep' });
  c.catalog.recordListedFiles([listedBinaryFile('x', { md5: 'b'.repeat(32), size: 2, version: '2' })], 'full');
  recordTransferOutcomes(c.catalog, { runId: 'sweep', outcomes: [stored('x', batch.items[0].objects[0].key, '1')] });
  assert.equal(stateOf(c, 'x'), 'pending', 'version 2 still has to be copied');
  assert.equal(claimPendingBatch(c.catalog, c.options, { afterId: '', limit: 10, runId: 'next' }).items[0]?.version, '2');
});

test('a second full sync never takes the hold of a running one', () => {
  using c = catalogAt();
  startRun(c.catalog, { runId: 'F1', kind: 'full-sync', workflowId: 'F1' });
  startRun(c.catalog, { runId: 'F2', kind: 'full-sync', workflowId: 'F2' });
  assert.equal(accountHolder(c.catalog)?.runId, 'F1');
  assert.equal(holdAccount(c.catalog, { runId: 'F2', workflowId: 'F2' }).runId, 'F1', 'the second learns who holds it');
});

test('a file gone while its first upload streams keeps its key from a newcomer of the same name', () => {
  using c = catalogAt();
  c.catalog.recordListedFiles([listedBinaryFile('x', { name: 'r.pdf' })], 'L');
  startRun(c.catalog, { runId: 'full', kind: 'full-sync', workflowId: 'full' });
  startRun(c.catalog, { runId: 'sweep', kind: 'incremental-sweep', workflowId: 'sweep' });
  const keyOfX = claimPendingBatch(c.catalog, c.options, { afterId: '', limit: 10, runId: 'full' }).items[0].objects[0].key;
  c.catalog.db.transaction(() => {
    c.catalog.recordListedFiles([listedBinaryFile('y', { name: 'r.pdf' })], 'sweep');
    c.catalog.places.markGone(['x'], 'removed');
  })();
  const keyOfY = claimPendingBatch(c.catalog, c.options, { afterId: '', limit: 10, runId: 'sweep' }).items[0].objects[0].key;
  assert.notEqual(keyOfY, keyOfX);
  recordTransferOutcomes(c.catalog, { runId: 'sweep', outcomes: [stored('y', keyOfY, '1')] });
  recordTransferOutcomes(c.catalog, { runId: 'full', outcomes: [stored('x', keyOfX, '1')] });
});

test('a renamed file one destination failed keeps its good copy: it moves to the new key, it is not trashed', () => {
  using c = catalogAt();
  c.catalog.recordListedFiles([listedBinaryFile('x', { name: 'old.pdf', md5: 'c'.repeat(32) })], 'L');
  const key = claimPendingBatch(c.catalog, c.options, { afterId: '', limit: 10 }).items[0].objects[0].key;
  const failure = { reason: 'down', message: 'b is down', attempts: 5, destinations: ['b'], deferred: false };
  recordTransferOutcomes(c.catalog, { runId: 'L', outcomes: [{ ...stored('x', key, '1'), failure }] });
  c.catalog.recordListedFiles([listedBinaryFile('x', { name: 'new.pdf', md5: 'c'.repeat(32), version: '2' })], 'S');
  const plan = planPlaceCheck(c.catalog, c.planner, 'x', ['a', 'b']);
  assert.deepEqual(
    plan.moves.map((m) => [m.kind, m.destination, m.kind === 'relocate' && m.to]),
    [['relocate', 'a', 'drive/me/My Drive/new.pdf']],
  );
});

test("a file reported removed in a drive's feed stays when the catalog has it in another drive (it moved there)", async () => {
  using c = catalogAt();
  const { emulator, drive } = await startDrive();
  try {
    const team = emulator.store.addDrive('Team');
    const moved = await emulator.store.addFile({ name: 'moved.txt', driveId: team.id, parentId: team.id, content: bytesContent('m') });
    saveChangeToken(c.catalog, team.id, emulator.store.nextChangeToken());
    emulator.store.delete(moved.id);
    // The My Drive feed, read first, recorded the file where it is now.
    c.catalog.recordListedFiles([listedBinaryFile(moved.id, { name: 'moved.txt' })], 'my-drive-page');
    const page = await readChangesPage({ drive, catalog: c.catalog, logger: testLogger }, { runId: 'sweep', scope: team.id });
    assert.equal(page.changes, 1);
    assert.equal(page.recorded.gone, 0);
    assert.equal((c.catalog.db.prepare('SELECT gone FROM files WHERE id = ?').get(moved.id) as { gone: string | null }).gone, null);
  } finally {
    await emulator.close();
  }
});

test("a place check claimed by a try that was killed is taken up again by its run's retry, not by another run", () => {
  using c = catalogAt();
  c.catalog.recordListedFiles([listedBinaryFile('x', { name: 'x.pdf' })], 'L');
  c.catalog.places.queueFile('x');
  startRun(c.catalog, { runId: 'sweep', kind: 'incremental-sweep', workflowId: 'sweep' });
  startRun(c.catalog, { runId: 'other', kind: 'incremental-sweep', workflowId: 'other' });
  assert.equal(claimForPlaceCheck(c.catalog, 'x', 'sweep'), true);
  assert.deepEqual(queuedPlaceChecks(c.catalog, { runId: 'sweep', afterFileId: '', limit: 10 }), ['x'], 'the retry of the same run');
  assert.deepEqual(queuedPlaceChecks(c.catalog, { runId: 'other', afterFileId: '', limit: 10 }), []);
  assert.equal(claimForPlaceCheck(c.catalog, 'x', 'other'), false);
});
