import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { PartUpload, UploadResult } from './destination';

const resumeTokenSchema = z.object({ uploadId: z.string().min(1), parts: z.array(z.object({ PartNumber: z.number().int().positive(), ETag: z.string() })) });
type ResumeToken = z.infer<typeof resumeTokenSchema>;

export interface S3PartTarget {
  client: S3Client;
  /** Aborts every request but AbortMultipartUpload, which cleans up. */
  signal?: AbortSignal;
  Bucket: string;
  Key: string;
  /** Sets metadata and storage class on the upload. */
  create: Omit<ConstructorParameters<typeof CreateMultipartUploadCommand>[0], 'Bucket' | 'Key'>;
  /** Runs after completion, e.g. to add a SHA-256 that was not known when the upload began. */
  finish: (completed: UploadResult, verified: { sha256: string; size: number }) => Promise<UploadResult>;
}

/** An S3 multipart upload whose id and part ETags are the resume token. */
export class S3PartUpload implements PartUpload {
  private constructor(
    private readonly target: S3PartTarget,
    private readonly token: ResumeToken,
  ) {}

  static async begin(target: S3PartTarget, resumeToken?: unknown): Promise<S3PartUpload> {
    const { client, Bucket, Key } = target;
    const abortSignal = target.signal;
    if (resumeToken === undefined) {
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ...target.create }), { abortSignal });
      return new S3PartUpload(target, { uploadId: created.UploadId!, parts: [] });
    }
    const token = resumeTokenSchema.parse(resumeToken);
    // The store is the authority: every part the token names must still be there with the same ETag.
    const listed = new Map<number, string>();
    let marker: string | undefined;
    do {
      const listing = new ListPartsCommand({ Bucket, Key, UploadId: token.uploadId, PartNumberMarker: marker });
      const page = await client.send(listing, { abortSignal });
      for (const p of page.Parts ?? []) listed.set(p.PartNumber!, p.ETag!);
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    const missing = token.parts.find((p) => listed.get(p.PartNumber) !== p.ETag);
    if (missing) throw new Error(`multipart upload ${token.uploadId} of ${Key} lost part ${missing.PartNumber}`);
    return new S3PartUpload(target, token);
  }

  async writePart(partNumber: number, bytes: Buffer): Promise<void> {
    const { client, Bucket, Key, signal } = this.target;
    const { uploadId: UploadId } = this.token;
    const part = new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: partNumber, Body: bytes, ContentLength: bytes.length });
    const res = await client.send(part, { abortSignal: signal });
    this.token.parts = [...this.token.parts.filter((p) => p.PartNumber !== partNumber), { PartNumber: partNumber, ETag: res.ETag! }];
  }

  resumeToken(): ResumeToken {
    return { uploadId: this.token.uploadId, parts: [...this.token.parts] };
  }

  async complete(verified: { sha256: string; size: number }): Promise<UploadResult> {
    const { client, Bucket, Key, signal } = this.target;
    const parts = [...this.token.parts].sort((a, b) => a.PartNumber - b.PartNumber);
    const { uploadId: UploadId } = this.token;
    const completing = new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } });
    const done = await client.send(completing, { abortSignal: signal });
    return this.target.finish({ key: Key, size: verified.size, etag: done.ETag, versionId: done.VersionId }, verified);
  }

  async abort(): Promise<void> {
    const { client, Bucket, Key } = this.target;
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: this.token.uploadId }));
  }
}
