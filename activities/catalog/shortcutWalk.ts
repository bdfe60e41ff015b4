import type { Catalog, CatalogFileInput } from './catalog';

/** A shortcut as a walk resolves it. */
export interface ShortcutRef {
  id: string;
  parentId: string | null;
  driveId: string | null;
  targetId: string | null;
}

/** Work a walk has still to do; `following` holds the folders followed on the way to it (the loop rule). */
export type WalkWork =
  | { kind: 'shortcut'; shortcut: ShortcutRef; following: string[] }
  | { kind: 'folder'; folderId: string; driveId: string | null; following: string[]; pageToken: string | null };

export type WalkItem = WalkWork & { walkId: string; seq: number };

/** What doing one item found, recorded with its completion. */
export interface WalkItemDone {
  listingId: string;
  /** Items to record in the catalog: a followed target in the shortcut's place, a page of a followed folder. */
  record: CatalogFileInput[];
  /** Why the shortcut itself is not backed up under its own name. */
  skip?: { id: string; reason: string };
  enqueue: WalkWork[];
  /** The folder has more pages: the item stays, to list the next one. */
  nextPageToken?: string;
}

interface ItemRow {
  walk_id: string;
  seq: number;
  kind: 'shortcut' | 'folder';
  item_id: string;
  parent_id: string | null;
  drive_id: string | null;
  target_id: string | null;
  following: string;
  page_token: string | null;
}

/**
 * Shortcut walks kept in the catalog: per walk, a queue of shortcuts to resolve and followed folders to list,
 * how far the scan of the catalog's shortcuts has gone, and the shortcuts already resolved (each once). Only
 * this crosses activity calls, so each call does a bounded amount of work and the workflow carries nothing
 * but the walk's id.
 */
export class ShortcutWalks {
  constructor(private readonly catalog: Catalog) {}

  /**
   * Starts a walk afresh, dropping what an earlier one of the same id left. With `scanAfterId` the walk takes
   * every shortcut of the catalog after it, a batch at a time; with null, only what is enqueued.
   */
  begin(walkId: string, scanAfterId: string | null): void {
    const db = this.catalog.db;
    db.transaction(() => {
      // Its queue and resolved shortcuts go with it (ON DELETE CASCADE).
      db.prepare('DELETE FROM shortcut_walks WHERE walk_id = ?').run(walkId);
      db.prepare('INSERT INTO shortcut_walks (walk_id, scan_after_id) VALUES (?, ?)').run(walkId, scanAfterId);
    })();
  }

  /** The catalog's shortcuts after `afterId`, in id order. */
  shortcutsAfter(afterId: string, limit: number): ShortcutRef[] {
    const rows = this.catalog.db
      .prepare(`SELECT id, parent_id, drive_id, shortcut_target_id FROM files WHERE kind = 'shortcut' AND id > ? ORDER BY id LIMIT ?`)
      .all(afterId, limit) as Array<{ id: string; parent_id: string | null; drive_id: string | null; shortcut_target_id: string | null }>;
    return rows.map((r) => ({ id: r.id, parentId: r.parent_id, driveId: r.drive_id, targetId: r.shortcut_target_id }));
  }

  enqueue(walkId: string, work: WalkWork[]): void {
    const insert = this.catalog.db.prepare(
      `INSERT INTO shortcut_walk_items (walk_id, kind, item_id, parent_id, drive_id, target_id, following, page_token)
       VALUES (@walkId, @kind, @itemId, @parentId, @driveId, @targetId, @following, @pageToken)`,
    );
    const columns = (w: WalkWork) =>
      w.kind === 'shortcut'
        ? {
            itemId: w.shortcut.id,
            parentId: w.shortcut.parentId,
            driveId: w.shortcut.driveId,
            targetId: w.shortcut.targetId,
            pageToken: null,
          }
        : { itemId: w.folderId, parentId: null, driveId: w.driveId, targetId: null, pageToken: w.pageToken };
    this.catalog.db.transaction(() => {
      for (const w of work) insert.run({ walkId, kind: w.kind, following: JSON.stringify(w.following), ...columns(w) });
    })();
  }

