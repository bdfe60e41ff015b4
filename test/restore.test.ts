import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { startFullSync } from '../api/fullSyncRuns';
import { formatRestoreSummary, startRestore } from '../api/restoreRuns';
import { DUMP_FILES, dayBefore, sha256Line, stateLayout, utcDay } from '../activities/dump/dumpLayout';
import { writeManifestFile } from '../activities/dump/manifestFile';
import type { ObjectLine } from '../activities/dump/manifestLine';
import { hashStream, uploadStateFile } from '../activities/dump/stateObjects';
import { safeSegment } from '../activities/catalog/objectKeys';
import type { Destination } from '../activities/storage/destination';
import { checkRestoreCommand, formatRestoreProgress } from '../cli/commands/restore';
import { parseCommandLine } from '../cli/main';
import { UsageError } from '../cli/usageError';
import type { Config } from '../common/config';
import type { RestoreSummary } from '../common/restoreTypes';
import { TASK_QUEUES } from '../common/taskQueues';
import { type RestoreInput, nightlyDump, restoreProgressQuery } from '../workflows';
import { bytesContent, generatedContent, readContent } from './drive-emulator/content';
import { mime, renderExport } from './drive-emulator/exports';
import type { EmuFile } from './drive-emulator/store';
import { runCli } from './support/cli';
import { streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

// Issue 12, section 3: files come back from a destination, checked, confined to the target, as of now or a past day.
let stack: Stack;
let worker: RunningWorker;
let config: Config;
let runs = 0;
const ME = 'drive/me@example.com';
const today = utcDay(new Date());
/** The day of the first dump, taken after the first full sync: before the later changes. */
const EARLIER = dayBefore(today, 3);
const G = 'application/vnd.google-apps.';

/** What the Drive holds, by the path a restore gives each file below its target. */
const files: Record<string, EmuFile> = {};

const destination = (name: string): Destination => worker.wired.destinations.find((d) => d.name === name)!;

/** The bytes a file's object must hold: its content, or its docx export. */
function sourceBytes(file: EmuFile): Promise<Buffer> {
  if (file.content) return streamToBuffer(readContent(file.content));
  return Promise.resolve(renderExport(file, mime.docx)!);
}

async function expectedTree(paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of paths) out[path] = sha(await sourceBytes(files[path]));
  return out;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Every file below `dir` (links not followed), path → SHA-256 of its bytes. */
function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = sha(readFileSync(path));
  }
  return out;
}

/** A fresh folder holding only the target `target/`: whatever else appears in it was written outside the target. */
function freshTarget(): { parent: string; to: string } {
  const parent = join(stack.tmp, `restore-${++runs}`);
  mkdirSync(parent);
  return { parent, to: join(parent, 'target') };
}

/** A failed run's error says why: its cause, and the cause's (an activity's failure). */
function withCauses(err: unknown): never {
  if (err instanceof WorkflowFailedError)
    err.message += `: ${err.cause?.message}: ${(err.cause?.cause as Error | undefined)?.message ?? ''}`;
  throw err;
}

async function restoreRun(request: Omit<RestoreInput, 'catalogTaskQueue'>): Promise<RestoreSummary> {
  const handle = await startRestore(worker.client, config, request, `restore-test-${++runs}`);
  return handle.result().catch(withCauses);
}

async function fullSync(): Promise<void> {
  const summary = await (await startFullSync(worker.client, config, `restore-test-sync-${++runs}`)).result();
  assert.equal(summary.filesFailed, 0);
}

async function dump(now: string): Promise<void> {
  const handle = await worker.client.workflow.start(nightlyDump, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: `restore-test-dump-${++runs}`,
    args: [{ catalogTaskQueue: worker.wired.parts.catalog.taskQueue, now: `${now}T02:30:00Z` }],
  });
  const result = await handle.result();
  assert.equal(result.status, 'verified', JSON.stringify(result));
}

