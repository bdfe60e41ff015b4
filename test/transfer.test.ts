import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { drive_v3 } from 'googleapis';
import { LocalDestination } from '../activities/storage/local';
import { partSizeFor } from '../activities/storage/destination';
import type { S3Destination } from '../activities/storage/s3';
import { CheckpointStore } from '../activities/transfer/largeFileCheckpoints';
import type { TransferDeps } from '../activities/transfer/transferDeps';
import { transferFile } from '../activities/transfer/transferFile';
import { createLogger } from '../common/logger';
import type { ObjectKey, TransferItem } from '../common/types';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { zipEntryNames } from './drive-emulator/zip';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import { minioDestination } from './support/destinations';
import { emulatorOAuth, streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

const G = 'application/vnd.google-apps.';
const logger = createLogger({ level: 'silent' });
let stack: Stack;
let drive: drive_v3.Drive;
let aws: S3Destination;
let eu: S3Destination;
let local: LocalDestination;
let deps: TransferDeps;

before(async () => {
  stack = await startStack({ minio: true, emulator: true });
  drive = createDriveClient(createOAuthClient({ ...emulatorOAuth, tokenUrl: `${stack.emulator!.baseUrl}token` }), stack.emulator!.baseUrl);
  aws = minioDestination(stack.minio!, 'aws');
  eu = minioDestination(stack.minio!, 'eu', { maxParts: 1000 });
  local = new LocalDestination('nas', join(stack.tmp, 'nas'));
  deps = {
    drive,
    destinations: [aws, eu, local],
    logger,
    attempts: 5,
    backoffBaseMs: 10,
    resumableMinBytes: 64 * 1024 * 1024,
    checkpoints: new CheckpointStore(),
    stallTimeoutMs: 60_000,
  };
});
after(async () => {
  aws?.destroy();
  eu?.destroy();
  await stack?.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const itemFor = (f: EmuFile, keys: ObjectKey[]): TransferItem => ({
  fileId: f.id,
  name: f.name,
  kind: f.content ? 'binary' : 'workspace',
  mimeType: f.mimeType,
  size: f.content ? stack.emulator!.store.size(f)! : null,
  md5: f.hashes?.md5 ?? null,
  sha256: f.hashes?.sha256 ?? null,
  modifiedTime: f.modifiedTime,
  version: String(f.version),
  drivePath: `My Drive/${f.name}`,
  objects: keys.map((k) => ({ storedAt: [], ...k })),
});
const readBack = async (key: string) => ({
  aws: await streamToBuffer(await aws.read(key)),
  eu: await streamToBuffer(await eu.read(key)),
  nas: readFileSync(join(stack.tmp, 'nas', ...key.split('/'))),
});
const downloadsOf = (id: string) =>
  stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${id}` && r.query.alt === 'media').length;

test('part size scales so no upload needs more parts than the provider allows', () => {
  assert.equal(partSizeFor(1024, 10_000), 5 * 1024 * 1024);
  assert.equal(partSizeFor(4 * 1024 ** 4, 10_000), 420 * 1024 * 1024);
  assert.ok(Math.ceil((4 * 1024 ** 4) / partSizeFor(4 * 1024 ** 4, 10_000)) <= 10_000);
  assert.ok(Math.ceil((200 * 1024 ** 3) / partSizeFor(200 * 1024 ** 3, 1000)) <= 1000);
});

test('one download feeds every destination; bytes, SHA-256 and metadata land everywhere', async () => {
  const f = await stack.emulator!.store.addFile({ name: 'big.bin', content: generatedContent(12 * 1024 * 1024 + 7, 5) });
  const key = 'drive/me/My Drive/big.bin';
  const outcome = await transferFile(deps, itemFor(f, [{ format: '', key }]));
  assert.equal(outcome.failure, undefined);
  assert.equal(downloadsOf(f.id), 1, 'one download for three destinations');
  assert.deepEqual(outcome.stored.map((s) => s.destination).sort(), ['aws', 'eu', 'nas']);
  const copies = await readBack(key);
  for (const copy of Object.values(copies)) assert.equal(sha(copy), f.hashes!.sha256);
  const head = await aws.head(key);
  assert.deepEqual([head!.size, head!.sha256, head!.driveFileId], [12 * 1024 * 1024 + 7, f.hashes!.sha256, f.id]);
  const raw = stack.minio!.client();
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: BUCKETS.aws, Prefix: 'vault/drive/me/' }));
  raw.destroy();
  assert.ok(
    listed.Contents!.some((o) => o.Key === `vault/${key}`),
    'the prefix is applied',
  );
  assert.equal((await local.head(key))!.sha256, f.hashes!.sha256);
});

test('a Workspace file is exported, its SHA-256 stored with the object, and an export over 10 MB goes through exportLinks', async () => {
  const doc = await stack.emulator!.store.addFile({ name: 'Plan', mimeType: `${G}document`, text: 'plan' });
  const huge = await stack.emulator!.store.addFile({ name: 'Huge', mimeType: `${G}document`, exportSize: 11 * 1024 * 1024 });
  for (const f of [doc, huge]) {
    const key = `drive/me/My Drive/${f.name}.docx`;
    const outcome = await transferFile(deps, itemFor(f, [{ format: 'docx', key }]));
    assert.equal(outcome.failure, undefined, outcome.failure?.message);
    const copies = await readBack(key);
    assert.ok(zipEntryNames(copies.aws).includes('word/document.xml'), 'a valid docx');
    assert.equal((await aws.head(key))!.sha256, sha(copies.aws));
    assert.equal((await local.head(key))!.sha256, sha(copies.nas));
  }
  assert.ok(stack.emulator!.requests.some((r) => r.path.startsWith('/feeds/download/documents/export/Export') && r.query.id === huge.id));
});

test('with the SDK request checksums off, every upload style still lands the right bytes', async () => {
  const plain = minioDestination(stack.minio!, 'aws', { name: 'plain', requestChecksums: 'when_required', prefix: 'plain' });
  try {
    const files = [
      await stack.emulator!.store.addFile({ name: 'small.bin', content: bytesContent('checked in memory') }),
      await stack.emulator!.store.addFile({ name: 'streamed.bin', content: generatedContent(2 * 1024 * 1024 + 3, 41) }),
      await stack.emulator!.store.addFile({ name: 'Long doc', mimeType: `${G}document`, exportSize: 3 * 1024 * 1024 }),
    ];
    for (const f of files) {
      const key = `drive/me/My Drive/${f.name}${f.content ? '' : '.docx'}`;
      const outcome = await transferFile({ ...deps, destinations: [plain] }, itemFor(f, [{ format: f.content ? '' : 'docx', key }]));
      assert.equal(outcome.failure, undefined, outcome.failure?.message);
      const bytes = await streamToBuffer(await plain.read(key));
      assert.equal(sha(bytes), outcome.stored[0].sha256, key);
      if (f.content) assert.equal(outcome.stored[0].sha256, f.hashes!.sha256);
      assert.equal((await plain.head(key))!.sha256, outcome.stored[0].sha256, 'the SHA-256 is stored with the object');
    }
  } finally {
    plain.destroy();
  }
});

// Small objects are checked before they are sent; larger ones stream in one PUT (S3) or to a temp file (local).
for (const [label, original, updated] of [
  ['a small file', bytesContent('precious original bytes'), bytesContent('precious updated bytes!')],
  ['a 3 MiB file', generatedContent(3 * 1024 * 1024 + 1, 31), generatedContent(3 * 1024 * 1024 + 1, 32)],
] as const) {
  test(`wrong bytes are retried and never written; a good copy is never replaced with bad bytes (${label})`, async () => {
    const emulator = stack.emulator!;
    const name = `precious-${original.kind === 'bytes' ? 'small' : 'streamed'}.bin`;
    const f = await emulator.store.addFile({ name, content: original });
    const key = `drive/me/My Drive/${name}`;
    assert.equal((await transferFile(deps, itemFor(f, [{ format: '', key }]))).failure, undefined);
    const originalSha = f.hashes!.sha256;
    await emulator.store.modifyContent(f.id, { content: updated });
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, wrongBytes: true });
    const outcome = await transferFile(deps, itemFor(f, [{ format: '', key }]));
    emulator.faults.clear();
    assert.equal(outcome.failure?.reason, 'corruptDownload');
    assert.equal(outcome.failure?.attempts, 5);
    assert.deepEqual(outcome.stored, [], 'nothing recorded as stored');
    for (const copy of Object.values(await readBack(key))) assert.equal(sha(copy), originalSha, 'the old good copy is intact');

    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, wrongBytes: true, times: 2 });
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, cutOffAfterBytes: 5, times: 1 });
    const retried = await transferFile(deps, itemFor(f, [{ format: '', key }]));
    emulator.faults.clear();
    assert.equal(retried.failure, undefined, retried.failure?.message);
    for (const copy of Object.values(await readBack(key))) assert.equal(sha(copy), f.hashes!.sha256);
    assert.notEqual(f.hashes!.sha256, originalSha);
  });
}

test('rate limits are retried; downloadQuotaExceeded defers without spinning; a missing file fails at once', async () => {
  const emulator = stack.emulator!;
  const f = await emulator.store.addFile({ name: 'limited.txt', content: bytesContent('limited') });
  emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, reason: 'userRateLimitExceeded', times: 2 });
  emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, status: 429, reason: 'rateLimitExceeded', times: 1 });
  assert.equal((await transferFile(deps, itemFor(f, [{ format: '', key: 'k/limited.txt' }]))).failure, undefined);

  const q = await emulator.store.addFile({ name: 'quota.txt', content: bytesContent('q') });
  emulator.faults.add({ match: `/files/${q.id}\\?.*alt=media`, reason: 'downloadQuotaExceeded' });
  const before = downloadsOf(q.id);
  const deferred = await transferFile(deps, itemFor(q, [{ format: '', key: 'k/quota.txt' }]));
  assert.deepEqual([deferred.failure?.reason, deferred.failure?.deferred], ['downloadQuotaExceeded', true]);
  assert.equal(downloadsOf(q.id) - before, 1, 'one try, then deferred');
  emulator.faults.clear();

  const gone = await emulator.store.addFile({ name: 'gone.txt', content: bytesContent('g') });
  emulator.store.delete(gone.id);
  const missing = await transferFile(deps, itemFor(gone, [{ format: '', key: 'k/gone.txt' }]));
  assert.deepEqual([missing.failure?.reason, missing.failure?.deferred], ['notFound', false]);
});

test('the Drive client makes no hidden retries: the request log shows exactly the tries the retry policy made', async () => {
  const emulator = stack.emulator!;
  const f = await emulator.store.addFile({ name: 'flaky.txt', content: bytesContent('flaky') });
  emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, status: 500, reason: 'backendError', times: 1 });
  const once = await transferFile({ ...deps, attempts: 1 }, itemFor(f, [{ format: '', key: 'k/flaky.txt' }]));
  assert.deepEqual([once.failure?.reason, downloadsOf(f.id)], ['backendError', 1], 'one try allowed, one request made');
  emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, status: 500, reason: 'backendError', times: 1 });
  const twice = await transferFile({ ...deps, attempts: 2 }, itemFor(f, [{ format: '', key: 'k/flaky.txt' }]));
  assert.deepEqual([twice.failure, downloadsOf(f.id) - 1], [undefined, 2], "a 500, then the policy's second try");
});

// Generous timeouts: without a stall timeout these tries would wait forever.
test('a Drive body that stalls mid-stream fails over within the stall timeout, then succeeds on retry', { timeout: 120_000 }, async () => {
  const MiB = 1024 * 1024;
  const emulator = stack.emulator!;
  const streamed = await emulator.store.addFile({ name: 'stalls.bin', content: generatedContent(3 * MiB + 5, 61) });
  const large = await emulator.store.addFile({ name: 'stalls-large.bin', content: generatedContent(9 * MiB + 5, 62) });
  const quick = { ...deps, stallTimeoutMs: 2_000, resumableMinBytes: 8 * MiB, checkpoints: new CheckpointStore() };
  // Both tries stall; the large file's second one 2 MiB into a download resumed at 5 MiB, before its next part.
  for (const [f, stallAt, stallAgainAt] of [
    [streamed, MiB, MiB],
    [large, 6 * MiB, 2 * MiB],
  ] as const) {
    const item = itemFor(f, [{ format: '', key: `k/${f.name}` }]);
    const match = `GET /drive/v3/files/${f.id}\\?`;
    for (const at of [stallAt, stallAgainAt]) emulator.faults.add({ match, times: 1, stallAfterBytes: at });
    const started = Date.now();
    const stalledTwice = await transferFile({ ...quick, attempts: 2 }, item);
    assert.equal(stalledTwice.failure?.reason, 'stalled', stalledTwice.failure?.message);
    assert.ok(Date.now() - started < 60_000, 'given up on the stall timeout, not on a transfer timeout');
    const [stalled] = emulator.requests.filter((r) => r.path === `/drive/v3/files/${f.id}`);
    // The emulator sees the hang-up a moment after the client's side has given up.
    while (stalled.ended === undefined && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([stalled.bytesSent, stalled.ended], [stallAt, 'early'], 'the stalled download was closed');

    const retried = await transferFile(quick, item);
    assert.equal(retried.failure, undefined, retried.failure?.message);
    const tries = emulator.requests.filter((r) => r.path === `/drive/v3/files/${f.id}`);
    assert.equal(tries.length, 3, 'two stalled tries, then one that went through');
    for (const copy of Object.values(await readBack(`k/${f.name}`))) assert.equal(sha(copy), f.hashes!.sha256);
  }
  // The large file's second try resumes from the part written before the first stall; given up, it starts over.
  const ranges = emulator.requests.filter((r) => r.path === `/drive/v3/files/${large.id}`).map((r) => r.range);
  assert.deepEqual(ranges, [undefined, `bytes=${5 * MiB}-`, undefined]);
});

test('a Drive reply that never comes fails over within the stall timeout', { timeout: 120_000 }, async () => {
  const f = await stack.emulator!.store.addFile({ name: 'silent.txt', content: bytesContent('silent') });
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, delayMs: 600_000 });
  const outcome = await transferFile({ ...deps, stallTimeoutMs: 2_000 }, itemFor(f, [{ format: '', key: 'k/silent.txt' }]));
  assert.equal(outcome.failure, undefined, outcome.failure?.message);
  assert.deepEqual(
    stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${f.id}`).map((r) => r.ended),
    ['early', 'complete'],
  );
});

