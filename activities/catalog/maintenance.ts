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

/** Trashed objects of days before `day` were purged from their destinations: the catalog forgets them too. */
export function forgetTrashedBefore(catalog: Catalog, day: string): number {
  return catalog.db.prepare('DELETE FROM trashed_objects WHERE trashed_on < ?').run(day).changes;
}
