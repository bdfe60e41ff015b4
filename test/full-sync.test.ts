import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { startFullSync } from '../api/fullSyncRuns';
import type { Config } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import type { FullSyncSummary } from '../common/types';
import { type FullSyncProgress, fullSync, fullSyncProgressQuery } from '../workflows';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { zipEntryNames } from './drive-emulator/zip';
import { streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, listBucketKeys, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

const G = 'application/vnd.google-apps.';
let stack: Stack;
let worker: RunningWorker;
let config: Config;
const contentFiles: EmuFile[] = [];
let workspaceCount = 0;

before(async () => {
  stack = await startStack({ temporal: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } }, minio: true, emulator: true });
  const s = stack.emulator!.store;
  const add = async (spec: Parameters<typeof s.addFile>[0]) => {
    const f = await s.addFile(spec);
    if (f.content && !f.trashed) contentFiles.push(f);
    return f;
  };
  const projects = await add({ name: 'Projects' });
  const deep = await add({ name: 'deep', parentId: (await add({ name: 'nested', parentId: projects.id })).id });
  await add({ name: 'report.pdf', parentId: projects.id, content: bytesContent('first report') });
  await add({ name: 'report.pdf', parentId: projects.id, content: bytesContent('second report, same name') });
  for (const name of ['a/b', '..', '.', 'tab\tname', 'new\nline', `${'long'.repeat(130)}.txt`, ' spaced ', 'emoji 📦', '100%']) {
    await add({ name, parentId: deep.id, content: bytesContent(`hostile: ${JSON.stringify(name)}`) });
  }
  await add({ name: 'empty.txt', parentId: projects.id, content: bytesContent('') });
  await add({ name: 'video.mp4', parentId: projects.id, content: generatedContent(64 * 1024 * 1024, 64) });
  const types = ['document', 'spreadsheet', 'presentation', 'drawing', 'script'];
  for (const t of types) {
    await add({ name: `My ${t}`, parentId: projects.id, mimeType: G + t, text: t });
    workspaceCount++;
  }
  await add({ name: 'Huge doc', mimeType: `${G}document`, exportSize: 11 * 1024 * 1024 });
  workspaceCount++;
  await add({ name: 'Survey', mimeType: `${G}form` });
  await add({ name: 'link to projects', mimeType: `${G}shortcut`, shortcutTargetId: projects.id });
  // Shared with the user, outside the listed scope: reached only through the shortcut, which is followed once.
  const anaFolder = await s.addFile({ name: 'Shared by Ana', sharedWithMe: true, parentId: undefined });
  await add({ name: 'ana notes.txt', parentId: anaFolder.id, sharedWithMe: true, content: bytesContent('followed through a shortcut') });
  await s.addFile({
    name: 'back to ana',
    parentId: anaFolder.id,
    sharedWithMe: true,
    mimeType: `${G}shortcut`,
    shortcutTargetId: anaFolder.id,
  });
  await add({ name: 'link to ana', mimeType: `${G}shortcut`, shortcutTargetId: anaFolder.id });
  await add({ name: 'link to nothing', mimeType: `${G}shortcut`, shortcutTargetId: 'no-such-file' });
  // Kept out by the scope rules in stackConfig below.
  await s.addFile({ name: 'scratch.tmp', parentId: projects.id, content: bytesContent('excluded by name') });
  await s
    .addFile({ name: 'private', parentId: projects.id })
    .then((p) => s.addFile({ name: 'diary.txt', parentId: p.id, content: bytesContent('excluded by folder') }));
  await s.addFile({ name: 'too big.iso', content: generatedContent(70 * 1024 * 1024 + 1, 70) });
  await add({ name: 'binned.txt', content: bytesContent('trashed'), trashed: true });
  const team = s.addDrive('Team Drive');
  await add({ name: 'team plan.txt', driveId: team.id, content: bytesContent('team plan') });
  await add({ name: 'Team budget', driveId: team.id, mimeType: `${G}spreadsheet` });
  workspaceCount++;
  const bulk = await add({ name: 'bulk' });
  for (let i = 0; i < 1450; i++) await add({ name: `item-${i}.dat`, parentId: bulk.id, content: bytesContent(`bulk item ${i}`) });
  config = stackConfig(stack, { scope: { exclude: ['*.tmp', 'My Drive/Projects/private'], maxFileSizeBytes: 70 * 1024 * 1024 } });
  worker = await startTestWorker(stack, config);
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const listAll = async (bucket: string) => {
  const s3 = stack.minio!.client();
  const keys = await listBucketKeys(s3, bucket);
  s3.destroy();
  return keys;
};
const localFiles = (root: string, dir = root): string[] =>
  readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (e === '.drive-vault-meta') return [];
    return statSync(p).isDirectory() ? localFiles(root, p) : [relative(root, p)];
  });
