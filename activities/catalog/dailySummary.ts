import type { Catalog } from './catalog';
import { type HealthState, destinationHealth } from './destinationHealth';
import { type FailedFileRow, type FileFailureLine, fileFailureLine } from './runReports';

/** The kinds of runs the summary reports the last of, in the order it lists them. */
export const SUMMARY_RUN_KINDS = ['full-sync', 'incremental-sweep', 'nightly-dump', 'weekly-rollup'] as const;

export interface LastRun {
  kind: (typeof SUMMARY_RUN_KINDS)[number];
  runId: string;
  workflowId: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
}

/** What the daily summary says, read from the catalog. */
export interface DailySummary {
  /** Content files (binary and Workspace) still in Drive, by state; `bytes` of those backed up (exports have no size). */
  files: { backedUp: number; pending: number; failed: number; deferred: number; skipped: number; bytes: number };
  /** Every configured destination: its objects and their bytes, and its health (unknown until a run reached it). */
  destinations: Array<{
    name: string;
    objects: number;
    bytes: number;
    state: HealthState | 'unknown';
    since: string | null;
    reason: string | null;
  }>;
  /** Files with an open failure, and the latest few. */
  failures: { files: number; latest: FileFailureLine[] };
  /** Runs started in the 24 hours before `now`, by outcome, and what their syncs transferred. */
  lastDay: { runs: number; completed: number; failed: number; running: number; filesSynced: number; bytes: number };
  /** The latest run of each kind; a kind never run is left out. */
  lastRuns: LastRun[];
}

export function readDailySummary(catalog: Catalog, destinations: string[], now: Date, latestFailures = 5): DailySummary {
  const db = catalog.db;
  const states = db
    .prepare(
      `SELECT state, count(*) AS n, coalesce(sum(size), 0) AS bytes FROM files
       WHERE kind IN ('binary', 'workspace') AND gone IS NULL AND state IS NOT NULL GROUP BY state`,
    )
    .all() as Array<{ state: string; n: number; bytes: number }>;
  const count = (state: string) => states.find((s) => s.state === state)?.n ?? 0;
  const objects = db
    .prepare(
      `SELECT destination, count(*) AS n, coalesce(sum(size), 0) AS bytes FROM objects WHERE state IN ('uploaded', 'verified')
       GROUP BY destination`,
    )
    .all() as Array<{ destination: string; n: number; bytes: number }>;
  const health = new Map(destinationHealth(catalog).map((h) => [h.destination, h]));
  const failures = db
    .prepare(
      `SELECT f.file_id, fi.name, f.reason, f.message, group_concat(f.destination, ',') AS destinations, max(f.last_failed_at) AS at,
         count(*) OVER () AS total
       FROM failures f JOIN files fi ON fi.id = f.file_id
       WHERE f.resolved_at IS NULL AND fi.gone IS NULL GROUP BY f.file_id ORDER BY at DESC, f.file_id LIMIT ?`,
    )
    .all(latestFailures) as FailedFileRow[];
  const dayAgo = new Date(now.getTime() - 24 * 3600 * 1000).toISOString();
  const lastDay = db
    .prepare(
      `SELECT count(*) AS runs,
         count(*) FILTER (WHERE status = 'completed') AS completed,
         count(*) FILTER (WHERE status = 'failed') AS failed,
         count(*) FILTER (WHERE status = 'running') AS running,
         coalesce(sum(json_extract(summary, '$.filesSynced')) FILTER (WHERE kind IN ('full-sync', 'incremental-sweep')), 0) AS filesSynced,
         coalesce(sum(json_extract(summary, '$.bytes')) FILTER (WHERE kind IN ('full-sync', 'incremental-sweep')), 0) AS bytes
       FROM runs WHERE started_at >= ? AND kind IN (${SUMMARY_RUN_KINDS.map(() => '?').join(', ')})`,
    )
    .get(dayAgo, ...SUMMARY_RUN_KINDS) as DailySummary['lastDay'];
  const lastRun = db.prepare(
    'SELECT id, workflow_id, status, started_at, ended_at FROM runs WHERE kind = ? ORDER BY started_at DESC, rowid DESC LIMIT 1',
  );
  const lastRuns: LastRun[] = [];
  for (const kind of SUMMARY_RUN_KINDS) {
    const r = lastRun.get(kind) as
      | { id: string; workflow_id: string; status: string; started_at: string; ended_at: string | null }
      | undefined;
    if (r) lastRuns.push({ kind, runId: r.id, workflowId: r.workflow_id, status: r.status, startedAt: r.started_at, endedAt: r.ended_at });
  }
  return {
    files: {
      backedUp: count('synced'),
      pending: count('pending'),
      failed: count('failed'),
      deferred: count('deferred'),
      skipped: count('skipped'),
      bytes: states.find((s) => s.state === 'synced')?.bytes ?? 0,
    },
    destinations: destinations.map((name) => {
      const o = objects.find((x) => x.destination === name);
      const h = health.get(name);
      return {
        name,
        objects: o?.n ?? 0,
        bytes: o?.bytes ?? 0,
        state: h?.state ?? 'unknown',
        since: h?.since ?? null,
        reason: h?.reason ?? null,
      };
    }),
    failures: {
      files: failures[0]?.total ?? 0,
      latest: failures.map(fileFailureLine),
    },
    lastDay,
    lastRuns,
  };
}
