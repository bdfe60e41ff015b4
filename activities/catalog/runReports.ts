import type { FullSyncSummary } from '../../common/types';
import type { Catalog } from './catalog';
import type { HealthEvidence } from './destinationHealth';

/** The failure reason of a write or read a destination refused or could not be reached for (retryPolicy.ts). */
const DESTINATION_ERROR = 'destinationError';

/** A failed file's row as a notice lists it, its destinations split and sorted. */
export const fileFailureLine = (r: FailedFileRow): FileFailureLine => ({
  fileId: r.file_id,
  name: r.name,
  reason: r.reason,
  message: r.message,
  destinations: r.destinations ? r.destinations.split(',').sort() : [],
});

/** A failed file as the notices list it: one row per file, its destinations joined; `total` counts every such file. */
export interface FailedFileRow {
  file_id: string;
  name: string;
  reason: string;
  message: string;
  destinations: string | null;
  total: number;
}

export interface RunRecord {
  runId: string;
  workflowId: string;
  kind: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  summary: unknown;
}

export function runRecord(catalog: Catalog, runId: string): RunRecord | undefined {
  const row = catalog.db.prepare('SELECT id, workflow_id, kind, status, started_at, ended_at, summary FROM runs WHERE id = ?').get(runId) as
    | { id: string; workflow_id: string; kind: string; status: string; started_at: string; ended_at: string | null; summary: string | null }
    | undefined;
  if (!row) return undefined;
  return {
    runId: row.id,
    workflowId: row.workflow_id,
    kind: row.kind,
    status: row.status,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    summary: row.summary === null ? null : JSON.parse(row.summary),
  };
}

/**
 * What a finished full sync or sweep found of each destination. Degraded: some file could not be written to it (a
 * destination error, not a Drive one: a download that fails is every destination's failure and none's fault), or some
 * object on it could not be checked. Healthy: it took and showed objects, and nothing of the above. A run that did
 * not touch a destination says nothing of it.
 */
export function syncRunEvidence(catalog: Catalog, runId: string): Record<string, HealthEvidence> {
  const summary = (runRecord(catalog, runId)?.summary ?? {}) as Partial<FullSyncSummary>;
  // A file's failure carries the first error of its try on every destination it missed: only a message that names
  // the destination (a DestinationError starts with its name) says why that one failed.
  const refused = catalog.db
    .prepare(
      `SELECT destination, count(*) AS files, max(CASE WHEN message LIKE destination || ': %' THEN message END) AS message
       FROM failures WHERE run_id = ? AND reason = ? AND destination IS NOT NULL GROUP BY destination`,
    )
    .all(runId, DESTINATION_ERROR) as Array<{ destination: string; files: number; message: string | null }>;
  const evidence: Record<string, HealthEvidence> = {};
  for (const [destination, objects] of Object.entries(summary.verified ?? {})) {
    if (objects > 0) evidence[destination] = { state: 'healthy' };
  }
  for (const [destination, objects] of Object.entries(summary.unverified ?? {})) {
    if (objects > 0) evidence[destination] = { state: 'degraded', reason: `${objects} object(s) could not be checked` };
  }
  for (const r of refused) {
    const why = r.message ? `: ${r.message.slice(r.destination.length + 2)}` : '';
    evidence[r.destination] = { state: 'degraded', reason: `${r.files} file(s) could not be written${why}` };
  }
  return evidence;
}

export interface FileFailureLine {
  fileId: string;
  name: string;
  reason: string;
  message: string;
  destinations: string[];
}

/**
 * Files that failed for the first time in this run, on Drive's side or as a whole (a destination that refused them is
 * reported as degraded instead): `listed` holds the first `limit` by name. A file that goes on failing is not new in
 * later runs; the daily summary counts it.
 */
export function newFileFailures(catalog: Catalog, runId: string, limit: number): { files: number; listed: FileFailureLine[] } {
  const rows = catalog.db
    .prepare(
      `SELECT f.file_id, fi.name, f.reason, f.message, group_concat(f.destination, ',') AS destinations, count(*) OVER () AS total
       FROM failures f JOIN files fi ON fi.id = f.file_id JOIN runs r ON r.id = f.run_id
       WHERE f.run_id = ? AND f.resolved_at IS NULL AND f.first_failed_at >= r.started_at AND f.reason != ? AND fi.state = 'failed'
       GROUP BY f.file_id ORDER BY fi.name, f.file_id LIMIT ?`,
    )
    .all(runId, DESTINATION_ERROR, limit) as FailedFileRow[];
  return {
    files: rows[0]?.total ?? 0,
    listed: rows.map(fileFailureLine),
  };
}
