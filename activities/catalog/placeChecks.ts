import { EXPORT_MIME_TYPES } from '../../common/exportFormats';
import type { PlaceCounts } from '../../common/types';
import type { ObjectMetadata } from '../storage/destination';
import type { Catalog } from './catalog';
import { type ObjectKeyPlanner, disambiguate } from './objectKeys';

interface ObjectRow {
  destination: string;
  format: string;
  key: string;
  size: number | null;
  sha256: string | null;
  file_version: string | null;
}

interface TrashedRow {
  destination: string;
  key: string;
  format: string;
  size: number | null;
  sha256: string | null;
  file_version: string | null;
}

/** One object move a place check needs, on one destination. */
export type PlaceMove =
  /** The file was renamed or moved, its content unchanged: its object goes to its new key; the old key under .trash/. */
  | { kind: 'relocate'; destination: string; format: string; from: string; to: string; trashKey: string; object: ObjectRow }
  /** The file left Drive, or its object is stale under an old key: the object goes under .trash/. */
  | { kind: 'trash'; destination: string; format: string; from: string; trashKey: string; object: ObjectRow; contentCurrent: boolean }
  /** The file came back unchanged: its object comes back from .trash/ to the file's key. */
  | { kind: 'restore'; destination: string; format: string; from: string; to: string; trashed: TrashedRow };

export interface PlacePlan {
  fileId: string;
  /** The file left Drive: once its objects are under .trash/, it gives up its keys. */
  gone: boolean;
  /** The day of the .trash/ folder its moves use. */
  day: string;
  moves: PlaceMove[];
  /** What each copy carries: the file's metadata at its current place (an object of older content keeps its version). */
  metadataOf(object: { file_version: string | null }): ObjectMetadata;
  contentType: (format: string) => string;
  /** An object the file needs is nowhere: it becomes pending, and the transfer writes it again. */
  requeue: boolean;
}

/** The outcome of one move: done (with what the destination answered), or failed with why. */
export type MoveOutcome =
  | {
      move: PlaceMove;
      done: true;
      etag?: string;
      versionId?: string;
      /** Where a relocated object's old key is kept: its trash key, or nothing when the destination renamed it. */
      oldKeptAt?: string;
      /** Neither the source nor the target holds the object: it is forgotten, and a live file transferred again. */
      lost?: boolean;
    }
  | { move: PlaceMove; done: false; error: string };

const today = () => new Date().toISOString().slice(0, 10);

/**
 * Claims a file for its place check, as a transfer claims it: no other run transfers it while its objects move.
 * False when a running run holds it.
 */
export function claimForPlaceCheck(catalog: Catalog, fileId: string, runId: string): boolean {
  return (
    catalog.db
      .prepare(
        `UPDATE files SET claimed_by = @runId WHERE id = @fileId
           AND (claimed_by IS NULL OR claimed_by = @runId OR claimed_by NOT IN (SELECT id FROM runs WHERE status = 'running'))`,
      )
      .run({ fileId, runId }).changes === 1
  );
}

/**
 * Files whose objects may sit in the wrong place, after `afterFileId`. Files another running run has claimed are left
 * for later: its transfer is writing to the new key. The run's own claims are its to finish (a try killed mid-check).
 */
export function queuedPlaceChecks(catalog: Catalog, input: { runId: string; afterFileId: string; limit: number }): string[] {
  const rows = catalog.db
    .prepare(
      `SELECT p.file_id FROM place_checks p JOIN files f ON f.id = p.file_id
       WHERE p.file_id > @afterFileId
         AND (f.claimed_by IS NULL OR f.claimed_by = @runId OR f.claimed_by NOT IN (SELECT id FROM runs WHERE status = 'running'))
       ORDER BY p.file_id LIMIT @limit`,
    )
    .all(input) as Array<{ file_id: string }>;
  return rows.map((r) => r.file_id);
}

/**
 * Works out where a file's objects must go, on the configured destinations: from its recorded keys (new ones
 * given now to a renamed or moved file) against the objects the catalog records, and the copies kept under .trash/.
 * An object moves to its file's new key whatever the file's state: when new content is on its way, the transfer
 * overwrites it there, and until then the old content stays the backup of the file under its current name.
 */
