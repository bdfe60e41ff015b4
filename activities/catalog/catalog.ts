import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ListingCounts } from '../../common/types';
import { migrations } from './migrations';
import { PlaceChanges } from './placeChanges';

export type FileKind = 'binary' | 'workspace' | 'folder' | 'shortcut' | 'unsupported';
export type FileState = 'pending' | 'synced' | 'failed' | 'deferred' | 'skipped';

/** One Drive item as the listing records it. */
export interface CatalogFileInput {
  id: string;
  driveId: string | null;
  kind: FileKind;
  name: string;
  mimeType: string;
  parentId: string | null;
  size: number | null;
  md5: string | null;
  driveSha256: string | null;
  modifiedTime: string;
  createdTime: string | null;
  version: string;
  headRevisionId: string | null;
  shortcutTargetId: string | null;
  /** Why an item with no exportable content is skipped (forms, sites, maps). */
  skipReason: string | null;
  /** Set when the item lies outside the listed scope and was recorded by following this shortcut or folder. */
  followedFrom?: string | null;
  /** Drive's ownedByMe; null in shared drives, whose items have no owner. */
  ownedByMe?: boolean | null;
}

export interface CatalogFile extends CatalogFileInput {
  state: FileState | null;
  lastListingId: string;
}

/**
 * The SQLite catalog: what Drive holds, what each destination holds, runs, failures and change tokens.
 * One writer (this process); WAL so readers (the API) never block it.
 */
export class Catalog {
  readonly places: PlaceChanges;

  private constructor(readonly db: Database.Database) {
    this.migrate();
    this.places = new PlaceChanges(db);
  }

