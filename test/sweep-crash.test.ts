import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import { fullSyncInput, startFullSync } from '../api/fullSyncRuns';
import { sweepInput } from '../api/sweepRuns';
import { createDestinations } from '../activities/storage/createDestinations';
import { type Config, parseConfig } from '../common/config';
import { EXPORT_MIME_TYPES } from '../common/exportFormats';
import { TASK_QUEUES } from '../common/taskQueues';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { startWorkerProcess } from '../scripts/launchers/workerProcess';
import { type IncrementalSweepSummary, fullSync, incrementalSweep } from '../workflows';
import { bytesContent, generatedContent } from './drive-emulator/content';
import { renderExport } from './drive-emulator/exports';
import { DriveEmulator } from './drive-emulator/server';
import { type DriveStore, type EmuFile, FOLDER } from './drive-emulator/store';
import { emulatorOAuth, streamToBuffer } from './support/drive';
import { type Stack, recordProcessGroups, startStack } from './support/stack';
import { stackConfig, stackEnv } from './support/worker';

/*
 * Issue 11: "Kill the worker process mid-sweep; the next sweep ends in exactly the state of an uninterrupted one."
 * Backups of the same Drive, each with its own emulator (the emulator is deterministic: the same steps give the same
 * ids, times and bytes), catalog, bucket prefix and directory, on one Temporal server and one MinIO: a reference swept
 * without interruption; one whose worker process is killed with SIGKILL while the sweep moves objects server-side
 * (place checks); one killed while the sweep transfers files; one killed while a full sync, run in the sweep's place,
 * moves objects. Each killed one gets a new worker process, its interrupted run is awaited and one more sweep run;
 * then every destination must hold exactly the reference's objects, byte for byte, and each catalog must record
 * exactly what its destinations hold.
 *
 * It found two bugs, fixed since: a place-check page lost with the killed worker was waited out for its 5-minute
 * timeout (the sweep and the full sync ended 330 s after the restart), and a rename on an object store repeated after
 * the kill forgot, in the catalog, the old key it had already moved under .trash/.
 */

const KiB = 1024;
/** Files under the folder that is renamed: one place check each, so the kill can land while they are moved. */
const ARCHIVE_FILES = 300;
/** Each download of the killed backups' sweeps is served this slowly, so the kill lands while batches stream. */
const SLOW_DOWNLOAD_BYTES_PER_SECOND = 32 * KiB;
const today = new Date().toISOString().slice(0, 10);
const ME = 'drive/me@example.com';

let stack: Stack;
let client: Client;
const logDir = mkdtempSync(join(tmpdir(), 'sweep-crash-'));
const processes: ChildProcess[] = [];
const emulators: DriveEmulator[] = [];

interface Backup {
  name: string;
  emulator: DriveEmulator;
  config: Config;
  configPath: string;
  worker?: ChildProcess;
  workers: number;
  runs: number;
}

/** The Drive's items the changes name, by role. */
interface Handles {
  archive: EmuFile;
  archived: EmuFile[];
  media: EmuFile;
  projects: EmuFile;
  clips: EmuFile[];
  docs: EmuFile[];
  notes: EmuFile;
  rooted: EmuFile[];
  team: string;
  teamFiles: EmuFile[];
}

/** The Drive before the first full sync: a few folders, a folder of many small files, a Doc, a shared drive. */
async function seed(store: DriveStore): Promise<Handles> {
  const add = (name: string, parentId: string | undefined, content: string) =>
    store.addFile({ name, parentId, content: bytesContent(content) });
  const projects = await store.addFile({ name: 'Projects', mimeType: FOLDER });
  const archive = await store.addFile({ name: 'Archive', mimeType: FOLDER, parentId: projects.id });
  const archived: EmuFile[] = [];
  for (let i = 0; i < ARCHIVE_FILES; i++) archived.push(await add(`a-${String(i).padStart(3, '0')}.txt`, archive.id, `archived ${i}`));
  const docsFolder = await store.addFile({ name: 'Docs', mimeType: FOLDER });
  const docs: EmuFile[] = [];
  for (let i = 0; i < 8; i++) docs.push(await add(`doc-${i}.txt`, docsFolder.id, `doc ${i}`));
  const notes = await store.addFile({
    name: 'Notes',
    parentId: docsFolder.id,
    mimeType: 'application/vnd.google-apps.document',
    text: 'notes',
  });
  const media = await store.addFile({ name: 'Media', mimeType: FOLDER });
  const clips: EmuFile[] = [];
  for (let i = 0; i < 10; i++)
    clips.push(await store.addFile({ name: `clip-${i}.bin`, parentId: media.id, content: generatedContent(48 * KiB, 100 + i) }));
  const rooted: EmuFile[] = [];
  for (let i = 0; i < 5; i++) rooted.push(await add(`r-${i}.txt`, undefined, `root ${i}`));
  const team = store.addDrive('Team');
  const teamFiles: EmuFile[] = [];
  for (let i = 0; i < 3; i++)
    teamFiles.push(await store.addFile({ name: `t-${i}.txt`, driveId: team.id, content: bytesContent(`team ${i}`) }));
  return { archive, archived, media, projects, clips, docs, notes, rooted, team: team.id, teamFiles };
}

