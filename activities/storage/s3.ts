import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandOutput,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ServiceException,
  type StorageClass,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, type Readable, addAbortSignal } from 'node:stream';
import type { S3DestinationConfig } from '../../common/config';
import {
  type CopyRequest,
  type Destination,
  DestinationError,
  type ObjectHead,
  ObjectMissingError,
  type ObjectMetadata,
  type PartUpload,
  type PartUploadRequest,
  type ReadOptions,
  type UploadRequest,
  type UploadResult,
  partSizeFor,
} from './destination';
import { abortFromContext, signWithKnownPayloadHash, withCallContext } from './s3CallContext';
import { WHOLE_OBJECT_MAX_BYTES, readHead } from './readHead';
import { copyInParts, copySourceOf } from './s3Copy';
import { S3PartUpload } from './s3PartUpload';

const MiB = 1024 * 1024;
/** Larger ones of known size are streamed in one PUT up to this size (rclone's default upload cutoff). */
const SINGLE_PUT_MAX_BYTES = 200 * MiB;
/** The largest object one CopyObject may copy (S3's limit); larger ones are copied in parts. */
const SINGLE_COPY_MAX_BYTES = 5 * 1024 * MiB;
/**
 * The tag that holds an object's SHA-256 when it was not known as the upload began. Metadata is fixed once
 * an object is written, and rewriting it is a CopyObject: limited to 5 GiB, and a second full version on a
 * versioned bucket. A tag is set on the exact version, at any size, and makes no new version.
 */
const SHA256_TAG = 'sha256';

