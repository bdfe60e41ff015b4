import assert from 'node:assert/strict';
import { ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import type { drive_v3 } from 'googleapis';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import type { Destination } from '../activities/storage/destination';
import { LocalDestination } from '../activities/storage/local';
import { DriveSlots } from '../activities/transfer/driveSlots';
import { transferBatch } from '../activities/transfer/transferBatch';
import { TASK_QUEUES } from '../common/taskQueues';
import type { TransferItem } from '../common/types';
import { fullSync } from '../workflows';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { emulatorOAuth } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker, testLogger } from './support/worker';

const MiB = 1024 * 1024;
let stack: Stack;
let worker: RunningWorker;

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  worker = await startTestWorker(stack, stackConfig(stack, { transfer: { retryBaseDelayMs: 20, resumableMinBytes: 48 * MiB } }));
});
after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Runs one transfer batch in a mock activity context (stall timeout 1 s), noting when it heartbeats. */
function runBatchCountingHeartbeats(drive: drive_v3.Drive, destination: Destination, item: TransferItem) {
  const deps = {
    drive,
    destinations: [destination],
    logger: testLogger,
    attempts: 5,
    backoffBaseMs: 10,
    slots: new DriveSlots(2),
    resumableMinBytes: 64 * MiB,
    stallTimeoutMs: 1_000,
  };
  const env = new MockActivityEnvironment();
  const heartbeats: number[] = [];
  env.on('heartbeat', () => heartbeats.push(Date.now()));
  const started = Date.now();
  const running = env.run(transferBatch, deps, [item]);
  running.catch(() => undefined);
  return { env, heartbeats, started, running };
}

/** What a claim hands the transfer for one binary file of the emulator, keyed `k/<name>`. */
const transferItemOf = (f: EmuFile): TransferItem => ({
  fileId: f.id,
  name: f.name,
  kind: 'binary',
  mimeType: f.mimeType,
  size: stack.emulator!.store.size(f)!,
  md5: f.hashes!.md5,
  sha256: f.hashes!.sha256,
  modifiedTime: f.modifiedTime,
  version: String(f.version),
  drivePath: `My Drive/${f.name}`,
  objects: [{ format: '', key: `k/${f.name}`, storedAt: [] }],
});
/** The requests that fetched a file's bytes: downloads, or exports. */
const downloadsOf = (f: EmuFile) =>
  stack.emulator!.requests.filter(
    (r) => (r.path === `/drive/v3/files/${f.id}` && r.query.alt === 'media') || r.path === `/drive/v3/files/${f.id}/export`,
  );

