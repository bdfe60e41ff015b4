import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adoptStoredObjects } from '../activities/dump/adoptStoredObjects';
import { LocalDestination } from '../activities/storage/local';
import { parseConfig } from '../common/config';
import { listedBinaryFile, openTestCatalog } from './support/catalog';
import { testLogger } from './support/worker';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

// Found by a cold review: recovery took an object for the new version on its metadata alone.
test('recovery does not take old bytes for the new version when a write died between its metadata and its bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drive-vault-adoption-'));
  try {
    const catalog = openTestCatalog(dir);
    const nas = new LocalDestination('nas', join(dir, 'nas'));
    const { exportFormats } = parseConfig({
      account: 'me',
      google: { clientId: 'c' },
      destinations: [{ kind: 'local', name: 'nas', path: '/x' }],
    });
    const deps = {
      destinations: [nas],
      account: 'me',
      exportFormats,
      logger: testLogger,
      scopeRules: { exclude: [] },
      includeSharedWithMe: false,
    };
    const v1 = Buffer.from('version one bytes');
    const v2 = Buffer.from('version two bytes, longer than the first');
    // The dump's catalog: f1 listed at version 2, its transfer still to come.
    catalog.recordListedFiles([listedBinaryFile('f1', { version: '2', size: v2.length, driveSha256: sha(v2), md5: md5(v2) })], 'l');
    await adoptStoredObjects(catalog, deps);
    const { key } = catalog.db.prepare("SELECT key FROM object_keys WHERE holder = 'f1'").get() as { key: string };
    const metadata = (b: Buffer, version: string) => ({
      driveFileId: 'f1',
      drivePath: 'My Drive/f1.bin',
      modifiedTime: '',
      version,
      md5: md5(b),
    });
    const verified = (b: Buffer) => Promise.resolve({ sha256: sha(b), md5: md5(b), size: b.length });
    await nas.upload({ key, body: v1, size: v1.length, contentType: 'x', metadata: metadata(v1, '1'), verified: verified(v1) });
    // The transfer of version 2 wrote its metadata, then the host died before its bytes were renamed into place.
    writeFileSync(
      join(dir, 'nas', '.drive-vault-meta', `${key}.json`),
      JSON.stringify({ ...metadata(v2, '2'), sha256: sha(v2), size: v2.length }),
    );
    assert.equal((await nas.head(key))?.sha256, undefined, "bytes whose size is not their metadata's have no known hash");

    const counts = await adoptStoredObjects(catalog, deps);
    assert.equal(counts.objects, 0);
    assert.equal((catalog.db.prepare("SELECT state FROM files WHERE id = 'f1'").get() as { state: string }).state, 'pending');

    // The same with bytes of the right size but other content: Drive's SHA-256 tells them apart.
    const other = Buffer.alloc(v2.length, 7);
    await nas.upload({ key, body: other, size: other.length, contentType: 'x', metadata: metadata(v2, '2'), verified: verified(other) });
    assert.equal((await adoptStoredObjects(catalog, deps)).objects, 0);
    await nas.upload({ key, body: v2, size: v2.length, contentType: 'x', metadata: metadata(v2, '2'), verified: verified(v2) });
    assert.equal((await adoptStoredObjects(catalog, deps)).objects, 1, 'the real version 2 is taken');
    assert.equal((catalog.db.prepare("SELECT state FROM files WHERE id = 'f1'").get() as { state: string }).state, 'synced');
    catalog.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
