import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDestinations } from '../activities/storage/createDestinations';
import type { LargeFileCheckpoint } from '../activities/transfer/largeFileCheckpoints';
import { TASK_QUEUES } from '../common/taskQueues';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { startWorkerProcess } from '../scripts/launchers/workerProcess';
import { fullSync } from '../workflows';
import { generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { type Stack, recordProcessGroups, startStack } from './support/stack';
import { stackConfig, stackEnv } from './support/worker';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
let stack: Stack;
let client: Client;
let big: EmuFile;
let configPath: string;
const workers: ChildProcess[] = [];

const startWorker = async () => {
  const child = await startWorkerProcess(configPath, stackEnv(stack));
  workers.push(child);
  recordProcessGroups([child.pid]);
  return child;
};

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  big = await stack.emulator!.store.addFile({ name: 'video-200.bin', content: generatedContent(SIZE, 200) });
  configPath = join(stack.tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify(stackConfig(stack)));
  client = new Client({ connection: await Connection.connect({ address: stack.temporal!.address }) });
});
after(async () => {
  await Promise.all(workers.map((w) => stopTied(w)));
  await client?.connection.close();
  await stack?.stop();
});

const sha = async (stream: NodeJS.ReadableStream) => {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

/** The checkpoint of the big file in the last heartbeat the server holds, if any. */
async function serverCheckpoint(workflowId: string): Promise<LargeFileCheckpoint | undefined> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const data = raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
  // A heartbeat sent before the first part carries no details yet: an empty payload.
  if (!data?.length) return undefined;
  return (JSON.parse(Buffer.from(data).toString()) as { checkpoints?: Record<string, LargeFileCheckpoint> }).checkpoints?.[big.id];
}

test('a worker killed in the middle of a 200 MB upload: the retry resumes from its last checkpointed part', async (t) => {
  const first = await startWorker();
  // Slow the first download down so the kill lands mid-file; the resumed one runs at full speed.
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${big.id}\\?.*alt=media`, times: 1, bytesPerSecond: 20 * MiB });
  const handle = await client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: 'crash-resume',
    args: [{ includeSharedDrives: false, transferHeartbeatTimeout: '5 seconds' }],
  });
  let seen: LargeFileCheckpoint | undefined;
  const deadline = Date.now() + 180_000;
  while (!(seen && seen.offset >= 40 * MiB)) {
    assert.ok(Date.now() < deadline, `no checkpoint past 40 MiB within 3 minutes (last: ${seen?.offset})`);
    await new Promise((r) => setTimeout(r, 250));
    seen = await serverCheckpoint('crash-resume');
  }
  // The heartbeat counts the parts and holds no part list, only a digest of their ETags: ListParts is the
  // authority on resume.
  const tokenFields = (name: string) => Object.keys(seen!.uploads[name] as object).sort();
  for (const name of ['aws', 'eu']) assert.deepEqual(tokenFields(name), ['etags', 'parts', 'uploadId'], name);
  assert.equal((seen.uploads.aws as { parts: number }).parts, seen.nextPart - 1);
  t.diagnostic(`checkpoint at ${seen.offset / MiB} MiB (${seen.nextPart - 1} parts): ${JSON.stringify(seen).length} bytes`);
  process.kill(-first.pid!, 'SIGKILL');
  await once(first, 'exit');
  const servedBeforeKill = stack
    .emulator!.requests.filter((r) => r.path === `/drive/v3/files/${big.id}` && r.query.alt === 'media')
    .map((r) => r.bytesSent);
  assert.ok(servedBeforeKill[0] < SIZE, 'the kill came before the whole file was downloaded');

  await startWorker();
  const summary = await handle.result();
  assert.deepEqual([summary.filesSynced, summary.filesFailed], [1, 0]);
  assert.deepEqual(summary.verified, { aws: 1, eu: 1, nas: 1 });

  const downloads = stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${big.id}` && r.query.alt === 'media');
  assert.equal(downloads.length, 2, 'one download before the crash, one after');
  const resumedFrom = Number(/^bytes=(\d+)-$/.exec(downloads[1].range ?? '')?.[1]);
  assert.ok(resumedFrom >= seen.offset, `resumed from ${resumedFrom}, at or after the checkpoint the server held (${seen.offset})`);
  assert.equal(resumedFrom % seen.partSize, 0, 'a part boundary');
  assert.equal(downloads[1].bytesSent, SIZE - resumedFrom, 'only the bytes after the checkpoint are downloaded again');
  t.diagnostic(`killed after ${downloads[0].bytesSent} bytes served; resumed from ${resumedFrom} (${resumedFrom / MiB} MiB)`);

  const destinations = createDestinations(stackConfig(stack), stackEnv(stack));
  const key = `drive/me@example.com/My Drive/${big.name}`;
  for (const d of destinations) {
    assert.equal(await sha(await d.read(key)), big.hashes!.sha256, `${d.name} holds the right bytes`);
    assert.equal((await d.head(key))?.sha256, big.hashes!.sha256);
  }
});
