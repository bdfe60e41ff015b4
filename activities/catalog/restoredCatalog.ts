import Database from 'better-sqlite3';
import { type RunRef, accountHolder } from './accountHold';
import type { Catalog } from './catalog';
import { migrations } from './migrations';
import type { RunKind } from './runs';

/** The newest schema this code knows: a dump from a newer one cannot be restored by it. */
export const LATEST_SCHEMA_VERSION = Math.max(...migrations.map((m) => m.version));

/** What a catalog holds, as restore and recovery report it. */
export interface CatalogCounts {
  /** Every item: files, folders, shortcuts. */
  files: number;
  /** Objects the destinations hold (uploaded or verified). */
  objects: number;
  schemaVersion: number;
}

export function catalogCounts(catalog: Catalog): CatalogCounts {
  const count = (sql: string) => (catalog.db.prepare(sql).get() as { n: number }).n;
  return {
    files: count('SELECT count(*) AS n FROM files'),
    objects: count(`SELECT count(*) AS n FROM objects WHERE state IN ('uploaded', 'verified')`),
    schemaVersion: catalog.schemaVersion(),
  };
}

/**
 * The schema version and item count of a catalog file, read without migrating or writing it; a file that has no
 * catalog tables yet (created empty) counts 0 items. Throws when SQLite cannot read the file.
 */
export function peekCatalogFile(path: string): { schemaVersion: number; files: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const has = (table: string) => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
    return {
      schemaVersion: has('schema_migrations')
        ? ((db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0)
        : 0,
      files: has('files') ? (db.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n : 0,
    };
  } finally {
    db.close();
  }
}

/** A run the catalog records as running, with its kind. */
export interface RecordedRun extends RunRef {
  kind: RunKind;
}

/** The runs the catalog records as running, and the holder of the account hold if it is not one of them. */
export function recordedRunningRuns(catalog: Catalog): RecordedRun[] {
  const runs = (
    catalog.db.prepare(`SELECT id, kind, workflow_id FROM runs WHERE status = 'running' ORDER BY started_at, id`).all() as Array<{
      id: string;
      kind: RunKind;
      workflow_id: string;
    }>
  ).map((r) => ({ runId: r.id, kind: r.kind, workflowId: r.workflow_id }));
  const holder = accountHolder(catalog);
  if (holder && !runs.some((r) => r.runId === holder.runId)) runs.push({ ...holder, kind: 'full-sync' });
  return runs;
}

/** The catalog's names version: planned object keys cached by a worker are good only while it is unchanged. */
export function namesVersion(catalog: Catalog): number {
  return (catalog.db.prepare('SELECT names_version AS v FROM catalog_state').get() as { v: number }).v;
}

/**
 * Makes a catalog restored from a dump or a manifest fit to be worked on, in one transaction. A dump is a snapshot:
 * the runs it records as running (at least the nightly dump that took it, maybe a sweep or a full sync) ran against
 * the catalog as it was then, and none of them can go on against this copy. They are closed as abandoned, and what
 * they held is let go: the account hold (a full sync would else be skipped until Temporal was asked about a run it
 * may never have heard of, on a new server) and their claims on pending files; their staged change tokens are
 * dropped, as a run that never finishes never makes them current. The names version is moved past `aboveNamesVersion`
 * (the live catalog's, when restoring under a running worker), so object keys a worker planned from the catalog it
 * had are never taken for this one's. Returns the runs it closed.
 */
export function settleRestoredCatalog(catalog: Catalog, input: { reason: string; aboveNamesVersion: number }): RecordedRun[] {
  const { db } = catalog;
  return db.transaction(() => {
    const running = recordedRunningRuns(catalog);
    db.prepare(`UPDATE runs SET status = 'cancelled', ended_at = ?, summary = ? WHERE status = 'running'`).run(
      new Date().toISOString(),
      JSON.stringify({ abandoned: input.reason }),
    );
    db.prepare('DELETE FROM account_hold').run();
    db.prepare('UPDATE files SET claimed_by = NULL WHERE claimed_by IS NOT NULL').run();
    db.prepare('DELETE FROM staged_change_tokens').run();
    db.prepare('UPDATE catalog_state SET names_version = max(names_version, ?) + 1').run(input.aboveNamesVersion);
    return running;
  })();
}

/**
 * A key the catalog holds outside `drive/<account>/`: a catalog of another account, or undefined. Two range reads of
 * the keys' index (the keys below the folder sort between `<folder>/` and `<folder>0`), so cheap on any catalog.
 */
export function keyOutsideAccount(catalog: Catalog, accountKey: string): string | undefined {
  const row = catalog.db.prepare('SELECT key FROM object_keys WHERE key < ? OR key >= ? LIMIT 1').get(`${accountKey}/`, `${accountKey}0`) as
    | { key: string }
    | undefined;
  return row?.key;
}
