import type { CatalogReadings } from '../../common/metrics';
import type { Catalog } from './catalog';
import { RUN_KINDS } from './runs';

/**
 * The catalog's answers to a metrics scrape. Each is cheap at any catalog size, as a scrape comes every few seconds:
 * one index lookup per run kind (runs_by_kind_status), the change tokens (one row per drive), and the open
 * failures through their partial index (as many rows as there are open failures, not files).
 */
export function catalogReadings(catalog: Catalog): CatalogReadings {
  const { db } = catalog;
  const lastCompleted = db.prepare(`SELECT max(ended_at) AS endedAt FROM runs WHERE kind = ? AND status = 'completed'`);
  const oldestChangesRead = db.prepare('SELECT min(updated_at) AS readAt FROM change_tokens');
  const openFailures = db.prepare(
    `SELECT coalesce(destination, '') AS destination, reason, count(*) AS count FROM failures WHERE resolved_at IS NULL
     GROUP BY destination, reason`,
  );
  return {
    lastCompletedRuns: () =>
      RUN_KINDS.flatMap((kind) => {
        const { endedAt } = lastCompleted.get(kind) as { endedAt: string | null };
        return endedAt ? [{ kind, endedAt }] : [];
      }),
    oldestChangesRead: () => (oldestChangesRead.get() as { readAt: string | null }).readAt ?? undefined,
    openFailures: () => openFailures.all() as Array<{ destination: string; reason: string; count: number }>,
  };
}