const runFullSync = (workflowId: string) =>
  worker.client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ includeSharedDrives: true, batchSize: 100 }],
  });
const downloads = () =>
  stack.emulator!.requests.filter((r) => r.query.alt === 'media' || r.path.endsWith('/export') || r.path.startsWith('/feeds/')).length;

test('a full sync lands every file in every destination with correct bytes, verified', async () => {
  const handle = await runFullSync('full-sync-1');
  const result = handle.result();
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => undefined);
  // Progress, as the Web UI and the API see it, sampled while files are moving.
  let during: { progress: FullSyncProgress; details?: string } | undefined;
  const sample = async () => ({
    progress: await handle.query(fullSyncProgressQuery),
    details: (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails,
  });
  while (!during && !finished) {
    // A query that lands between two runs at continueAsNew fails: sample again.
    const s = await sample().catch(() => undefined);
    if (
      s?.progress.phase === 'transfer' &&
      s.progress.totals.filesSynced > 0 &&
      s.progress.pending.files > 0 &&
      s.progress.pending.bytes > 0
    )
      during = s;
    else await new Promise((r) => setTimeout(r, 100));
  }
  const summary: FullSyncSummary = await result;
  assert.ok(during, 'progress was seen mid-transfer');
  assert.ok(during.progress.pending.bytes > 0 && during.progress.rate.filesPerSecond > 0, JSON.stringify(during.progress));
  assert.match(
    during.details ?? '',
    /^\*\*transfer\*\* · listed \d+ · synced \d+ files, [\d.]+ MiB at [\d.]+ MiB\/s · failed 0 · deferred 0 · pending \d+ files, [\d.]+ MiB$/,
  );
  const final = await handle.query(fullSyncProgressQuery);
  assert.deepEqual([final.phase, final.totals.filesSynced, final.pending], ['done', summary.filesSynced, { files: 0, bytes: 0 }]);
  const expectedFiles = contentFiles.length + workspaceCount;
  assert.equal(summary.filesSynced, expectedFiles);
  assert.deepEqual([summary.filesFailed, summary.filesDeferred, summary.pending], [0, 0, 0]);
  for (const d of ['aws', 'eu', 'nas']) {
    assert.equal(summary.verified[d], expectedFiles, `verified on ${d}`);
    assert.equal(summary.verifiedWritten[d], expectedFiles, `HEADed right after upload on ${d}`);
  }
  assert.deepEqual(summary.mismatched, {});
  assert.equal(
    (await worker.client.workflow.getHandle('full-sync-1', handle.firstExecutionRunId).describe()).status.name,
    'CONTINUED_AS_NEW',
  );

  const catalog = worker.wired.catalog;
  const objects = catalog.db
    .prepare('SELECT o.key, o.destination, o.format, o.sha256, f.id FROM objects o JOIN files f ON f.id = o.file_id')
    .all() as Array<{ key: string; destination: string; format: string; sha256: string; id: string }>;
  assert.equal(objects.length, expectedFiles * 3);
  for (const [name, bucket] of [
    ['aws', BUCKETS.aws],
    ['eu', BUCKETS.eu],
  ] as const) {
    const keys = new Set(await listAll(bucket));
    assert.equal(keys.size, expectedFiles, `${bucket} holds one object per file, none skipped or merged`);
    const s3 = stack.minio!.client();
    for (const o of objects.filter((x) => x.destination === name)) {
      assert.ok(keys.has(`vault/${o.key}`), o.key);
      const body = await streamToBuffer(
        (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `vault/${o.key}` }))).Body as NodeJS.ReadableStream,
      );
      const source = stack.emulator!.store.files.get(o.id)!;
      assert.equal(sha(body), source.hashes?.sha256 ?? o.sha256, `bytes of ${o.key} in ${bucket}`);
      if (o.format === 'docx' || o.format === 'xlsx' || o.format === 'pptx')
        assert.ok(zipEntryNames(body).includes('[Content_Types].xml'), `${o.key} opens as ${o.format}`);
      if (o.format === 'pdf') assert.equal(body.subarray(0, 5).toString(), '%PDF-');
      if (o.format === 'json') assert.ok(JSON.parse(body.toString()).files);
    }
    s3.destroy();
  }
  const local = localFiles(join(stack.tmp, 'nas'));
  assert.equal(local.length, expectedFiles);
  for (const o of objects.filter((x) => x.destination === 'nas'))
    assert.equal(sha(readFileSync(join(stack.tmp, 'nas', ...o.key.split('/')))), o.sha256);
  const [olderReport, newerReport] = contentFiles.filter((f) => f.name === 'report.pdf');
  const base = join('drive', 'me@example.com', 'My Drive', 'Projects');
  assert.ok(local.includes(join(base, 'report.pdf')), 'the first of equal names to be backed up keeps the name');
  assert.ok(local.includes(join(base, `report [${newerReport.id.slice(0, 8)}].pdf`)), 'the other gets its id prefix');
  assert.notEqual(olderReport.id, newerReport.id);
  assert.ok(local.includes(join('drive', 'me@example.com', 'Team Drive', 'team plan.txt')), 'the shared drive has its own folder');
  for (const hostile of ['a%2Fb', '%2E%2E', '%2E', 'tab%09name', 'new%0Aline', ' spaced ', 'emoji 📦', '100%25']) {
    assert.ok(local.includes(join(base, 'nested', 'deep', hostile)), `hostile name stored as ${hostile}`);
  }
  assert.ok(
    local.includes(join('drive', 'me@example.com', 'My Drive', 'Shared by Ana', 'ana notes.txt')),
    'a shortcut to a folder outside the scope is followed',
  );
  const skipped = catalog.db.prepare(`SELECT name, skip_reason AS reason FROM files WHERE state = 'skipped' ORDER BY name`).all() as Array<{
    name: string;
    reason: string;
  }>;
  const reasons = Object.fromEntries(skipped.map((r) => [r.name, r.reason]));
  assert.deepEqual(Object.keys(reasons), [
    'Survey',
    'back to ana',
    'diary.txt',
    'link to ana',
    'link to nothing',
    'link to projects',
    'scratch.tmp',
    'too big.iso',
  ]);
  assert.match(reasons.Survey, /Forms cannot be exported/);
  assert.match(reasons['back to ana'], /^shortcut loop/);
  assert.match(reasons['link to ana'], /^shortcut followed/);
  assert.match(reasons['link to nothing'], /^dangling shortcut: target no-such-file not found/);
  assert.match(reasons['link to projects'], /backed up at its own place/);
  assert.equal(reasons['scratch.tmp'], 'excluded by pattern "*.tmp"');
  assert.equal(reasons['diary.txt'], 'excluded by pattern "My Drive/Projects/private"');
  assert.equal(reasons['too big.iso'], `${70 * 1024 * 1024 + 1} bytes exceeds scope.maxFileSizeBytes (${70 * 1024 * 1024})`);
  assert.equal(summary.skipped, 8);
});