before(async () => {
  // Continue-as-new after a few pages, so one restore spans several runs.
  stack = await startStack({ temporal: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 30 } }, minio: true, emulator: true });
  // `aws` keeps every version (a restore as of a past day reads the day's), `eu` only the current one.
  const s3 = stack.minio!.client();
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKETS.aws, VersioningConfiguration: { Status: 'Enabled' } }));
  s3.destroy();
  config = stackConfig(stack);
  worker = await startTestWorker(stack, config);
  const store = stack.emulator!.store;
  const projects = await store.addFile({ name: 'Projects' });
  const sub = await store.addFile({ name: 'Sub', parentId: projects.id });
  const notes = await store.addFile({ name: 'Notes' });
  const add = async (path: string, spec: Parameters<typeof store.addFile>[0]) => {
    files[path] = await store.addFile(spec);
  };
  await add('My Drive/Projects/a.txt', { name: 'a.txt', parentId: projects.id, content: bytesContent('alpha') });
  await add('My Drive/Projects/empty.txt', { name: 'empty.txt', parentId: projects.id, content: bytesContent('') });
  await add('My Drive/Projects/Plan.docx', { name: 'Plan', parentId: projects.id, mimeType: `${G}document`, text: 'the plan' });
  await add('My Drive/Projects/Sub/b.bin', { name: 'b.bin', parentId: sub.id, content: generatedContent(300 * 1024 + 5, 3) });
  await add('My Drive/Projects/Sub/large.bin', { name: 'large.bin', parentId: sub.id, content: generatedContent(6 * 1024 * 1024 + 3, 4) });
  await add('My Drive/Notes/c.txt', { name: 'c.txt', parentId: notes.id, content: bytesContent('charlie') });
  await add('My Drive/evolving.txt', { name: 'evolving.txt', content: bytesContent('the first version') });
  // Hostile names: made safe in their keys, so restored inside the target under those safe names.
  await add(`My Drive/${safeSegment('..')}`, { name: '..', content: bytesContent('dot dot') });
  await add(`My Drive/${safeSegment('up/../../x')}`, { name: 'up/../../x', content: bytesContent('slashes') });
  const team = store.addDrive('Team');
  await add('Team/t.txt', { name: 't.txt', driveId: team.id, parentId: team.id, content: bytesContent('tango') });
  await fullSync();
  await dump(EARLIER);
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const allPaths = () => Object.keys(files).sort();
const under = (prefix: string) => allPaths().filter((p) => p.startsWith(prefix));

test('a folder, one file and the whole account come back, every byte equal to the source, nothing outside the target', async () => {
  const folder = freshTarget();
  const projects = await restoreRun({ from: 'aws', to: folder.to, path: 'My Drive/Projects' });
  assert.deepEqual(treeOf(folder.to), await expectedTree(under('My Drive/Projects/')));
  assert.equal(projects.plan.files, 5);
  assert.deepEqual(
    { ...projects.counts, problems: projects.problems },
    {
      restored: 5,
      bytesRestored: projects.plan.bytes,
      skippedExisting: 0,
      failed: 0,
      filesDone: 5,
      bytesDone: projects.plan.bytes,
      problems: [],
    },
  );

  // A file named by its key (a Doc's export has the extension its Drive path lacks), from the local destination.
  const one = freshTarget();
  const plan = await restoreRun({ from: 'nas', to: one.to, path: '/My Drive/Projects/Plan.docx/' });
  assert.deepEqual(treeOf(one.to), await expectedTree(['My Drive/Projects/Plan.docx']));
  assert.equal(plan.counts.restored, 1);

  // The whole account a file per page, two pages at once, continued as new on the way.
  const whole = freshTarget();
  const handle = await startRestore(
    worker.client,
    config,
    { from: 'eu', to: whole.to, pageFiles: 1, pagesInFlight: 2 },
    `restore-test-whole-${++runs}`,
  );
  const summary = await handle.result().catch(withCauses);
  assert.deepEqual(treeOf(whole.to), await expectedTree(allPaths()));
  assert.equal(summary.counts.restored, allPaths().length);
  assert.equal(summary.plan.pages, allPaths().length);
  const firstRun = await worker.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
  assert.ok(firstRun.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'the restore continued as new');
  const progress = await handle.query(restoreProgressQuery);
  assert.deepEqual(progress.counts, summary.counts);
  assert.equal(progress.etaSeconds, 0);

  for (const { parent } of [folder, one, whole]) assert.deepEqual(readdirSync(parent), ['target'], 'nothing beside the target');
});

