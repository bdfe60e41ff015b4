import type { Catalog } from './catalog';

/** The day (YYYY-MM-DD, UTC) a daily task last ran, so runs every few minutes do it once a day. */
export function lastDoneOn(catalog: Catalog, task: string): string | undefined {
  return (catalog.db.prepare('SELECT last_done_on FROM maintenance WHERE task = ?').get(task) as { last_done_on: string } | undefined)
    ?.last_done_on;
}

export function markDoneOn(catalog: Catalog, task: string, day: string): void {
  catalog.db
    .prepare(
      'INSERT INTO maintenance (task, last_done_on) VALUES (?, ?) ON CONFLICT (task) DO UPDATE SET last_done_on = excluded.last_done_on',
    )
    .run(task, day);
}

/** A destination's trashed objects of days before `day` were purged from it: the catalog forgets them too. */
export function forgetTrashedBefore(catalog: Catalog, destination: string, day: string): number {
  return catalog.db.prepare('DELETE FROM trashed_objects WHERE destination = ? AND trashed_on < ?').run(destination, day).changes;
}