export function planPlaceCheck(catalog: Catalog, planner: ObjectKeyPlanner, fileId: string, destinations: string[]): PlacePlan {
  const db = catalog.db;
  const file = db
    .prepare('SELECT id, kind, mime_type, state, gone, modified_time, version, md5, drive_sha256 FROM files WHERE id = ?')
    .get(fileId) as
    | {
        id: string;
        kind: string;
        mime_type: string;
        state: string | null;
        gone: string | null;
        modified_time: string;
        version: string;
        md5: string | null;
        drive_sha256: string | null;
      }
    | undefined;
  const day = today();
  const plan: PlacePlan = {
    fileId,
    gone: file?.gone != null,
    day,
    moves: [],
    requeue: false,
    metadataOf: () => ({ driveFileId: fileId, drivePath: '', modifiedTime: '', version: '' }),
    contentType: () => 'application/octet-stream',
  };
  if (!file || (file.kind !== 'binary' && file.kind !== 'workspace')) return plan;
  const current = {
    driveFileId: fileId,
    drivePath: planner.locate(fileId).drivePath,
    modifiedTime: file.modified_time,
    version: file.version,
    md5: file.md5 ?? undefined,
  };
  plan.metadataOf = (o) =>
    o.file_version === null || o.file_version === file.version ? current : { ...current, version: o.file_version, md5: undefined };
  plan.contentType = (format) => (file.kind === 'binary' ? file.mime_type : EXPORT_MIME_TYPES[format as keyof typeof EXPORT_MIME_TYPES]);
  const configured = new Set(destinations);
  const objects = (
    db.prepare('SELECT destination, format, key, size, sha256, file_version FROM objects WHERE file_id = ?').all(fileId) as ObjectRow[]
  ).filter((o) => configured.has(o.destination));
  const trashKeys = new TrashKeys(catalog, day, fileId);
  const synced = file.state === 'synced';
  const trash = (o: ObjectRow, contentCurrent: boolean): PlaceMove => {
    const trashKey = trashKeys.next(o.destination, o.key);
    return { kind: 'trash', destination: o.destination, format: o.format, from: o.key, trashKey, object: o, contentCurrent };
  };
  if (file.gone) {
    for (const o of objects) plan.moves.push(trash(o, synced));
    return plan;
  }
  planner.beginBatch();
  const keys = catalog.db.transaction(() => new Map(planner.assignKeys(fileId).map((k) => [k.format, k.key])))();
  for (const o of objects) {
    const want = keys.get(o.format);
    if (want === o.key) continue;
    if (want) {
      const trashKey = trashKeys.next(o.destination, o.key);
      plan.moves.push({ kind: 'relocate', destination: o.destination, format: o.format, from: o.key, to: want, trashKey, object: o });
    } else {
      // An export format no longer configured.
      plan.moves.push(trash(o, false));
    }
  }
  const held = new Set(objects.map((o) => `${o.destination}\n${o.format}`));
  const kept = db.prepare(
    `SELECT destination, key, format, size, sha256, file_version FROM trashed_objects
     WHERE file_id = ? AND destination = ? AND format = ? AND content_current = 1 ORDER BY trashed_on DESC, key DESC LIMIT 1`,
  );
  for (const destination of configured) {
    for (const [format, to] of keys) {
      if (held.has(`${destination}\n${format}`)) continue;
      const trashed = kept.get(fileId, destination, format) as TrashedRow | undefined;
      if (trashed) plan.moves.push({ kind: 'restore', destination, format, from: trashed.key, to, trashed });
      else if (synced) plan.requeue = true;
    }
  }
  return plan;
}

/** `.trash/<date>/<key>`, told apart by the file's id when that day's trash already holds the key. */
class TrashKeys {
  private readonly taken = new Set<string>();
  private readonly statement;

  constructor(
    catalog: Catalog,
    private readonly day: string,
    private readonly fileId: string,
  ) {
    this.statement = catalog.db.prepare('SELECT 1 FROM trashed_objects WHERE destination = ? AND key = ?');
  }

  next(destination: string, key: string): string {
    const plain = `.trash/${this.day}/${key}`;
    for (const candidate of [plain, disambiguate(plain, this.fileId.slice(0, 8)), disambiguate(plain, this.fileId)]) {
      if (this.taken.has(`${destination}\n${candidate}`) || this.statement.get(destination, candidate)) continue;
      this.taken.add(`${destination}\n${candidate}`);
      return candidate;
    }
    return disambiguate(plain, `${this.fileId} ${Date.now()}`);
  }
}

/**
 * Records what a file's moves did, in one transaction: objects at their new keys, objects under .trash/ kept as
 * trashed objects (with whether they hold the file's current content), objects brought back. The file's place
 * check is done when every move is; a failed move leaves it queued for the next run.
 */
