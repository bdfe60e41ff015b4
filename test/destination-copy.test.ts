import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type CopyRequest,
  type Destination,
  DestinationError,
  type ObjectMetadata,
  ObjectMissingError,
} from '../activities/storage/destination';
import { LocalDestination } from '../activities/storage/local';
import type { S3Destination } from '../activities/storage/s3';
import { minioDestination } from './support/destinations';
import { streamToBuffer } from './support/drive';
import { BUCKETS, type Stack, startStack } from './support/stack';

const MiB = 1024 * 1024;
const VERSIONED_BUCKET = 'vault-copies-versioned';
let stack: Stack;
let raw: S3Client;
const s3Destinations: S3Destination[] = [];

before(async () => {
  stack = await startStack({ minio: true });
  raw = stack.minio!.client();
  await raw.send(new CreateBucketCommand({ Bucket: VERSIONED_BUCKET }));
  await raw.send(new PutBucketVersioningCommand({ Bucket: VERSIONED_BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
});
after(async () => {
  raw?.destroy();
  for (const d of s3Destinations) d.destroy();
  await stack?.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const bytesOf = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));
const metadataFor = (key: string, bytes: Buffer): ObjectMetadata => ({
  driveFileId: `id-${sha(Buffer.from(key)).slice(0, 8)}`,
  drivePath: `My Drive/${key}`,
  modifiedTime: '2026-01-01T00:00:00.000Z',
  version: '7',
  md5: md5(bytes),
});

/** Writes an object the way the transfer does, with its SHA-256 in its metadata. */
async function put(destination: Destination, key: string, bytes: Buffer): Promise<void> {
  const verified = Promise.resolve({ sha256: sha(bytes), md5: md5(bytes), size: bytes.length });
  const metadata = { ...metadataFor(key, bytes), sha256: sha(bytes) };
  await destination.upload({ key, body: bytes, size: bytes.length, contentType: 'application/octet-stream', metadata, verified });
}

/** A copy request as the sweep makes one: the source's metadata with the new Drive path, and no SHA-256 of its own. */
function copyRequest(from: string, to: string, bytes: Buffer): CopyRequest {
  return { from, to, metadata: { ...metadataFor(from, bytes), drivePath: `My Drive/${to}` }, contentType: 'application/octet-stream' };
}

async function readBack(destination: Destination, key: string): Promise<Buffer> {
  return streamToBuffer(await destination.read(key));
}

async function listed(destination: Destination, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of destination.list(prefix)) keys.push(o.key);
  return keys;
}

interface Kind {
  name: string;
  destination: () => Destination;
  /** The Drive path stored with an object, read without the destination's code. */
  storedDrivePath: (destination: Destination, key: string) => Promise<string>;
}

const kinds: Kind[] = [
  {
    name: 's3',
    destination: () => {
      const d = minioDestination(stack.minio!, 'aws', { prefix: 'vault/nested' });
      s3Destinations.push(d);
      return d;
    },
    storedDrivePath: async (d, key) => {
      const res = await raw.send(new HeadObjectCommand({ Bucket: BUCKETS.aws, Key: d.fullKey(key) }));
      return decodeURIComponent(res.Metadata!['drive-path']!);
    },
  },
  {
    name: 'local',
    destination: () => new LocalDestination('nas', join(stack.tmp, 'nas')),
    storedDrivePath: async (_d, key) => {
      const meta = JSON.parse(readFileSync(join(stack.tmp, 'nas', '.drive-vault-meta', `${key}.json`), 'utf8'));
      return meta.drivePath;
    },
  },
];

for (const kind of kinds) {
  test(`${kind.name}: a copy keeps the bytes, size, SHA-256 and Drive file id, carries the new Drive path, and leaves the source`, async () => {
    const d = kind.destination();
    // Spaces, a '#', a '?', a '+', a '%' and accents: CopySource is URL-encoded, and keys are not.
    const from = 'copy/My folder/Budget #1 [a?b] 50%+tax é.bin';
    const to = 'copy/Renamed folder/Budget #2 ü.bin';
    const bytes = bytesOf(300_000, 1);
    await put(d, from, bytes);

    const copied = await d.copy(copyRequest(from, to, bytes));
    assert.equal(copied.key, d.fullKey(to));
    assert.equal(copied.size, bytes.length);
    if (kind.name === 's3') assert.ok(copied.etag, 'the copy names its ETag');
    assert.ok((await readBack(d, to)).equals(bytes));
    assert.deepEqual(await d.head(to), {
      size: bytes.length,
      sha256: sha(bytes),
      driveFileId: metadataFor(from, bytes).driveFileId,
      version: '7',
    });
    assert.deepEqual(await d.head(to), await d.head(from));
    assert.equal(await kind.storedDrivePath(d, to), `My Drive/${to}`);
    assert.equal(await kind.storedDrivePath(d, from), `My Drive/${from}`);
    assert.ok((await readBack(d, from)).equals(bytes), 'the source stays');
  });

  test(`${kind.name}: a move leaves the source gone and the target whole, and no empty folder behind`, async () => {
    const d = kind.destination();
    const from = 'move/old/deep/file.bin';
    const to = 'move/new/file.bin';
    const bytes = bytesOf(5000, 2);
    await put(d, 'move/old/sibling.bin', bytes);
    await put(d, from, bytes);

    const moved = await d.move(copyRequest(from, to, bytes));
    assert.equal(moved.size, bytes.length);
    assert.equal(await d.head(from), undefined);
    await assert.rejects(d.read(from), ObjectMissingError);
    assert.ok((await readBack(d, to)).equals(bytes));
    assert.equal((await d.head(to))?.sha256, sha(bytes));
    assert.equal(await kind.storedDrivePath(d, to), `My Drive/${to}`);
    assert.deepEqual(await listed(d, 'move/'), ['move/new/file.bin', 'move/old/sibling.bin']);
    assert.deepEqual(await d.listFolders('move/old/'), [], 'no folder left where the moved file was');
    if (kind.name === 'local') {
      const root = join(stack.tmp, 'nas');
      assert.equal(existsSync(join(root, 'move/old/deep')), false);
      assert.equal(existsSync(join(root, '.drive-vault-meta/move/old/deep')), false);
      assert.ok(existsSync(join(root, '.drive-vault-meta/move/old/sibling.bin.json')), 'the folder with a sibling stays');
    }
  });

  test(`${kind.name}: copy or move from a missing key throws ObjectMissingError and writes nothing`, async () => {
    const d = kind.destination();
    const request = copyRequest('missing/nothing.bin', 'missing/target.bin', Buffer.alloc(0));
    await assert.rejects(d.copy(request), ObjectMissingError);
    await assert.rejects(d.move(request), ObjectMissingError);
    assert.equal(await d.head('missing/target.bin'), undefined);
    assert.deepEqual(await listed(d, 'missing/'), []);
  });

  test(`${kind.name}: delete removes an object, and a key that holds nothing is fine`, async () => {
    const d = kind.destination();
    await put(d, 'del/a/b/gone.bin', bytesOf(10, 3));
    await d.delete('del/a/b/gone.bin');
    assert.equal(await d.head('del/a/b/gone.bin'), undefined);
    await d.delete('del/a/b/gone.bin');
    await d.delete('del/never/was.bin');
    assert.deepEqual(await d.listFolders('del/'), []);
    if (kind.name === 'local') {
      const root = join(stack.tmp, 'nas');
      assert.equal(existsSync(join(root, 'del')), false, 'emptied folders are removed');
      assert.equal(existsSync(join(root, '.drive-vault-meta/del')), false);
      assert.ok(existsSync(root) && existsSync(join(root, '.drive-vault-meta')), 'the roots stay');
    }
  });

  test(`${kind.name}: list, listFolders and deleteUnder see exactly the keys under their prefix, nested ones included`, async () => {
    const d = kind.destination();
    const keys = [
      'lst/.trash/2026-01-01/drive/a/b/y.bin',
      'lst/.trash/2026-01-01/drive/a/x.bin',
      'lst/.trash/2026-01-02/z.bin',
      'lst/.trashy/w.bin',
      'lst/drive/a-b.bin',
      'lst/drive/a/b.bin',
      'lst/drive/keep.bin',
    ];
    for (const [i, key] of keys.entries()) await put(d, key, bytesOf(100 + i, i));
    // An upload still in progress under the prefix is no object.
    const partial = await d.beginPartUpload({
      key: 'lst/drive/in-progress.bin',
      size: 6 * MiB,
      contentType: 'application/octet-stream',
      metadata: metadataFor('lst/drive/in-progress.bin', Buffer.alloc(0)),
    });
    await partial.writePart(1, Buffer.alloc(5 * MiB, 1));

    const all: Array<{ key: string; size: number }> = [];
    for await (const o of d.list('lst/')) all.push(o);
    assert.deepEqual(
      all,
      keys.map((key, i) => ({ key, size: 100 + i })),
      'every object, in key order',
    );
    assert.deepEqual(await listed(d, 'lst/drive/a'), ['lst/drive/a-b.bin', 'lst/drive/a/b.bin'], 'a prefix that is no folder');
    assert.deepEqual(await d.listFolders('lst/.trash/'), ['lst/.trash/2026-01-01/', 'lst/.trash/2026-01-02/']);
    assert.deepEqual(await d.listFolders('lst/'), ['lst/.trash/', 'lst/.trashy/', 'lst/drive/']);
    assert.deepEqual(await d.listFolders('nothing-here/'), []);

    await assert.rejects(d.deleteUnder('lst/.trash/2026-01-01'), DestinationError, 'a prefix that is no folder is refused');
    assert.equal(await d.deleteUnder('lst/.trash/2026-01-01/'), 2);
    assert.deepEqual(await listed(d, 'lst/'), keys.slice(2));
    assert.deepEqual(await d.listFolders('lst/.trash/'), ['lst/.trash/2026-01-02/']);
    assert.equal(await d.head('lst/.trash/2026-01-01/drive/a/x.bin'), undefined);
    assert.equal(await d.deleteUnder('lst/.trash/2026-01-01/'), 0, 'nothing left to delete');
    if (kind.name === 'local') {
      assert.equal(existsSync(join(stack.tmp, 'nas/.drive-vault-meta/lst/.trash/2026-01-01')), false, 'the metadata goes too');
    }
    await partial.abort();
  });
}

test('s3: on a versioned bucket, a copy names its new version and copies the version the HEAD saw', async () => {
  const d = minioDestination(stack.minio!, 'aws', { bucket: VERSIONED_BUCKET });
  s3Destinations.push(d);
  await put(d, 'versions/a.bin', bytesOf(100, 9));
  const bytes = bytesOf(200, 10);
  await put(d, 'versions/a.bin', bytes);
  const copied = await d.move(copyRequest('versions/a.bin', 'versions/b.bin', bytes));
  assert.ok(copied.versionId, 'the copy is a new version');
  assert.ok((await readBack(d, 'versions/b.bin')).equals(bytes), 'the current version, not the first');
  assert.deepEqual(await d.head('versions/b.bin'), {
    size: 200,
    sha256: sha(bytes),
    driveFileId: metadataFor('versions/a.bin', bytes).driveFileId,
    version: '7',
  });
  assert.equal(await d.head('versions/a.bin'), undefined, 'the source has a delete marker');
  assert.deepEqual(await listed(d, 'versions/'), ['versions/b.bin']);
});

test('s3: a copy of an object whose SHA-256 is only in its tag carries it, in the copy and its metadata', async () => {
  const d = minioDestination(stack.minio!, 'aws');
  s3Destinations.push(d);
  const bytes = bytesOf(MiB + 17, 4);
  await putWithLateHash(d, 'tagged/late.bin', bytes);
  const stored = await raw.send(new HeadObjectCommand({ Bucket: BUCKETS.aws, Key: d.fullKey('tagged/late.bin') }));
  assert.equal(stored.Metadata?.sha256, undefined, 'the source holds its SHA-256 only in a tag');

  await d.copy(copyRequest('tagged/late.bin', 'tagged/copy.bin', bytes));
  assert.deepEqual(await d.head('tagged/copy.bin'), await d.head('tagged/late.bin'));
  assert.equal((await d.head('tagged/copy.bin'))?.sha256, sha(bytes));
  const copied = await raw.send(new HeadObjectCommand({ Bucket: BUCKETS.aws, Key: d.fullKey('tagged/copy.bin') }));
  assert.equal(copied.Metadata?.sha256, sha(bytes));
});

test('s3: an object over the single-copy limit is copied in parts, server-side, with its bytes and SHA-256', async () => {
  const d = minioDestination(stack.minio!, 'aws', {}, { singleCopyMaxBytes: MiB });
  s3Destinations.push(d);
  const sent = recordCommands(d);
  const bytes = bytesOf(11 * MiB + 3, 5);
  await putWithLateHash(d, 'parts/large.bin', bytes);
  sent.length = 0;

  const copied = await d.copy(copyRequest('parts/large.bin', 'parts/large copy.bin', bytes));
  assert.equal(sent.filter((c) => c === 'UploadPartCopyCommand').length, 3, '11 MiB in 5 MiB parts');
  assert.deepEqual(
    sent.filter((c) => /^(GetObject|PutObject|UploadPart)Command$/.test(c)),
    [],
    'no byte through this process',
  );
  assert.ok(copied.etag);
  assert.ok((await readBack(d, 'parts/large copy.bin')).equals(bytes));
  assert.deepEqual(await d.head('parts/large copy.bin'), {
    size: bytes.length,
    sha256: sha(bytes),
    driveFileId: metadataFor('parts/large.bin', bytes).driveFileId,
    version: '7',
  });

  // Below the limit, one CopyObject.
  sent.length = 0;
  await put(d, 'parts/small.bin', bytesOf(1000, 6));
  await d.copy(copyRequest('parts/small.bin', 'parts/small copy.bin', bytesOf(1000, 6)));
  assert.deepEqual(
    sent.filter((c) => /Cop/.test(c)),
    ['CopyObjectCommand'],
  );
});

test('s3: a multipart copy that fails is aborted: no upload left open, nothing under the key', async () => {
  const d = minioDestination(stack.minio!, 'aws', {}, { singleCopyMaxBytes: MiB });
  s3Destinations.push(d);
  const bytes = bytesOf(11 * MiB, 7);
  await put(d, 'broken/large.bin', bytes);
  // The store refuses the second part: a real error reply, for a range that does not exist.
  d.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { PartNumber?: number; CopySourceRange?: string };
      if (context.commandName === 'UploadPartCopyCommand' && input.PartNumber === 2) input.CopySourceRange = 'bytes=999999999-1000000000';
      return next(args);
    },
    { step: 'initialize', name: 'badRange' },
  );
  await assert.rejects(d.copy(copyRequest('broken/large.bin', 'broken/copy.bin', bytes)), (err: Error) => {
    assert.ok(err instanceof DestinationError);
    assert.match(err.message, /copying vault\/broken\/large\.bin to vault\/broken\/copy\.bin failed/);
    return true;
  });
  const open = await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKETS.aws, Prefix: 'vault/broken/copy.bin' }));
  assert.deepEqual(open.Uploads ?? [], []);
  assert.equal(await d.head('broken/copy.bin'), undefined);
});