/**
 * Every kind of change, for every stage of the sweep: a folder renamed (hundreds of server-side moves) and one moved
 * with its files, files renamed and moved, trashed, deleted, modified (some of them moved too), and new ones.
 */
async function change(store: DriveStore, h: Handles): Promise<void> {
  store.rename(h.archive.id, 'Archive 2025');
  store.setTrashed(h.archived[1].id, true);
  await store.addFile({ name: 'a-new.txt', parentId: h.archive.id, content: bytesContent('archived late') });
  store.move(h.media.id, h.projects.id);
  for (const clip of h.clips.slice(0, 5))
    await store.modifyContent(clip.id, { content: generatedContent(64 * KiB, 200 + h.clips.indexOf(clip)) });
  store.rename(h.clips[6].id, 'clip-6-renamed.bin');
  store.rename(h.docs[0].id, 'doc-0-renamed.txt');
  store.move(h.docs[1].id, 'root');
  store.rename(h.docs[2].id, 'doc-2-edited.txt');
  await store.modifyContent(h.docs[2].id, { content: bytesContent('doc 2, edited') });
  store.setTrashed(h.docs[3].id, true);
  store.delete(h.docs[4].id);
  store.setTrashed(h.notes.id, true);
  store.setTrashed(h.rooted[0].id, true);
  store.delete(h.rooted[1].id);
  await store.modifyContent(h.rooted[2].id, { content: bytesContent('root 2, edited') });
  const inbox = await store.addFile({ name: 'Inbox', mimeType: FOLDER });
  for (let i = 0; i < 16; i++)
    await store.addFile({ name: `in-${i}.bin`, parentId: inbox.id, content: generatedContent(64 * KiB, 300 + i) });
  store.rename(h.teamFiles[0].id, 't-0-renamed.txt');
  store.setTrashed(h.teamFiles[1].id, true);
  await store.modifyContent(h.teamFiles[2].id, { content: bytesContent('team 2, edited') });
  await store.addFile({ name: 't-new.txt', driveId: h.team, content: bytesContent('team, new') });
}

/** A backup of its own: its emulator, catalog file, prefix in both buckets and directory. */
async function createBackup(name: string, emulator: DriveEmulator): Promise<Backup> {
  const dir = join(stack.tmp, name);
  mkdirSync(dir);
  const base = stackConfig(stack);
  const config = parseConfig({
    ...base,
    google: { ...base.google, apiRootUrl: emulator.baseUrl, tokenUrl: `${emulator.baseUrl}token` },
    catalog: { ...base.catalog, path: join(dir, 'catalog.db') },
    destinations: base.destinations.map((d) => (d.kind === 's3' ? { ...d, prefix: name } : { ...d, path: join(dir, 'nas') })),
    // Small batches: the catalog shows files synced while later batches still stream.
    transfer: { ...base.transfer, batchSize: 6 },
  });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  const handles = await seed(emulator.store);
  const backup: Backup = { name, emulator, config, configPath, workers: 0, runs: 0 };
  await startWorker(backup);
  const first = await (await startFullSync(client, config, `${name}-full-sync`)).result();
  assert.deepEqual([first.filesFailed, first.pending], [0, 0], `${name}: the first full sync backs up everything`);
  await change(emulator.store, handles);
  return backup;
}

async function startWorker(backup: Backup): Promise<ChildProcess> {
  const child = await startWorkerProcess(backup.configPath, stackEnv(stack));
  processes.push(child);
  recordProcessGroups([child.pid]);
  const log = createWriteStream(join(logDir, `${backup.name}-worker-${++backup.workers}.log`));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  backup.worker = child;
  return child;
}