test('a second full sync downloads nothing', async () => {
  const before = downloads();
  // Started as the CLI and the demo start runs: tagged, so the Web UI can filter runs by kind and account.
  const summary = await (await startFullSync(worker.client, config, 'full-sync-2')).result();
  assert.equal(downloads() - before, 0, 'no download or export request');
  const tagged = [];
  for await (const run of worker.client.workflow.list({ query: `BackupKind = "full-sync" AND Account = "${config.account}"` }))
    tagged.push(run.workflowId);
  assert.ok(tagged.includes('full-sync-2'), `found by its search attributes: ${tagged.join(', ')}`);
  assert.equal(summary.filesSynced, 0);
  // What this run wrote is HEADed (nothing); of the rest, the default 2% checked longest ago.
  assert.deepEqual(summary.verifiedWritten, {});
  const objects = (contentFiles.length + workspaceCount) * config.destinations.length;
  assert.deepEqual(summary.audit, {
    percent: 2,
    objects: Math.ceil(objects * 0.02),
    of: objects,
    withinRuns: 50,
    checked: Math.ceil(objects * 0.02),
  });
  const audited = Object.values(summary.audited).reduce((a, b) => a + b, 0);
  assert.equal(audited, Math.ceil(objects * 0.02), 'the audit sample, all whole');
});