test('an S3 destination that stops answering fails within the stall timeout; the others get the file', { timeout: 120_000 }, async () => {
  const stalling = minioDestination(stack.minio!, 'aws', { name: 'stalling' }, { stallTimeoutSeconds: 1 });
  const f = await stack.emulator!.store.addFile({ name: 'to-a-frozen-store.txt', content: bytesContent('frozen') });
  // A stopped MinIO accepts connections and data into the kernel's buffers, and never answers.
  process.kill(-stack.minio!.process.pid!, 'SIGSTOP');
  try {
    const outcome = await transferFile(
      { ...deps, destinations: [stalling, local], attempts: 1, stallTimeoutMs: 1_000 },
      itemFor(f, [{ format: '', key: 'k/frozen.txt' }]),
    );
    assert.deepEqual(
      outcome.stored.map((s) => s.destination),
      ['nas'],
    );
    assert.deepEqual([outcome.failure?.destinations, outcome.failure?.reason], [['stalling'], 'destinationError']);
    assert.match(outcome.failure!.message, /TimeoutError.*inactivity/);
  } finally {
    process.kill(-stack.minio!.process.pid!, 'SIGCONT');
    stalling.destroy();
  }
});

test('an abusive file is retried with acknowledgeAbuse', async () => {
  const f = await stack.emulator!.store.addFile({ name: 'flagged.exe', content: bytesContent('MZ flagged'), abusive: true });
  const outcome = await transferFile(deps, itemFor(f, [{ format: '', key: 'k/flagged.exe' }]));
  assert.equal(outcome.failure, undefined);
  assert.ok(stack.emulator!.requests.some((r) => r.path.endsWith(f.id) && r.query.acknowledgeAbuse === 'true'));
});