/** A backup's worker logs are kept while a test about it fails (the folder is printed), and removed when it passes. */
function removeLogs(backup: Backup): void {
  for (let n = 1; n <= backup.workers; n++) rmSync(join(logDir, `${backup.name}-worker-${n}.log`), { force: true });
}

async function stopWorker(backup: Backup): Promise<void> {
  await stopTied(backup.worker!);
  backup.worker = undefined;
}

/** Starts a sweep as its schedule would, with a 5 s heartbeat timeout so a batch lost with its worker is retried soon. */
function startSweep(backup: Backup) {
  const input = sweepInput(backup.config);
  return client.workflow.start(incrementalSweep, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `${backup.name}-sweep-${++backup.runs}`,
    args: [{ ...input, fullSync: { ...input.fullSync, transferHeartbeatTimeout: '5 seconds' } }],
  });
}

/** Starts a full sync as startFullSync does, with the same short heartbeat timeout. */
function startFullSyncRun(backup: Backup) {
  return client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `${backup.name}-full-sync-${++backup.runs}`,
    args: [{ ...fullSyncInput(backup.config), transferHeartbeatTimeout: '5 seconds' }],
  });
}

function swept(summary: IncrementalSweepSummary): Extract<IncrementalSweepSummary, { kind: 'swept' }> {
  assert.equal(summary.kind, 'swept', JSON.stringify(summary));
  return summary as Extract<IncrementalSweepSummary, { kind: 'swept' }>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What a backup holds: each destination's objects read back (key → SHA-256), and the catalog's rows about them. */
interface Snapshot {
  listings: Record<string, Record<string, string>>;
  objects: unknown[];
  trashed: unknown[];
  files: Array<{ id: string; state: string | null; gone: string | null }>;
  placeChecks: number;
}

async function snapshot(backup: Backup): Promise<Snapshot> {
  const listings: Snapshot['listings'] = {};
  for (const destination of createDestinations(backup.config, stackEnv(stack))) {
    const listing: Record<string, string> = {};
    for await (const { key } of destination.list('')) listing[key] = sha256(await streamToBuffer(await destination.read(key)));
    listings[destination.name] = listing;
  }
  const db = new Database(backup.config.catalog.path, { readonly: true, fileMustExist: true });
  try {
    return {
      listings,
      objects: db.prepare('SELECT file_id, destination, format, key, size, sha256, state FROM objects ORDER BY destination, key').all(),
      trashed: db
        .prepare(
          `SELECT destination, key, file_id, format, original_key, size, sha256, content_current, trashed_on
           FROM trashed_objects ORDER BY destination, key`,
        )
        .all(),
      files: db.prepare(`SELECT id, state, gone FROM files WHERE kind IN ('binary', 'workspace') ORDER BY id`).all() as Snapshot['files'],
      placeChecks: (db.prepare('SELECT count(*) AS n FROM place_checks').get() as { n: number }).n,
    };
  } finally {
    db.close();
  }
}

/** Two maps of key → SHA-256 are equal; if not, the failure names the keys missing, extra and different. */
function assertSameObjects(actual: Record<string, string>, expected: Record<string, string>, message: string): void {
  const missing = Object.keys(expected).filter((k) => !(k in actual));
  const extra = Object.keys(actual).filter((k) => !(k in expected));
  const different = Object.keys(expected).filter((k) => k in actual && actual[k] !== expected[k]);
  assert.deepEqual({ missing, extra, different }, { missing: [], extra: [], different: [] }, message);
}

const current = (listing: Record<string, string>) => Object.fromEntries(Object.entries(listing).filter(([k]) => !k.startsWith('.trash/')));
const trash = (listing: Record<string, string>) => Object.fromEntries(Object.entries(listing).filter(([k]) => k.startsWith('.trash/')));

/** The catalog records exactly what the destinations hold: current objects at their keys, the rest under .trash/. */
function assertCatalogMatchesDestinations(name: string, s: Snapshot): void {
  assert.equal(s.placeChecks, 0, `${name}: no place check left queued`);
  assert.deepEqual(
    s.files.filter((f) => !f.gone && f.state !== 'synced'),
    [],
    `${name}: every file in Drive is synced`,
  );
  for (const [destination, listing] of Object.entries(s.listings)) {
    const rows = (rowsOf: unknown[]) =>
      Object.fromEntries(
        (rowsOf as Array<{ destination: string; key: string; sha256: string }>)
          .filter((r) => r.destination === destination)
          .map((r) => [r.key, r.sha256]),
      );
    assertSameObjects(current(listing), rows(s.objects), `${name}: ${destination} holds exactly the catalog's objects`);
    assertSameObjects(trash(listing), rows(s.trashed), `${name}: ${destination}'s .trash/ holds exactly the catalog's trashed objects`);
  }
}

/** A drive's items by path: the key and SHA-256 each content file in Drive must have on every destination. */
function driveTree(store: DriveStore): Record<string, string> {
  const top = (f: EmuFile) => (f.driveId ? store.drives.get(f.driveId)!.name : 'My Drive');
  const pathOf = (f: EmuFile): string[] => {
    const parent = f.parentId && store.files.get(f.parentId);
    return parent ? [...pathOf(parent), parent.name] : [];
  };
  const tree: Record<string, string> = {};
  for (const f of store.files.values()) {
    if (f.trashed || f.mimeType === FOLDER) continue;
    const key = [ME, top(f), ...pathOf(f), f.name].join('/');
    if (f.content) tree[key] = f.hashes!.sha256;
    else tree[`${key}.docx`] = sha256(renderExport(f, EXPORT_MIME_TYPES.docx)!);
  }
  return tree;
}

/** Polls a backup's catalog (read-only, beside the worker writing it) until `ready` says the moment has come. */
async function waitInCatalog<T>(backup: Backup, what: string, ready: (db: Database.Database) => T | undefined): Promise<T> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    let db: Database.Database | undefined;
    try {
      db = new Database(backup.config.catalog.path, { readonly: true, fileMustExist: true });
      const found = ready(db);
      if (found !== undefined) return found;
    } finally {
      db?.close();
    }
    assert.ok(Date.now() < deadline, `${backup.name}: ${what} did not happen within 4 minutes`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (db: Database.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;

let reference: Snapshot;

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  client = new Client({ connection: await Connection.connect({ address: stack.temporal!.address }) });
  console.log(`sweep-crash: worker logs in ${logDir}`);
});

after(async () => {
  await Promise.all(processes.map((p) => stopTied(p)));
  await Promise.all(emulators.map((e) => e.close()));
  await client?.connection.close();
  await stack?.stop();
  if (readdirSync(logDir).length === 0) rmSync(logDir, { recursive: true });
});

async function newEmulator(): Promise<DriveEmulator> {
  const emulator = await DriveEmulator.start({ oauth: emulatorOAuth });
  emulators.push(emulator);
  return emulator;
}

test('the reference: a sweep that runs without interruption applies every change', async () => {
  const backup = await createBackup('reference', stack.emulator!);
  const first = swept(await (await startSweep(backup)).result());
  assert.equal(first.filesFailed, 0);
  swept(await (await startSweep(backup)).result());
  await stopWorker(backup);
  reference = await snapshot(backup);
  assertCatalogMatchesDestinations(backup.name, reference);
  const tree = driveTree(backup.emulator.store);
  for (const [destination, listing] of Object.entries(reference.listings)) {
    assertSameObjects(current(listing), tree, `reference: ${destination} holds every file in Drive at its path, and nothing else`);
    const trashed = Object.keys(trash(listing));
    assert.ok(
      trashed.length > 0 && trashed.every((key) => key.startsWith(`.trash/${today}/${ME}/`)),
      `reference: ${destination}'s trash is today's`,
    );
  }
  const trashOf = (destination: string) => Object.keys(trash(reference.listings[destination])).length;
  // On a store, a renamed file's old key is kept under .trash/; a directory renames the file in place.
  assert.ok(trashOf('aws') > ARCHIVE_FILES && trashOf('nas') < 20, `trash: aws ${trashOf('aws')}, nas ${trashOf('nas')}`);
  removeLogs(backup);
});

/**
 * Kills a backup's worker process with SIGKILL once `moment` sees its catalog at the point wanted, during a sweep (or
 * a full sync), starts a new one, awaits the interrupted run and one more sweep, and compares destinations and catalog
 * with the reference.
 */
async function killMidRun(t: TestContext, name: string, run: 'sweep' | 'full sync', moment: (db: Database.Database) => string | undefined) {
  assert.ok(reference, 'the reference ran');
  const backup = await createBackup(name, await newEmulator());
  backup.emulator.faults.add({ match: 'alt=media', bytesPerSecond: SLOW_DOWNLOAD_BYTES_PER_SECOND });
  const handle = run === 'sweep' ? await startSweep(backup) : await startFullSyncRun(backup);
  const seen = await waitInCatalog(backup, name, moment);
  const killed = backup.worker!;
  process.kill(-killed.pid!, 'SIGKILL');
  await once(killed, 'exit');
  const left = await waitInCatalog(backup, 'a read', (db) => ({
    placeChecks: count(db, 'SELECT count(*) AS n FROM place_checks'),
    pending: count(db, `SELECT count(*) AS n FROM files WHERE state = 'pending' AND gone IS NULL`),
  }));
  await startWorker(backup);
  const restarted = Date.now();
  const summary = await handle.result();
  const interrupted = 'kind' in summary ? swept(summary) : summary;
  const resumedSeconds = (Date.now() - restarted) / 1000;
  const next = swept(await (await startSweep(backup)).result());
  await stopWorker(backup);
  t.diagnostic(
    `killed with ${seen}; left ${JSON.stringify(left)}; the ${run} ended ${resumedSeconds.toFixed(1)} s after the new worker started`,
  );
  const { places, filesSynced, filesFailed } = interrupted;
  t.diagnostic(`interrupted ${run}: places ${JSON.stringify(places)}, ${filesSynced} files synced, ${filesFailed} failed`);
  t.diagnostic(`next sweep: ${next.changes} changes, places ${JSON.stringify(next.places)}, ${next.filesSynced} files synced`);

  const result = await snapshot(backup);
  assertCatalogMatchesDestinations(name, result);
  for (const [destination, listing] of Object.entries(reference.listings)) {
    assertSameObjects(result.listings[destination], listing, `${name}: ${destination} holds exactly what the reference holds`);
  }
  assert.deepEqual(result.objects, reference.objects, `${name}: the catalog records the objects the reference records`);
  assert.deepEqual(result.trashed, reference.trashed, `${name}: the catalog records the trash the reference records`);
  // A full sync tells what left Drive only by not listing it: its reason for a file gone is 'unlisted'.
  const states = (s: Snapshot) => (run === 'sweep' ? s.files : s.files.map((f) => ({ ...f, gone: f.gone && 'unlisted' })));
  assert.deepEqual(states(result), states(reference), `${name}: the catalog records the files' states the reference records`);
  // A task lost with the killed worker is retried once its heartbeat is late, not after a 5-minute timeout.
  assert.ok(resumedSeconds < 150, `the interrupted ${run} ended ${resumedSeconds.toFixed(0)} s after the restart`);
  removeLogs(backup);
  return left;
}

/** Kills the worker once the place checks queued before the run are partly done, not before the folder's are queued. */
function placeChecksPartlyDone(): (db: Database.Database) => string | undefined {
  let most = 0;
  return (db) => {
    const queued = count(db, 'SELECT count(*) AS n FROM place_checks');
    most = Math.max(most, queued);
    return most > ARCHIVE_FILES && queued <= most - 20 ? `${most - queued} of ${most} place checks done` : undefined;
  };
}

test('a worker killed while the sweep moves objects: the next sweep ends as the uninterrupted one', async (t) => {
  const left = await killMidRun(t, 'killed-placing', 'sweep', placeChecksPartlyDone());
  assert.ok(left.placeChecks > 0, 'the kill came before every place check was done');
});

test('a worker killed while the sweep transfers files: the next sweep ends as the uninterrupted one', async (t) => {
  let most = 0;
  const left = await killMidRun(t, 'killed-transferring', 'sweep', (db) => {
    const pending = count(db, `SELECT count(*) AS n FROM files WHERE state = 'pending' AND gone IS NULL`);
    most = Math.max(most, pending);
    return most > 12 && pending > 0 && pending <= most - 6 ? `${most - pending} of ${most} pending files synced` : undefined;
  });
  assert.ok(left.placeChecks === 0 && left.pending > 0, 'the kill came after the place checks, before every file was transferred');
});

test('a worker killed while a full sync moves objects: the next sweep ends as the uninterrupted sweep', async (t) => {
  const left = await killMidRun(t, 'killed-full-sync', 'full sync', placeChecksPartlyDone());
  assert.ok(left.placeChecks > 0, 'the kill came before every place check was done');
});
