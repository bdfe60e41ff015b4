import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startFullSync } from '../api/fullSyncRuns';
import { startSweep } from '../api/sweepRuns';
import type { Destination } from '../activities/storage/destination';
import { purgeExpiredTrash } from '../activities/storage/trashRetention';
import type { Config } from '../common/config';
import type { IncrementalSweepSummary } from '../workflows';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { streamToBuffer } from './support/drive';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker, testLogger } from './support/worker';

// Issue 11: a sweep applies each kind of Drive change to every destination, at the cost of the change.
let stack: Stack;
let worker: RunningWorker;
let config: Config;
let runs = 0;
const today = new Date().toISOString().slice(0, 10);
const ME = 'drive/me@example.com';
const MY = `${ME}/My Drive`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  config = stackConfig(stack, { scope: { sharedWithMe: true } });
  worker = await startTestWorker(stack, config);
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

async function fullSync() {
  const handle = await startFullSync(worker.client, config, `sweep-test-full-${++runs}`);
  return handle.result();
}

async function sweep(): Promise<IncrementalSweepSummary> {
  const handle = await startSweep(worker.client, config, `sweep-test-${++runs}`);
  return handle.result();
}

/** Every object on a destination, key → short SHA-256 of its bytes, read back. */
async function contents(destination: Destination): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { key } of destination.list('')) out[key] = sha(await streamToBuffer(await destination.read(key)));
  return out;
}

/** Drive requests since `from` that moved file content (downloads and exports). */
const downloadsSince = (from: number) =>
  stack.emulator!.requests.slice(from).filter((r) => r.query.alt === 'media' || r.path.includes('/export'));

test('each kind of change reaches every destination, renames and moves by server-side copy', async () => {
  const s = stack.emulator!.store;
  const body = (text: string) => bytesContent(text);
  const docs = await s.addFile({ name: 'Docs' });
  const photos = await s.addFile({ name: 'Photos' });
  const sub = await s.addFile({ name: 'Sub', parentId: photos.id });
  const files: Record<string, EmuFile> = {
    a: await s.addFile({ name: 'a.txt', parentId: docs.id, content: body('alpha') }),
    b: await s.addFile({ name: 'b.txt', parentId: docs.id, content: body('bravo') }),
    report: await s.addFile({ name: 'Report', parentId: docs.id, mimeType: 'application/vnd.google-apps.document', text: 'report' }),
    p: await s.addFile({ name: 'p.txt', parentId: sub.id, content: body('papa') }),
    q: await s.addFile({ name: 'q.txt', parentId: photos.id, content: body('quebec') }),
    c: await s.addFile({ name: 'c.txt', content: body('charlie') }),
    d: await s.addFile({ name: 'd.txt', content: body('delta') }),
    e: await s.addFile({ name: 'e.txt', content: body('echo') }),
    shared: await s.addFile({ name: 's.txt', sharedWithMe: true, content: body('sierra') }),
  };
  const team = s.addDrive('Team');
  files.t = await s.addFile({ name: 't.txt', driveId: team.id, parentId: team.id, content: body('tango') });
  const first = await fullSync();
  assert.equal(first.filesFailed, 0);
  const before = Object.fromEntries(await Promise.all(worker.wired.destinations.map(async (d) => [d.name, await contents(d)] as const)));
  assert.equal(before.aws[`${MY}/Docs/b.txt`], sha(Buffer.from('bravo')));

  await s.addFile({ name: 'new.txt', parentId: docs.id, content: body('november') });
  await s.modifyContent(files.a.id, { content: body('alpha two') });
  s.rename(files.b.id, 'b-renamed.txt');
  s.move(files.c.id, docs.id);
  s.rename(photos.id, 'Pictures');
  s.move(sub.id, docs.id);
  s.setTrashed(files.d.id, true);
  s.setTrashed(files.e.id, true);
  s.delete(files.report.id);
  s.rename(files.t.id, 't-renamed.txt');
  s.revokeAccess(files.shared.id);
  const requestsBefore = stack.emulator!.requests.length;
  const swept = await sweep();
  assert.equal(swept.kind, 'swept');
  assert.equal(swept.kind === 'swept' && swept.filesFailed, 0);
  const downloaded = downloadsSince(requestsBefore).map((r) => r.path.split('/')[4]);
  assert.deepEqual(
    downloaded.sort(),
    [files.a.id, [...s.files.values()].find((f) => f.name === 'new.txt')!.id].sort(),
    'only new content is downloaded',
  );

  const live = {
    [`${MY}/Docs/a.txt`]: 'alpha two',
    [`${MY}/Docs/b-renamed.txt`]: 'bravo',
    [`${MY}/Docs/new.txt`]: 'november',
    [`${MY}/Docs/c.txt`]: 'charlie',
    [`${MY}/Docs/Sub/p.txt`]: 'papa',
    [`${MY}/Pictures/q.txt`]: 'quebec',
    [`${ME}/Team/t-renamed.txt`]: 'tango',
  };
  const trash = `.trash/${today}`;
  const gone = {
    [`${trash}/${MY}/d.txt`]: 'delta',
    [`${trash}/${MY}/e.txt`]: 'echo',
    [`${trash}/${ME}/Shared with me/s.txt`]: 'sierra',
  };
  // An object store keeps a renamed file's old key under .trash/; a directory renames the file.
  const renamedOld = {
    [`${trash}/${MY}/Docs/b.txt`]: 'bravo',
    [`${trash}/${MY}/c.txt`]: 'charlie',
    [`${trash}/${MY}/Photos/Sub/p.txt`]: 'papa',
    [`${trash}/${MY}/Photos/q.txt`]: 'quebec',
    [`${trash}/${ME}/Team/t.txt`]: 'tango',
  };
  const hashed = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, sha(Buffer.from(v))]));
  for (const destination of worker.wired.destinations) {
    const listing = await contents(destination);
    const reportDoc = `${trash}/${MY}/Docs/Report.docx`;
    assert.equal(
      listing[reportDoc],
      before[destination.name][`${MY}/Docs/Report.docx`],
      `${destination.name}: the deleted Doc is under .trash/`,
    );
    delete listing[reportDoc];
    const expected = { ...hashed(live), ...hashed(gone), ...(destination.name === 'nas' ? {} : hashed(renamedOld)) };
    assert.deepEqual(listing, expected, `${destination.name}: exact listing after the sweep`);
  }

  s.setTrashed(files.e.id, false);
  const requestsBeforeUntrash = stack.emulator!.requests.length;
  const back = await sweep();
  assert.equal(back.kind === 'swept' && back.places?.restored, worker.wired.destinations.length);
  assert.deepEqual(downloadsSince(requestsBeforeUntrash), [], 'an untrashed file comes back from .trash/, not from Drive');
  for (const destination of worker.wired.destinations) {
    const listing = await contents(destination);
    assert.equal(listing[`${MY}/e.txt`], sha(Buffer.from('echo')), `${destination.name}: e.txt is back at its key`);
    assert.equal(listing[`${trash}/${MY}/e.txt`], undefined, `${destination.name}: and no longer under .trash/`);
  }
});