test('a destination that is down does not stop the others; it is named in the failure', async () => {
  const broken = minioDestination(stack.minio!, 'aws', { bucket: 'no-such-bucket', name: 'broken' } as never);
  try {
    const f = await stack.emulator!.store.addFile({ name: 'partial.txt', content: bytesContent('partial') });
    const outcome = await transferFile(
      { ...deps, destinations: [broken, local], attempts: 2 },
      itemFor(f, [{ format: '', key: 'k/partial.txt' }]),
    );
    assert.deepEqual(
      outcome.stored.map((s) => s.destination),
      ['nas'],
    );
    assert.deepEqual(outcome.failure?.destinations, ['broken']);
    assert.equal(outcome.failure?.reason, 'destinationError');
    assert.match(outcome.failure!.message, /broken: uploading vault\/k\/partial\.txt failed: NoSuchBucket/);
    assert.equal(downloadsOf(f.id), 2, 'the retry downloads once more, for the failed destination only');
  } finally {
    broken.destroy();
  }
});

test('a later run writes only to the destinations that lack this version of the object', async () => {
  const f = await stack.emulator!.store.addFile({ name: 'resend.txt', content: bytesContent('resend me') });
  const [object] = itemFor(f, [{ format: '', key: 'k/resend.txt' }]).objects;
  const outcome = await transferFile(deps, { ...itemFor(f, []), objects: [{ ...object, storedAt: ['nas', 'eu'] }] });
  assert.deepEqual(
    outcome.stored.map((s) => s.destination),
    ['aws'],
  );
  assert.equal(outcome.stored[0].fileVersion, String(f.version));
  const everywhere = await transferFile(deps, { ...itemFor(f, []), objects: [{ ...object, storedAt: ['aws', 'eu', 'nas'] }] });
  assert.deepEqual([everywhere.stored, everywhere.failure, everywhere.bytesDownloaded], [[], undefined, 0]);
  assert.equal(downloadsOf(f.id), 1, 'nothing is downloaded for an object every destination holds');
});

