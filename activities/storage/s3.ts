import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, NotFound, S3Client, S3ServiceException, StorageClass } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { S3DestinationConfig } from '../../common/config';
import { Destination, DestinationError, ObjectHead, ObjectMetadata, PartUpload, PartUploadRequest, UploadRequest, UploadResult } from './destination';
import { S3PartUpload } from './s3PartUpload';

const MiB = 1024 * 1024;
const MIN_PART = 5 * MiB;
/** Exports have no size up front: a part size that still allows 8 GB at Scaleway's 1,000 parts. */
const UNKNOWN_SIZE_PART = 8 * MiB;
/** S3's single CopyObject limit, which adding metadata after an upload goes through. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** The smallest whole-MiB part size (at least 5 MiB) that keeps the upload within `maxParts`. */
export function partSizeFor(size: number | undefined, maxParts: number): number {
  if (size === undefined) return UNKNOWN_SIZE_PART;
  return Math.max(MIN_PART, Math.ceil(size / maxParts / MiB) * MiB);
}

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

/** AWS S3 or any S3-compatible store (Scaleway, OVH, Hetzner, Exoscale, MinIO). */
export class S3Destination implements Destination {
  readonly name: string;
  readonly maxParts: number;
  private readonly client: S3Client;
  private readonly storageClass?: StorageClass;

  constructor(private readonly config: S3DestinationConfig, credentials: S3Credentials) {
    this.name = config.name;
    this.maxParts = config.maxParts;
    const checksums = config.requestChecksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials,
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
    });
    // Intelligent-Tiering is the right default on AWS only; other providers reject or ignore the class.
    this.storageClass = (config.storageClass ?? (config.endpoint ? undefined : 'INTELLIGENT_TIERING')) as StorageClass | undefined;
  }

  fullKey(key: string): string {
    return this.config.prefix ? `${this.config.prefix.replace(/\/+$/, '')}/${key}` : key;
  }

  async upload(request: UploadRequest): Promise<UploadResult> {
    const Key = this.fullKey(request.key);
    const Bucket = this.config.bucket;
    try {
      const upload = new Upload({
        client: this.client,
        // A failed or unverified upload is aborted: no parts left behind, nothing under the key.
        leavePartsOnError: false,
        partSize: partSizeFor(request.size, this.config.maxParts),
        queueSize: 2,
        params: { Bucket, Key, Body: request.body, ...this.objectSettings(request.contentType), Metadata: toS3Metadata(request.metadata) },
      });
      const done = await upload.done();
      const verified = await request.verified;
      return await this.addSha256IfMissing({ key: Key, size: verified.size, etag: done.ETag, versionId: done.VersionId }, request, verified.sha256);
    } catch (err) {
      throw this.uploadError(Key, err);
    }
  }

  async beginPartUpload(request: PartUploadRequest, resumeToken?: unknown): Promise<PartUpload> {
    const Key = this.fullKey(request.key);
    const target = {
      client: this.client,
      Bucket: this.config.bucket,
      Key,
      create: { ...this.objectSettings(request.contentType), Metadata: toS3Metadata(request.metadata) },
      finish: (completed: UploadResult, verified: { sha256: string }) => this.addSha256IfMissing(completed, request, verified.sha256),
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

  /** When the hash was not known as the upload began (exports, files Drive gave no SHA-256 for), adds it by copying in place. */
  private async addSha256IfMissing(done: UploadResult, request: Pick<UploadRequest, 'metadata' | 'contentType'>, sha256: string): Promise<UploadResult> {
    if (request.metadata.sha256 === sha256) return done;
    const Bucket = this.config.bucket;
    if (done.size > MAX_COPY_BYTES) throw new DestinationError(this.name, `${done.key}: cannot add the SHA-256 to an object over 5 GiB by copy`);
    const copied = await this.client.send(
      new CopyObjectCommand({
        Bucket,
        Key: done.key,
        CopySource: `${Bucket}/${encodeURIComponent(done.key).replace(/%2F/g, '/')}`,
        MetadataDirective: 'REPLACE',
        Metadata: toS3Metadata({ ...request.metadata, sha256 }),
        ...this.objectSettings(request.contentType),
      }),
    );
    return { ...done, etag: copied.CopyObjectResult?.ETag ?? done.etag, versionId: copied.VersionId ?? done.versionId };
  }

  private uploadError(Key: string, err: unknown, what = 'uploading'): DestinationError {
    if (err instanceof DestinationError) return err;
    return new DestinationError(this.name, `${what} ${Key} failed: ${describeS3Error(err)}`, { cause: err });
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const Key = this.fullKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }));
      return { size: res.ContentLength ?? 0, sha256: res.Metadata?.sha256, driveFileId: res.Metadata?.['drive-file-id'] };
    } catch (err) {
      if (err instanceof NotFound || (err as S3ServiceException).$metadata?.httpStatusCode === 404) return undefined;
      throw new DestinationError(this.name, `HEAD ${Key} failed: ${describeS3Error(err)}`, { cause: err });
    }
  }

  async read(key: string): Promise<Readable> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.fullKey(key) }));
    return res.Body as Readable;
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
