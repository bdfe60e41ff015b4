import type { PlannedObject, StoredObjectRecord, TransferItem } from '../../common/types';
import { openDriveDownload } from '../drive/download';
import { Destination, PartUpload, partSizeFor } from '../storage/destination';
import { contentMismatch } from './hashingVerifier';
import type { LargeFileCheckpoint } from './largeFileCheckpoints';
import { objectMetadataOf } from './objectMetadata';
import { ResumableHashes } from './resumableHashes';
import type { StallWatch } from './stallWatch';
import type { TransferDeps, TryResult } from './transferDeps';

const partUploadRequest = (item: TransferItem, key: string) => ({
  key,
  size: item.size!,
  contentType: item.mimeType,
  metadata: objectMetadataOf(item),
});

/**
 * Drops the uploads a checkpoint names: S3 bills the parts of an open multipart upload until it is aborted,
 * and a partial file holds its disk space. Best effort; the bucket's AbortIncompleteMultipartUpload
 * lifecycle rule catches what this misses. Cleanup takes no abort signal: like S3's AbortMultipartUpload, it
 * writes no byte of the backup, and a cancelled attempt that stopped it halfway would leave the parts billed.
 */
async function dropUploads(deps: TransferDeps, item: TransferItem, checkpoint: LargeFileCheckpoint): Promise<void> {
  const request = partUploadRequest(item, checkpoint.key);
  const named = deps.destinations.filter((d) => d.name in checkpoint.uploads);
  if (named.length === 0) return;
  const dropped = await Promise.allSettled(named.map(async (d) => (await d.beginPartUpload(request, checkpoint.uploads[d.name])).abort()));
  dropped.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    const destination = named[i].name;
    deps.logger.warn({ event: 'transfer.drop_upload_failed', fileId: item.fileId, destination, err: r.reason }, 'could not drop an upload');
  });
  const destinations = named.map((d) => d.name);
  deps.logger.info({ event: 'transfer.uploads_dropped', fileId: item.fileId, destinations }, 'dropped the uploads of a checkpoint');
}

/**
 * The file is given up in this run (its tries are spent, or it is deferred): its checkpoint would leave with
 * the batch's last heartbeat, so nothing could ever resume or complete its uploads. Drops them.
 */
export async function giveUpLargeFile(deps: TransferDeps, item: TransferItem): Promise<void> {
  const checkpoint = deps.checkpoints.get(item.fileId);
  if (!checkpoint) return;
  deps.checkpoints.clear(item.fileId);
  await dropUploads(deps, item, checkpoint);
}

/** Opens a part upload on every destination, continuing from the checkpoint when it still holds for all. */
async function beginUploads(
  deps: TransferDeps,
  item: TransferItem,
  object: PlannedObject,
  destinations: Destination[],
  partSize: number,
  signal: AbortSignal,
  checkpoint?: LargeFileCheckpoint,
) {
  const request = { ...partUploadRequest(item, object.key), signal };
  const usable = checkpoint && checkpoint.version === item.version && checkpoint.key === object.key && checkpoint.partSize === partSize && destinations.every((d) => d.name in checkpoint.uploads);
  if (checkpoint && !usable) await dropUploads(deps, item, checkpoint);
  if (usable) {
    const resumed = await Promise.allSettled(destinations.map((d) => d.beginPartUpload(request, checkpoint.uploads[d.name])));
    if (resumed.every((r) => r.status === 'fulfilled')) {
      deps.logger.info({ event: 'transfer.resume', fileId: item.fileId, offset: checkpoint.offset, nextPart: checkpoint.nextPart }, 'resuming a large file from its checkpoint');
      return { uploads: resumed.map((r) => (r as PromiseFulfilledResult<PartUpload>).value), from: checkpoint };
    }
    const reason = resumed.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    deps.logger.warn({ event: 'transfer.resume_failed', fileId: item.fileId, err: reason.reason }, 'checkpoint no longer usable; starting the file over');
    await Promise.allSettled(resumed.map((r) => (r.status === 'fulfilled' ? r.value.abort() : undefined)));
  }
  const started = await Promise.allSettled(destinations.map((d) => d.beginPartUpload(request)));
  return { uploads: started.map((r) => (r.status === 'fulfilled' ? r.value : r.reason as Error)), from: undefined };
}

/**
 * One try at a large binary file: downloads from the checkpoint's offset (a Range request), cuts the bytes
 * into equal parts and writes each part to every destination before it counts, checkpointing after each.
 * Memory holds one part. A broken download keeps the checkpoint, so the next try, in this process or
 * another after a crash, goes on from the last part. Bytes that do not match Drive's size and MD5 are
 * never completed on any destination.
 */
