import {
  type CalendarSpecDescription,
  type Client,
  type Range,
  type ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
  type ScheduleSpecDescription,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Config, ScheduleTimesConfig } from '../common/config';
import { intervalMs } from '../common/scheduleTimes';
import { catalogTaskQueue } from '../common/taskQueues';
import { fullSync, incrementalSweep, nightlyDump, weeklyRollup } from '../workflows';
import { fullSyncInput } from './fullSyncRuns';
import { sweepInput } from './sweepRuns';

/** The four schedules, by the names the CLI and the HTTP API take. */
export const SCHEDULE_NAMES = ['full-sync', 'sweep', 'nightly-dump', 'weekly-rollup'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** What one schedule starts, and where its times sit in the config. */
export interface ScheduledJob {
  name: ScheduleName;
  /** Fixed, so a worker start finds the schedule an earlier one made instead of making another. */
  scheduleId: string;
  configKey: keyof Config['schedules'];
  workflowType: string;
  /** The BackupKind search attribute of the runs it starts, as runs started by hand are tagged. */
  backupKind: string;
  args(config: Config): unknown[];
}

const catalogJobArgs = (config: Config) => [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }];

export const SCHEDULED_JOBS: Record<ScheduleName, ScheduledJob> = {
  'full-sync': {
    name: 'full-sync',
    scheduleId: 'drive-vault-full-sync',
    configKey: 'fullSync',
    workflowType: fullSync.name,
    backupKind: 'full-sync',
    args: (config) => [fullSyncInput(config)],
  },
  sweep: {
    name: 'sweep',
    scheduleId: 'drive-vault-sweep',
    configKey: 'sweep',
    workflowType: incrementalSweep.name,
    backupKind: 'incremental-sweep',
    args: (config) => [sweepInput(config)],
  },
  'nightly-dump': {
    name: 'nightly-dump',
    scheduleId: 'drive-vault-nightly-dump',
    configKey: 'nightlyDump',
    workflowType: nightlyDump.name,
    backupKind: 'nightly-dump',
    args: catalogJobArgs,
  },
  'weekly-rollup': {
    name: 'weekly-rollup',
    scheduleId: 'drive-vault-weekly-rollup',
    configKey: 'weeklyRollup',
    workflowType: weeklyRollup.name,
    backupKind: 'weekly-rollup',
    args: catalogJobArgs,
  },
};

/** The schedule a name given on a command line or in a URL stands for; undefined for a name that is not one of the four. */
export function scheduledJob(name: string): ScheduledJob | undefined {
  return (SCHEDULE_NAMES as readonly string[]).includes(name) ? SCHEDULED_JOBS[name as ScheduleName] : undefined;
}

/** The config's times as a Temporal schedule spec: one cron string or one interval, in the configured time zone. */
export function scheduleSpec(times: ScheduleTimesConfig): ScheduleSpec {
  const when: ScheduleSpec =
    times.cron === undefined ? { intervals: [{ every: intervalMs(times.every!)! }] } : { cronExpressions: [times.cron] };
  return { ...when, timezone: times.timezone };
}

export function scheduleWebUiLink(config: Config, scheduleId?: string): string {
  const base = `${config.temporal.webUiUrl.replace(/\/?$/, '/')}namespaces/${encodeURIComponent(config.temporal.namespace)}/schedules`;
  return scheduleId ? `${base}/${encodeURIComponent(scheduleId)}` : base;
}