test('a large file goes part by part: a cut-off download resumes from the last part with a Range request', async () => {
  const MiB = 1024 * 1024;
  const f = await stack.emulator!.store.addFile({ name: 'large.bin', content: generatedContent(17 * MiB + 3, 17) });
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, cutOffAfterBytes: 11 * MiB });
  const checkpoints = new CheckpointStore();
  const outcome = await transferFile(
    { ...deps, resumableMinBytes: 8 * MiB, checkpoints },
    itemFor(f, [{ format: '', key: 'k/large.bin' }]),
  );
  assert.equal(outcome.failure, undefined);
  const served = stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${f.id}` && r.query.alt === 'media');
  assert.deepEqual(
    served.map((r) => r.range),
    [undefined, `bytes=${10 * MiB}-`],
    'the retry asks for the bytes after the two 5 MiB parts written',
  );
  assert.equal(served[1].bytesSent, 7 * MiB + 3);
  assert.equal(outcome.bytesDownloaded, 17 * MiB + 3, 'bytes written before the cut are not downloaded again');
  assert.deepEqual(checkpoints.snapshot(), {}, 'a finished file leaves no checkpoint');
  for (const copy of Object.values(await readBack('k/large.bin'))) assert.equal(sha(copy), f.hashes!.sha256);
  assert.equal((await aws.head('k/large.bin'))?.sha256, f.hashes!.sha256);
  assert.equal(readdirSync(join(stack.tmp, 'nas', 'k')).filter((n) => n.endsWith('.partial')).length, 0, 'no partial file is left');
});

test('a large file whose bytes do not match Drive is never completed, and is fetched again from byte zero', async () => {
  const MiB = 1024 * 1024;
  const f = await stack.emulator!.store.addFile({ name: 'large-corrupt.bin', content: generatedContent(9 * MiB, 9) });
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, wrongBytes: true });
  const outcome = await transferFile(
    { ...deps, resumableMinBytes: 8 * MiB, checkpoints: new CheckpointStore() },
    itemFor(f, [{ format: '', key: 'k/large-corrupt.bin' }]),
  );
  assert.equal(outcome.failure, undefined);
  const served = stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${f.id}` && r.query.alt === 'media');
  assert.deepEqual(
    served.map((r) => r.range),
    [undefined, undefined],
  );
  for (const copy of Object.values(await readBack('k/large-corrupt.bin'))) assert.equal(sha(copy), f.hashes!.sha256);
});

