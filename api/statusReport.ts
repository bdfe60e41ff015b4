import type { Client } from '@temporalio/client';
import type { Catalog, FileState } from '../activities/catalog/catalog';
import { fileStateCounts, objectTotals, openFailureCounts } from '../activities/catalog/catalogCounts';
import { type DestinationHealth as RecordedHealth, destinationHealth } from '../activities/catalog/destinationHealth';
import { type RunRecord, lastRunOf } from '../activities/catalog/runHistory';
import type { RunKind } from '../activities/catalog/runs';
import { type GoogleAccountStatus, googleAccountStatus } from '../activities/drive/accountStatus';
import type { Config } from '../common/config';
import { webUiLink } from './fullSyncRuns';
import { type RunningWorkflow, runningWorkflows } from './runningWorkflows';
import { type ScheduleRow, scheduleRows } from './schedules';
import { withTemporalDeadline } from './temporalDeadline';

/** The kinds of run the catalog records, each with its last run in the status. */
export const STATUS_RUN_KINDS = ['full-sync', 'incremental-sweep', 'nightly-dump', 'weekly-rollup'] as const satisfies readonly RunKind[];

export type RunWithLink = Omit<RunRecord, 'summary'> & { webUi: string };

export interface DestinationHealth {
  name: string;
  kind: 's3' | 'local';
  /**
   * `degraded` when the last run that reached for it found it so (it refused writes, or objects could not be checked:
   * the health notifications tell of), or some object of it was found missing or changed.
   */
  health: 'ok' | 'degraded';
  reasons: string[];
  objects: number;
  bytes: number;
  failedObjects: number;
  openFailures: number;
}

export interface StatusReport {
  account: string;
  /** When this report was read: the API serves one for up to STATUS_TTL_MS. */
  generatedAt: string;
  /** Reachable when it answered at all; `error` says what it did not answer, and why. */
  temporal: { reachable: boolean; error: string | null };
  /** Empty when Temporal could not be reached. */
  schedules: ScheduleRow[];
  running: RunningWorkflow[];
  lastRuns: Record<(typeof STATUS_RUN_KINDS)[number], { last: RunWithLink | null; lastFinished: RunWithLink | null }>;
  catalog: { files: Record<FileState, number> & { total: number }; openFailures: number };
  destinations: DestinationHealth[];
  /** Each Google account: connected or not, and whether its token works (asked of Google's token endpoint). */
  accounts: GoogleAccountStatus[];
}

export interface StatusDeps {
  config: Config;
  client: Client;
  catalog: Catalog;
  env?: NodeJS.ProcessEnv;
  /** The Google accounts' status; by default asked of the token endpoint at each read. */
  accounts?: () => Promise<GoogleAccountStatus[]>;
}

/** How long Temporal may take for the schedules and the running workflows before the status says it is unreachable. */
const TEMPORAL_DEADLINE_MS = 10_000;

const withLink = (config: Config, run: RunRecord | null): RunWithLink | null => {
  if (!run) return null;
  const { summary: _summary, ...rest } = run;
  return { ...rest, webUi: webUiLink(config, run.workflowId) };
};

/** What the last run that reached for a destination recorded of it (DESIGN.md section 8), as notifications tell it. */
const degradedSince = (h: RecordedHealth) => `degraded since ${h.since} (run ${h.runId})${h.reason ? `: ${h.reason}` : ''}`;

/** What the catalog says: counts from indexes and trigger-kept totals, the last runs from the runs index. No scan. */
function catalogPart(deps: StatusDeps): Pick<StatusReport, 'lastRuns' | 'catalog' | 'destinations'> {
  const { catalog, config } = deps;
  const runs = Object.fromEntries(STATUS_RUN_KINDS.map((kind) => [kind, lastRunOf(catalog, kind)])) as Record<
    (typeof STATUS_RUN_KINDS)[number],
    ReturnType<typeof lastRunOf>
  >;
  const files = fileStateCounts(catalog);
  const failures = openFailureCounts(catalog);
  const totals = objectTotals(catalog);
  const recorded = new Map(destinationHealth(catalog).map((h) => [h.destination, h]));
  const destinations = config.destinations.map((d): DestinationHealth => {
    const t = totals.get(d.name);
    const failedObjects = t?.byState.failed?.objects ?? 0;
    const openFailures = failures.get(d.name) ?? 0;
    const health = recorded.get(d.name);
    // An open failure alone says nothing of the destination: a file Drive would not give fails on every one.
    const reasons = [
      ...(health?.state === 'degraded' ? [degradedSince(health)] : []),
      ...(failedObjects ? [`${failedObjects} object${failedObjects === 1 ? '' : 's'} found missing or changed, to be written again`] : []),
    ];
    return {
      name: d.name,
      kind: d.kind,
      health: reasons.length ? 'degraded' : 'ok',
      reasons,
      objects: t?.objects ?? 0,
      bytes: t?.bytes ?? 0,
      failedObjects,
      openFailures,
    };
  });
  return {
    lastRuns: Object.fromEntries(
      STATUS_RUN_KINDS.map((kind) => [
        kind,
        { last: withLink(config, runs[kind].last), lastFinished: withLink(config, runs[kind].lastFinished) },
      ]),
    ) as StatusReport['lastRuns'],
    catalog: {
      files: { ...files, total: Object.values(files).reduce((a, b) => a + b, 0) },
      openFailures: [...failures.values()].reduce((a, b) => a + b, 0),
    },
    destinations,
  };
}