export async function tryLargeFileOnce(
  deps: TransferDeps,
  item: TransferItem,
  object: PlannedObject,
  destinations: Destination[],
  acknowledgeAbuse: boolean,
  watch: StallWatch,
): Promise<TryResult> {
  const size = item.size!;
  const partSize = Math.max(...destinations.map((d) => partSizeFor(size, d.maxParts)));
  const checkpoints = deps.checkpoints;
  const checkpoint = checkpoints.get(item.fileId);
  const { uploads: opened, from } = await beginUploads(deps, item, object, destinations, partSize, watch.signal, checkpoint);
  const live = new Map<Destination, PartUpload>();
  const failed: Destination[] = [];
  let error: unknown;
  const drop = (d: Destination, err: unknown) => {
    const upload = live.get(d);
    live.delete(d);
    failed.push(d);
    error ??= err;
    if (upload) void upload.abort().catch(() => undefined);
  };
  destinations.forEach((d, i) => (opened[i] instanceof Error ? drop(d, opened[i]) : live.set(d, opened[i] as PartUpload)));
  const uploadTokens = () => Object.fromEntries([...live].map(([d, u]) => [d.name, u.resumeToken()]));
  // A resumed upload may now live under another name (a local partial file is this try's own): the
  // checkpoint names it at once, so the next try finds it even if this one writes no part.
  if (from) checkpoints.save({ ...from, uploads: uploadTokens() });

  const hashes = await ResumableHashes.start(from?.hashes);
  const startOffset = from?.offset ?? 0;
  let offset = startOffset;
  let partNumber = from?.nextPart ?? 1;
  const writePart = async (bytes: Buffer) => {
    hashes.update(bytes);
    const written = await Promise.allSettled([...live.values()].map((u) => u.writePart(partNumber, bytes)));
    [...live.keys()].forEach((d, i) => written[i].status === 'rejected' && drop(d, (written[i] as PromiseRejectedResult).reason));
    partNumber++;
    offset += bytes.length;
    const { fileId, version } = item;
    checkpoints.save({ fileId, version, key: object.key, partSize, offset, nextPart: partNumber, hashes: hashes.save(), uploads: uploadTokens() });
  };

  const downloadParts = async (): Promise<void> => {
    const download = openDriveDownload(deps.drive, item.fileId, { acknowledgeAbuse, offset: startOffset, signal: watch.signal });
    const source = await watch.waitFor(download);
    // One part buffer, refilled once every destination has the part: no per-part garbage for the GC to trail.
    const part = Buffer.allocUnsafeSlow(Math.min(partSize, size - startOffset));
    let filled = 0;
    // Writing a part is not waiting on Drive: the watch times only the waits for the next chunk.
    for await (const chunk of watch.chunksOf(source)) {
      for (let used = 0; used < chunk.length; ) {
        const copied = chunk.copy(part, filled, used);
        used += copied;
        filled += copied;
        if (filled === part.length) {
          await writePart(part);
          filled = 0;
        }
      }
      if (live.size === 0) return;
    }
    if (filled > 0) await writePart(part.subarray(0, filled));
  };

  try {
    if (live.size === 0) return { stored: [], failed, error, bytes: 0 };
    // A crash after the last part and before completion leaves nothing to download.
    if (startOffset < size) await downloadParts();
  } catch (err) {
    // The checkpoint stays: the next try asks Drive for the bytes after the last part.
    return { stored: [], failed: destinations, error: err, bytes: offset - startOffset };
  }
  if (live.size === 0) return { stored: [], failed, error, bytes: offset - startOffset };

  checkpoints.clear(item.fileId);
  const { md5, sha256 } = hashes.digest();
  const mismatch = contentMismatch({ size, md5: item.md5, sha256: item.sha256 }, { size: offset, md5, sha256 });
  if (mismatch) {
    await Promise.allSettled([...live.values()].map((u) => u.abort()));
    return { stored: [], failed: destinations, error: mismatch, bytes: offset - startOffset };
  }
  const stored: StoredObjectRecord[] = [];
  const completing = [...live];
  const completed = await Promise.allSettled(completing.map(([, u]) => u.complete({ sha256, size })));
  completing.forEach(([d], i) => {
    const r = completed[i];
    if (r.status === 'fulfilled') stored.push({ format: object.format, destination: d.name, key: object.key, size, sha256, etag: r.value.etag, versionId: r.value.versionId, fileVersion: item.version });
    else drop(d, r.reason);
  });
  return { stored, failed, error, bytes: offset - startOffset };
}
