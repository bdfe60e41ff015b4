import type { Catalog } from './catalog';

/** The changes feed of My Drive (with what is shared with the account), or of one shared drive by its id. */
export const MY_DRIVE_SCOPE = 'my-drive';

/** Each drive's start page token: where the next sweep reads Drive's changes feed from. */
export function changeTokens(catalog: Catalog): Map<string, string> {
  const rows = catalog.db.prepare('SELECT scope, token FROM change_tokens').all() as Array<{ scope: string; token: string }>;
  return new Map(rows.map((r) => [r.scope, r.token]));
}

/**
 * Makes `token` the drive's current one. `readUpTo`: when the feed was read up to, what the sweep lag counts from
 * (now for a sweep's new token; for a full sync's, when it was taken, before the listing).
 */
export function saveChangeToken(catalog: Catalog, scope: string, token: string, readUpTo = new Date().toISOString()): void {
  catalog.db
    .prepare(
      `INSERT INTO change_tokens (scope, token, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (scope) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at`,
    )
    .run(scope, token, readUpTo);
}

export function dropChangeToken(catalog: Catalog, scope: string): void {
  catalog.db.prepare('DELETE FROM change_tokens WHERE scope = ?').run(scope);
}

/**
 * A token taken before a listing begins, kept aside until the listing is whole: a sweep reading from it then
 * misses nothing that changed while the listing ran, and a listing that fails leaves the old tokens in place.
 */
export function stageChangeToken(catalog: Catalog, runId: string, scope: string, token: string, takenAt = new Date().toISOString()): void {
  catalog.db
    .prepare(
      `INSERT INTO staged_change_tokens (run_id, scope, token, taken_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET token = excluded.token, taken_at = excluded.taken_at`,
    )
    .run(runId, scope, token, takenAt);
}

/** Makes a finished run's staged tokens current; returns how many. */
export function promoteStagedTokens(catalog: Catalog, runId: string): number {
  return catalog.db.transaction(() => {
    const staged = catalog.db.prepare('SELECT scope, token, taken_at FROM staged_change_tokens WHERE run_id = ?').all(runId) as Array<{
      scope: string;
      token: string;
      taken_at: string | null;
    }>;
    // A token staged before its time was kept counts from now, as before.
    for (const s of staged) saveChangeToken(catalog, s.scope, s.token, s.taken_at ?? undefined);
    catalog.db.prepare('DELETE FROM staged_change_tokens WHERE run_id = ?').run(runId);
    return staged.length;
  })();
}
