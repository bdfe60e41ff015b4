import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DUMP_FILE_NAMES, DUMP_FILES, stateLayout } from '../activities/dump/dumpLayout';
import { applyDumpRetention } from '../activities/dump/dumpRetention';
import { listDumpDays, newestDumpDay } from '../activities/dump/remoteDumps';
import { LocalDestination } from '../activities/storage/local';
import { testLogger } from './support/worker';

/** A config of one account. */
const layout = stateLayout({});
const { dailyKey } = layout;

const put = (d: LocalDestination, key: string) =>
  d.upload({
    key,
    body: Buffer.from(key),
    size: key.length,
    contentType: 'text/plain',
    metadata: { driveFileId: '', drivePath: key, modifiedTime: '', version: '' },
    verified: Promise.resolve({ sha256: '0'.repeat(64), md5: '0'.repeat(32), size: key.length }),
  });

// Found by a cold review: a day folder holding a dump cut short counted as the newest, and the last whole one went.
test('remote retention never deletes the newest whole dump, nor any day of a destination this run could not upload to', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drive-vault-retention-'));
  try {
    const nas = new LocalDestination('nas', join(dir, 'nas'));
    for (const day of ['2026-11-22', '2026-11-23', '2026-11-24']) for (const f of DUMP_FILE_NAMES) await put(nas, dailyKey(day, f));
    // Tonight's upload got as far as the catalog, then the destination failed.
    await put(nas, dailyKey('2026-11-25', DUMP_FILES.catalog));
    assert.equal(await newestDumpDay(nas, layout), '2026-11-24', 'catalog restore takes the newest whole day');
    const retain = (uploadFailed: string[]) =>
      applyDumpRetention(
        { destinations: [nas], logger: testLogger, layout },
        { runId: 'r', dumpDir: join(dir, 'dumps'), keepLocal: 30, keepRemoteDays: 1, now: '2026-11-25T02:30:00Z', uploadFailed },
      );
    assert.deepEqual((await retain(['nas'])).remoteDeleted, {}, 'a destination whose upload failed keeps every day');
    assert.deepEqual((await retain([])).remoteDeleted, { nas: ['2026-11-22', '2026-11-23'] });
    assert.deepEqual(await listDumpDays(nas, layout), ['2026-11-25', '2026-11-24']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