test('a sweep with no changes makes at most 2 Drive calls per drive and downloads nothing', async () => {
  await sweep();
  const from = stack.emulator!.requests.length;
  const quiet = await sweep();
  assert.equal(quiet.kind, 'swept');
  const calls = stack.emulator!.requests.slice(from).filter((r) => r.path.startsWith('/drive/v3/'));
  const drives = stack.emulator!.store.drives.size + 1;
  assert.ok(calls.length <= 2 * drives, `${calls.length} Drive calls for ${drives} drives: ${calls.map((c) => c.path).join(', ')}`);
  assert.deepEqual(downloadsSince(from), []);
  assert.equal(quiet.kind === 'swept' && quiet.changes, 0);
});

test('a token Drive refuses leads to a full sync and a fresh token', async () => {
  const db = worker.wired.catalog.db;
  db.prepare(`UPDATE change_tokens SET token = '999999' WHERE scope = 'my-drive'`).run();
  const result = await sweep();
  assert.equal(result.kind, 'full-sync');
  const token = (db.prepare(`SELECT token FROM change_tokens WHERE scope = 'my-drive'`).get() as { token: string }).token;
  assert.notEqual(token, '999999');
  assert.ok(Number(token) <= Number(stack.emulator!.store.nextChangeToken()));
  const next = await sweep();
  assert.equal(next.kind, 'swept', 'the next sweep reads from the fresh token');
});

test('a rename or a move downloads nothing and uploads nothing: the objects are copied server-side', async () => {
  const s = stack.emulator!.store;
  const folder = await s.addFile({ name: 'Big' });
  const big = await s.addFile({ name: 'big.bin', parentId: folder.id, content: generatedContent(3 * 1024 * 1024, 7) });
  await sweep();
  const from = stack.emulator!.requests.length;
  s.rename(big.id, 'big-renamed.bin');
  s.rename(folder.id, 'Bigger');
  const result = await sweep();
  assert.equal(result.kind, 'swept');
  if (result.kind !== 'swept') return;
  assert.deepEqual(downloadsSince(from), [], 'no download');
  assert.equal(result.filesSynced, 0, 'no file transferred');
  assert.equal(result.bytes, 0);
  assert.deepEqual(result.verifiedWritten, {}, 'nothing uploaded');
  assert.equal(result.places?.relocated, worker.wired.destinations.length);
  for (const destination of worker.wired.destinations) {
    const head = await destination.head(`${MY}/Bigger/big-renamed.bin`);
    assert.equal(head?.size, 3 * 1024 * 1024, `${destination.name}: the object is at its new key`);
    assert.equal(head?.driveFileId, big.id);
  }
});

