import type { StoredObjectRecord, TransferItem, TransferOutcome } from '../../common/types';
import type { Catalog } from './catalog';
import type { ObjectKeyPlanner } from './objectKeys';
import { type ScopeRules, compileScopeRules } from './scopeRules';
import { addTransferredObjects } from './transferDays';

type PendingRow = {
  id: string;
  name: string;
  kind: 'binary' | 'workspace';
  mime_type: string;
  size: number | null;
  md5: string | null;
  drive_sha256: string | null;
  modified_time: string;
  version: string;
  owned_by_me: number | null;
};

export interface PendingBatch {
  items: TransferItem[];
  nextAfterId: string;
  /** Pending files this claim went past, including those the scope rules skipped, and their bytes. */
  consumed: { files: number; bytes: number };
  /** Pending files and bytes after this batch, when asked for: counting them costs a scan, so once per run. */
  pendingAfter?: { files: number; bytes: number };
}

/** Why a file that appears only under "Shared with me" is not backed up. */
export const SHARED_WITH_ME_SKIP = 'appears only under Shared with me, and scope.sharedWithMe is off';

export interface ScopeOptions {
  scopeRules: ScopeRules;
  includeSharedWithMe: boolean;
}

/**
 * A pending file's Drive path, and why the scope keeps it out of the backup (it is then recorded as skipped) when it
 * does.
 */
export function scopeCheck(
  planner: ObjectKeyPlanner,
  options: ScopeOptions,
): (file: { id: string; size: number | null; owned_by_me: number | null }) => { drivePath: string; skipReason?: string } {
  const outOfScope = compileScopeRules(options.scopeRules);
  return (file) => {
    const { drivePath, root } = planner.locate(file.id);
    // The user's own file inside a folder shared with them is theirs to keep, whatever the scope says of others'.
    const skipReason =
      root === 'shared-with-me' && !options.includeSharedWithMe && file.owned_by_me !== 1
        ? SHARED_WITH_ME_SKIP
        : outOfScope({ drivePath, size: file.size });
    return { drivePath, skipReason };
  };
}

export interface ClaimInput {
  afterId: string;
  limit: number;
  countPending?: boolean;
  /** The claiming run: files it takes are its own until recorded, and files another running run holds are left to it. */
  runId?: string;
}

/**
 * The next pending files after `afterId`, as transfer descriptors with their keys. In one transaction:
 * files the scope rules keep out are marked skipped, and every other file gets its recorded object keys
 * (new ones recorded now), so no other claim can give the same key to another file, and is claimed by the
 * run, so a sweep and a full sync running at once never transfer one file twice. The batch is empty only
 * when nothing is pending after it.
 */
export function claimPendingBatch(
  catalog: Catalog,
  options: { planner: ObjectKeyPlanner; scopeRules: ScopeRules; includeSharedWithMe: boolean },
  input: ClaimInput,
): PendingBatch {
  const { planner } = options;
  planner.beginBatch();
  try {
    return catalog.db.transaction(() => claimInTransaction(catalog, options, input))();
  } catch (err) {
    planner.forget();
    throw err;
  }
}

