import type { Catalog } from './catalog';

export interface RunRef {
  runId: string;
  workflowId: string;
}

/**
 * A full sync holds the account while it runs: sweeps and other full syncs started meanwhile are skipped, not queued.
 * A hold is never taken over (two listings at once would each find the other's files unlisted): returns the holder.
 */
export function holdAccount(catalog: Catalog, run: RunRef): RunRef {
  catalog.db
    .prepare('INSERT INTO account_hold (id, run_id, workflow_id, held_since) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
    .run(run.runId, run.workflowId, new Date().toISOString());
  return accountHolder(catalog)!;
}

export function accountHolder(catalog: Catalog): RunRef | undefined {
  const row = catalog.db.prepare('SELECT run_id, workflow_id FROM account_hold WHERE id = 1').get() as
    | { run_id: string; workflow_id: string }
    | undefined;
  return row && { runId: row.run_id, workflowId: row.workflow_id };
}

/** What a run holds, given back when it ends or is found abandoned: the account hold, and its claims on pending files. */
export function releaseRun(catalog: Catalog, runId: string): void {
  catalog.db.transaction(() => {
    catalog.db.prepare('DELETE FROM account_hold WHERE run_id = ?').run(runId);
    catalog.db.prepare('UPDATE files SET claimed_by = NULL WHERE claimed_by = ?').run(runId);
  })();
}

/** Runs the catalog records as running: each is checked against Temporal before its claims are trusted. */
export function runningRuns(catalog: Catalog): RunRef[] {
  return (
    catalog.db.prepare(`SELECT id, workflow_id FROM runs WHERE status = 'running'`).all() as Array<{ id: string; workflow_id: string }>
  ).map((r) => ({ runId: r.id, workflowId: r.workflow_id }));
}

/** A run whose workflow is no longer running (terminated, timed out) never finishes by itself: closed here, its holds released. */
export function closeAbandonedRun(catalog: Catalog, runId: string, reason: string): void {
  catalog.db.transaction(() => {
    catalog.db
      .prepare(`UPDATE runs SET status = 'cancelled', ended_at = ?, summary = ? WHERE id = ? AND status = 'running'`)
      .run(new Date().toISOString(), JSON.stringify({ abandoned: reason }), runId);
    releaseRun(catalog, runId);
  })();
}
