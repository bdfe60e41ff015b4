import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { restoreFile } from '../activities/restore/restoreFile';
import { RestoreTarget } from '../activities/restore/restoreTarget';
import type { Destination } from '../activities/storage/destination';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A destination that holds these objects, read from memory: the restore's own checks are what is tested here. */
function memoryDestination(blobs: Record<string, Buffer>): Destination {
  return { name: 'memory', read: async (key: string) => Readable.from([blobs[key]!]) } as unknown as Destination;
}

// Found by a cold review: a folder checked once was trusted for the rest of the page, and a folder the restore had
// made was written with a plain rename, over whatever had appeared there since.
test('a restore never writes through a folder swapped for a link, nor over a file that appeared in a folder it made', async () => {
  const base = mkdtempSync(join(tmpdir(), 'drive-vault-restore-target-'));
  try {
    mkdirSync(join(base, 'outside'));
    writeFileSync(join(base, 'outside', 'b.txt'), 'not ours');
    const blobs = {
      'drive/acc/My Drive/X/a.txt': Buffer.from('alpha'),
      'drive/acc/My Drive/X/b.txt': Buffer.from('bravo'),
      'drive/acc/My Drive/Y/c.txt': Buffer.from('charlie'),
      'drive/acc/My Drive/Y/d.txt': Buffer.from('delta'),
    };
    const object = (key: keyof typeof blobs) => ({
      fileId: key,
      key,
      path: key,
      size: blobs[key].length,
      sha256: sha(blobs[key]),
      versionId: null,
    });
    const target = await RestoreTarget.open(join(base, 'to'));
    const ctx = {
      destination: memoryDestination(blobs),
      target,
      accountKey: 'drive/acc',
      overwrite: false,
      restoreId: 'r',
      attempt: 1,
      signal: new AbortController().signal,
      onBytes() {},
    };
    assert.equal((await restoreFile(ctx, object('drive/acc/My Drive/X/a.txt'))).kind, 'restored');
    renameSync(join(base, 'to', 'My Drive', 'X'), join(base, 'to', 'My Drive', 'X.old'));
    symlinkSync(join(base, 'outside'), join(base, 'to', 'My Drive', 'X'));
    const swapped = await restoreFile(ctx, object('drive/acc/My Drive/X/b.txt'));
    assert.equal(swapped.kind, 'failed');
    assert.equal(swapped.kind === 'failed' && swapped.problem.kind, 'unsafe');
    assert.equal(readFileSync(join(base, 'outside', 'b.txt'), 'utf8'), 'not ours');

    assert.equal((await restoreFile(ctx, object('drive/acc/My Drive/Y/c.txt'))).kind, 'restored');
    writeFileSync(join(base, 'to', 'My Drive', 'Y', 'd.txt'), 'written by someone else meanwhile');
    assert.equal((await restoreFile(ctx, object('drive/acc/My Drive/Y/d.txt'))).kind, 'skipped-existing');
    assert.equal(readFileSync(join(base, 'to', 'My Drive', 'Y', 'd.txt'), 'utf8'), 'written by someone else meanwhile');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