function claimInTransaction(
  catalog: Catalog,
  options: { planner: ObjectKeyPlanner; scopeRules: ScopeRules; includeSharedWithMe: boolean },
  input: ClaimInput,
): PendingBatch {
  // A claim by a run no longer running (finished, or found abandoned) is no claim.
  const selectPending = catalog.db.prepare(
    `SELECT id, name, kind, mime_type, size, md5, drive_sha256, modified_time, version, owned_by_me FROM files
     WHERE state = 'pending' AND gone IS NULL AND id > @afterId
       AND (claimed_by IS NULL OR claimed_by = @runId OR claimed_by NOT IN (SELECT id FROM runs WHERE status = 'running'))
     ORDER BY id LIMIT @limit`,
  );
  const claim = catalog.db.prepare('UPDATE files SET claimed_by = ? WHERE id = ?');
  const { planner } = options;
  const checkScope = scopeCheck(planner, options);
  const storedAt = catalog.db.prepare(
    `SELECT destination FROM objects WHERE file_id = ? AND format = ? AND key = ? AND file_version = ? AND state IN ('uploaded', 'verified')`,
  );
  const items: TransferItem[] = [];
  let nextAfterId = input.afterId;
  const consumed = { files: 0, bytes: 0 };
  while (items.length === 0) {
    const rows = selectPending.all({ afterId: nextAfterId, runId: input.runId ?? null, limit: input.limit }) as PendingRow[];
    if (rows.length === 0) break;
    consumed.files += rows.length;
    nextAfterId = rows.at(-1)!.id;
    for (const r of rows) {
      consumed.bytes += r.size ?? 0;
      const { drivePath, skipReason } = checkScope(r);
      if (skipReason) {
        catalog.markSkipped(r.id, skipReason);
        continue;
      }
      if (input.runId) claim.run(input.runId, r.id);
      const objects = planner.assignKeys(r.id).map((o) => ({
        ...o,
        storedAt: (storedAt.all(r.id, o.format, o.key, r.version) as Array<{ destination: string }>).map((s) => s.destination),
      }));
      items.push({
        fileId: r.id,
        name: r.name,
        kind: r.kind,
        mimeType: r.mime_type,
        size: r.size,
        md5: r.md5,
        sha256: r.drive_sha256,
        modifiedTime: r.modified_time,
        version: r.version,
        drivePath,
        objects,
      });
    }
  }
  if (!input.countPending) return { items, nextAfterId, consumed };
  const pendingAfter = catalog.db
    .prepare(`SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM files WHERE state = 'pending' AND gone IS NULL AND id > ?`)
    .get(nextAfterId) as { files: number; bytes: number };
  return { items, nextAfterId, consumed, pendingAfter };
}

export interface RecordedOutcomes {
  synced: number;
  failed: number;
  deferred: number;
  bytes: number;
  /** Objects recorded as verified, per destination: a HEAD right after the upload showed them whole. */
  verified: Record<string, number>;
  /** Seconds since the run started, by this host's clock: the workflow has none to measure a rate with. */
  runSeconds: number;
}

/**
 * Records what a transfer batch did, in one transaction: each stored object per destination, the file
 * synced only when every object reached every destination, otherwise a failure a later run retries.
 */
