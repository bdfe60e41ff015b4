import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { drive_v3 } from 'googleapis';
import { Catalog } from '../activities/catalog/catalog';
import { listDrivePage } from '../activities/drive/listing';
import { followShortcutsStep } from '../activities/drive/shortcuts';
import { createLogger } from '../common/logger';
import type { ShortcutCounts } from '../common/types';
import { bytesContent } from './drive-emulator/content';
import type { DriveEmulator } from './drive-emulator/server';
import type { EmuFile } from './drive-emulator/store';
import { startDrive } from './support/drive';

const G = 'application/vnd.google-apps.';
const logger = createLogger({ level: 'silent' });
let emulator: DriveEmulator;
let drive: drive_v3.Drive;
let dir: string;
let links: EmuFile;
let big: EmuFile;
let link: EmuFile;
let anaLink: EmuFile;

before(async () => {
  ({ emulator, drive } = await startDrive());
  dir = mkdtempSync(join(tmpdir(), 'shortcuts-test-'));
  const s = emulator.store;
  links = await s.addFile({ name: 'Links' });
  // A folder shared with the account, with 2,500 files (3 pages) in it and 120 shortcuts to dangling targets.
  big = await s.addFile({ name: 'Big', sharedWithMe: true });
  for (let i = 0; i < 2500; i++) await s.addFile({ name: `f${i}`, parentId: big.id, sharedWithMe: true, content: bytesContent(`${i}`) });
  for (let i = 0; i < 120; i++)
    await s.addFile({ name: `gone ${i}`, parentId: big.id, sharedWithMe: true, mimeType: `${G}shortcut`, shortcutTargetId: `gone-${i}` });
  link = await s.addFile({ name: 'link', parentId: links.id, mimeType: `${G}shortcut`, shortcutTargetId: big.id });
  // Ana's folder, also only under "Shared with me", holds a shortcut to the same folder, resolved after `link`.
  const ana = await s.addFile({ name: 'Ana', sharedWithMe: true });
  for (;;) {
    anaLink = await s.addFile({ name: 'to Big', parentId: ana.id, sharedWithMe: true, mimeType: `${G}shortcut`, shortcutTargetId: big.id });
    if (anaLink.id > link.id) break;
    s.delete(anaLink.id);
  }
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listAndFollow(catalog: Catalog, listingId: string, includeSharedWithMe: boolean) {
  let pageToken: string | undefined;
  do pageToken = (await listDrivePage({ drive, catalog, logger }, { scope: { kind: 'my-drive' }, pageToken, listingId })).nextPageToken;
  while (pageToken);
  const counts: ShortcutCounts = { inScope: 0, followed: 0, dangling: 0, loops: 0 };
  const calls: Array<{ folderPages: number; gets: number }> = [];
  let begin: { afterId: string } | undefined = { afterId: '' };
  for (;;) {
    const before = emulator.requests.length;
    const step = await followShortcutsStep({ drive, catalog, logger, includeSharedWithMe }, { listingId, begin });
    const made = emulator.requests.slice(before);
    calls.push({
      folderPages: made.filter((r) => r.path === '/drive/v3/files').length,
      gets: made.filter((r) => r.path !== '/drive/v3/files').length,
    });
    for (const [k, n] of Object.entries(step.counts)) counts[k as keyof ShortcutCounts] += n;
    begin = undefined;
    if (step.done) return { counts, calls };
  }
}

test('each step lists at most one page of a followed folder and fetches at most 50 targets', async () => {
  const catalog = Catalog.open(join(dir, 'steps.db'));
  try {
    const { counts, calls } = await listAndFollow(catalog, 'l1', false);
    assert.deepEqual(counts, { inScope: 0, followed: 1, dangling: 120, loops: 0 });
    assert.ok(
      calls.every((c) => c.folderPages <= 1 && c.gets <= 50),
      JSON.stringify(calls),
    );
    assert.equal(
      calls.reduce((n, c) => n + c.folderPages, 0),
      3,
      'the folder took three pages, one per step',
    );
    const inBig = catalog.filesPage('', 10_000).filter((f) => f.parentId === big.id && f.kind === 'binary');
    assert.equal(inBig.length, 2500);
    assert.equal(catalog.getFile(big.id)!.parentId, links.id);
    const walks = catalog.db.prepare('SELECT count(*) AS n FROM shortcut_walks').get() as { n: number };
    assert.equal(walks.n, 0, 'a finished walk leaves nothing behind');
  } finally {
    catalog.close();
  }
});

test('with sharedWithMe off, a shortcut under "Shared with me" does not pull a followed folder out of the shortcut\'s place', async () => {
  const catalog = Catalog.open(join(dir, 'off.db'));
  try {
    await listAndFollow(catalog, 'l1', false);
    assert.deepEqual([catalog.getFile(big.id)!.parentId, catalog.getFile(big.id)!.followedFrom], [links.id, link.id]);
    assert.equal(catalog.getFile(anaLink.id)!.skipReason, null, 'not followed: its own place is not backed up');
    const again = await listAndFollow(catalog, 'l2', false);
    assert.deepEqual(again.counts, { inScope: 0, followed: 1, dangling: 120, loops: 0 });
    assert.equal(catalog.getFile(big.id)!.parentId, links.id, 'a second run keeps it there');
  } finally {
    catalog.close();
  }
});

test('with sharedWithMe on, a shortcut to a shared folder leaves it at its own place, under "Shared with me"', async () => {
  const catalog = Catalog.open(join(dir, 'on.db'));
  try {
    const { counts } = await listAndFollow(catalog, 'l1', true);
    // Both shortcuts lead to a folder the listing holds at a place the scope backs up; Big's own shortcuts dangle.
    assert.deepEqual(counts, { inScope: 2, followed: 0, dangling: 120, loops: 0 });
    assert.deepEqual([catalog.getFile(big.id)!.parentId, catalog.getFile(big.id)!.followedFrom], [null, null]);
    assert.equal(catalog.isUnderSharedWithMe(big.id), true);
  } finally {
    catalog.close();
  }
});