test('as of an earlier day: the version of that day, from the versioned bucket; a bucket without versions reports it', async () => {
  const store = stack.emulator!.store;
  await store.modifyContent(files['My Drive/evolving.txt'].id, { content: bytesContent('the second version, longer') });
  store.setTrashed(files['My Drive/Notes/c.txt'].id, true);
  const later = await store.addFile({ name: 'later.txt', content: bytesContent('added after the dump') });
  await fullSync();

  const now = freshTarget();
  await restoreRun({ from: 'aws', to: now.to });
  assert.equal(readFileSync(join(now.to, 'My Drive/evolving.txt'), 'utf8'), 'the second version, longer');
  assert.equal(readFileSync(join(now.to, 'My Drive/later.txt'), 'utf8'), 'added after the dump');
  assert.equal(existsSync(join(now.to, 'My Drive/Notes/c.txt')), false, 'a trashed file is not restored as it is now');

  const then = freshTarget();
  const earlier = await restoreRun({ from: 'aws', to: then.to, at: EARLIER });
  assert.equal(earlier.plan.source, 'manifest');
  const expected = await expectedTree(allPaths());
  expected['My Drive/evolving.txt'] = sha(Buffer.from('the first version'));
  assert.deepEqual(treeOf(then.to), expected, 'the earlier version, the file trashed since, not the file added since');
  assert.equal(earlier.counts.failed, 0);

  // eu keeps no versions: the key holds the later bytes, and the trashed file's key holds nothing.
  const unversioned = freshTarget();
  const eu = await restoreRun({ from: 'eu', to: unversioned.to, at: EARLIER });
  const problems = Object.fromEntries(eu.problems.map((p) => [p.path, p.kind]));
  assert.deepEqual(problems, { 'My Drive/evolving.txt': 'mismatch', 'My Drive/Notes/c.txt': 'missing' });
  assert.equal(eu.counts.failed, 2);
  const restored = treeOf(unversioned.to);
  assert.equal(restored['My Drive/evolving.txt'], undefined, 'a mismatch is not left under its name');
  // Only those: no partial file is left behind either.
  assert.deepEqual(
    Object.keys(restored).sort(),
    allPaths().filter((p) => !(p in problems)),
  );
  files['My Drive/later.txt'] = later;
});

test('a restore that cannot run fails saying why: a day whose manifest fails its .sha256 line, a day without a dump, a relative target', async () => {
  const s3 = stack.minio!.client();
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKETS.eu,
        Key: `vault/${stateLayout(config).dailyKey(EARLIER, DUMP_FILES.manifest)}`,
        Body: Buffer.from('not the manifest'),
      }),
    );
  } finally {
    s3.destroy();
  }
  const { to } = freshTarget();
  await assert.rejects(restoreRun({ from: 'eu', to, at: EARLIER }), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(err.message, /manifest\.jsonl\.gz does not match its \.sha256 line/);
    return true;
  });
  await assert.rejects(restoreRun({ from: 'aws', to, at: '2001-01-01' }), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(err.message, /aws holds no dump of 2001-01-01/);
    return true;
  });
  assert.equal(existsSync(to), false, 'nothing was restored');
  await assert.rejects(restoreRun({ from: 'aws', to: 'relative/target' }), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(err.message, /the target directory must be an absolute path, not "relative\/target"/);
    return true;
  });
});

test('a corrupted object and a missing one are reported, and never left under their final names', async () => {
  const corrupted = `${ME}/My Drive/Projects/Sub/b.bin`;
  const removed = `${ME}/My Drive/Projects/a.txt`;
  const s3 = stack.minio!.client();
  try {
    const bytes = await sourceBytes(files['My Drive/Projects/Sub/b.bin']);
    bytes[1000] ^= 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKETS.eu, Key: `vault/${corrupted}`, Body: bytes }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKETS.eu, Key: `vault/${removed}` }));
  } finally {
    s3.destroy();
  }
  const { to } = freshTarget();
  const summary = await restoreRun({ from: 'eu', to, path: 'My Drive/Projects' });
  const byKey = Object.fromEntries(summary.problems.map((p) => [p.key, p]));
  assert.equal(byKey[corrupted].kind, 'mismatch');
  assert.equal(byKey[corrupted].path, 'My Drive/Projects/Sub/b.bin');
  assert.match(byKey[corrupted].reason, /^expected 307205 bytes with SHA-256 [0-9a-f]{64}, read 307205 bytes with SHA-256 [0-9a-f]{64}$/);
  assert.equal(byKey[removed].kind, 'missing');
  assert.equal(summary.counts.failed, 2);
  assert.equal(summary.counts.restored, 3);
  const expected = await expectedTree(under('My Drive/Projects/').filter((p) => !p.endsWith('b.bin') && !p.endsWith('a.txt')));
  assert.deepEqual(treeOf(to), expected, 'neither under its name, and no partial file left');
});

