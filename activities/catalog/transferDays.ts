import type { Catalog } from './catalog';

/** Objects and bytes written to one destination on one UTC day. */
export interface TransferDay {
  day: string;
  destination: string;
  objects: number;
  bytes: number;
}

/** Adds what one batch wrote to today's totals, one row per destination; called in the transaction that records the batch. */
export function addTransferredObjects(catalog: Catalog, now: string, stored: Array<{ destination: string; size: number }>): void {
  const perDestination = new Map<string, { objects: number; bytes: number }>();
  for (const o of stored) {
    const total = perDestination.get(o.destination) ?? { objects: 0, bytes: 0 };
    total.objects++;
    total.bytes += o.size;
    perDestination.set(o.destination, total);
  }
  const add = catalog.db.prepare(
    `INSERT INTO transfer_days (day, destination, objects, bytes) VALUES (?, ?, ?, ?)
     ON CONFLICT (day, destination) DO UPDATE SET objects = objects + excluded.objects, bytes = bytes + excluded.bytes`,
  );
  const day = now.slice(0, 10);
  for (const [destination, total] of perDestination) add.run(day, destination, total.objects, total.bytes);
}

/** The days from `sinceDay` (YYYY-MM-DD) on, oldest first, each destination's row. */
export function transferDays(catalog: Catalog, sinceDay: string): TransferDay[] {
  return catalog.db
    .prepare('SELECT day, destination, objects, bytes FROM transfer_days WHERE day >= ? ORDER BY day, destination')
    .all(sinceDay) as TransferDay[];
}
