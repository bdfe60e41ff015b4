import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Catalog } from './catalog';

/** One object a restore reads back, with what it must hash to and where it was in Drive. */
export interface SelectedObject {
  fileId: string;
  /** Below the destination's prefix. */
  key: string;
  /** The readable Drive path, as recorded. */
  path: string;
  size: number | null;
  sha256: string | null;
  /** The S3 object version to read, on a versioned bucket. */
  versionId: string | null;
}

/** A backed-up object of the catalog, before its Drive path is looked up. */
export type RestorableObject = Omit<SelectedObject, 'path'>;

/**
 * The objects of `destination` a restore "as it is now" reads, `limit` at a time in key order after `afterKey`: written
 * (uploaded or verified; pending and failed ones hold nothing trustworthy) and of files still in Drive.
 */
export function restorableObjects(catalog: Catalog, destination: string, afterKey: string, limit: number): RestorableObject[] {
  return catalog.db
    .prepare(
      `SELECT o.file_id AS fileId, o.key, o.size, o.sha256, o.version_id AS versionId
       FROM objects o JOIN files f ON f.id = o.file_id
       WHERE o.destination = ? AND o.key > ? AND o.state IN ('uploaded', 'verified') AND f.gone IS NULL
       ORDER BY o.key LIMIT ?`,
    )
    .all(destination, afterKey, limit) as RestorableObject[];
}

const SCHEMA = `
  CREATE TABLE selection (
    key TEXT PRIMARY KEY,
    file_id TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER,
    sha256 TEXT,
    version_id TEXT
  ) WITHOUT ROWID;
  CREATE TABLE gone_files (file_id TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE ordered (seq INTEGER PRIMARY KEY, key TEXT NOT NULL);
  CREATE TABLE pages (no INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
`;

/** The size of a restore's selection, as its plan reports it. */
export interface SelectionSize {
  files: number;
  bytes: number;
  pages: number;
}

const sizeOf = (db: Database.Database) =>
  db
    .prepare('SELECT count(*) AS pages, coalesce(sum(files), 0) AS files, coalesce(sum(bytes), 0) AS bytes FROM pages')
    .get() as SelectionSize;

/** Rows written per transaction while a selection is built. */
const WRITE_BATCH = 5_000;

/**
 * What one restore reads, in a SQLite file of its own on the catalog host (never in the catalog, which the nightly dump
 * copies; never in workflow state, which must stay small): the selected objects, largest first, cut into pages that
 * each activity reads by number. Built once in a file beside its final name, then renamed: a selection that exists
 * is whole.
 */
export class RestoreSelection {
  private constructor(private readonly db: Database.Database) {}

  /** Opens a finished selection; undefined when there is none at `path`. */
  static open(path: string): RestoreSelection | undefined {
    if (!existsSync(path)) return undefined;
    return new RestoreSelection(new Database(path, { readonly: true, fileMustExist: true }));
  }

  size(): SelectionSize {
    return sizeOf(this.db);
  }

  /** The objects of page `no`, largest first. */
  page(no: number): SelectedObject[] {
    return this.db
      .prepare(
        `SELECT s.file_id AS fileId, s.key, s.path, s.size, s.sha256, s.version_id AS versionId
         FROM pages p JOIN ordered o ON o.seq BETWEEN p.first_seq AND p.last_seq JOIN selection s ON s.key = o.key
         WHERE p.no = ? ORDER BY o.seq`,
      )
      .all(no) as SelectedObject[];
  }

  close(): void {
    this.db.close();
  }
}

/** Writes a selection into a new file at `path` (removed first if a crashed attempt left one). */
export class RestoreSelectionWriter {
  private readonly db: Database.Database;
  private readonly insertObject: Database.Statement;
  private readonly insertGone: Database.Statement;
  private objects: SelectedObject[] = [];
  private gone: string[] = [];

  constructor(readonly path: string) {
    rmSync(path, { force: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.exec(SCHEMA);
    // A manifest may list a key twice (a crafted one); the first line wins, as each key is one target file.
    this.insertObject = this.db.prepare(
      `INSERT INTO selection (key, file_id, path, size, sha256, version_id) VALUES (@key, @fileId, @path, @size, @sha256, @versionId)
       ON CONFLICT (key) DO NOTHING`,
    );
    this.insertGone = this.db.prepare('INSERT INTO gone_files (file_id) VALUES (?) ON CONFLICT DO NOTHING');
  }

  add(object: SelectedObject): void {
    if (this.objects.push(object) >= WRITE_BATCH) this.flush();
  }

  /** A file that was no longer in Drive: its objects are left out, whichever order they came in. */
  addGone(fileId: string): void {
    if (this.gone.push(fileId) >= WRITE_BATCH) this.flush();
  }

  private flush(): void {
    const { objects, gone } = this;
    this.objects = [];
    this.gone = [];
    this.db.transaction(() => {
      for (const object of objects) this.insertObject.run(object);
      for (const fileId of gone) this.insertGone.run(fileId);
    })();
  }

  /**
   * Drops gone files' objects and cuts the rest into pages of at most `pageFiles` objects and `pageBytes` recorded
   * bytes (an object larger than that gets a page of its own), largest objects first: the restore starts its longest
   * reads while the small files, whose cost is per file, fill the lanes in the end, and never ends on one large file
   * read alone. Closes the file.
   */
  finish(pageFiles: number, pageBytes: number): SelectionSize {
    this.flush();
    const db = this.db;
    db.exec(`
      DELETE FROM selection WHERE file_id IN (SELECT file_id FROM gone_files);
      INSERT INTO ordered (key) SELECT key FROM selection ORDER BY coalesce(size, 0) DESC, key;
    `);
    // Bounds first, then written: a connection does not write while it iterates. A page is a few hundred files, so
    // even a million files make only a few thousand bounds.
    const bounds: Array<{ first: number; last: number; files: number; bytes: number }> = [];
    let page: (typeof bounds)[number] | undefined;
    const rows = db.prepare('SELECT o.seq, s.size FROM ordered o JOIN selection s ON s.key = o.key ORDER BY o.seq').iterate();
    for (const row of rows as Iterable<{ seq: number; size: number | null }>) {
      const size = row.size ?? 0;
      if (!page || page.files >= pageFiles || page.bytes + size > pageBytes) {
        page = { first: row.seq, last: row.seq, files: 0, bytes: 0 };
        bounds.push(page);
      }
      page.last = row.seq;
      page.files++;
      page.bytes += size;
    }
    const insertPage = db.prepare('INSERT INTO pages (no, first_seq, last_seq, files, bytes) VALUES (?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const [no, b] of bounds.entries()) insertPage.run(no, b.first, b.last, b.files, b.bytes);
    })();
    const size = sizeOf(db);
    db.close();
    return size;
  }

  /** Closes and removes the unfinished file. */
  discard(): void {
    if (this.db.open) this.db.close();
    rmSync(this.path, { force: true });
  }
}