  /**
   * The walk's next item, in the order it was queued. When the queue is empty, the next `scanBatch` shortcuts
   * of the catalog are queued first. Undefined when the walk is done, or ended.
   */
  next(walkId: string, scanBatch: number): WalkItem | undefined {
    const queued = this.firstItem(walkId);
    if (queued) return queued;
    const walk = this.catalog.db.prepare('SELECT scan_after_id FROM shortcut_walks WHERE walk_id = ?').get(walkId) as
      | { scan_after_id: string | null }
      | undefined;
    if (walk?.scan_after_id == null) return undefined;
    const batch = this.shortcutsAfter(walk.scan_after_id, scanBatch);
    this.catalog.db.transaction(() => {
      this.enqueue(
        walkId,
        batch.map((shortcut) => ({ kind: 'shortcut', shortcut, following: [] })),
      );
      const scannedTo = batch.length === scanBatch ? batch.at(-1)!.id : null;
      this.catalog.db.prepare('UPDATE shortcut_walks SET scan_after_id = ? WHERE walk_id = ?').run(scannedTo, walkId);
    })();
    return this.firstItem(walkId);
  }

  /**
   * Completes one item in one transaction with what it found. False, with nothing recorded, when another
   * attempt (a retried activity whose first attempt still runs) completed it first.
   */
  complete(item: WalkItem, done: WalkItemDone): boolean {
    const db = this.catalog.db;
    const pageToken = item.kind === 'folder' ? item.pageToken : null;
    return db.transaction(() => {
      const claimed = done.nextPageToken
        ? db
            .prepare('UPDATE shortcut_walk_items SET page_token = ? WHERE seq = ? AND page_token IS ?')
            .run(done.nextPageToken, item.seq, pageToken)
        : db.prepare('DELETE FROM shortcut_walk_items WHERE seq = ? AND page_token IS ?').run(item.seq, pageToken);
      if (claimed.changes === 0) return false;
      if (done.record.length > 0) this.catalog.recordListedFiles(done.record, done.listingId);
      if (done.skip) this.catalog.markSkipped(done.skip.id, done.skip.reason);
      if (item.kind === 'shortcut' && done.skip) {
        db.prepare('INSERT OR IGNORE INTO shortcut_walk_resolved (walk_id, shortcut_id) VALUES (?, ?)').run(item.walkId, item.shortcut.id);
      }
      this.enqueue(item.walkId, done.enqueue);
      return true;
    })();
  }

  /** Whether the walk resolved this shortcut already (reached both by the scan and through a followed folder). */
  resolvedBefore(walkId: string, shortcutId: string): boolean {
    const row = this.catalog.db
      .prepare('SELECT 1 FROM shortcut_walk_resolved WHERE walk_id = ? AND shortcut_id = ?')
      .get(walkId, shortcutId);
    return row !== undefined;
  }

  /** Forgets a finished walk. */
  end(walkId: string): void {
    this.catalog.db.prepare('DELETE FROM shortcut_walks WHERE walk_id = ?').run(walkId);
  }

  private firstItem(walkId: string): WalkItem | undefined {
    const row = this.catalog.db.prepare('SELECT * FROM shortcut_walk_items WHERE walk_id = ? ORDER BY seq LIMIT 1').get(walkId) as
      | ItemRow
      | undefined;
    if (!row) return undefined;
    const base = { walkId: row.walk_id, seq: row.seq, following: JSON.parse(row.following) as string[] };
    return row.kind === 'shortcut'
      ? {
          ...base,
          kind: 'shortcut',
          shortcut: { id: row.item_id, parentId: row.parent_id, driveId: row.drive_id, targetId: row.target_id },
        }
      : { ...base, kind: 'folder', folderId: row.item_id, driveId: row.drive_id, pageToken: row.page_token };
  }
}