export function recordTransferOutcomes(catalog: Catalog, input: { runId: string; outcomes: TransferOutcome[] }): RecordedOutcomes {
  const db = catalog.db;
  const now = new Date().toISOString();
  const counts: RecordedOutcomes = {
    synced: 0,
    failed: 0,
    deferred: 0,
    bytes: 0,
    verified: {},
    runSeconds: catalog.secondsSinceRunStarted(input.runId) ?? 0,
  };
  const keyHolder = db.prepare('SELECT file_id FROM objects WHERE destination = ? AND key = ? AND file_id != ?');
  // Bytes written anew were never read back: deep_verified_at '' puts them first in line for deep verification.
  const upsertObject = db.prepare(
    `INSERT INTO objects (file_id, destination, format, key, size, sha256, etag, version_id, file_version, state, uploaded_at, verified_at)
     VALUES (@fileId, @destination, @format, @key, @size, @sha256, @etag, @versionId, @fileVersion, @state, @now, @verifiedAt)
     ON CONFLICT (file_id, destination, format) DO UPDATE SET key = excluded.key, size = excluded.size, sha256 = excluded.sha256,
       etag = excluded.etag, version_id = excluded.version_id, file_version = excluded.file_version, state = excluded.state,
       uploaded_at = excluded.uploaded_at, verified_at = excluded.verified_at, deep_verified_at = ''`,
  );
  // The state an outcome gives is for the version it transferred: one listed since (an edit, a rename) stays pending.
  const setState = db.prepare(
    `UPDATE files SET state = CASE WHEN @version IS NULL OR version = @version THEN @state ELSE 'pending' END, claimed_by = NULL,
       updated_at = @now WHERE id = @fileId`,
  );
  const resolveFailures = db.prepare('UPDATE failures SET resolved_at = ? WHERE file_id = ? AND resolved_at IS NULL');
  // One open failure per file and destination: a destination that has the file now is no longer failing.
  const resolveOtherFailures = db.prepare(
    `UPDATE failures SET resolved_at = ? WHERE file_id = ? AND resolved_at IS NULL
       AND (destination IS NULL OR destination NOT IN (SELECT value FROM json_each(?)))`,
  );
  // A file that left Drive while it streamed: what it wrote goes under .trash/ at the next place check.
  const queueIfGone = db.prepare(
    `INSERT INTO place_checks (file_id, queued_at) SELECT id, @now FROM files WHERE id = @fileId AND gone IS NOT NULL
     ON CONFLICT (file_id) DO NOTHING`,
  );
  // The object exactly as this outcome records it: then the outcome was recorded before (a retried activity whose
  // first try committed but never reported back), and its bytes are not counted again.
  const recordedAlready = db.prepare(
    `SELECT 1 FROM objects WHERE file_id = @fileId AND destination = @destination AND format = @format AND key = @key
       AND sha256 = @sha256 AND etag IS @etag AND version_id IS @versionId AND file_version = @fileVersion AND state = @state`,
  );
  const written: StoredObjectRecord[] = [];
  db.transaction(() => {
    for (const outcome of input.outcomes) {
      counts.bytes += outcome.bytesDownloaded;
      if (outcome.stored.length) queueIfGone.run({ fileId: outcome.fileId, now });
      for (const o of outcome.stored) {
        // A claim never gives a key another file's object holds (checked in its transaction); should one turn up
        // here anyway, the other file's record is kept and this one refused, loudly.
        const holder = keyHolder.get(o.destination, o.key, outcome.fileId) as { file_id: string } | undefined;
        if (holder)
          throw new Error(
            `object ${o.key} on ${o.destination} belongs to file ${holder.file_id}; not recording file ${outcome.fileId} there`,
          );
        const row = {
          fileId: outcome.fileId,
          destination: o.destination,
          format: o.format,
          key: o.key,
          size: o.size,
          sha256: o.sha256,
          etag: o.etag ?? null,
          versionId: o.versionId ?? null,
          fileVersion: o.fileVersion,
          state: o.verifiedAt ? 'verified' : 'uploaded',
        };
        if (!recordedAlready.get(row)) written.push(o);
        // This host's clock, the one audits compare with the run's start: not the transfer host's.
        upsertObject.run({ ...row, verifiedAt: o.verifiedAt ? now : null, now });
        if (o.verifiedAt) counts.verified[o.destination] = (counts.verified[o.destination] ?? 0) + 1;
      }
      const f = outcome.failure;
      if (!f) {
        setState.run({ state: 'synced', now, fileId: outcome.fileId, version: outcome.version ?? null });
        resolveFailures.run(now, outcome.fileId);
        counts.synced++;
        continue;
      }
      setState.run({ state: f.deferred ? 'deferred' : 'failed', now, fileId: outcome.fileId, version: outcome.version ?? null });
      if (f.deferred) counts.deferred++;
      else counts.failed++;
      resolveOtherFailures.run(now, outcome.fileId, JSON.stringify(f.destinations));
      for (const destination of f.destinations) {
        catalog.recordFailure(
          { fileId: outcome.fileId, destination, runId: input.runId, attempts: f.attempts, reason: f.reason, message: f.message },
          now,
        );
      }
    }
    addTransferredObjects(catalog, now, written);
  })();
  return counts;
}

/**
 * A transfer batch that failed as a whole, every try of it lost: the files its last heartbeat reported
 * finished are recorded as they ended, every other one failed on every destination, so the run goes on
 * and the next run retries them.
 */
export function recordFailedBatch(
  catalog: Catalog,
  destinations: string[],
  input: { runId: string; fileIds: string[]; finished: TransferOutcome[]; message: string },
): RecordedOutcomes {
  const failure = { reason: 'transferBatchFailed', message: input.message, attempts: 1, destinations, deferred: false };
  const finished = new Set(input.finished.map((o) => o.fileId));
  const lost = input.fileIds.filter((id) => !finished.has(id)).map((fileId) => ({ fileId, stored: [], bytesDownloaded: 0, failure }));
  return recordTransferOutcomes(catalog, { runId: input.runId, outcomes: [...input.finished, ...lost] });
}

/** Failed and deferred files go back to pending, so each run (and a manual retry) tries them again. */
export function requeueFailures(catalog: Catalog): number {
  return catalog.db
    .prepare(`UPDATE files SET state = 'pending', updated_at = ? WHERE state IN ('failed', 'deferred') AND gone IS NULL`)
    .run(new Date().toISOString()).changes;
}

export function countSkipped(catalog: Catalog): number {
  return (catalog.db.prepare(`SELECT count(*) AS n FROM files WHERE state = 'skipped'`).get() as { n: number }).n;
}

export function countPending(catalog: Catalog): number {
  return (catalog.db.prepare(`SELECT count(*) AS n FROM files WHERE state = 'pending' AND gone IS NULL`).get() as { n: number }).n;
}