/** User metadata must be ASCII for SigV4: the path is percent-encoded. */
function toS3Metadata(m: ObjectMetadata & { sha256?: string }): Record<string, string> {
  const out: Record<string, string> = {
    'drive-file-id': m.driveFileId,
    'drive-path': encodeURIComponent(m.drivePath),
    'drive-modified-time': m.modifiedTime,
    'drive-version': m.version,
  };
  if (m.md5) out.md5 = m.md5;
  if (m.sha256) out.sha256 = m.sha256;
  return out;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3ConnectionOptions {
  /** A request whose connection moves no byte, either way, for this long fails (and the SDK retries it). */
  stallTimeoutMs: number;
  /** Objects larger than this are copied part by part: 5 GiB, S3's limit for one CopyObject (tests lower it). */
  singleCopyMaxBytes?: number;
}

/** AWS S3 or any S3-compatible store (Scaleway, OVH, Hetzner, Exoscale, MinIO). */
export class S3Destination implements Destination {
  readonly name: string;
  readonly renamesInPlace = false;
  readonly maxParts: number;
  /** The SDK client, open to middleware (tests record the commands sent). */
  readonly client: S3Client;
  private readonly storageClass?: StorageClass;
  /** Whether the provider takes checksum headers (some S3-compatible ones reject them). */
  private readonly sendsChecksums: boolean;
  private readonly singleCopyMaxBytes: number;

  constructor(
    private readonly config: S3DestinationConfig,
    credentials: S3Credentials,
    connection: S3ConnectionOptions,
  ) {
    this.name = config.name;
    this.maxParts = config.maxParts;
    this.sendsChecksums = config.requestChecksums !== 'when_required';
    this.singleCopyMaxBytes = connection.singleCopyMaxBytes ?? SINGLE_COPY_MAX_BYTES;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials,
      // A checksum is asked for per request, where nothing else checks the bytes sent (see putStreamed): a body in
      // memory is signed with its SHA-256, which the store verifies. The SDK's default CRC32 on every request
      // hashed each byte once more per destination, and turned streamed bodies into aws-chunked encoding.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: this.sendsChecksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      // Builds each command's middleware chain once, not per request: thousands of small objects per minute.
      cacheMiddleware: true,
      // An idle timeout, not a total one: a large part may take minutes on a slow link, as long as it moves.
      requestHandler: { socketTimeout: connection.stallTimeoutMs },
      extensions: [abortFromContext],
    });
    signWithKnownPayloadHash(this.client);
    // Intelligent-Tiering is the right default on AWS only; other providers reject or ignore the class.
    this.storageClass = (config.storageClass ?? (config.endpoint ? undefined : 'INTELLIGENT_TIERING')) as StorageClass | undefined;
  }

  fullKey(key: string): string {
    return this.config.prefix ? `${this.config.prefix.replace(/\/+$/, '')}/${key}` : key;
  }

  /**
   * Small objects, exports included, go in one request once checked (the transfer hands them over whole);
   * larger ones of known size in one streamed PUT, whose last bytes the transfer holds back until checked;
   * larger exports, whose size is unknown, in parts. A single PUT costs the provider far less than a
   * multipart upload of the same bytes, and a checked one carries its SHA-256 in its metadata from the
   * start, with no tag to add afterwards.
   */
  async upload(request: UploadRequest): Promise<UploadResult> {
    const Key = this.fullKey(request.key);
    const { body } = request;
    try {
      if (Buffer.isBuffer(body)) return await this.putChecked(Key, request, body);
      if (request.size !== undefined && request.size > SINGLE_PUT_MAX_BYTES) return await this.uploadInParts(Key, request);
      if (request.size !== undefined && request.size > WHOLE_OBJECT_MAX_BYTES)
        return await this.putStreamed(Key, body, request, request.size);
      const head = await readHead(body, WHOLE_OBJECT_MAX_BYTES);
      if (head.whole) return await this.putChecked(Key, request, head.whole);
      return await this.uploadInParts(Key, { ...request, body: head.rest });
    } catch (err) {
      throw this.uploadError(Key, err);
    }
  }

  /**
   * The body is in memory and verified before the request starts: the provider checks it against our MD5 (when the
   * caller computed one: state files come with their SHA-256 only), and against the SHA-256 the request is signed with.
   */
  private async putChecked(Key: string, request: UploadRequest, body: Buffer): Promise<UploadResult> {
    const verified = await request.verified;
    const done = await withCallContext({ signal: request.signal, payloadSha256: verified.sha256 }, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key,
          Body: body,
          ContentLength: body.length,
          ContentMD5: verified.md5 ? Buffer.from(verified.md5, 'hex').toString('base64') : undefined,
          ...this.objectSettings(request.contentType),
          Metadata: toS3Metadata({ ...request.metadata, sha256: verified.sha256 }),
        }),
      ),
    );
    return { key: Key, size: verified.size, etag: done.ETag, versionId: done.VersionId };
  }

  /**
   * Drive's MD5, when it gave one, lets the provider reject bytes that differ from the source. Without it, a
   * CRC32 trailer (aws-chunked encoding) is the only check of the bytes in transit.
   */
  private async putStreamed(Key: string, source: Readable, request: UploadRequest, size: number): Promise<UploadResult> {
    // The SDK re-emits a body's error on a stream nobody listens to, which would crash the worker: the
    // body it gets never fails, and a failed download aborts the request instead.
    const body = new PassThrough();
    const aborted = new AbortController();
    source.once('error', (err) => aborted.abort(err));
    source.pipe(body);
    const done = await this.client.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key,
        Body: body,
        ContentLength: size,
        ContentMD5: request.metadata.md5 ? Buffer.from(request.metadata.md5, 'hex').toString('base64') : undefined,
        ChecksumAlgorithm: this.sendsChecksums && !request.metadata.md5 ? 'CRC32' : undefined,
        ...this.objectSettings(request.contentType),
        Metadata: toS3Metadata(request.metadata),
      }),
      { abortSignal: request.signal ? AbortSignal.any([aborted.signal, request.signal]) : aborted.signal },
    );
    const verified = await request.verified;
    const written = { key: Key, size: verified.size, etag: done.ETag, versionId: done.VersionId };
    return await this.storeSha256IfMissing(written, request, verified.sha256);
  }

  private async uploadInParts(Key: string, request: UploadRequest): Promise<UploadResult> {
    const upload = new Upload({
      client: this.clientAbortedBy(request.signal),
      // A failed or unverified upload is aborted: no parts left behind, nothing under the key.
      leavePartsOnError: false,
      partSize: partSizeFor(request.size, this.config.maxParts),
      queueSize: 2,
      params: {
        Bucket: this.config.bucket,
        Key,
        Body: request.body,
        ...this.objectSettings(request.contentType),
        Metadata: toS3Metadata(request.metadata),
      },
    });
    const done = await upload.done();
    const verified = await request.verified;
    const written = { key: Key, size: verified.size, etag: done.ETag, versionId: done.VersionId };
    return await this.storeSha256IfMissing(written, request, verified.sha256);
  }

  /**
   * The client as lib-storage's Upload sees it: every request carries the abort signal, which the Upload
   * would not pass on to its part uploads, except the AbortMultipartUpload that cleans up after it.
   */
  private clientAbortedBy(signal: AbortSignal | undefined): S3Client {
    if (!signal) return this.client;
    const client = this.client;
    const send = ((command: Parameters<S3Client['send']>[0], options?: object) => {
      const cleanup = command instanceof AbortMultipartUploadCommand;
      return client.send(command, cleanup ? options : { ...options, abortSignal: signal });
    }) as S3Client['send'];
    return Object.assign(Object.create(client) as S3Client, { send });
  }

  async beginPartUpload(request: PartUploadRequest, resumeToken?: unknown): Promise<PartUpload> {
    const Key = this.fullKey(request.key);
    const target = {
      client: this.client,
      signal: request.signal,
      Bucket: this.config.bucket,
      Key,
      create: { ...this.objectSettings(request.contentType), Metadata: toS3Metadata(request.metadata) },
      finish: (completed: UploadResult, verified: { sha256: string }) => this.storeSha256IfMissing(completed, request, verified.sha256),
    };
    const wrap = <T>(what: string, run: () => Promise<T>) => run().catch((err) => Promise.reject(this.uploadError(Key, err, what)));
    const upload = await wrap('starting', () => S3PartUpload.begin(target, resumeToken));
    return {
      writePart: (n, bytes) => wrap(`part ${n} of`, () => upload.writePart(n, bytes)),
      resumeToken: () => upload.resumeToken(),
      complete: (verified) => wrap('completing', () => upload.complete(verified)),
      abort: () => wrap('aborting', () => upload.abort()),
    };
  }

  private objectSettings(contentType: string) {
    return { ContentType: contentType, StorageClass: this.storageClass, ServerSideEncryption: this.config.serverSideEncryption };
  }

  /** When the metadata lacks the SHA-256 (exports, files Drive gave none for), tags the version just written with it. */
  private async storeSha256IfMissing(
    done: UploadResult,
    request: Pick<UploadRequest, 'metadata' | 'signal'>,
    sha256: string,
  ): Promise<UploadResult> {
    if (request.metadata.sha256 === sha256) return done;
    const Tagging = { TagSet: [{ Key: SHA256_TAG, Value: sha256 }] };
    const tagging = new PutObjectTaggingCommand({ Bucket: this.config.bucket, Key: done.key, VersionId: done.versionId, Tagging });
    await this.client.send(tagging, { abortSignal: request.signal });
    return done;
  }

  private uploadError(Key: string, err: unknown, what = 'uploading'): DestinationError {
    if (err instanceof DestinationError) return err;
    return new DestinationError(this.name, `${what} ${Key} failed: ${describeS3Error(err)}`, { cause: err });
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const Key = this.fullKey(key);
    const res = await this.headObject(Key);
    if (!res) return undefined;
    try {
      return {
        size: res.ContentLength ?? 0,
        sha256: await this.storedSha256(Key, res),
        driveFileId: res.Metadata?.['drive-file-id'],
        version: res.Metadata?.['drive-version'],
      };
    } catch (err) {
      throw new DestinationError(this.name, `reading the tags of ${Key} failed: ${describeS3Error(err)}`, { cause: err });
    }
  }

  private async headObject(Key: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }), { abortSignal: signal });
    } catch (err) {
      if (err instanceof NotFound || (err as S3ServiceException).$metadata?.httpStatusCode === 404) return undefined;
      throw new DestinationError(this.name, `HEAD ${Key} failed: ${describeS3Error(err)}`, { cause: err });
    }
  }

  /**
   * Only objects whose hash came late have none in their metadata, so only they cost a tag read. HEAD's tag
   * count is not relied on: S3-compatible stores do not all send it, nor AWS without tag-read permission.
   */
  private async storedSha256(Key: string, head: HeadObjectCommandOutput): Promise<string | undefined> {
    if (head.Metadata?.sha256) return head.Metadata.sha256;
    const res = await this.client.send(new GetObjectTaggingCommand({ Bucket: this.config.bucket, Key, VersionId: head.VersionId }));
    return res.TagSet?.find((t) => t.Key === SHA256_TAG)?.Value;
  }

  /**
   * One CopyObject up to the store's limit, UploadPartCopy in ranges above it: no byte passes through here. The
   * version the HEAD saw is the one copied, so the size and SHA-256 carried over are its own. A SHA-256 held in a
   * tag moves into the copy's metadata, where a new object keeps it.
   */
  async copy(request: CopyRequest): Promise<UploadResult> {
    const from = this.fullKey(request.from);
    const Key = this.fullKey(request.to);
    try {
      const source = await this.headObject(from, request.signal);
      if (!source) throw new ObjectMissingError(this.name, `${from} does not exist`);
      const size = source.ContentLength ?? 0;
      const sha256 = request.metadata.sha256 ?? (await this.storedSha256(from, source));
      const target = {
        Bucket: this.config.bucket,
        Key,
        ...this.objectSettings(request.contentType),
        Metadata: toS3Metadata({ ...request.metadata, sha256 }),
      };
      const CopySource = copySourceOf(this.config.bucket, from, source.VersionId);
      if (size > this.singleCopyMaxBytes) {
        const partSize = partSizeFor(size, this.config.maxParts);
        const done = await copyInParts({ client: this.client, signal: request.signal, target, copySource: CopySource, size, partSize });
        return { key: Key, size, ...done };
      }
      const copying = new CopyObjectCommand({ ...target, CopySource, MetadataDirective: 'REPLACE' });
      const done = await this.client.send(copying, { abortSignal: request.signal });
      return { key: Key, size, etag: done.CopyObjectResult?.ETag, versionId: done.VersionId };
    } catch (err) {
      // The source went between the HEAD and the copy.
      if ((err as S3ServiceException).name === 'NoSuchKey')
        throw new ObjectMissingError(this.name, `${from} does not exist`, { cause: err });
      throw this.uploadError(Key, err, `copying ${from} to`);
    }
  }

  async move(request: CopyRequest): Promise<UploadResult> {
    const copied = await this.copy(request);
    // A move onto its own key only rewrites the metadata.
    if (request.to !== request.from) await this.delete(request.from);
    return copied;
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key }));
    } catch (err) {
      throw new DestinationError(this.name, `deleting ${Key} failed: ${describeS3Error(err)}`, { cause: err });
    }
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    for await (const page of this.listPages(prefix)) {
      for (const o of page.Contents ?? []) yield { key: this.keyBelowPrefix(o.Key!), size: o.Size ?? 0 };
    }
  }

  /**
   * On a versioned bucket, MinIO (unlike AWS) still lists a folder whose objects all have delete markers: what
   * callers do with a folder must hold for an empty one.
   */
  async listFolders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    for await (const page of this.listPages(prefix, '/')) {
      folders.push(...(page.CommonPrefixes ?? []).map((p) => this.keyBelowPrefix(p.Prefix!)));
    }
    return folders;
  }

  /** One DeleteObjects per listing page (at most 1,000 keys, its limit); a key the store would not delete fails the call. */
  async deleteUnder(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new DestinationError(this.name, `deleteUnder takes a folder ending in "/", not "${prefix}"`);
    let deleted = 0;
    for await (const page of this.listPages(prefix)) {
      const Objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (Objects.length === 0) continue;
      const deleting = new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects, Quiet: true } });
      const res = await this.client.send(deleting).catch((err) => {
        throw new DestinationError(this.name, `deleting under ${this.fullKey(prefix)} failed: ${describeS3Error(err)}`, { cause: err });
      });
      const [failed, ...more] = res.Errors ?? [];
      if (failed) {
        const others = more.length > 0 ? ` (and ${more.length} more keys)` : '';
        throw new DestinationError(this.name, `deleting ${failed.Key} failed: ${failed.Code}: ${failed.Message}${others}`);
      }
      deleted += Objects.length;
    }
    return deleted;
  }

  private async *listPages(prefix: string, Delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    const Prefix = this.fullKey(prefix);
    try {
      yield* paginateListObjectsV2({ client: this.client, pageSize: 1000 }, { Bucket: this.config.bucket, Prefix, Delimiter });
    } catch (err) {
      throw new DestinationError(this.name, `listing ${Prefix} failed: ${describeS3Error(err)}`, { cause: err });
    }
  }

  private keyBelowPrefix(fullKey: string): string {
    return fullKey.slice(this.fullKey('').length);
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const Key = this.fullKey(key);
    const { versionId: VersionId } = options;
    let body: Readable;
    try {
      // The signal through the call context, not send()'s options: the command's middleware stays cached.
      const res = await withCallContext({ signal: options.signal }, () =>
        this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key, VersionId })),
      );
      body = res.Body as Readable;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as S3ServiceException).$metadata?.httpStatusCode === 404) {
        const what = VersionId ? `version ${VersionId} of ${Key}` : Key;
        throw new ObjectMissingError(this.name, `${what} does not exist`, { cause: err });
      }
      throw new DestinationError(this.name, `GET ${Key} failed: ${describeS3Error(err)}`, { cause: err });
    }
    // The SDK's abort ends the request, not necessarily a body already flowing: the signal errors the body too.
    return options.signal ? addAbortSignal(options.signal, body) : body;
  }

  destroy(): void {
    this.client.destroy();
  }
}

function describeS3Error(err: unknown): string {
  const e = err as S3ServiceException & { code?: string };
  const status = e.$metadata?.httpStatusCode;
  return [e.name, status ? `HTTP ${status}` : undefined, e.message].filter(Boolean).join(': ');
}
