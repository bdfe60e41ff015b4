import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accountHolder, closeAbandonedRun } from '../activities/catalog/accountHold';
import { ObjectKeyPlanner } from '../activities/catalog/objectKeys';
import { finishRun, startRun } from '../activities/catalog/runs';
import { claimPendingBatch, recordTransferOutcomes } from '../activities/catalog/syncQueue';
import { emptyFullSyncTotals } from '../common/types';
import { listedBinaryFile, openTestCatalog } from './support/catalog';

// Issue 11: a sweep and a full sync may run at once, but never transfer the same file twice.
test('a file claimed by a running run is left to it; its record, its end or its abandonment frees it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drive-vault-claims-'));
  const catalog = openTestCatalog(dir);
  try {
    const planner = new ObjectKeyPlanner(catalog.db, 'me', {
      document: ['docx'],
      spreadsheet: ['xlsx'],
      presentation: ['pptx'],
      drawing: ['pdf'],
      script: ['json'],
    });
    const options = { planner, scopeRules: { exclude: [] }, includeSharedWithMe: false };
    catalog.recordListedFiles(
      ['f1', 'f2', 'f3', 'f4'].map((id) => listedBinaryFile(id)),
      'listing',
    );
    startRun(catalog, { runId: 'sweep-1', kind: 'incremental-sweep', workflowId: 'sweep-1' });
    startRun(catalog, { runId: 'full-1', kind: 'full-sync', workflowId: 'full-1' });
    assert.deepEqual(accountHolder(catalog), { runId: 'full-1', workflowId: 'full-1' }, 'a full sync holds the account');
    const ids = (b: { items: Array<{ fileId: string }> }) => b.items.map((i) => i.fileId);

    assert.deepEqual(ids(claimPendingBatch(catalog, options, { afterId: '', limit: 2, runId: 'sweep-1' })), ['f1', 'f2']);
    assert.deepEqual(
      ids(claimPendingBatch(catalog, options, { afterId: '', limit: 10, runId: 'full-1' })),
      ['f3', 'f4'],
      'the sweep holds f1, f2',
    );
    assert.deepEqual(
      ids(claimPendingBatch(catalog, options, { afterId: '', limit: 10, runId: 'sweep-1' })),
      ['f1', 'f2'],
      'a run claims its own again',
    );

    recordTransferOutcomes(catalog, {
      runId: 'sweep-1',
      outcomes: [
        {
          fileId: 'f1',
          stored: [],
          bytesDownloaded: 0,
          failure: { reason: 'x', message: 'x', attempts: 1, destinations: ['d'], deferred: false },
        },
      ],
    });
    catalog.db.prepare(`UPDATE files SET state = 'pending' WHERE id = 'f1'`).run();
    assert.deepEqual(
      ids(claimPendingBatch(catalog, options, { afterId: '', limit: 1, runId: 'full-1' })),
      ['f1'],
      'a recorded file is free',
    );

    closeAbandonedRun(catalog, 'full-1', 'terminated');
    assert.equal(accountHolder(catalog), undefined, 'an abandoned full sync holds nothing');
    assert.deepEqual(ids(claimPendingBatch(catalog, options, { afterId: 'f2', limit: 10, runId: 'sweep-1' })), ['f3', 'f4']);
    finishRun(catalog, { runId: 'sweep-1', totals: emptyFullSyncTotals() });
    startRun(catalog, { runId: 'full-2', kind: 'full-sync', workflowId: 'full-2' });
    assert.deepEqual(
      ids(claimPendingBatch(catalog, options, { afterId: '', limit: 10, runId: 'full-2' })),
      ['f1', 'f2', 'f3', 'f4'],
      'a finished run holds nothing',
    );
  } finally {
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