test('crafted keys in the catalog or a manifest, and a link in the target, never put a file outside it', async () => {
  const db = worker.wired.catalog.db;
  const keyOf = (path: string) => `${ME}/${path}`;
  const crafted: Record<string, string> = {
    [keyOf('My Drive/Projects/a.txt')]: '../../escape-1.txt',
    [keyOf('My Drive/Projects/empty.txt')]: `${ME}/My Drive/../../../escape-2.txt`,
    [keyOf('Team/t.txt')]: `${ME}/Team\\..\\..\\escape-3.txt`,
  };
  const setKey = db.prepare("UPDATE objects SET key = ? WHERE destination = 'nas' AND key = ?");
  for (const [key, bad] of Object.entries(crafted)) assert.equal(setKey.run(bad, key).changes, 1);
  try {
    const { parent, to } = freshTarget();
    const summary = await restoreRun({ from: 'nas', to });
    const unsafe = summary.problems.filter((p) => p.kind === 'unsafe').map((p) => p.key);
    assert.deepEqual(unsafe.sort(), Object.values(crafted).sort());
    assert.deepEqual(readdirSync(parent), ['target']);
    assert.equal(summary.counts.restored, summary.plan.files - 3);
  } finally {
    for (const [key, bad] of Object.entries(crafted)) setKey.run(key, bad);
  }

  // A link already in the target that leads out of it: nothing is made through it.
  const linked = freshTarget();
  const outside = join(linked.parent, 'outside');
  mkdirSync(outside);
  mkdirSync(linked.to);
  symlinkSync(outside, join(linked.to, 'My Drive'));
  const throughLink = await restoreRun({ from: 'nas', to: linked.to });
  assert.deepEqual(readdirSync(outside), [], 'nothing written through the link');
  assert.ok(throughLink.problems.every((p) => p.kind === 'unsafe' && p.path.startsWith('My Drive/')));
  assert.equal(throughLink.counts.failed, under('My Drive/').length - 1, 'every My Drive file but c.txt, trashed');
  assert.deepEqual(Object.keys(treeOf(linked.to)), ['Team/t.txt']);

  // A manifest of crafted lines, uploaded as a day's dump: the good line comes back, the others are refused.
  const good = db.prepare("SELECT * FROM objects WHERE destination = 'aws' AND key = ?").get(keyOf('Team/t.txt')) as {
    file_id: string;
    size: number;
    sha256: string;
    version_id: string;
  };
  const line = (key: string): ObjectLine => ({
    type: 'object',
    destination: 'aws',
    fileId: good.file_id,
    format: '',
    key,
    size: good.size,
    sha256: good.sha256,
    version: '1',
    path: 'Team/t.txt',
    etag: null,
    versionId: good.version_id,
    state: 'verified',
  });
  const badKeys = [
    '../../etc/escape-4',
    `${ME}/My Drive/../../../escape-5`,
    `/${ME}/escape-6`,
    `${ME}/a/./b`,
    `${ME}/nul\0.txt`,
    'photos/x.jpg',
  ];
  const craftedDay = '2002-02-02';
  const dir = join(stack.tmp, 'crafted-dump');
  mkdirSync(dir);
  const manifest = await writeManifestFile(join(dir, DUMP_FILES.manifest), [line(keyOf('Team/t.txt')), ...badKeys.map(line)]);
  writeFileSync(join(dir, DUMP_FILES.manifestSha256), sha256Line(manifest.sha256, DUMP_FILES.manifest));
  for (const [file, expected] of [
    [DUMP_FILES.manifest, manifest],
    [DUMP_FILES.manifestSha256, await hashStream(createReadStream(join(dir, DUMP_FILES.manifestSha256)))],
  ] as const) {
    await uploadStateFile(destination('aws'), {
      path: join(dir, file),
      key: stateLayout(config).dailyKey(craftedDay, file),
      expected,
      contentType: 'application/gzip',
    });
  }
  const fromManifest = freshTarget();
  const summary = await restoreRun({ from: 'aws', to: fromManifest.to, at: craftedDay });
  assert.deepEqual(summary.problems.map((p) => [p.key, p.kind]).sort(), badKeys.map((k) => [k, 'unsafe']).sort());
  assert.deepEqual(treeOf(fromManifest.to), await expectedTree(['Team/t.txt']));
  assert.deepEqual(readdirSync(fromManifest.parent), ['target']);
  for (const name of ['escape-1.txt', 'escape-2.txt', 'escape-3.txt', 'escape-4', 'escape-5', 'escape-6']) {
    assert.equal(findFile(stack.tmp, name), undefined, `${name} was written`);
  }
});

