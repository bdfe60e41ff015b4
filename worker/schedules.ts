import { createHash } from 'node:crypto';
import {
  Client,
  Connection,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import { SCHEDULED_JOBS, SCHEDULE_NAMES, type ScheduleName, type ScheduledJob, scheduleSpec } from '../api/schedules';
import { runSearchAttributes } from '../api/searchAttributes';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { TASK_QUEUES } from '../common/taskQueues';

/**
 * The key, in the memo of a schedule's action, of a hash of what the config asked for when the schedule was last
 * written. The server compiles cron strings into calendars, so comparing its spec with the config's would be
 * guesswork; comparing hashes is exact.
 */
export const SCHEDULE_HASH_MEMO = 'driveVaultScheduleHash';

export type ReconcileOutcome = 'created' | 'updated' | 'unchanged';

export interface ReconciledSchedule {
  name: ScheduleName;
  scheduleId: string;
  outcome: ReconcileOutcome;
  /** The schedule's state after reconciliation: an operator's pause and its note are kept, never set here. */
  paused: boolean;
  note: string | null;
}

/** JSON with every object's keys sorted, so that equal values always hash alike. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** The spec, action and policies the config asks for, and their hash. */
export function desiredSchedule(config: Config, job: ScheduledJob) {
  const spec = scheduleSpec(config.schedules[job.configKey]);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: job.workflowType,
    // Temporal appends the scheduled time: `full-sync-2026-11-29T01:00:00Z`, beside `full-sync-<time>` started by hand.
    workflowId: job.name,
    taskQueue: TASK_QUEUES.workflows,
    args: job.args(config),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  const hash = createHash('sha256')
    .update(stableJson({ spec, action, policies, backupKind: job.backupKind, account: config.account }))
    .digest('hex');
  const tagged = {
    ...action,
    memo: { [SCHEDULE_HASH_MEMO]: hash },
    typedSearchAttributes: runSearchAttributes(job.backupKind, config.account),
  };
  return { spec, action: tagged, policies, hash };
}

async function describeIfExists(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

async function reconcileOne(client: Client, config: Config, job: ScheduledJob): Promise<ReconciledSchedule> {
  const desired = desiredSchedule(config, job);
  const handle = client.schedule.getHandle(job.scheduleId);
  const result = (outcome: ReconcileOutcome, state: { paused: boolean; note?: string }) => ({
    name: job.name,
    scheduleId: job.scheduleId,
    outcome,
    paused: state.paused,
    note: state.note || null,
  });
  let current = await describeIfExists(client, job.scheduleId);
  if (!current) {
    try {
      await client.schedule.create({ scheduleId: job.scheduleId, spec: desired.spec, action: desired.action, policies: desired.policies });
      return result('created', { paused: false });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      // Another worker start created it between the describe and the create: that one stands, brought up to date below.
      current = await handle.describe();
    }
  }
  if (current.action.memo?.[SCHEDULE_HASH_MEMO] === desired.hash) return result('unchanged', current.state);
  let kept = current.state;
  await handle.update((previous) => {
    // An update replaces the state too: without this, it would resume a schedule an operator paused.
    kept = previous.state;
    const { paused, note, remainingActions } = previous.state;
    return { spec: desired.spec, action: desired.action, policies: desired.policies, state: { paused, note, remainingActions } };
  });
  return result('updated', kept);
}

/**
 * Brings the four schedules in line with the config: each is created if missing, updated (spec, action,
 * policies) if the config changed since it was written, and left alone otherwise. Never a second one: the ids are
 * fixed, and a create that loses a race with another worker's falls back to an update. A pause and its note, from
 * the Web UI or the CLI, survive every reconciliation.
 */
export async function reconcileSchedules(client: Client, config: Config, logger: Logger): Promise<ReconciledSchedule[]> {
  const reconciled: ReconciledSchedule[] = [];
  for (const name of SCHEDULE_NAMES) {
    const schedule = await reconcileOne(client, config, SCHEDULED_JOBS[name]);
    logger.info({ event: 'schedule.reconciled', ...schedule }, `schedule ${name} ${schedule.outcome}${schedule.paused ? ' (paused)' : ''}`);
    reconciled.push(schedule);
  }
  return reconciled;
}

/** What a catalog host's worker does as it starts: the schedules on the Temporal server the config names. */
export async function reconcileSchedulesAtStart(config: Config, logger: Logger): Promise<ReconciledSchedule[]> {
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    return await reconcileSchedules(new Client({ connection, namespace: config.temporal.namespace }), config, logger);
  } finally {
    await connection.close();
  }
}
