import type { Catalog } from './catalog';
import type { RunKind } from './runs';

/** One run as the catalog recorded it: its start, its end and outcome, and the summary it closed with. */
export interface RunRecord {
  runId: string;
  kind: RunKind;
  workflowId: string;
  startedAt: string;
  endedAt: string | null;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  summary: unknown;
}

type RunRow = {
  id: string;
  kind: RunKind;
  workflow_id: string;
  started_at: string;
  ended_at: string | null;
  status: string;
  summary: string | null;
};

const toRecord = (r: RunRow): RunRecord => ({
  runId: r.id,
  kind: r.kind,
  workflowId: r.workflow_id,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  status: r.status as RunRecord['status'],
  summary: r.summary === null ? null : JSON.parse(r.summary),
});

/** Where a page of runs ends: the next one starts before it. */
export interface RunCursor {
  startedAt: string;
  runId: string;
}

/** Runs newest first, `limit` of them before `before`, of one kind or all; from an index, whatever the history's length. */
export function runsPage(catalog: Catalog, input: { limit: number; before?: RunCursor; kind?: RunKind }): RunRecord[] {
  const rows = catalog.db
    .prepare(
      `SELECT id, kind, workflow_id, started_at, ended_at, status, summary FROM runs
       WHERE (@kind IS NULL OR kind = @kind) AND (@startedAt IS NULL OR (started_at, id) < (@startedAt, @runId))
       ORDER BY started_at DESC, id DESC LIMIT @limit`,
    )
    .all({
      kind: input.kind ?? null,
      startedAt: input.before?.startedAt ?? null,
      runId: input.before?.runId ?? null,
      limit: input.limit,
    }) as RunRow[];
  return rows.map(toRecord);
}

/** The latest run of a kind, and the latest that has ended (they differ while one runs). */
export function lastRunOf(catalog: Catalog, kind: RunKind): { last: RunRecord | null; lastFinished: RunRecord | null } {
  const latest = (where: string) =>
    catalog.db
      .prepare(
        `SELECT id, kind, workflow_id, started_at, ended_at, status, summary FROM runs WHERE kind = ? ${where}
         ORDER BY started_at DESC, id DESC LIMIT 1`,
      )
      .get(kind) as RunRow | undefined;
  const last = latest('');
  const lastFinished = last?.status === 'running' ? latest(`AND status != 'running'`) : last;
  return { last: last ? toRecord(last) : null, lastFinished: lastFinished ? toRecord(lastFinished) : null };
}