/** The first file named `name` anywhere below `dir`. */
function findFile(dir: string, name: string): string | undefined {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.name === name) return join(entry.parentPath, entry.name);
  }
  return undefined;
}

test('files already in the target are left alone without --overwrite, and replaced with it (a link replaced, not followed)', async () => {
  const { parent, to } = freshTarget();
  const mine = join(to, 'My Drive/Projects/a.txt');
  mkdirSync(join(to, 'My Drive/Projects'), { recursive: true });
  writeFileSync(mine, 'my own a.txt');
  const outsideFile = join(parent, 'precious.txt');
  writeFileSync(outsideFile, 'precious');
  symlinkSync(outsideFile, join(to, 'My Drive/Projects/empty.txt'));

  const kept = await restoreRun({ from: 'aws', to, path: 'My Drive/Projects' });
  assert.equal(kept.counts.skippedExisting, 2);
  assert.equal(kept.counts.restored, 3);
  assert.equal(readFileSync(mine, 'utf8'), 'my own a.txt');

  const replaced = await restoreRun({ from: 'aws', to, path: 'My Drive/Projects', overwrite: true });
  assert.equal(replaced.counts.skippedExisting, 0);
  assert.equal(replaced.counts.restored, 5);
  assert.deepEqual(treeOf(to), await expectedTree(under('My Drive/Projects/')));
  assert.equal(readFileSync(outsideFile, 'utf8'), 'precious', 'the link was replaced, its target untouched');
});

test('restore on the command line: validated before reaching Temporal, --json, exit 3 when a file did not come back', async () => {
  const configPath = join(stack.tmp, 'cli-config.json');
  writeFileSync(configPath, JSON.stringify(config));
  const { to } = freshTarget();
  const ok = await runCli([
    'restore',
    '--from',
    'aws',
    '--to',
    to,
    '--path',
    'My Drive/Projects',
    '--wait',
    '--json',
    '--config',
    configPath,
  ]);
  assert.equal(ok.status, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout) as RestoreSummary;
  assert.equal(summary.counts.restored, 5);
  assert.deepEqual(treeOf(to), await expectedTree(under('My Drive/Projects/')));

  // eu's b.bin was corrupted and its a.txt removed above.
  const failing = freshTarget();
  const bad = await runCli(['restore', '--from', 'eu', '--to', failing.to, '--wait', '--config', configPath]);
  assert.equal(bad.status, 3, bad.stderr);
  assert.match(bad.stdout, /\n {2}failed {4}2\n/);
  assert.match(bad.stdout, /\n {4}mismatch {3}My Drive\/Projects\/Sub\/b\.bin: expected 307205 bytes/);
  assert.match(bad.stdout, /\n {4}missing {4}My Drive\/Projects\/a\.txt: eu holds no object\n/);

  const started = await runCli(['restore', '--from', 'nas', '--to', freshTarget().to, '--json', '--config', configPath]);
  assert.equal(started.status, 0, started.stderr);
  assert.match(JSON.parse(started.stdout).workflowId, /^restore-/);

  for (const [args, message] of [
    [['--from', 'nowhere', '--to', to], /--from nowhere: the config has no such destination; it has eu, aws, nas/],
    [['--from', 'aws'], /restore needs --to DIR/],
    [['--to', to], /restore needs --from DESTINATION/],
    [['--from', 'aws', '--to', to, '--at', '2026-13-01'], /--at takes a day as YYYY-MM-DD, such as 2026-11-25; "2026-13-01" is not one/],
    [['--from', 'aws', '--to', to, '--at', 'yesterday'], /--at takes a day as YYYY-MM-DD/],
    [['--from', 'aws', '--to', to, '--fast'], /unknown option '--fast'/],
  ] as const) {
    const cli = await runCli(['restore', ...args, '--config', configPath]);
    assert.equal(cli.status, 2, `${args.join(' ')}: ${cli.stderr}`);
    assert.match(cli.stderr, message);
    assert.equal(cli.stdout, '');
  }
});

