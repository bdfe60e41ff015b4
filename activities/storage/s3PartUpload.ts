import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { PartUpload, UploadResult } from './destination';

/**
 * The upload id and how many parts, from the first, are written: the same size at 10,000 parts as at
 * one, so a heartbeat carrying several large files stays far below Temporal's 2 MB payload limit.
 */
const resumeTokenSchema = z.object({ uploadId: z.string().min(1), parts: z.number().int().nonnegative() });
type ResumeToken = z.infer<typeof resumeTokenSchema>;

export interface S3PartTarget {
  client: S3Client;
  /** Aborts every request but AbortMultipartUpload, which cleans up. */
  signal?: AbortSignal;
  Bucket: string;
  Key: string;
  /** Sets metadata and storage class on the upload. */
  create: Omit<ConstructorParameters<typeof CreateMultipartUploadCommand>[0], 'Bucket' | 'Key'>;
  /** Runs after completion, e.g. to store a SHA-256 that was not known when the upload began. */
  finish: (completed: UploadResult, verified: { sha256: string; size: number }) => Promise<UploadResult>;
}

/** An S3 multipart upload that another process continues from its resume token; the store keeps the part ETags. */
export class S3PartUpload implements PartUpload {
  /** Parts 1 to `parts` are written. */
  private parts = 0;

  private constructor(
    private readonly target: S3PartTarget,
    private readonly uploadId: string,
    /** Every part written, this process's and those ListParts found, by number. */
    private readonly etags: Map<number, string>,
  ) {
    this.countWritten();
  }

  static async begin(target: S3PartTarget, resumeToken?: unknown): Promise<S3PartUpload> {
    const { client, Bucket, Key } = target;
    const abortSignal = target.signal;
    if (resumeToken === undefined) {
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ...target.create }), { abortSignal });
      return new S3PartUpload(target, created.UploadId!, new Map());
    }
    const token = resumeTokenSchema.parse(resumeToken);
    // The store is the authority: every part the token counts must still be there. Parts written after
    // the token was taken are written again, and their new ETags replace these.
    const etags = new Map<number, string>();
    let marker: string | undefined;
    do {
      const listing = new ListPartsCommand({ Bucket, Key, UploadId: token.uploadId, PartNumberMarker: marker });
      const page = await client.send(listing, { abortSignal });
      for (const p of page.Parts ?? []) if (p.PartNumber! <= token.parts) etags.set(p.PartNumber!, p.ETag!);
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    const upload = new S3PartUpload(target, token.uploadId, etags);
    if (upload.parts < token.parts) throw new Error(`multipart upload ${token.uploadId} of ${Key} lost part ${upload.parts + 1}`);
    return upload;
  }

  async writePart(partNumber: number, bytes: Buffer): Promise<void> {
    const { client, Bucket, Key, signal } = this.target;
    const UploadId = this.uploadId;
    const part = new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: partNumber, Body: bytes, ContentLength: bytes.length });
    const res = await client.send(part, { abortSignal: signal });
    this.etags.set(partNumber, res.ETag!);
    this.countWritten();
  }

  private countWritten(): void {
    while (this.etags.has(this.parts + 1)) this.parts++;
  }

  resumeToken(): ResumeToken {
    return { uploadId: this.uploadId, parts: this.parts };
  }

  async complete(verified: { sha256: string; size: number }): Promise<UploadResult> {
    const { client, Bucket, Key, signal } = this.target;
    const Parts = [...this.etags].sort(([a], [b]) => a - b).map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
    const completing = new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId, MultipartUpload: { Parts } });
    const done = await client.send(completing, { abortSignal: signal });
    return this.target.finish({ key: Key, size: verified.size, etag: done.ETag, versionId: done.VersionId }, verified);
  }

  async abort(): Promise<void> {
    const { client, Bucket, Key } = this.target;
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId }));
  }
}