const problem = (result: PromiseSettledResult<unknown>): string | undefined => {
  if (result.status === 'fulfilled') return undefined;
  const { message, cause } = result.reason as Error & { cause?: Error };
  return cause?.message ? `${message}: ${cause.message}` : message;
};

/**
 * What Temporal says: the schedules (next and last runs) and this account's running workflows with their progress,
 * each on its own, so a listing Temporal refuses (a search attribute not registered) still leaves the schedules.
 */
async function temporalPart(deps: StatusDeps): Promise<Pick<StatusReport, 'temporal' | 'schedules' | 'running'>> {
  const within = <T>(call: () => Promise<T>) => withTemporalDeadline(deps.client, call, TEMPORAL_DEADLINE_MS);
  const [schedules, running] = await Promise.allSettled([
    within(() => scheduleRows(deps.client)),
    within(() => runningWorkflows(deps.client, deps.config)),
  ]);
  const problems = [problem(schedules), problem(running)].filter((p) => p !== undefined);
  return {
    temporal: {
      reachable: schedules.status === 'fulfilled' || running.status === 'fulfilled',
      error: problems.length ? [...new Set(problems)].join('; ') : null,
    },
    schedules: schedules.status === 'fulfilled' ? schedules.value : [],
    running: running.status === 'fulfilled' ? running.value : [],
  };
}

/** The whole status, read now: for `drive-vault status`, and behind the API's short cache. */
export async function readStatus(deps: StatusDeps): Promise<StatusReport> {
  const temporal = temporalPart(deps);
  const accounts = deps.accounts ? deps.accounts() : googleAccountStatus(deps.config, deps.catalog, { env: deps.env });
  const catalog = catalogPart(deps);
  return { account: deps.config.account, generatedAt: new Date().toISOString(), ...(await temporal), ...catalog, accounts: await accounts };
}

/** How long the API serves one status report: the dashboard polls it, and many clients share one read. */
export const STATUS_TTL_MS = 2_000;

/**
 * One status report shared by every request for STATUS_TTL_MS. Once it is older, the next request still gets it at
 * once while one read runs for everyone (stale while revalidating), so a request waits for Temporal only when there
 * is no report yet or it was dropped by `invalidate` (after the API started or paused something).
 */
export class StatusCache {
  private report?: { value: StatusReport; at: number };
  private reading?: Promise<StatusReport>;
  /** Bumped by invalidate: a read begun before it is not kept, as it may miss the change. */
  private generation = 0;

  constructor(
    private readonly read: () => Promise<StatusReport>,
    private readonly options: { ttlMs?: number; now?: () => number; onBackgroundError?: (err: unknown) => void } = {},
  ) {}

  get(): Promise<StatusReport> {
    const now = this.options.now ?? Date.now;
    if (this.report && now() - this.report.at < (this.options.ttlMs ?? STATUS_TTL_MS)) return Promise.resolve(this.report.value);
    const reading = this.refresh();
    if (!this.report) return reading;
    reading.catch((err) => this.options.onBackgroundError?.(err));
    return Promise.resolve(this.report.value);
  }

  /** Settles once no read is running: a server shutting down waits for it before closing Temporal's connection. */
  async idle(): Promise<void> {
    while (this.reading) await this.reading.catch(() => undefined);
  }

  /** The next request reads anew and waits for it: what the caller just changed shows at once. */
  invalidate(): void {
    this.report = undefined;
    this.reading = undefined;
    this.generation++;
  }

  private refresh(): Promise<StatusReport> {
    if (this.reading) return this.reading;
    const generation = this.generation;
    const now = this.options.now ?? Date.now;
    const reading = this.read().finally(() => {
      if (this.reading === reading) this.reading = undefined;
    });
    this.reading = reading;
    return reading.then((value) => {
      if (generation === this.generation) this.report = { value, at: now() };
      return value;
    });
  }
}