test('a crash after the last part and before completion resumes without downloading again', async () => {
  const MiB = 1024 * 1024;
  const f = await stack.emulator!.store.addFile({ name: 'almost.bin', content: generatedContent(9 * MiB + 1, 91) });
  // The store outlives the failed try as a heartbeat would; the destination dies at completion, like a crash,
  // and the attempt is cancelled, so it gives nothing up: its retry is to resume.
  class HeartbeatLikeStore extends CheckpointStore {
    override clear(): void {}
  }
  const checkpoints = new HeartbeatLikeStore();
  const attempt = new AbortController();
  const crashing = Object.assign(Object.create(local) as LocalDestination, {
    beginPartUpload: async (...args: Parameters<LocalDestination['beginPartUpload']>) => ({
      ...(await local.beginPartUpload(...args)),
      complete: async () => {
        attempt.abort();
        throw new Error('worker killed');
      },
      abort: async () => undefined,
    }),
  });
  const item = itemFor(f, [{ format: '', key: 'k/almost.bin' }]);
  const crashDeps = { ...deps, destinations: [crashing], attempts: 1, resumableMinBytes: 8 * MiB, checkpoints, signal: attempt.signal };
  await assert.rejects(transferFile(crashDeps, item), { name: 'AbortError' }, 'a cancelled attempt ends by its cancellation');
  assert.equal(checkpoints.get(f.id)?.offset, 9 * MiB + 1);
  const second = await transferFile({ ...deps, destinations: [local], resumableMinBytes: 8 * MiB, checkpoints }, item);
  assert.equal(second.failure, undefined);
  assert.equal(second.bytesDownloaded, 0);
  assert.equal(downloadsOf(f.id), 1);
  assert.equal(sha(readFileSync(join(stack.tmp, 'nas', 'k', 'almost.bin'))), f.hashes!.sha256);
});

