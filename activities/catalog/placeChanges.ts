import type Database from 'better-sqlite3';

/**
 * Why an item left the backup's view: trashed in Drive, removed (deleted, or no longer shared with the account),
 * no longer listed by a full sync, or inside a folder that went for one of these reasons.
 */
export type GoneReason = 'trashed' | 'removed' | 'unlisted' | 'parent-gone';

const CONTENT_KINDS = new Set(['binary', 'workspace']);

interface ChildRow {
  id: string;
  kind: string;
  gone: GoneReason | null;
}

/**
 * Queues the checks that move objects where their files now belong (DESIGN.md section 7): a renamed or moved
 * file, everything under a renamed or moved folder, and what went from Drive or came back. The queue is in the
 * catalog, written in the same transaction as the change that caused it, so a crash loses none; the next run's
 * place checks do the moves.
 */
export class PlaceChanges {
  private readonly statements: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.statements = prepare(db);
  }

  /** A file whose name or place changed, or that came back: its objects are checked at the next run. */
  queueFile(fileId: string, now = new Date().toISOString()): void {
    this.statements.queue.run(fileId, now);
  }

  /** Every content file under a folder that was renamed or moved; items gone on their own stay gone. */
  queueSubtree(folderId: string, now = new Date().toISOString()): number {
    let queued = 0;
    this.walk(folderId, (child) => {
      if (child.gone) return false;
      if (CONTENT_KINDS.has(child.kind)) {
        this.queueFile(child.id, now);
        queued++;
      }
      return true;
    });
    return queued;
  }

  /** A folder came back: what went with it comes back too, and every content file under it is checked. */
  restoreSubtree(folderId: string, now = new Date().toISOString()): void {
    this.walk(folderId, (child) => {
      if (child.gone === 'parent-gone') this.statements.setGone.run(null, now, child.id);
      else if (child.gone) return false;
      if (CONTENT_KINDS.has(child.kind)) this.queueFile(child.id, now);
      return true;
    });
  }

  /**
   * Items that left Drive (or the account's view): each is marked gone, with everything under a folder. A folder
   * gives up its key now; a content file is queued, and gives up its keys once its objects are under .trash/.
   */
  markGone(ids: string[], reason: Exclude<GoneReason, 'parent-gone'>, now = new Date().toISOString()): number {
    let marked = 0;
    // A file keeps its keys until its place check has its objects under .trash/ (one may still be uploading to them).
    const mark = (id: string, kind: string, why: GoneReason) => {
      this.statements.setGone.run(why, now, id);
      if (CONTENT_KINDS.has(kind)) this.queueFile(id, now);
      else this.statements.dropKeys.run(id);
      marked++;
    };
    for (const id of ids) {
      const row = this.statements.kindOf.get(id) as { kind: string; gone: GoneReason | null } | undefined;
      if (!row) continue;
      // A folder removed after it was trashed is still gone: only the reason is brought up to date.
      mark(id, row.kind, reason);
      if (row.kind !== 'folder') continue;
      this.walk(id, (child) => {
        if (child.gone && child.gone !== 'parent-gone') return false;
        mark(child.id, child.kind, 'parent-gone');
        return true;
      });
    }
    return marked;
  }

  /**
   * Content files a full sync's listing did not see, and that nothing recorded since the listing began: gone from
   * Drive while no sweep told us. Returns how many items were marked.
   */
  markUnlisted(listingId: string, listingStartedAt: string, now = new Date().toISOString()): number {
    const ids = (this.statements.unlisted.all(listingId, listingStartedAt) as Array<{ id: string }>).map((r) => r.id);
    return this.markGone(ids, 'unlisted', now);
  }

  /** A shared drive renamed: every file in it has a new key. */
  queueDrive(driveId: string, now = new Date().toISOString()): void {
    this.statements.queueDrive.run(now, driveId);
  }

  /** Visits the items under a folder, breadth first; `visit` returns whether to go below a child folder. */
  private walk(folderId: string, visit: (child: ChildRow) => boolean): void {
    const queue = [folderId];
    const seen = new Set(queue);
    while (queue.length) {
      for (const child of this.statements.children.all(queue.shift()!) as ChildRow[]) {
        if (seen.has(child.id)) continue;
        seen.add(child.id);
        if (visit(child) && child.kind === 'folder') queue.push(child.id);
      }
    }
  }
}

function prepare(db: Database.Database) {
  return {
    queue: db.prepare('INSERT INTO place_checks (file_id, queued_at) VALUES (?, ?) ON CONFLICT (file_id) DO NOTHING'),
    children: db.prepare('SELECT id, kind, gone FROM files WHERE parent_id = ?'),
    kindOf: db.prepare('SELECT kind, gone FROM files WHERE id = ?'),
    setGone: db.prepare('UPDATE files SET gone = ?, updated_at = ? WHERE id = ?'),
    dropKeys: db.prepare('DELETE FROM object_keys WHERE holder = ?'),
    unlisted: db.prepare('SELECT id FROM files WHERE gone IS NULL AND last_listing_id != ? AND updated_at < ?'),
    queueDrive: db.prepare(
      `INSERT INTO place_checks (file_id, queued_at) SELECT id, ? FROM files
       WHERE drive_id = ? AND gone IS NULL AND kind IN ('binary', 'workspace') ON CONFLICT (file_id) DO NOTHING`,
    ),
  };
}
