import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';

/** UploadPartCopy calls at once: the store copies each range itself, so they cost this process nothing but a request. */
const PARTS_IN_FLIGHT = 4;

export interface PartCopy {
  client: S3Client;
  signal?: AbortSignal;
  /** The new object: bucket, key, metadata and object settings. */
  target: CreateMultipartUploadCommandInput & { Bucket: string; Key: string };
  /** URL-encoded `bucket/key`, with the version to copy. */
  copySource: string;
  size: number;
  partSize: number;
}

/** `bucket/key` as CopySource wants it, URL-encoded (the SDK sends it as given), naming the exact version when there is one. */
export function copySourceOf(bucket: string, key: string, versionId: string | undefined): string {
  const path = `${bucket}/${key}`.split('/').map(encodeURIComponent).join('/');
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

/**
 * Copies an object too large for one CopyObject (over 5 GiB) range by range into a multipart upload. Nothing is
 * visible under the key before completion; a failure aborts the upload, once no part copy is in flight any more.
 */
export async function copyInParts(copy: PartCopy): Promise<{ etag?: string; versionId?: string }> {
  const { client, target, copySource, size, partSize } = copy;
  const { Bucket, Key } = target;
  const abortSignal = copy.signal;
  const created = await client.send(new CreateMultipartUploadCommand(target), { abortSignal });
  const UploadId = created.UploadId!;
  const count = Math.ceil(size / partSize);
  const etags: string[] = [];
  let next = 0;
  let failed = false;
  const copyParts = async () => {
    for (let i = next++; i < count && !failed; i = next++) {
      const range = `bytes=${i * partSize}-${Math.min(size, (i + 1) * partSize) - 1}`;
      const part = new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber: i + 1, CopySource: copySource, CopySourceRange: range });
      try {
        etags[i] = (await client.send(part, { abortSignal })).CopyPartResult!.ETag!;
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  try {
    const copied = await Promise.allSettled(Array.from({ length: Math.min(PARTS_IN_FLIGHT, count) }, copyParts));
    const failure = copied.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    const Parts = etags.map((ETag, i) => ({ PartNumber: i + 1, ETag }));
    const done = await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }), {
      abortSignal,
    });
    return { etag: done.ETag, versionId: done.VersionId };
  } catch (err) {
    // Without the signal: the cleanup must run after a cancellation too. Copied parts are billed until then.
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}