test('a fresh start at a large file removes the partial files that earlier attempts left', async () => {
  const MiB = 1024 * 1024;
  const f = await stack.emulator!.store.addFile({ name: 'restarted.bin', content: generatedContent(9 * MiB, 92) });
  const item = itemFor(f, [{ format: '', key: 'k/restarted/restarted.bin' }]);
  const partials = () => readdirSync(join(stack.tmp, 'nas', 'k', 'restarted')).filter((n) => n.endsWith('.partial'));
  class LostCheckpoints extends CheckpointStore {
    override save(): void {}
  }
  for (let i = 0; i < 2; i++) {
    // Each attempt is cut off after its first part, and its checkpoint is lost, as when a batch's heartbeat is:
    // nothing names the partial file, so nothing gives it up either.
    stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, cutOffAfterBytes: 6 * MiB });
    const cutDeps = { ...deps, destinations: [local], attempts: 1, resumableMinBytes: 8 * MiB, checkpoints: new LostCheckpoints() };
    const cut = await transferFile(cutDeps, item);
    assert.equal(cut.failure?.reason, 'network');
    assert.equal(partials().length, 1, 'the cut attempt kept its partial file for a resume; the one before is gone');
  }
  const done = await transferFile({ ...deps, destinations: [local], resumableMinBytes: 8 * MiB, checkpoints: new CheckpointStore() }, item);
  assert.equal(done.failure, undefined);
  assert.deepEqual(partials(), []);
  assert.equal(sha(readFileSync(join(stack.tmp, 'nas', 'k', 'restarted', 'restarted.bin'))), f.hashes!.sha256);
});

test('two overlapping attempts at a large file never leave mixed bytes on the local destination', async () => {
  const MiB = 1024 * 1024;
  const f = await stack.emulator!.store.addFile({ name: 'overlap.bin', content: generatedContent(17 * MiB + 3, 23) });
  const item = itemFor(f, [{ format: '', key: 'k/overlap.bin' }]);
  const options = { ...deps, destinations: [local], attempts: 1, resumableMinBytes: 8 * MiB };
  // The first attempt lives on, unaware that it was given up: slow, and its bytes go bad after its first 5 MiB part.
  stack.emulator!.faults.add({
    match: `GET /drive/v3/files/${f.id}\\?`,
    times: 1,
    bytesPerSecond: 3 * MiB,
    wrongBytes: true,
    wrongBytesAfter: 6 * MiB,
  });
  const zombieCheckpoints = new CheckpointStore();
  const zombie = transferFile({ ...options, checkpoints: zombieCheckpoints }, item);
  const deadline = Date.now() + 60_000;
  while (!zombieCheckpoints.get(f.id)) {
    assert.ok(Date.now() < deadline, 'the first attempt checkpointed its first part');
    await new Promise((r) => setTimeout(r, 20));
  }
  // The retry resumes from the checkpoint the first attempt last heartbeated, while that one goes on writing.
  const retry = await transferFile({ ...options, checkpoints: new CheckpointStore(zombieCheckpoints.snapshot()) }, item);
  assert.equal(retry.failure, undefined, retry.failure?.message);
  assert.equal((await zombie).failure?.reason, 'corruptDownload');
  assert.deepEqual(
    stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${f.id}`).map((r) => r.range),
    [undefined, `bytes=${5 * MiB}-`],
  );
  assert.equal(sha(readFileSync(join(stack.tmp, 'nas', 'k', 'overlap.bin'))), f.hashes!.sha256, 'only the source bytes');
  assert.equal((await local.head('k/overlap.bin'))?.sha256, f.hashes!.sha256);
  assert.deepEqual(
    readdirSync(join(stack.tmp, 'nas', 'k')).filter((n) => n.endsWith('.partial')),
    [],
    'no partial file is left',
  );
});