test('a full sync reconciles the same way: files it no longer lists go under .trash/, renamed ones move', async () => {
  const s = stack.emulator!.store;
  const kept = await s.addFile({ name: 'kept.txt', content: bytesContent('kilo') });
  const dropped = await s.addFile({ name: 'dropped.txt', content: bytesContent('lima') });
  await sweep();
  // Changes a sweep never saw (its token moved past them): only the full sync's listing can find them.
  s.rename(kept.id, 'kept-renamed.txt');
  s.delete(dropped.id);
  worker.wired.catalog.db.prepare(`UPDATE change_tokens SET token = ?`).run(s.nextChangeToken());
  const summary = await fullSync();
  assert.equal(summary.gone, 1);
  assert.equal(summary.places?.relocated, worker.wired.destinations.length);
  assert.equal(summary.places?.trashed, worker.wired.destinations.length);
  for (const destination of worker.wired.destinations) {
    const listing = await contents(destination);
    assert.equal(listing[`${MY}/kept-renamed.txt`], sha(Buffer.from('kilo')), destination.name);
    assert.equal(listing[`${MY}/kept.txt`], undefined, destination.name);
    assert.equal(listing[`${MY}/dropped.txt`], undefined, destination.name);
    assert.equal(listing[`.trash/${today}/${MY}/dropped.txt`], sha(Buffer.from('lima')), destination.name);
  }
});

/** The purge itself, outside an activity: the activity heartbeats, which needs Temporal's activity context. */
const purgeAt = (input: { runId: string; retentionDays: number; now: string }) =>
  purgeExpiredTrash(
    { catalog: worker.wired.catalog, destinations: worker.wired.destinations, logger: testLogger, account: config.account },
    input,
  );

test('trash older than trashRetentionDays is purged, once a day, and nothing else', async () => {
  const soon = new Date(Date.now() + 29 * 86_400_000).toISOString();
  assert.equal((await purgeAt({ runId: 'purge-test', retentionDays: 30, now: soon })).purged, 0);
  const later = new Date(Date.now() + 31 * 86_400_000).toISOString();
  // Another account's trash on the same destinations (a config of several accounts): that account purges it, not this one.
  const mine = `.trash/${today}/${MY.split('/').slice(0, 2).join('/')}/`;
  for (const destination of worker.wired.destinations) {
    let from = '';
    for await (const { key } of destination.list(mine)) from ||= key;
    const metadata = { driveFileId: 'other', drivePath: 'My Drive/other.txt', modifiedTime: today, version: '1' };
    await destination.copy({
      from: from!,
      to: `.trash/${today}/drive/someone else/My Drive/other.txt`,
      metadata,
      contentType: 'text/plain',
    });
  }
  const listingsBefore = await Promise.all(worker.wired.destinations.map(contents));
  const trashed = listingsBefore.flatMap((l) => Object.keys(l).filter((k) => k.startsWith(mine)));
  assert.ok(trashed.length > 0);
  const purge = await purgeAt({ runId: 'purge-test', retentionDays: 30, now: later });
  assert.equal(purge.purged, trashed.length);
  assert.deepEqual(purge.days, [today]);
  for (const [i, destination] of worker.wired.destinations.entries()) {
    const live = Object.fromEntries(Object.entries(listingsBefore[i]).filter(([k]) => !k.startsWith(mine)));
    assert.ok(
      Object.keys(live).some((k) => k.includes('someone else')),
      "the other account's trash is there",
    );
    assert.deepEqual(await contents(destination), live, `${destination.name}: only the old trash is gone`);
  }
  const again = await purgeAt({ runId: 'purge-test', retentionDays: 1, now: later });
  assert.equal(again.purged, 0, 'once a day');
  assert.equal((worker.wired.catalog.db.prepare('SELECT count(*) AS n FROM trashed_objects').get() as { n: number }).n, 0);
});

test('a sweep is skipped, not queued, while a full sync holds the account', async () => {
  stack.emulator!.faults.add({ match: '^GET /drive/v3/files\\?', delayMs: 3000, times: 1 });
  const full = await startFullSync(worker.client, config, `sweep-test-held-${++runs}`);
  const db = worker.wired.catalog.db;
  for (let i = 0; i < 200 && !db.prepare('SELECT 1 FROM account_hold').get(); i++) await new Promise((r) => setTimeout(r, 50));
  const result = await sweep();
  assert.equal(result.kind, 'skipped');
  assert.match(result.kind === 'skipped' ? result.reason : '', /full sync sweep-test-held-\d+ holds the account/);
  const second = await fullSync();
  assert.equal(second.heldBy, full.workflowId, 'a second full sync does nothing while the first lists');
  assert.equal(second.gone, undefined);
  await full.result();
  stack.emulator!.faults.clear();
  assert.equal((await sweep()).kind, 'swept', 'the hold ends with the full sync');
});