export function recordPlaceCheck(catalog: Catalog, plan: PlacePlan, outcomes: MoveOutcome[], runId?: string): PlaceCounts {
  const db = catalog.db;
  const counts: PlaceCounts = { relocated: 0, trashed: 0, restored: 0, requeued: 0, failed: 0 };
  const now = new Date().toISOString();
  const { day } = plan;
  const keep = db.prepare(
    `INSERT INTO trashed_objects (destination, key, file_id, format, original_key, size, sha256, file_version, content_current, trashed_on)
     VALUES (@destination, @key, @fileId, @format, @originalKey, @size, @sha256, @fileVersion, @contentCurrent, @day)
     ON CONFLICT (destination, key) DO NOTHING`,
  );
  db.transaction(() => {
    for (const outcome of outcomes) {
      const { move } = outcome;
      if (!outcome.done) {
        counts.failed++;
        continue;
      }
      const where = { fileId: plan.fileId, destination: move.destination, format: move.format };
      if (outcome.lost) {
        if (move.kind === 'restore')
          db.prepare('DELETE FROM trashed_objects WHERE destination = ? AND key = ?').run(move.destination, move.from);
        else db.prepare('DELETE FROM objects WHERE file_id = @fileId AND destination = @destination AND format = @format').run(where);
        if (move.kind !== 'trash') plan.requeue = true;
        continue;
      }
      if (move.kind === 'relocate') {
        db.prepare(
          `UPDATE objects SET key = @to, etag = coalesce(@etag, etag), version_id = @versionId
           WHERE file_id = @fileId AND destination = @destination AND format = @format`,
        ).run({ ...where, to: move.to, etag: outcome.etag ?? null, versionId: outcome.versionId ?? null });
        if (outcome.oldKeptAt) {
          const { size, sha256, file_version: fileVersion } = move.object;
          keep.run({ ...where, key: outcome.oldKeptAt, originalKey: move.from, size, sha256, fileVersion, contentCurrent: 0, day });
        }
        counts.relocated++;
      } else if (move.kind === 'trash') {
        db.prepare('DELETE FROM objects WHERE file_id = @fileId AND destination = @destination AND format = @format').run(where);
        keep.run({
          ...where,
          key: move.trashKey,
          originalKey: move.from,
          size: move.object.size,
          sha256: move.object.sha256,
          fileVersion: move.object.file_version,
          contentCurrent: move.contentCurrent ? 1 : 0,
          day,
        });
        counts.trashed++;
      } else {
        db.prepare(
          `INSERT INTO objects (file_id, destination, format, key, size, sha256, etag, version_id, file_version, state, uploaded_at, verified_at)
           VALUES (@fileId, @destination, @format, @to, @size, @sha256, @etag, @versionId, @fileVersion, 'verified', @now, @now)
           ON CONFLICT (file_id, destination, format) DO NOTHING`,
        ).run({
          ...where,
          to: move.to,
          size: move.trashed.size,
          sha256: move.trashed.sha256,
          etag: outcome.etag ?? null,
          versionId: outcome.versionId ?? null,
          fileVersion: move.trashed.file_version,
          now,
        });
        db.prepare('DELETE FROM trashed_objects WHERE destination = ? AND key = ?').run(move.destination, move.from);
        counts.restored++;
      }
    }
    if (plan.requeue) {
      db.prepare(`UPDATE files SET state = 'pending', updated_at = ? WHERE id = ? AND state = 'synced' AND gone IS NULL`).run(
        now,
        plan.fileId,
      );
      counts.requeued++;
    }
    if (counts.failed === 0) {
      db.prepare('DELETE FROM place_checks WHERE file_id = ?').run(plan.fileId);
      // Its objects are under .trash/ now: a newcomer may take the gone file's names.
      if (plan.gone) db.prepare('DELETE FROM object_keys WHERE holder = ?').run(plan.fileId);
    }
    if (runId) db.prepare('UPDATE files SET claimed_by = NULL WHERE id = ? AND claimed_by = ?').run(plan.fileId, runId);
  })();
  return counts;
}

/** Where a file's objects are now, per destination: at their keys, and under .trash/ (the demo and the API show it). */
export function objectPlaces(
  catalog: Catalog,
  fileId: string,
): { live: Array<{ destination: string; key: string }>; trashed: Array<{ destination: string; key: string }> } {
  const live = catalog.db.prepare('SELECT destination, key FROM objects WHERE file_id = ? ORDER BY destination, key').all(fileId);
  const trashed = catalog.db
    .prepare('SELECT destination, key FROM trashed_objects WHERE file_id = ? ORDER BY destination, key')
    .all(fileId);
  return { live, trashed } as ReturnType<typeof objectPlaces>;
}
