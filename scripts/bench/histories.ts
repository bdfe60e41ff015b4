import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { tsToMs } from '@temporalio/common/lib/time';
import { childFirstRunId, runChain } from '../../test/support/histories';

type HistoryEvent = NonNullable<History['events']>[number];

export interface RunHistory {
  workflowId: string;
  /** 1 for the first run, 2 for the run it continued as, and so on. */
  run: number;
  events: number;
  /** The server's count (Temporal's limit is 50 MB). */
  bytes: number;
}

export interface SyncHistories {
  /** Every run of the full sync and of its listing child, in order. */
  runs: RunHistory[];
  /** From the first transfer batch scheduled to the last one closed, over every run of the full sync. */
  transferSeconds: number;
}

/** The span of a run's transfer phase: its transferBatch activities, from the first scheduled to the last closed. */
function transferSpanMs(events: HistoryEvent[]): { first: number; last: number } | undefined {
  const scheduled = new Set<string>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'transferBatch') {
      scheduled.add(String(e.eventId));
      first = Math.min(first, tsToMs(e.eventTime));
    }
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (closed && scheduled.has(String(closed.scheduledEventId))) last = Math.max(last, tsToMs(e.eventTime));
  }
  return scheduled.size ? { first, last } : undefined;
}

/** Length and size of each run of a workflow, from its first run along its continue-as-new chain. */
async function runLengths(client: Client, workflowId: string, firstRunId: string, runs: History[]): Promise<RunHistory[]> {
  const lengths: RunHistory[] = [];
  let runId: string | null | undefined = firstRunId;
  for (const [i, history] of runs.entries()) {
    const { historySize } = await client.workflow.getHandle(workflowId, runId!).describe();
    lengths.push({ workflowId, run: i + 1, events: history.events?.length ?? 0, bytes: historySize ?? 0 });
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return lengths;
}

/** The history of every run of a full sync (continued-as-new runs included) and of its listing child. */
export async function fullSyncHistories(client: Client, workflowId: string, firstRunId: string): Promise<SyncHistories> {
  const sync = await runChain(client, workflowId, firstRunId);
  const listingId = `${workflowId}-listing`;
  const listingFirstRunId = childFirstRunId(sync, listingId);
  const listing = await runChain(client, listingId, listingFirstRunId);
  const spans = sync.map((run) => transferSpanMs(run.events ?? [])).filter((s) => s !== undefined);
  const transferMs = spans.length ? Math.max(...spans.map((s) => s.last)) - Math.min(...spans.map((s) => s.first)) : 0;
  return {
    runs: [
      ...(await runLengths(client, workflowId, firstRunId, sync)),
      ...(await runLengths(client, listingId, listingFirstRunId, listing)),
    ],
    transferSeconds: transferMs / 1000,
  };
}

export const largestHistory = (runs: RunHistory[]): RunHistory => runs.reduce((a, b) => (b.events > a.events ? b : a));