  static open(path: string): Catalog {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      // Created 0600 before SQLite touches it: the catalog names every file of the account.
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
    }
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    return new Catalog(db);
  }

  close(): void {
    this.db.close();
  }

  schemaVersion(): number {
    return (this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const applied = this.schemaVersion();
    for (const m of migrations.filter((m) => m.version > applied)) {
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  /** Records a drive; a shared drive renamed gives every file in it a new key, moved by the next run's place checks. */
  upsertDrive(drive: { id: string; name: string; kind: 'my-drive' | 'shared-drive' }): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      const known = this.db.prepare('SELECT name FROM drives WHERE id = ?').get(drive.id) as { name: string } | undefined;
      this.db
        .prepare(
          `INSERT INTO drives (id, name, kind, updated_at) VALUES (@id, @name, @kind, @now)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at WHERE name != excluded.name`,
        )
        .run({ ...drive, now });
      if (known && known.name !== drive.name) this.places.queueDrive(drive.id, now);
    })();
  }

  /**
   * Records one listing page (or the items of a page of Drive's changes) in a single transaction. A content file
   * that is new, or whose content changed, becomes pending; one only renamed or moved keeps its state and is
   * queued for a place check, which moves its objects server-side; so is everything under a renamed or moved
   * folder, and an item that comes back after it was gone. An item recorded by following a shortcut takes the
   * place it is given even when Drive's version is unchanged; a listing at its Drive place does not move it back.
   */
  recordListedFiles(files: CatalogFileInput[], listingId: string): ListingCounts {
    const counts: ListingCounts = { listed: files.length, new: 0, changed: 0, unchanged: 0, skipped: 0, folders: 0 };
    const now = new Date().toISOString();
    const select = this.db.prepare(
      `SELECT name, parent_id, drive_id, kind, followed_from, size, md5, modified_time, version, shortcut_target_id, state, gone
       FROM files WHERE id = ?`,
    );
    const insert = this.db.prepare(
      `INSERT INTO files (id, drive_id, kind, name, mime_type, parent_id, size, md5, drive_sha256, modified_time, created_time,
         version, head_revision_id, shortcut_target_id, state, skip_reason, followed_from, owned_by_me, last_listing_id,
         created_at, updated_at)
       VALUES (@id, @driveId, @kind, @name, @mimeType, @parentId, @size, @md5, @driveSha256, @modifiedTime, @createdTime,
         @version, @headRevisionId, @shortcutTargetId, @state, @skipReason, @followedFrom, @ownedByMe, @listingId, @now, @now)`,
    );
    const update = this.db.prepare(
      `UPDATE files SET drive_id = @driveId, kind = @kind, name = @name, mime_type = @mimeType, parent_id = @parentId,
         size = @size, md5 = @md5, drive_sha256 = @driveSha256, modified_time = @modifiedTime, created_time = @createdTime, version = @version,
         head_revision_id = @headRevisionId, shortcut_target_id = @shortcutTargetId, state = @state,
         skip_reason = @skipReason, followed_from = @followedFrom, owned_by_me = @ownedByMe, last_listing_id = @listingId, updated_at = @now,
         gone = NULL
       WHERE id = @id`,
    );
    const staleTrashedCopies = this.db.prepare('UPDATE trashed_objects SET content_current = 0 WHERE file_id = ?');
    // Seen again: updated_at says when, so a full sync does not count an item another run saw after its listing began as unlisted.
    const touch = this.db.prepare('UPDATE files SET last_listing_id = ?, owned_by_me = ?, updated_at = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const f of files) {
        const initialState: FileState | null =
          f.kind === 'unsupported' ? 'skipped' : f.kind === 'binary' || f.kind === 'workspace' ? 'pending' : null;
        if (f.kind === 'folder') counts.folders++;
        if (f.kind === 'unsupported') counts.skipped++;
        const ownedByMe = f.ownedByMe == null ? null : Number(f.ownedByMe);
        const row = { followedFrom: null, ...f, ownedByMe, listingId, now, state: initialState };
        const existing = select.get(f.id) as
          | {
              name: string;
              parent_id: string | null;
              drive_id: string | null;
              kind: FileKind;
              followed_from: string | null;
              size: number | null;
              md5: string | null;
              modified_time: string;
              version: string;
              shortcut_target_id: string | null;
              state: FileState | null;
              gone: string | null;
            }
          | undefined;
        if (!existing) {
          insert.run(row);
          counts.new++;
          continue;
        }
        const placedByFollowing =
          f.followedFrom != null &&
          (existing.followed_from !== f.followedFrom || existing.parent_id !== f.parentId || existing.drive_id !== f.driveId);
        const returned = existing.gone !== null;
        if (existing.version === f.version && !placedByFollowing && !returned) {
          touch.run(listingId, ownedByMe, now, f.id);
          counts.unchanged++;
          continue;
        }
        // Drive bumps version on any edit; only new content means the copy must be redone, a new place only a move.
        const contentChanged =
          existing.kind !== f.kind ||
          (f.kind === 'binary'
            ? existing.md5 !== f.md5 || existing.size !== f.size
            : f.kind === 'workspace'
              ? existing.modified_time !== f.modifiedTime
              : f.kind === 'shortcut'
                ? existing.shortcut_target_id !== f.shortcutTargetId
                : false);
        const placeChanged = existing.name !== f.name || existing.parent_id !== f.parentId || existing.drive_id !== f.driveId;
        update.run(contentChanged ? row : { ...row, state: existing.state });
        if (contentChanged) staleTrashedCopies.run(f.id);
        if (placeChanged || returned) {
          if (f.kind === 'folder' && returned) this.places.restoreSubtree(f.id, now);
          else if (f.kind === 'folder') this.places.queueSubtree(f.id, now);
          else if (f.kind === 'binary' || f.kind === 'workspace') this.places.queueFile(f.id, now);
        }
        if (contentChanged || placeChanged || returned) counts.changed++;
        else counts.unchanged++;
      }
    })();
    return counts;
  }

  /**
   * Records that a file did not reach one destination: adds to the failure already open for that pair, or
   * opens one. A transfer that failed and a HEAD that found the object wrong land in the same row.
   */
  recordFailure(
    failure: { fileId: string; destination: string; runId: string | null; attempts: number; reason: string; message: string },
    now: string,
  ): void {
    const open = this.db
      .prepare('SELECT id FROM failures WHERE file_id = ? AND destination = ? AND resolved_at IS NULL')
      .get(failure.fileId, failure.destination) as { id: number } | undefined;
    if (open) {
      this.db
        .prepare(
          'UPDATE failures SET attempts = attempts + ?, reason = ?, message = ?, run_id = coalesce(?, run_id), last_failed_at = ? WHERE id = ?',
        )
        .run(failure.attempts, failure.reason, failure.message, failure.runId, now, open.id);
      return;
    }
    this.db
      .prepare(
        'INSERT INTO failures (file_id, destination, run_id, attempts, reason, message, first_failed_at, last_failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(failure.fileId, failure.destination, failure.runId, failure.attempts, failure.reason, failure.message, now, now);
  }

  /** Seconds since a run was recorded as started, by this host's clock; undefined for a run never started. */
  secondsSinceRunStarted(runId: string, now = new Date()): number | undefined {
    const row = this.db.prepare('SELECT started_at FROM runs WHERE id = ?').get(runId) as { started_at: string } | undefined;
    return row ? Math.max((now.getTime() - Date.parse(row.started_at)) / 1000, 0.001) : undefined;
  }

  /** Records why an item is not backed up under its own name (a followed shortcut, an excluded path). */
  markSkipped(id: string, reason: string): void {
    this.db
      .prepare(`UPDATE files SET state = 'skipped', skip_reason = ?, updated_at = ? WHERE id = ?`)
      .run(reason, new Date().toISOString(), id);
  }

  getFile(id: string): CatalogFile | undefined {
    const row = this.db.prepare('SELECT * FROM files WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? toCatalogFile(row) : undefined;
  }

  /** A folder and the folders above it in the catalog, up to one with no parent or with a parent not recorded. */
  ancestorsOf(folderId: string | null): Set<string> {
    if (!folderId) return new Set();
    const rows = this.db
      .prepare(
        `WITH RECURSIVE up(id) AS (SELECT ? UNION SELECT f.parent_id FROM files f JOIN up ON f.id = up.id WHERE f.parent_id IS NOT NULL)
         SELECT id FROM up`,
      )
      .all(folderId) as Array<{ id: string }>;
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Whether an item's place is under "Shared with me" (DESIGN.md section 7): the top of its chain of parents
   * has no parent and no drive and is owned by someone else, as Drive answers for an item whose parent the
   * account cannot see (the user's own parentless files are in My Drive).
   */
  isUnderSharedWithMe(id: string): boolean {
    const row = this.db
      .prepare(
        `WITH RECURSIVE up(id, parent_id, drive_id, owned_by_me) AS (
           SELECT id, parent_id, drive_id, owned_by_me FROM files WHERE id = ?
           UNION SELECT f.id, f.parent_id, f.drive_id, f.owned_by_me FROM files f JOIN up ON f.id = up.parent_id
         )
         SELECT EXISTS (SELECT 1 FROM up WHERE parent_id IS NULL AND drive_id IS NULL AND owned_by_me = 0) AS shared`,
      )
      .get(id) as { shared: number };
    return row.shared === 1;
  }

  /** Files of a listing, in id order, for reading the catalog back page by page. */
  filesPage(afterId: string, limit: number): CatalogFile[] {
    const rows = this.db.prepare('SELECT * FROM files WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as Array<
      Record<string, unknown>
    >;
    return rows.map(toCatalogFile);
  }

  countsByState(): Record<string, number> {
    const rows = this.db.prepare(`SELECT coalesce(state, kind) AS k, count(*) AS n FROM files GROUP BY k`).all() as Array<{
      k: string;
      n: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.k, r.n]));
  }
}

function toCatalogFile(row: Record<string, unknown>): CatalogFile {
  return {
    id: row.id as string,
    driveId: row.drive_id as string | null,
    kind: row.kind as FileKind,
    name: row.name as string,
    mimeType: row.mime_type as string,
    parentId: row.parent_id as string | null,
    size: row.size as number | null,
    md5: row.md5 as string | null,
    driveSha256: row.drive_sha256 as string | null,
    modifiedTime: row.modified_time as string,
    createdTime: row.created_time as string | null,
    version: row.version as string,
    headRevisionId: row.head_revision_id as string | null,
    shortcutTargetId: row.shortcut_target_id as string | null,
    skipReason: row.skip_reason as string | null,
    state: row.state as FileState | null,
    lastListingId: row.last_listing_id as string,
    followedFrom: row.followed_from as string | null,
    ownedByMe: row.owned_by_me === null ? null : row.owned_by_me === 1,
  };
}