/** "Run now": one run at once, unless one of this schedule is still running (overlap SKIP). */
export async function triggerSchedule(client: Client, job: ScheduledJob): Promise<void> {
  await client.schedule.getHandle(job.scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
}

/** Pauses the schedule with a note saying why; the note stays through worker restarts, as a pause from the Web UI does. */
export async function pauseSchedule(client: Client, job: ScheduledJob, note: string): Promise<void> {
  await client.schedule.getHandle(job.scheduleId).pause(note);
}

export async function resumeSchedule(client: Client, job: ScheduledJob, note: string): Promise<void> {
  await client.schedule.getHandle(job.scheduleId).unpause(note);
}

/** One schedule as an operator reads it: for `drive-vault schedules list`, and its JSON for scripts. */
export interface ScheduleRow {
  name: ScheduleName;
  scheduleId: string;
  /** False until a worker of the catalog host has started once and created it. */
  exists: boolean;
  paused: boolean;
  /** The pause note (or the last resume's), as the Web UI shows it. */
  note: string | null;
  /** The times as the server has them, e.g. `cron 0 1 * * SUN (UTC)` or `every 5m`. */
  spec: string | null;
  /** Null while paused. */
  nextRun: string | null;
  lastRun: { workflowId: string; scheduledAt: string; startedAt: string; status: string } | null;
  /** Runs it started that are still open. */
  running: number;
}

/** The cron fields in their order, with the names the SDK decodes months and weekdays to. */
const CALENDAR_FIELDS: ReadonlyArray<{ key: keyof CalendarSpecDescription; all: [number | string, number | string] }> = [
  { key: 'minute', all: [0, 59] },
  { key: 'hour', all: [0, 23] },
  { key: 'dayOfMonth', all: [1, 31] },
  { key: 'month', all: ['JANUARY', 'DECEMBER'] },
  { key: 'dayOfWeek', all: ['SUNDAY', 'SATURDAY'] },
];

/** JANUARY → JAN, SUNDAY → SUN; numbers stay. */
const cronValue = (value: number | string) => (typeof value === 'string' ? value.slice(0, 3) : String(value));

/** A compiled field back in cron form: `*`, `9-17`, `MON-FRI`, `0,30`, with its step (`/15`). */
function cronField(ranges: Range<number | string>[], all?: [number | string, number | string]): string {
  if (ranges.length === 0) return '*';
  return ranges
    .map((r) => {
      const step = r.step > 1 ? `/${r.step}` : '';
      if (all && r.start === all[0] && r.end === all[1]) return `*${step}`;
      return r.start === r.end ? cronValue(r.start) : `${cronValue(r.start)}-${cronValue(r.end)}${step}`;
    })
    .join(',');
}

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 300000 → 5m, 5400000 → 1h30m: the form the config takes. */
export function formatInterval(ms: number): string {
  let rest = ms;
  let text = '';
  for (const [unit, size] of UNITS) {
    if (rest >= size) text += `${Math.floor(rest / size)}${unit}`;
    rest %= size;
  }
  return text || '0s';
}

/** The server's compiled spec in the config's words: `cron 0 1 * * SUN (UTC)`, `every 5m`. */
export function describeSpec(spec: ScheduleSpecDescription): string {
  const zone = spec.timezone || 'UTC';
  const crons = (spec.calendars ?? []).map((c) => {
    const fields = CALENDAR_FIELDS.map(({ key, all }) => cronField(c[key] as Range<number | string>[], all));
    const seconds = cronField(c.second, [0, 59]);
    const year = c.year.length ? ` year ${cronField(c.year)}` : '';
    return `cron ${seconds === '0' ? '' : `${seconds} `}${fields.join(' ')}${year} (${zone})`;
  });
  const intervals = (spec.intervals ?? []).map(
    (i) => `every ${formatInterval(i.every)}${i.offset ? ` offset ${formatInterval(i.offset)}` : ''}`,
  );
  return [...crons, ...intervals].join('; ') || 'no times';
}

async function lastRun(client: Client, description: ScheduleDescription): Promise<ScheduleRow['lastRun']> {
  const last = description.info.recentActions.at(-1);
  if (!last) return null;
  const { workflowId } = last.action.workflow;
  let status = 'UNKNOWN';
  try {
    // The latest run of its id: a full sync continues as new, and its first run's status says only that.
    status = (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  return { workflowId, scheduledAt: last.scheduledAt.toISOString(), startedAt: last.takenAt.toISOString(), status };
}

/** The row of one schedule, from describe() and the status of the run it started last. */
export async function scheduleRow(client: Client, job: ScheduledJob): Promise<ScheduleRow> {
  let description: ScheduleDescription;
  try {
    description = await client.schedule.getHandle(job.scheduleId).describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    const none = { paused: false, note: null, spec: null, nextRun: null, lastRun: null, running: 0 };
    return { name: job.name, scheduleId: job.scheduleId, exists: false, ...none };
  }
  return {
    name: job.name,
    scheduleId: job.scheduleId,
    exists: true,
    paused: description.state.paused,
    note: description.state.note || null,
    spec: describeSpec(description.spec),
    nextRun: description.state.paused ? null : (description.info.nextActionTimes[0]?.toISOString() ?? null),
    lastRun: await lastRun(client, description),
    running: description.info.runningActions.length,
  };
}

export function scheduleRows(client: Client): Promise<ScheduleRow[]> {
  return Promise.all(SCHEDULE_NAMES.map((name) => scheduleRow(client, SCHEDULED_JOBS[name])));
}

/** `drive-vault schedules list` for a person: one block per schedule. */
export function formatScheduleRows(rows: ScheduleRow[], link: string): string {
  const blocks = rows.map((row) => {
    const title = `${row.name} (${row.scheduleId})`;
    if (!row.exists) return `${title}: not created yet (the catalog host's worker creates it when it starts)`;
    const state = row.paused ? `paused${row.note ? `: ${row.note}` : ''}` : 'active';
    const last = row.lastRun ? `${row.lastRun.startedAt} ${row.lastRun.workflowId}: ${row.lastRun.status}` : 'none yet';
    return [
      `${title}: ${state}`,
      `  spec     ${row.spec}`,
      `  next     ${row.nextRun ?? (row.paused ? 'none while paused' : 'none')}`,
      `  last     ${last}${row.running ? ` (${row.running} running)` : ''}`,
    ].join('\n');
  });
  return [...blocks, `Web UI ${link}`].join('\n');
}