async function until(what: string, done: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** Every file and object a destination holds, with its size, partial files and multipart uploads' parts included. */
async function destinationState(): Promise<Record<string, Array<[string, number]>>> {
  const files = (dir: string): Array<[string, number]> =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((name) => join(dir, name))
      .filter((path) => statSync(path).isFile())
      .map((path) => [relative(dir, path), statSync(path).size]);
  const state: Record<string, Array<[string, number]>> = { nas: files(join(stack.tmp, 'nas')).sort() };
  const s3 = stack.minio!.client();
  try {
    for (const [name, Bucket] of Object.entries(BUCKETS)) {
      const objects = (await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? [];
      const entries: Array<[string, number]> = objects.map((o) => [o.Key!, o.Size!]);
      for (const upload of (await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? []) {
        const parts = (await s3.send(new ListPartsCommand({ Bucket, Key: upload.Key, UploadId: upload.UploadId }))).Parts ?? [];
        entries.push(...parts.map((p): [string, number] => [`${upload.Key} (upload ${upload.UploadId}) part ${p.PartNumber}`, p.Size!]));
      }
      state[name] = entries.sort();
    }
  } finally {
    s3.destroy();
  }
  return state;
}

test('a transfer cancelled mid-file stops its downloads and writes no byte to any destination after', { timeout: 300_000 }, async () => {
  const emulator = stack.emulator!;
  const folder = await emulator.store.addFile({ name: 'cancelled' });
  // A file streamed to every destination at once, one sent part by part, an export of unknown size (S3 multipart
  // through lib-storage); all slowed down so the cancellation lands mid-file.
  const streamed = await emulator.store.addFile({ name: 'streamed.bin', parentId: folder.id, content: generatedContent(40 * MiB, 71) });
  const parts = await emulator.store.addFile({ name: 'parts.bin', parentId: folder.id, content: generatedContent(64 * MiB, 72) });
  const exported = await emulator.store.addFile({
    name: 'Exported',
    parentId: folder.id,
    mimeType: 'application/vnd.google-apps.document',
    exportSize: 9 * MiB,
  });
  for (const f of [streamed, parts])
    emulator.faults.add({ match: `GET /drive/v3/files/${f.id}\\?.*alt=media`, times: 1, bytesPerSecond: 2 * MiB });
  emulator.faults.add({ match: `GET /drive/v3/files/${exported.id}/export`, times: 1, bytesPerSecond: MiB / 2 });
  const files = [streamed, parts, exported];
  const sizeOf = (f: EmuFile) => (f === exported ? 9 * MiB : emulator.store.size(f)!);
  const handle = await worker.client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: 'cancelled-mid-file',
    // A short heartbeat timeout: the worker hears of the cancellation at its next heartbeat.
    args: [{ includeSharedDrives: false, transferHeartbeatTimeout: '5 seconds' }],
  });
  await until("the downloads are past the large file's first part", () =>
    files.every((f) => (downloadsOf(f)[0]?.bytesSent ?? 0) > (f === parts ? 6 * MiB : MiB)),
  );
  await handle.cancel();

  await until('the worker closes every download', () => files.every((f) => downloadsOf(f)[0].ended !== undefined));
  for (const f of files) {
    const [download] = downloadsOf(f);
    assert.equal(download.ended, 'early', `${f.name}: the download was cut short`);
    assert.ok(download.bytesSent < sizeOf(f), `${f.name}: ${download.bytesSent} bytes of about ${sizeOf(f)} sent`);
  }
  // Settled once the closed downloads have unwound; from then on, nothing more is written anywhere.
  let settled = await destinationState();
  for (let previous = {}; JSON.stringify(previous) !== JSON.stringify(settled); ) {
    previous = settled;
    await sleep(1_000);
    settled = await destinationState();
  }
  await sleep(4_000);
  assert.deepEqual(await destinationState(), settled, 'nothing was written after the cancellation took effect');
  const everything = JSON.stringify(settled);
  assert.doesNotMatch(everything, /streamed\.bin"|parts\.bin"|Exported\.docx"/, 'no file landed under its key on any destination');
  assert.deepEqual(
    files.map((f) => downloadsOf(f).length),
    [1, 1, 1],
    'no download was started after the cancellation',
  );
});

test('a batch stuck on a Drive wait that its stall abort cannot end stops heartbeating; cancelling it ends it at once', {
  timeout: 120_000,
}, async () => {
  const emulator = stack.emulator!;
  const f = await emulator.store.addFile({ name: 'behind-a-hung-token.txt', content: bytesContent('hung') });
  // A new OAuth client fetches a token before its first request; the token endpoint, which the request's
  // abort signal does not reach, never answers.
  emulator.faults.add({ match: '^POST /token', times: 1, delayMs: 600_000 });
  const drive = createDriveClient(createOAuthClient({ ...emulatorOAuth, tokenUrl: `${emulator.baseUrl}token` }), emulator.baseUrl);
  const item = transferItemOf(f);
  const { env, heartbeats, started, running } = runBatchCountingHeartbeats(
    drive,
    new LocalDestination('nas', join(stack.tmp, 'stuck-nas')),
    item,
  );
  await sleep(10_000);
  const afterStuck = heartbeats.filter((t) => t - started > 4_000);
  assert.deepEqual(afterStuck, [], 'no heartbeat once the wait outlived twice the stall timeout');
  env.cancel();
  await assert.rejects(running, CancelledFailure);
});

test('a batch whose destination hangs without failing (a dead NAS mount) stops heartbeating', { timeout: 120_000 }, async () => {
  const emulator = stack.emulator!;
  const f = await emulator.store.addFile({ name: 'onto-a-dead-mount.txt', content: bytesContent('never lands') });
  // A file-system call on a hard-mounted share that lost its server never returns, and never fails.
  class HungMount extends LocalDestination {
    override upload(): Promise<never> {
      return new Promise(() => undefined);
    }
  }
  const item = transferItemOf(f);
  const { env, heartbeats, started, running } = runBatchCountingHeartbeats(
    createDriveClient(createOAuthClient({ ...emulatorOAuth, tokenUrl: `${emulator.baseUrl}token` }), emulator.baseUrl),
    new HungMount('nas', join(stack.tmp, 'dead-mount')),
    item,
  );
  await sleep(12_000);
  assert.ok(heartbeats.length > 0, 'it heartbeat while the download was starting');
  const late = heartbeats.filter((t) => t - started > 8_000);
  assert.deepEqual(late, [], 'no heartbeat once nothing moved for five stall timeouts');
  env.cancel();
  await assert.rejects(running, CancelledFailure);
});
