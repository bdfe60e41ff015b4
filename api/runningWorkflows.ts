import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Config } from '../common/config';
import type { RestoreProgress } from '../common/restoreTypes';
import {
  type DeepVerifyProgress,
  type FullSyncProgress,
  type SweepProgress,
  deepVerifyProgressQuery,
  fullSyncProgressQuery,
  restoreProgressQuery,
  sweepProgressQuery,
} from '../workflows';
import { webUiLink } from './fullSyncRuns';
import { BACKUP_KIND, accountQuery } from './searchAttributes';

/** Where a running workflow is, in the same terms for every kind; `detail` is its own query's answer. */
export interface RunProgress {
  phase: string | null;
  filesDone: number;
  bytesDone: number;
  filesFailed: number;
  /** What the run expects to go through, when it knows: a restore's plan, a full sync's transfer phase. */
  filesTotal: number | null;
  bytesTotal: number | null;
  detail: unknown;
}

export interface RunningWorkflow {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** The BackupKind search attribute: full-sync, incremental-sweep, nightly-dump, weekly-rollup, restore, deep-verify. */
  kind: string | null;
  startedAt: string;
  webUi: string;
  /** Null for a kind with no progress query (dump, rollup), or when its worker did not answer in time. */
  progress: RunProgress | null;
}

const sum = (counts: Record<string, { bytesRead: number; verified: number; mismatched: number; unverified: number }>) =>
  Object.values(counts).reduce(
    (t, c) => ({ files: t.files + c.verified + c.mismatched + c.unverified, bytes: t.bytes + c.bytesRead, bad: t.bad + c.mismatched }),
    { files: 0, bytes: 0, bad: 0 },
  );

/** Each workflow type's progress query, and how its answer reads as a RunProgress. */
const PROGRESS: Record<string, { query: (client: Client, w: WorkflowExecutionInfo) => Promise<RunProgress> }> = {
  fullSync: {
    query: async (client, w) => {
      const p: FullSyncProgress = await client.workflow.getHandle(w.workflowId, w.runId).query(fullSyncProgressQuery);
      const done = p.totals.filesSynced + p.totals.filesFailed + p.totals.filesDeferred;
      const transferring = p.phase === 'transfer';
      return {
        phase: p.phase,
        filesDone: p.totals.filesSynced,
        bytesDone: p.totals.bytes,
        filesFailed: p.totals.filesFailed,
        filesTotal: transferring ? done + p.pending.files : null,
        bytesTotal: null,
        detail: p,
      };
    },
  },
  incrementalSweep: {
    query: async (client, w) => {
      const p: SweepProgress = await client.workflow.getHandle(w.workflowId, w.runId).query(sweepProgressQuery);
      const t = p.totals;
      return {
        phase: p.stage,
        filesDone: t.filesSynced,
        bytesDone: t.bytes,
        filesFailed: t.filesFailed,
        filesTotal: null,
        bytesTotal: null,
        detail: p,
      };
    },
  },
  restore: {
    query: async (client, w) => {
      const p: RestoreProgress = await client.workflow.getHandle(w.workflowId, w.runId).query(restoreProgressQuery);
      return {
        phase: p.plan ? 'restore' : 'plan',
        filesDone: p.counts.filesDone,
        bytesDone: p.counts.bytesDone,
        filesFailed: p.counts.failed,
        filesTotal: p.plan?.files ?? null,
        bytesTotal: p.plan?.bytes ?? null,
        detail: p,
      };
    },
  },
  deepVerify: {
    query: async (client, w) => {
      const p: DeepVerifyProgress = await client.workflow.getHandle(w.workflowId, w.runId).query(deepVerifyProgressQuery);
      const t = sum(p.perDestination);
      return {
        phase: p.plan ? 'verify' : 'plan',
        filesDone: t.files,
        bytesDone: t.bytes,
        filesFailed: t.bad,
        filesTotal: p.plan?.objectsChosen ?? null,
        bytesTotal: null,
        detail: p,
      };
    },
  },
};

/**
 * This account's workflows Temporal runs now (its visibility, which may lag a start by a moment), newest first, at
 * most `limit`, each with its progress: every query has `queryTimeoutMs`, so a run whose worker is gone costs that
 * and shows no progress rather than holding the answer.
 */
export async function runningWorkflows(
  client: Client,
  config: Pick<Config, 'account' | 'temporal'>,
  options: { limit?: number; queryTimeoutMs?: number } = {},
): Promise<RunningWorkflow[]> {
  const limit = options.limit ?? 20;
  const found: WorkflowExecutionInfo[] = [];
  for await (const w of client.workflow.list({
    query: `${accountQuery(config.account)} AND ExecutionStatus = 'Running'`,
    pageSize: limit,
  })) {
    found.push(w);
    if (found.length >= limit) break;
  }
  return Promise.all(
    found.map(async (w): Promise<RunningWorkflow> => {
      const reader = PROGRESS[w.type];
      const progress = reader
        ? await client.withDeadline(Date.now() + (options.queryTimeoutMs ?? 1000), () => reader.query(client, w)).catch(() => null)
        : null;
      return {
        workflowId: w.workflowId,
        runId: w.runId,
        workflowType: w.type,
        kind: w.typedSearchAttributes.get(BACKUP_KIND) ?? null,
        startedAt: w.startTime.toISOString(),
        webUi: webUiLink(config, w.workflowId, w.runId),
        progress,
      };
    }),
  );
}