test('local: a key with a . or .. segment is refused, inside the root or not', async () => {
  const d = new LocalDestination('nas', join(stack.tmp, 'nas'));
  const bytes = bytesOf(10, 8);
  await put(d, 'safe/file.bin', bytes);
  const before = readdirSync(join(stack.tmp, 'nas'), { recursive: true });
  for (const key of ['../escape.bin', 'safe/../../escape.bin', 'safe/../file.bin', 'safe/./file.bin']) {
    await assert.rejects(d.copy(copyRequest('safe/file.bin', key, bytes)), DestinationError, `copy to ${key}`);
    await assert.rejects(d.copy(copyRequest(key, 'safe/other.bin', bytes)), DestinationError, `copy from ${key}`);
    await assert.rejects(d.move(copyRequest('safe/file.bin', key, bytes)), DestinationError, `move to ${key}`);
    await assert.rejects(d.delete(key), DestinationError, `delete ${key}`);
    await assert.rejects(put(d, key, bytes), DestinationError, `upload to ${key}`);
  }
  await assert.rejects(listed(d, '../'), DestinationError);
  await assert.rejects(d.listFolders('safe/../../'), DestinationError);
  await assert.rejects(d.deleteUnder('../'), DestinationError);
  assert.deepEqual(readdirSync(join(stack.tmp, 'nas'), { recursive: true }), before, 'nothing written or removed');
  assert.equal(existsSync(join(stack.tmp, 'escape.bin')), false);
});

