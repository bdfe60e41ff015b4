import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PartUpload, UploadResult } from './destination';

/**
 * The upload id, how many parts, from the first, are written, and a SHA-256 over those parts' ETags: the
 * same size at 10,000 parts as at one, so a heartbeat carrying several large files stays far below
 * Temporal's 2 MB payload limit, yet a part that an older attempt still running rewrote is noticed.
 */
const resumeTokenSchema = z.object({
  uploadId: z.string().min(1),
  parts: z.number().int().nonnegative(),
  etags: z.string().regex(/^[0-9a-f]{64}$/),
});
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
  /** SHA-256 over the ETags of parts 1 to `parts`, in order. */
  private etagChain = createHash('sha256');

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
    // The checkpoint's hashes vouch for the bytes the token's parts held then: an old attempt that was never
    // told it was replaced may have rewritten one since, with bytes of its own.
    let spoilt: string | undefined;
    if (upload.parts < token.parts) spoilt = `lost part ${upload.parts + 1}`;
    else if (upload.etagDigest() !== token.etags) spoilt = `had a part among 1 to ${token.parts} rewritten by another attempt`;
    if (spoilt) {
      // Nobody can complete it with the bytes the checkpoint vouches for: it would only be billed.
      await upload.abort().catch(() => undefined);
      throw new Error(`multipart upload ${token.uploadId} of ${Key} ${spoilt}`);
    }
    return upload;
  }

  async writePart(partNumber: number, bytes: Buffer): Promise<void> {
    const { client, Bucket, Key, signal } = this.target;
    const UploadId = this.uploadId;
    const part = new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: partNumber, Body: bytes, ContentLength: bytes.length });
    const res = await client.send(part, { abortSignal: signal });
    this.etags.set(partNumber, res.ETag!);
    // A counted part written again changes what the chain vouches for: it is counted again from part 1.
    if (partNumber <= this.parts) [this.parts, this.etagChain] = [0, createHash('sha256')];
    this.countWritten();
  }

  private countWritten(): void {
    while (this.etags.has(this.parts + 1)) {
      this.parts++;
      // Quotes dropped: not every S3-compatible store quotes an ETag the same in UploadPart and ListParts.
      this.etagChain.update(`${this.parts} ${this.etags.get(this.parts)!.replaceAll('"', '')}\n`);
    }
  }

  private etagDigest(): string {
    return this.etagChain.copy().digest('hex');
  }

  resumeToken(): ResumeToken {
    return { uploadId: this.uploadId, parts: this.parts, etags: this.etagDigest() };
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
