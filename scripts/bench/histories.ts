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

/** One activity type's share of a run: how often it ran, and its time from scheduled to closed (retries included). */
export interface ActivityTime {
  type: string;
  count: number;
  /** Summed over its executions; those that overlap are counted each. */
  totalSeconds: number;
  /** Scheduled to started, summed: time spent waiting for a worker to pick it up. */
  queuedSeconds: number;
  maxSeconds: number;
}

export interface RunProfile {
  /** First event to last, over every run of the chain. */
  seconds: number;
  events: number;
  /** Workflow tasks, scheduled to completed, summed: the workflow code's turns and their round trips. */
  workflowTasks: { count: number; seconds: number };
  /** Slowest first. */
  activities: ActivityTime[];
}

/** Where a workflow's time went, from its histories: per activity type, and the workflow tasks between them. */
export function runProfile(runs: History[]): RunProfile {
  const events = runs.flatMap((h) => h.events ?? []);
  const scheduled = new Map<string, { type: string; at: number; startedAt?: number }>();
  const byType = new Map<string, ActivityTime>();
  const workflowTasks = { count: 0, seconds: 0 };
  const taskScheduledAt = new Map<string, number>();
  for (const e of events) {
    const at = tsToMs(e.eventTime);
    const activityType = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activityType) scheduled.set(String(e.eventId), { type: activityType, at });
    const started = e.activityTaskStartedEventAttributes;
    if (started) scheduled.get(String(started.scheduledEventId))!.startedAt = at;
    if (e.workflowTaskScheduledEventAttributes) taskScheduledAt.set(String(e.eventId), at);
    const taskDone = e.workflowTaskCompletedEventAttributes;
    if (taskDone) {
      workflowTasks.count++;
      workflowTasks.seconds += (at - taskScheduledAt.get(String(taskDone.scheduledEventId))!) / 1000;
    }
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    const activity = closed && scheduled.get(String(closed.scheduledEventId));
    if (!activity) continue;
    const seconds = (at - activity.at) / 1000;
    const time = byType.get(activity.type) ?? { type: activity.type, count: 0, totalSeconds: 0, queuedSeconds: 0, maxSeconds: 0 };
    time.count++;
    time.totalSeconds += seconds;
    time.queuedSeconds += ((activity.startedAt ?? at) - activity.at) / 1000;
    time.maxSeconds = Math.max(time.maxSeconds, seconds);
    byType.set(activity.type, time);
  }
  const times = events.map((e) => tsToMs(e.eventTime));
  return {
    seconds: times.length ? (Math.max(...times) - Math.min(...times)) / 1000 : 0,
    events: events.length,
    workflowTasks,
    activities: [...byType.values()].sort((a, b) => b.totalSeconds - a.totalSeconds),
  };
}