test('an object missing behind our back when its file is renamed is written again, not left queued', async () => {
  const s = stack.emulator!.store;
  const file = await s.addFile({ name: 'fragile.txt', content: bytesContent('mike') });
  await sweep();
  const aws = worker.wired.destinations.find((d) => d.name === 'aws')!;
  await aws.delete(`${MY}/fragile.txt`);
  s.rename(file.id, 'fragile-renamed.txt');
  const result = await sweep();
  assert.equal(result.kind, 'swept');
  assert.equal(result.kind === 'swept' && result.places?.requeued, 1);
  assert.equal(result.kind === 'swept' && result.filesSynced, 1, 'the file is transferred again');
  assert.equal((worker.wired.catalog.db.prepare('SELECT count(*) AS n FROM place_checks').get() as { n: number }).n, 0);
  for (const destination of worker.wired.destinations) {
    const listing = await contents(destination);
    assert.equal(listing[`${MY}/fragile-renamed.txt`], sha(Buffer.from('mike')), destination.name);
  }
});

test('a destination down during the purge does not stop the others; its trash is purged when it is back', async () => {
  const s = stack.emulator!.store;
  const doomed = await s.addFile({ name: 'doomed.txt', content: bytesContent('oscar') });
  await sweep();
  s.delete(doomed.id);
  await sweep();
  const later = new Date(Date.now() + 40 * 86_400_000).toISOString();
  await stack.minio!.stop();
  try {
    const purge = await purgeAt({ runId: 'purge-down', retentionDays: 30, now: later });
    assert.deepEqual(purge.unreachable.sort(), ['aws', 'eu']);
    const nas = worker.wired.destinations.find((d) => d.name === 'nas')!;
    assert.deepEqual(
      Object.keys(await contents(nas)).filter((k) => k.startsWith('.trash/') && k.includes(`/${ME}/`)),
      [],
      'the directory was purged',
    );
  } finally {
    await stack.restartMinio();
  }
  const again = await purgeAt({ runId: 'purge-back', retentionDays: 30, now: later });
  assert.deepEqual(again.unreachable, []);
  assert.ok(again.purged >= 2, 'the buckets are purged the same day, once back');
  for (const destination of worker.wired.destinations) {
    assert.deepEqual(
      Object.keys(await contents(destination)).filter((k) => k.startsWith('.trash/') && k.includes(`/${ME}/`)),
      [],
      destination.name,
    );
  }
});

test('a rename whose objects a killed try had already moved: the old key is recorded under .trash/', async () => {
  const s = stack.emulator!.store;
  const file = await s.addFile({ name: 'moved-before-a-crash.txt', content: bytesContent('moved before a crash') });
  await fullSync();
  s.rename(file.id, 'renamed-before-a-crash.txt');
  const from = `${MY}/moved-before-a-crash.txt`;
  const to = `${MY}/renamed-before-a-crash.txt`;
  const kept = `.trash/${today}/${from}`;
  // What a place check killed after its moves and before its record leaves on an object store: the object at its new
  // key, and its old key under .trash/.
  const stores = worker.wired.destinations.filter((d) => !d.renamesInPlace);
  for (const d of stores) {
    const request = (target: string) => ({
      from,
      to: target,
      metadata: {
        driveFileId: file.id,
        drivePath: `My Drive/${file.name}`,
        modifiedTime: file.modifiedTime,
        version: String(file.version),
      },
      contentType: 'text/plain',
    });
    await d.copy(request(to));
    await d.move(request(kept));
  }
  const result = await sweep();
  assert.equal(result.kind === 'swept' && result.places?.failed, 0);
  const db = worker.wired.catalog.db;
  const trashed = db
    .prepare('SELECT destination, original_key AS originalKey FROM trashed_objects WHERE key = ? ORDER BY destination')
    .all(kept);
  assert.deepEqual(
    trashed,
    stores.map((d) => ({ destination: d.name, originalKey: from })).sort((a, b) => a.destination.localeCompare(b.destination)),
    'the catalog knows the old key is kept under .trash/ on each object store',
  );
  for (const d of worker.wired.destinations) {
    const listing = await contents(d);
    assert.equal(listing[to], sha(Buffer.from('moved before a crash')), `${d.name}: the file is at its new key`);
    assert.equal(listing[from], undefined, `${d.name}: and no longer at its old one`);
  }
});
