import type { FullSyncSummary, FullSyncTotals } from '../../common/types';
import { holdAccount, releaseRun } from './accountHold';
import type { Catalog } from './catalog';
import { promoteStagedTokens } from './changeTokens';
import { countPending, countSkipped } from './syncQueue';

export const RUN_KINDS = ['full-sync', 'incremental-sweep', 'nightly-dump', 'weekly-rollup', 'restore', 'listing'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * Records a run's start; starting the same run again (after continue-as-new or a retry) keeps the first start.
 * A full sync holds the account while it runs.
 */
export function startRun(catalog: Catalog, input: { runId: string; kind: RunKind; workflowId: string }): void {
  catalog.db.transaction(() => {
    catalog.db
      .prepare(`INSERT INTO runs (id, kind, workflow_id, started_at, status) VALUES (?, ?, ?, ?, 'running') ON CONFLICT (id) DO NOTHING`)
      .run(input.runId, input.kind, input.workflowId, new Date().toISOString());
    if (input.kind === 'full-sync') holdAccount(catalog, input);
  })();
}

/**
 * Closes a run with its totals, and reports time and rate measured from its recorded start. The run lets go of
 * the account and its claims, and the change tokens it staged before its listing become current.
 */
export function finishRun<T extends FullSyncTotals>(catalog: Catalog, input: { runId: string; totals: T }): FullSyncSummary & T {
  const ended = new Date();
  const seconds = catalog.secondsSinceRunStarted(input.runId, ended);
  if (seconds === undefined) throw new Error(`run ${input.runId} was never started`);
  const failedDestinations = catalog.db
    .prepare('SELECT DISTINCT destination FROM failures WHERE run_id = ? AND resolved_at IS NULL AND destination IS NOT NULL')
    .all(input.runId) as Array<{ destination: string }>;
  const degraded = [...new Set([...failedDestinations.map((r) => r.destination), ...Object.keys(input.totals.unverified)])].sort();
  const summary: FullSyncSummary & T = {
    ...input.totals,
    runId: input.runId,
    seconds,
    bytesPerSecond: input.totals.bytes / seconds,
    pending: countPending(catalog),
    skipped: countSkipped(catalog),
    degraded,
  };
  const status = input.totals.filesFailed > 0 ? 'failed' : 'completed';
  catalog.db.transaction(() => {
    catalog.db
      .prepare('UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE id = ?')
      .run(ended.toISOString(), status, JSON.stringify(summary), input.runId);
    promoteStagedTokens(catalog, input.runId);
    releaseRun(catalog, input.runId);
  })();
  return summary;
}

/** Closes a run that holds nothing (a dump, a rollup) with its outcome and its result as the summary. */
export function closeRun(catalog: Catalog, input: { runId: string; status: 'completed' | 'failed'; summary: unknown }): void {
  catalog.db
    .prepare('UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE id = ?')
    .run(new Date().toISOString(), input.status, JSON.stringify(input.summary), input.runId);
}

/**
 * A run whose workflow failed for good never finishes by itself: it is closed as failed with the reason, and lets go of
 * the account and its claims at once, not when the next sweep finds it abandoned. Returns whether it was still running.
 */
export function closeFailedRun(catalog: Catalog, runId: string, reason: string): boolean {
  return catalog.db.transaction(() => {
    const closed = catalog.db
      .prepare(`UPDATE runs SET status = 'failed', ended_at = ?, summary = ? WHERE id = ? AND status = 'running'`)
      .run(new Date().toISOString(), JSON.stringify({ failed: reason }), runId).changes;
    releaseRun(catalog, runId);
    return closed > 0;
  })();
}
