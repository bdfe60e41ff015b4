import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  type ListPartsCommandInput,
  PutBucketVersioningCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { drive_v3 } from 'googleapis';
import { createCatalogActivities } from '../activities';
import type { Catalog } from '../activities/catalog/catalog';
import { createDriveClient, createOAuthClient } from '../activities/drive/client';
import { listDrivePage } from '../activities/drive/listing';
import { stateLayout } from '../activities/dump/dumpLayout';
import { uploadStateFile } from '../activities/dump/stateObjects';
import { DestinationError } from '../activities/storage/destination';
import { LocalDestination } from '../activities/storage/local';
import type { S3Destination } from '../activities/storage/s3';
import { CheckpointStore, type LargeFileCheckpoint } from '../activities/transfer/largeFileCheckpoints';
import type { TransferDeps } from '../activities/transfer/transferDeps';
import { transferFile } from '../activities/transfer/transferFile';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import type { ObjectKey, TransferItem } from '../common/types';
import { bytesContent, generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { openTestCatalog } from './support/catalog';
import { minioDestination } from './support/destinations';
import { emulatorOAuth, streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';

const MiB = 1024 * 1024;
const G = 'application/vnd.google-apps.';
const VERSIONED_BUCKET = 'vault-versioned';
const logger = createLogger({ level: 'silent' });
let stack: Stack;
let drive: drive_v3.Drive;
let raw: S3Client;
const destinations: S3Destination[] = [];

before(async () => {
  stack = await startStack({ minio: true, emulator: true });
  drive = createDriveClient(createOAuthClient({ ...emulatorOAuth, tokenUrl: `${stack.emulator!.baseUrl}token` }), stack.emulator!.baseUrl);
  raw = stack.minio!.client();
  await raw.send(new CreateBucketCommand({ Bucket: VERSIONED_BUCKET }));
  await raw.send(new PutBucketVersioningCommand({ Bucket: VERSIONED_BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
});
after(async () => {
  raw?.destroy();
  for (const d of destinations) d.destroy();
  await stack?.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An S3 destination on the test MinIO whose client records the name of every command it sends. */
function recordingDestination(...args: Parameters<typeof minioDestination>): { destination: S3Destination; sent: string[] } {
  const destination = minioDestination(...args);
  destinations.push(destination);
  const sent: string[] = [];
  destination.client.middlewareStack.add(
    (next, context) => async (input) => {
      sent.push(context.commandName!);
      return next(input);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { destination, sent };
}

const transferDeps = (over: Partial<TransferDeps>): TransferDeps => ({
  drive,
  destinations: [],
  logger,
  attempts: 5,
  backoffBaseMs: 10,
  resumableMinBytes: 8 * MiB,
  checkpoints: new CheckpointStore(),
  stallTimeoutMs: 60_000,
  ...over,
});

const itemFor = (f: EmuFile, key: string): TransferItem => ({
  fileId: f.id,
  name: f.name,
  kind: 'binary',
  mimeType: f.mimeType,
  size: stack.emulator!.store.size(f) ?? null,
  md5: f.hashes?.md5 ?? null,
  sha256: f.withoutSha256 ? null : (f.hashes?.sha256 ?? null),
  modifiedTime: f.modifiedTime,
  version: String(f.version),
  drivePath: `My Drive/${f.name}`,
  objects: [{ format: '', key, storedAt: [] } satisfies ObjectKey & { storedAt: string[] }],
});

async function openUploads(bucket: string, prefix: string) {
  const listed = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return listed.Uploads ?? [];
}

test('the SHA-256 is stored without rewriting any object: no CopyObject, one version per upload, and verification reads it', async () => {
  const s = stack.emulator!.store;
  const root = await s.addFile({ name: 'hashes' });
  const add = (spec: Parameters<typeof s.addFile>[0]) => s.addFile({ parentId: root.id, ...spec });
  // One file per upload path, each with and without a SHA-256 from Drive where Drive could give one.
  const files = [
    await add({ name: 'small.bin', content: bytesContent('checked in memory') }),
    await add({ name: 'small-old.bin', content: bytesContent('old file, no sha256Checksum'), withoutSha256: true }),
    await add({ name: 'streamed.bin', content: generatedContent(3 * MiB + 1, 301) }),
    await add({ name: 'streamed-old.bin', content: generatedContent(3 * MiB + 2, 302), withoutSha256: true }),
    await add({ name: 'large.bin', content: generatedContent(11 * MiB + 3, 303) }),
    await add({ name: 'large-old.bin', content: generatedContent(11 * MiB + 4, 304), withoutSha256: true }),
    await add({ name: 'Short doc', mimeType: `${G}document`, text: 'short' }),
    await add({ name: 'Long doc', mimeType: `${G}document`, exportSize: 3 * MiB }),
    await add({ name: 'Huge doc', mimeType: `${G}document`, exportSize: 11 * MiB }),
  ];
  const hashKnownLate = ['streamed-old.bin', 'large-old.bin', 'Long doc.docx', 'Huge doc.docx'];

  const { destination, sent } = recordingDestination(stack.minio!, 'aws', { bucket: VERSIONED_BUCKET });
  const catalog: Catalog = openTestCatalog(stack.tmp, 'hashes.db');
  const minimal = { account: 'me', google: { clientId: 'c' }, destinations: [{ kind: 'local', name: 'x', path: '/' }] };
  const { exportFormats } = parseConfig(minimal);
  const deps = {
    catalog,
    drive,
    destinations: [destination],
    logger,
    account: 'me',
    exportFormats,
    includeSharedWithMe: false,
    scopeRules: { exclude: [] },
    dumps: { dir: join(stack.tmp, 'dumps'), layout: stateLayout({}), keepLocal: 30, keepRemoteDays: 30, keepWeekly: 12 },
  };
  const activities = createCatalogActivities(deps);
  try {
    let pageToken: string | undefined;
    // The listing itself, outside an activity: the activity heartbeats, which needs Temporal's activity context.
    do pageToken = (await listDrivePage(deps, { scope: { kind: 'my-drive' }, pageToken, listingId: 'l1' })).nextPageToken;
    while (pageToken);
    await activities.startRun({ runId: 'r1', kind: 'full-sync', workflowId: 'w1' });
    const batch = await activities.claimPendingBatch({ afterId: '', limit: 100 });
    const ours = batch.items.filter((i) => files.some((f) => f.id === i.fileId));
    assert.equal(ours.length, files.length);
    const outcomes = [];
    for (const item of ours) outcomes.push(await transferFile(transferDeps({ destinations: [destination] }), item));
    assert.deepEqual(
      outcomes.map((o) => o.failure),
      outcomes.map(() => undefined),
      'every file transferred',
    );
    await activities.recordTransferOutcomes({ runId: 'r1', outcomes });

    const count = (command: string) => sent.filter((c) => c === command).length;
    assert.equal(count('CopyObjectCommand'), 0, `no CopyObject: ${[...new Set(sent)].join(', ')}`);
    assert.equal(count('PutObjectTaggingCommand'), hashKnownLate.length, 'one tag per object whose hash was known only at the end');
    const versions = await raw.send(new ListObjectVersionsCommand({ Bucket: VERSIONED_BUCKET, Prefix: 'vault/' }));
    const perKey = new Map<string, number>();
    for (const v of versions.Versions ?? []) perKey.set(v.Key!, (perKey.get(v.Key!) ?? 0) + 1);
    assert.equal(perKey.size, files.length);
    assert.deepEqual(
      [...perKey].filter(([, n]) => n !== 1),
      [],
      'exactly one version of each uploaded object',
    );

    for (const o of outcomes.flatMap((x) => x.stored)) {
      const bytes = await streamToBuffer(await destination.read(o.key));
      assert.equal(sha(bytes), o.sha256, `bytes of ${o.key}`);
      assert.equal((await destination.head(o.key))?.sha256, o.sha256, `stored SHA-256 of ${o.key}`);
    }

    sent.length = 0;
    const verified = await activities.verifyObjectsPage({ afterRowId: 0, limit: 100 });
    assert.deepEqual([verified.verified, verified.mismatched], [{ aws: files.length }, {}]);
    assert.equal(count('GetObjectTaggingCommand'), hashKnownLate.length, 'only the objects whose SHA-256 came late cost a tag read');

    const tampered = outcomes.flatMap((x) => x.stored).find((o) => o.key.endsWith('/streamed-old.bin'))!;
    const wrongTag = { TagSet: [{ Key: 'sha256', Value: '0'.repeat(64) }] };
    await raw.send(new PutObjectTaggingCommand({ Bucket: VERSIONED_BUCKET, Key: `vault/${tampered.key}`, Tagging: wrongTag }));
    const caught = await activities.verifyObjectsPage({ afterRowId: 0, limit: 100 });
    assert.deepEqual([caught.verified, caught.mismatched], [{ aws: files.length - 1 }, { aws: 1 }]);
    const failure = catalog.db.prepare('SELECT reason, message FROM failures WHERE file_id = ?').get(files[3].id) as Record<string, string>;
    assert.equal(failure.reason, 'verifyMismatch');
    assert.match(failure.message, new RegExp(`sha256 0{64}, catalog ${tampered.sha256}`));
  } finally {
    catalog.close();
  }
});

test("the store checks each upload's bytes, hashed once: a small object by its signed SHA-256, a streamed one by Drive's MD5, else a CRC32", async () => {
  const destination = minioDestination(stack.minio!, 'aws');
  destinations.push(destination);
  // The headers as sent, after signing; and a switch that changes a byte of a body in memory once it is signed.
  const sent: Array<Record<string, string>> = [];
  let tamper = false;
  destination.client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      sent.push({ ...request.headers });
      if (tamper && Buffer.isBuffer(request.body)) request.body = Buffer.concat([Buffer.from('X'), request.body.subarray(1)]);
      return next(args);
    },
    { step: 'deserialize', name: 'recordSentHeaders' },
  );
  const upload = (key: string, bytes: Buffer, options: { whole: boolean; md5: boolean }) => {
    const md5 = createHash('md5').update(bytes).digest('hex');
    // Drive's SHA-256 in the metadata: no tag request follows the PUT.
    const metadata = {
      driveFileId: 'f',
      drivePath: `My Drive/${key}`,
      modifiedTime: '2024-01-01T00:00:00Z',
      version: '1',
      sha256: sha(bytes),
    };
    return destination.upload({
      key,
      body: options.whole ? bytes : Readable.from([bytes.subarray(0, MiB), bytes.subarray(MiB)]),
      size: bytes.length,
      contentType: 'application/octet-stream',
      metadata: options.md5 ? { ...metadata, md5 } : metadata,
      verified: Promise.resolve({ size: bytes.length, md5, sha256: sha(bytes) }),
    });
  };
  const small = Buffer.from('a small object, checked in memory');
  const large = Buffer.alloc(2 * MiB + 5, 7);

  await upload('k/small.bin', small, { whole: true, md5: true });
  const checked = sent.pop()!;
  assert.equal(checked['x-amz-content-sha256'], sha(small), 'signed with the SHA-256 the transfer computed');
  assert.ok(checked['content-md5']);
  assert.deepEqual(
    Object.keys(checked).filter((h) => h.startsWith('x-amz-checksum') || h === 'x-amz-trailer'),
    [],
    'no CRC32 on top',
  );

  await upload('k/streamed.bin', large, { whole: false, md5: true });
  const streamed = sent.pop()!;
  assert.equal(streamed['content-md5'], createHash('md5').update(large).digest('base64'));
  assert.equal(streamed['x-amz-trailer'], undefined, 'a plain body, no aws-chunked CRC32 trailer');
  assert.equal(streamed['content-length'], String(large.length));

  await upload('k/streamed-without-md5.bin', large, { whole: false, md5: false });
  assert.equal(sent.pop()!['x-amz-trailer'], 'x-amz-checksum-crc32', 'without an MD5, a CRC32 checks the bytes in transit');

  for (const key of ['k/small.bin', 'k/streamed.bin', 'k/streamed-without-md5.bin'])
    assert.equal(sha(await streamToBuffer(await destination.read(key))), sha(key === 'k/small.bin' ? small : large), key);
  tamper = true;
  await assert.rejects(upload('k/tampered.bin', small, { whole: true, md5: true }), /BadDigest|SHA256Mismatch|SignatureDoesNotMatch/);
  assert.equal(await destination.head('k/tampered.bin'), undefined, 'the store refused bytes that differ from the ones checked');
});

test('a checked small PUT that the store never answers ends when its signal aborts, not at the idle timeout', {
  timeout: 60_000,
}, async () => {
  // A store that takes the connection and the request, and never answers.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket.resume()));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const destination = minioDestination({ ...stack.minio!, endpoint }, 'aws');
  try {
    const bytes = Buffer.from('never answered');
    const aborted = new AbortController();
    const upload = destination.upload({
      key: 'k/never-answered.txt',
      body: bytes,
      contentType: 'text/plain',
      metadata: { driveFileId: 'f', drivePath: 'My Drive/never-answered.txt', modifiedTime: '2024-01-01T00:00:00Z', version: '1' },
      verified: Promise.resolve({ size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: sha(bytes) }),
      signal: aborted.signal,
    });
    while (sockets.length === 0) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    aborted.abort(new Error('cancelled by Temporal'));
    await assert.rejects(upload, /AbortError/);
    assert.ok(Date.now() - started < 10_000, 'the abort ended the request, not the 60 s idle timeout');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(sockets[0].destroyed || sockets[0].readableEnded, 'the connection was closed');
  } finally {
    destination.destroy();
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('a large file given up after its last try leaves no multipart upload open and no partial file', async () => {
  const f = await stack.emulator!.store.addFile({ name: 'given-up.bin', content: generatedContent(12 * MiB + 5, 120) });
  // The first download writes one part, then every try breaks before the next part is whole.
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, cutOffAfterBytes: 7 * MiB });
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, cutOffAfterBytes: 1 * MiB });
  const { destination } = recordingDestination(stack.minio!, 'aws');
  const local = new LocalDestination('nas', join(stack.tmp, 'nas'));
  const checkpoints = new CheckpointStore();
  const outcome = await transferFile(transferDeps({ destinations: [destination, local], checkpoints }), itemFor(f, 'k/given-up.bin'));
  stack.emulator!.faults.clear();

  assert.equal(outcome.failure?.attempts, 5);
  const served = stack.emulator!.requests.filter((r) => r.path === `/drive/v3/files/${f.id}` && r.query.alt === 'media');
  assert.deepEqual(
    served.map((r) => r.range),
    [undefined, ...Array(4).fill(`bytes=${5 * MiB}-`)],
    'the tries resumed the upload',
  );
  assert.deepEqual(await openUploads(BUCKETS.aws, 'vault/k/given-up.bin'), [], 'the multipart upload was aborted');
  assert.deepEqual(
    readdirSync(join(stack.tmp, 'nas', 'k')).filter((n) => n.endsWith('.partial')),
    [],
    'no partial file is left',
  );
  assert.equal(checkpoints.get(f.id), undefined, 'no checkpoint is left for a heartbeat to carry');
});

test('a checkpoint that no longer holds for every destination has its uploads dropped before the file starts over', async () => {
  const f = await stack.emulator!.store.addFile({ name: 'refit.bin', content: generatedContent(12 * MiB + 9, 121) });
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, cutOffAfterBytes: 11 * MiB });
  // The local destination fails its second part once: the first try's checkpoint then names the S3 upload only.
  const local = new LocalDestination('nas', join(stack.tmp, 'nas'));
  let failed = false;
  const flaky = Object.assign(Object.create(local) as LocalDestination, {
    beginPartUpload: async (...args: Parameters<LocalDestination['beginPartUpload']>) => {
      const upload = await local.beginPartUpload(...args);
      return {
        ...upload,
        writePart: async (n: number, bytes: Buffer) => {
          if (n === 2 && !failed) {
            failed = true;
            throw new DestinationError('nas', 'disk full');
          }
          return upload.writePart(n, bytes);
        },
      };
    },
  });
  const { destination } = recordingDestination(stack.minio!, 'aws');
  const outcome = await transferFile(transferDeps({ destinations: [flaky, destination] }), itemFor(f, 'k/refit.bin'));
  assert.equal(outcome.failure, undefined, outcome.failure?.message);
  assert.ok(failed);
  assert.deepEqual(await openUploads(BUCKETS.aws, 'vault/k/refit.bin'), [], "the first try's upload was aborted, not left open");
  assert.equal(sha(await streamToBuffer(await destination.read('k/refit.bin'))), f.hashes!.sha256);
});

test('an export whose download always breaks leaves no multipart upload open', async () => {
  const doc = await stack.emulator!.store.addFile({ name: 'Broken export', mimeType: `${G}document`, exportSize: 11 * MiB });
  stack.emulator!.faults.add({ match: `/feeds/download/documents/export/Export\\?.*id=${doc.id}`, cutOffAfterBytes: 9 * MiB });
  const { destination, sent } = recordingDestination(stack.minio!, 'aws');
  const objects = [{ format: 'docx', key: 'k/Broken export.docx', storedAt: [] }];
  const item: TransferItem = { ...itemFor(doc, ''), kind: 'workspace', size: null, md5: null, sha256: null, objects };
  const outcome = await transferFile(transferDeps({ destinations: [destination], attempts: 2 }), item);
  stack.emulator!.faults.clear();
  assert.equal(outcome.failure?.attempts, 2);
  assert.ok(sent.includes('UploadPartCommand'), 'a part was written before the download broke');
  assert.deepEqual(await openUploads(BUCKETS.aws, 'vault/k/Broken export'), []);
});

test('the resume checkpoint keeps one size whatever the number of parts', async (t) => {
  const f = await stack.emulator!.store.addFile({ name: 'many-parts.bin', content: generatedContent(60 * MiB + 7, 600) });
  const sizes: number[] = [];
  class MeasuredStore extends CheckpointStore {
    override save(checkpoint: LargeFileCheckpoint): void {
      super.save(checkpoint);
      sizes.push(JSON.stringify(this.snapshot()).length);
    }
  }
  const aws = recordingDestination(stack.minio!, 'aws').destination;
  const eu = recordingDestination(stack.minio!, 'eu', { maxParts: 1000 }).destination;
  const local = new LocalDestination('nas', join(stack.tmp, 'nas'));
  const deps = transferDeps({ destinations: [aws, eu, local], checkpoints: new MeasuredStore() });
  const outcome = await transferFile(deps, itemFor(f, 'k/many-parts.bin'));
  assert.equal(outcome.failure, undefined);
  assert.equal(sizes.length, 13, 'a checkpoint per part');
  t.diagnostic(`serialized checkpoint, two S3 uploads and a local one: ${sizes[0]} bytes after part 1, ${sizes.at(-1)} after part 13`);
  // Only numbers grow by a digit: the offset, the next part, the local file's length, each S3 upload's part count.
  assert.ok(Math.max(...sizes) - sizes[0] <= 5, `checkpoint sizes from the first part to the last: ${sizes.join(', ')}`);
  for (const d of [aws, eu]) assert.equal(sha(await streamToBuffer(await d.read('k/many-parts.bin'))), f.hashes!.sha256);
});

test('a part upload resumed from its token completes with the right bytes, its parts listed page by page', async () => {
  const { destination: first } = recordingDestination(stack.minio!, 'aws');
  const metadata = { driveFileId: 'x', drivePath: 'My Drive/x', modifiedTime: '2024-01-01T00:00:00.000Z', version: '1' };
  const request = { key: 'k/resumed-parts.bin', size: 5 * 5 * MiB + 1000, contentType: 'application/octet-stream', metadata };
  const parts = Array.from({ length: 6 }, (_, i) => Buffer.alloc(i < 5 ? 5 * MiB : 1000, i + 1));
  const upload = await first.beginPartUpload(request);
  const tokens: string[] = [];
  for (let n = 1; n <= 5; n++) {
    await upload.writePart(n, parts[n - 1]);
    tokens.push(JSON.stringify(upload.resumeToken()));
  }
  assert.equal(new Set(tokens.map((t) => t.length)).size, 1, `the token does not grow with the parts: ${tokens.join(' ')}`);

  // Another process: ListParts, asked for two parts a page, is the authority for what was written.
  const { destination: second, sent } = recordingDestination(stack.minio!, 'aws');
  second.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ListPartsCommand') (args.input as ListPartsCommandInput).MaxParts = 2;
      return next(args);
    },
    { step: 'initialize', name: 'smallListPartsPages' },
  );
  const resumed = await second.beginPartUpload(request, JSON.parse(tokens.at(-1)!));
  assert.equal(sent.filter((c) => c === 'ListPartsCommand').length, 3, 'five parts, two a page');
  await resumed.writePart(6, parts[5]);
  const whole = Buffer.concat(parts);
  const done = await resumed.complete({ sha256: sha(whole), size: whole.length });
  assert.equal(done.size, whole.length);
  assert.ok((await streamToBuffer(await second.read(request.key))).equals(whole), 'the bytes of all six parts, in order');
  assert.equal((await second.head(request.key))?.sha256, sha(whole));
});

test('a part another attempt rewrote is never completed with the resumed upload: before the resume nor after it', async () => {
  const { destination } = recordingDestination(stack.minio!, 'aws');
  const metadata = { driveFileId: 'z', drivePath: 'My Drive/z', modifiedTime: '2024-01-01T00:00:00.000Z', version: '1' };
  const request = { key: 'k/overlapped-parts.bin', size: 3 * 5 * MiB, contentType: 'application/octet-stream', metadata };
  const Key = destination.fullKey(request.key);
  const parts = Array.from({ length: 3 }, (_, i) => Buffer.alloc(5 * MiB, i + 1));
  const wrong = Buffer.alloc(5 * MiB, 0xee);
  // An old attempt that was never told it was replaced still holds the upload id and writes its own bytes.
  const oldAttemptWrites = (UploadId: string, PartNumber: number) =>
    raw.send(new UploadPartCommand({ Bucket: BUCKETS.aws, Key, UploadId, PartNumber, Body: wrong, ContentLength: wrong.length }));
  const whole = Buffer.concat(parts);
  const verified = { sha256: sha(whole), size: whole.length };

  // Between the checkpoint and the resume: the resume refuses the upload, which nobody can complete right any more.
  const first = await destination.beginPartUpload(request);
  for (const n of [1, 2]) await first.writePart(n, parts[n - 1]);
  const token = first.resumeToken() as { uploadId: string };
  await oldAttemptWrites(token.uploadId, 1);
  await assert.rejects(destination.beginPartUpload(request, token), /rewritten by another attempt/);
  assert.deepEqual(await openUploads(BUCKETS.aws, Key), [], 'the spoilt upload was aborted');

  // After the resume: completion names the ETags this attempt wrote or listed, and the store refuses a changed part.
  const second = await destination.beginPartUpload(request);
  for (const n of [1, 2]) await second.writePart(n, parts[n - 1]);
  const resumed = await destination.beginPartUpload(request, second.resumeToken());
  await resumed.writePart(3, parts[2]);
  await oldAttemptWrites((second.resumeToken() as { uploadId: string }).uploadId, 2);
  await assert.rejects(resumed.complete(verified), /InvalidPart/);
  assert.equal(await destination.head(request.key), undefined, 'nothing was completed under the key');
  await resumed.abort();
});

test('a small state file (a dump, its .sha256 line), whose MD5 nobody computed, uploads and reads back', async () => {
  const d = minioDestination(stack.minio!, 'aws', { prefix: 'state-files' });
  destinations.push(d);
  const dir = join(stack.tmp, 'state-file');
  mkdirSync(dir);
  const path = join(dir, 'manifest.jsonl.gz.sha256');
  const text = `${'ab'.repeat(32)}  manifest.jsonl.gz\n`;
  writeFileSync(path, text);
  const expected = { size: text.length, sha256: createHash('sha256').update(text).digest('hex') };
  await uploadStateFile(d, { path, key: 'state/daily/2026-11-01/manifest.jsonl.gz.sha256', expected, contentType: 'text/plain' });
  assert.equal((await streamToBuffer(await d.read('state/daily/2026-11-01/manifest.jsonl.gz.sha256'))).toString(), text);
});