test('the restore command line: options, a relative --to taken from the current directory, usage errors', () => {
  assert.deepEqual(
    parseCommandLine(['restore', '--from', 'aws', '--to', 'out', '--path', 'My Drive/x', '--at', '2026-11-01', '--overwrite', '--wait'], {
      DRIVE_VAULT_CONFIG: 'c.yaml',
    }),
    {
      kind: 'restore',
      config: 'c.yaml',
      wait: true,
      json: false,
      from: 'aws',
      to: join(process.cwd(), 'out'),
      path: 'My Drive/x',
      at: '2026-11-01',
      overwrite: true,
    },
  );
  assert.equal(
    (parseCommandLine(['--config', 'x.yaml', 'restore', '--from', 'aws', '--to', '/t'], {}) as { config: string }).config,
    'x.yaml',
  );
  assert.throws(() => parseCommandLine(['restore', 'now', '--from', 'aws', '--to', '/t'], {}), UsageError);
  assert.throws(() => parseCommandLine(['restore', '--from', 'aws', '--to', '/t', '--path', '/'], {}), /--path needs a Drive path/);
  const unknown = parseCommandLine(['restore', '--from', 'x', '--to', '/t'], {});
  assert.equal(unknown.kind, 'restore');
  if (unknown.kind === 'restore') assert.throws(() => checkRestoreCommand(config, unknown), UsageError);
  assert.equal(
    formatRestoreProgress({
      plan: { source: 'catalog', files: 10, bytes: 4 * 1024 * 1024, pages: 1, startedAt: '' },
      counts: { restored: 4, bytesRestored: 1024 * 1024, skippedExisting: 0, failed: 1, filesDone: 5, bytesDone: 1024 * 1024 },
      problems: [],
      seconds: 2,
      bytesPerSecond: 512 * 1024,
      etaSeconds: 65,
    }),
    '[######------------------]  25% · 5/10 files · 1.0/4.0 MiB · 0.5 MiB/s · ETA 1:05 · 1 failed',
  );
  const nothing = formatRestoreSummary(
    {
      workflowId: 'restore-1',
      request: { from: 'aws', to: '/t', path: 'My Drive/Nope', at: '2026-11-01' },
      plan: { source: 'manifest', files: 0, bytes: 0, pages: 0, startedAt: '' },
      counts: { restored: 0, bytesRestored: 0, skippedExisting: 0, failed: 0, filesDone: 0, bytesDone: 0 },
      problems: [],
      seconds: 0,
      bytesPerSecond: null,
      etaSeconds: null,
    },
    'http://ui/r',
  );
  assert.match(nothing, /^restore restore-1: "My Drive\/Nope" from aws, as of 2026-11-01 \(that day's manifest\), into \/t$/m);
  assert.match(nothing, /planned {3}0 files, 0\.0 MiB \(no backed-up file is at or below that path that day\)/);
});

// Left open by the last cold review: the API checked the target against api.restoreRoot, but the worker wrote wherever
// the target led when it started, so a target swapped for a link in between took the files out of the root.
test('a restore asked within a root refuses a target that leads out of it when the worker starts, and writes nothing there', async () => {
  const { parent } = freshTarget();
  const root = join(parent, 'root');
  const outside = join(parent, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  // What the API checked was root/t, a folder; by the time the worker starts, root/t leads outside.
  symlinkSync(outside, join(root, 't'));
  for (const to of [join(root, 't'), join(root, 't', 'deeper')]) {
    await assert.rejects(restoreRun({ from: 'aws', to, within: root, path: 'My Drive/Projects' }), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(err.message, new RegExp(`${to.replaceAll('/', '\\/')} leads outside ${root.replaceAll('/', '\\/')}`));
      return true;
    });
  }
  assert.deepEqual(readdirSync(outside), [], 'nothing was made or written outside the root');
  const inside = await restoreRun({ from: 'aws', to: join(root, 'fine'), within: root, path: 'My Drive/Projects' });
  assert.ok(inside.counts.restored > 0 && inside.counts.failed === 0, JSON.stringify(inside.counts));
});
