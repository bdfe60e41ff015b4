import type { Catalog, FileState } from './catalog';

export const FILE_STATES = ['pending', 'synced', 'failed', 'deferred', 'skipped'] as const satisfies readonly FileState[];

/** Content files still in Drive, by state: each from an index, so the count costs the same at a million files. */
export function fileStateCounts(catalog: Catalog): Record<FileState, number> {
  const rows = catalog.db
    .prepare('SELECT state, count(*) AS n FROM files WHERE gone IS NULL AND state IS NOT NULL GROUP BY state')
    .all() as Array<{ state: FileState; n: number }>;
  const counts = Object.fromEntries(FILE_STATES.map((s) => [s, 0])) as Record<FileState, number>;
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}

export interface ObjectTotals {
  objects: number;
  bytes: number;
  /** Objects and bytes by object state: pending, uploaded, verified, failed. */
  byState: Record<string, { objects: number; bytes: number }>;
}

/** Objects and bytes each destination holds (their recorded sizes), from the totals triggers keep: no scan. */
export function objectTotals(catalog: Catalog): Map<string, ObjectTotals> {
  const rows = catalog.db.prepare('SELECT destination, state, objects, bytes FROM object_totals WHERE objects > 0').all() as Array<{
    destination: string;
    state: string;
    objects: number;
    bytes: number;
  }>;
  const totals = new Map<string, ObjectTotals>();
  for (const r of rows) {
    const t = totals.get(r.destination) ?? { objects: 0, bytes: 0, byState: {} };
    t.objects += r.objects;
    t.bytes += r.bytes;
    t.byState[r.state] = { objects: r.objects, bytes: r.bytes };
    totals.set(r.destination, t);
  }
  return totals;
}

/** Open failures per destination (a failure recorded without one, under ''), from the open-failures index. */
export function openFailureCounts(catalog: Catalog): Map<string, number> {
  const rows = catalog.db
    .prepare(`SELECT coalesce(destination, '') AS destination, count(*) AS n FROM failures WHERE resolved_at IS NULL GROUP BY 1`)
    .all() as Array<{ destination: string; n: number }>;
  return new Map(rows.map((r) => [r.destination, r.n]));
}

/** Objects kept under `.trash/` per destination, and their bytes: a scan of the trash, which retention keeps small. */
export function trashTotals(catalog: Catalog): Map<string, { objects: number; bytes: number }> {
  const rows = catalog.db
    .prepare('SELECT destination, count(*) AS objects, coalesce(sum(size), 0) AS bytes FROM trashed_objects GROUP BY destination')
    .all() as Array<{ destination: string; objects: number; bytes: number }>;
  return new Map(rows.map((r) => [r.destination, { objects: r.objects, bytes: r.bytes }]));
}
