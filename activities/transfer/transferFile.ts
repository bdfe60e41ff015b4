import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXPORT_MIME_TYPES } from '../../common/exportFormats';
import type { PlannedObject, StoredObjectRecord, TransferItem, TransferOutcome } from '../../common/types';
import { openDriveDownload, openDriveExport } from '../drive/download';
import type { Destination } from '../storage/destination';
import { WHOLE_OBJECT_MAX_BYTES, readHead } from '../storage/readHead';
import { confirmWritten } from './confirmWritten';
import { type FanOutResult, fanOut, fanOutWhole } from './fanOut';
import { objectMetadataOf } from './objectMetadata';
import { type TransferErrorClass, backoffMs, classifyTransferError } from './retryPolicy';
import { StallWatch } from './stallWatch';
import type { TransferDeps, TryResult } from './transferDeps';
import { giveUpLargeFile, tryLargeFileOnce } from './transferLargeFile';

/** Waits before the next try; the activity's cancellation ends the wait at once. */
async function backOff(ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => signal?.throwIfAborted());
}

/** One download of one object, streamed to the given destinations; `watch` times Drive and aborts the try. */
async function tryObjectOnce(
  deps: TransferDeps,
  item: TransferItem,
  object: PlannedObject,
  destinations: Destination[],
  acknowledgeAbuse: boolean,
  watch: StallWatch,
): Promise<TryResult> {
  await deps.driveTurn?.take(deps.signal);
  if (item.kind === 'binary' && (item.size ?? 0) >= deps.resumableMinBytes) {
    return tryLargeFileOnce(deps, item, object, destinations, acknowledgeAbuse, watch);
  }
  const { signal } = watch;
  let body: Readable;
  try {
    body = await watch.waitFor(
      item.kind === 'binary'
        ? openDriveDownload(deps.drive, item.fileId, { acknowledgeAbuse, signal })
        : openDriveExport(deps.drive, item.fileId, EXPORT_MIME_TYPES[object.format], signal),
    );
  } catch (error) {
    return { stored: [], failed: destinations, error, bytes: 0 };
  }
  // Drive is done with this file once its body is read (or given up): the slot goes to the next file.
  body.once('close', () => deps.driveTurn?.give());
  const expected = item.kind === 'binary' ? { md5: item.md5, sha256: item.sha256, size: item.size } : {};
  const request = {
    key: object.key,
    size: item.kind === 'binary' ? (item.size ?? undefined) : undefined,
    contentType: item.kind === 'binary' ? item.mimeType : EXPORT_MIME_TYPES[object.format],
    metadata: objectMetadataOf(item),
    signal,
  };
  let fannedOut: FanOutResult;
  // An object that may be small (an export's size is unknown) is read whole first if it is: checked at once,
  // and written with no stream per destination.
  if ((request.size ?? 0) <= WHOLE_OBJECT_MAX_BYTES) {
    let head: Awaited<ReturnType<typeof readHead>>;
    try {
      head = await readHead(watch.chunksOf(body), WHOLE_OBJECT_MAX_BYTES);
    } catch (error) {
      return { stored: [], failed: destinations, error, bytes: 0 };
    }
    fannedOut = head.whole
      ? await fanOutWhole(head.whole, expected, destinations, () => request)
      : await fanOut(head.rest, expected, destinations, () => request);
  } else {
    fannedOut = await fanOut(Readable.from(watch.chunksOf(body)), expected, destinations, () => request);
  }
  const { results, verified } = fannedOut;
  if (verified.status === 'rejected') return { stored: [], failed: destinations, error: verified.reason, bytes: 0 };
  const { sha256, size } = verified.value;
  const stored: StoredObjectRecord[] = [];
  const failed: Destination[] = [];
  let error: unknown;
  for (const { destination, outcome } of results) {
    if (outcome.status === 'fulfilled') {
      stored.push({
        format: object.format,
        destination: destination.name,
        key: object.key,
        size,
        sha256,
        etag: outcome.value.etag,
        versionId: outcome.value.versionId,
        fileVersion: item.version,
      });
    } else {
      failed.push(destination);
      error ??= outcome.reason;
    }
  }
  return { stored, failed, error, bytes: size };
}

/**
 * Copies one object of a file (the file, or one export format) to every destination, with one download
 * per try. A retry, in this run or a later one, only writes to the destinations that do not have it yet.
 */
async function transferObject(
  deps: TransferDeps,
  item: TransferItem,
  object: PlannedObject,
  stored: StoredObjectRecord[],
): Promise<{ failure?: TransferOutcome['failure']; bytes: number }> {
  let remaining = deps.destinations.filter((d) => !object.storedAt.includes(d.name));
  if (remaining.length === 0) return { bytes: 0 };
  let acknowledgeAbuse = false;
  let bytes = 0;
  let last: TransferErrorClass | undefined;
  for (let attempt = 1; attempt <= deps.attempts; attempt++) {
    if (attempt > 1) await backOff(backoffMs(attempt - 1, deps.backoffBaseMs), deps.signal);
    const watch = new StallWatch(deps.stallTimeoutMs, deps.signal, deps.meter);
    const result = await tryObjectOnce(deps, item, object, remaining, acknowledgeAbuse, watch).finally(() => deps.driveTurn?.give());
    deps.signal?.throwIfAborted();
    const written = await confirmWritten(deps.destinations, result.stored);
    stored.push(...written.confirmed);
    bytes += result.bytes;
    remaining = [...result.failed, ...written.failed];
    if (remaining.length === 0) return { bytes };
    // An aborted try failed because of the stall, whatever error its streams then saw.
    last = classifyTransferError(watch.signal.aborted ? watch.signal.reason : (result.error ?? written.error));
    deps.logger.warn(
      {
        event: 'transfer.attempt_failed',
        fileId: item.fileId,
        format: object.format || undefined,
        attempt,
        reason: last.reason,
        destinations: remaining.map((d) => d.name),
        err: last.message,
      },
      'transfer attempt failed',
    );
    if (last.action === 'defer' || last.action === 'fail') break;
    if (last.action === 'retry-acknowledging-abuse') acknowledgeAbuse = true;
  }
  if (!deps.signal?.aborted) await giveUpLargeFile(deps, item);
  return {
    bytes,
    failure: {
      reason: last!.reason,
      message: last!.message,
      attempts: deps.attempts,
      destinations: remaining.map((d) => d.name),
      deferred: last!.action === 'defer',
    },
  };
}

/** Copies every object of one file to every destination; a failure names the object's destinations and reason. */
export async function transferFile(deps: TransferDeps, item: TransferItem): Promise<TransferOutcome> {
  const stored: StoredObjectRecord[] = [];
  let bytesDownloaded = 0;
  for (const object of item.objects) {
    const { failure, bytes } = await transferObject(deps, item, object, stored);
    bytesDownloaded += bytes;
    if (failure) return { fileId: item.fileId, version: item.version, stored, failure, bytesDownloaded };
  }
  deps.logger.info(
    { event: 'transfer.file_done', fileId: item.fileId, objects: stored.length, bytes: bytesDownloaded },
    'file transferred',
  );
  return { fileId: item.fileId, version: item.version, stored, bytesDownloaded };
}