test('local: moves that fill a folder while others empty it all land (a pruned folder is made again)', async () => {
  // The race is rare: before the fix, about one move in a thousand of these failed on a loaded machine.
  const d = new LocalDestination('nas', join(stack.tmp, 'nas-swaps'));
  const bytes = bytesOf(10, 9);
  for (let round = 0; round < 30; round++) {
    const pairs = Array.from({ length: 20 }, (_, i) => `${round}-${i}`);
    for (const p of pairs) {
      await put(d, `a${p}/b.txt`, bytes);
      await put(d, `c${p}/b.txt`, bytes);
    }
    await Promise.all(
      pairs.flatMap((p) => [
        d.move(copyRequest(`a${p}/b.txt`, `c${p}/b1.txt`, bytes)),
        d.move(copyRequest(`c${p}/b.txt`, `a${p}/b2.txt`, bytes)),
      ]),
    );
  }
  const keys = await listed(d, '');
  assert.equal(keys.length, 30 * 20 * 2);
  assert.ok(keys.every((k) => /^(a[\d-]+\/b2|c[\d-]+\/b1)\.txt$/.test(k)));
});

/** A streamed upload without a SHA-256 up front: the store tags the object with it once the stream is read. */
async function putWithLateHash(destination: Destination, key: string, bytes: Buffer): Promise<void> {
  const verified = Promise.resolve({ sha256: sha(bytes), md5: md5(bytes), size: bytes.length });
  await destination.upload({
    key,
    body: Readable.from([bytes]),
    size: bytes.length,
    contentType: 'application/octet-stream',
    metadata: metadataFor(key, bytes),
    verified,
  });
}

function recordCommands(destination: S3Destination): string[] {
  const sent: string[] = [];
  destination.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName!);
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return sent;
}
