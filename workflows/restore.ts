import { continueAsNew, defineQuery, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CatalogActivities } from '../activities';
import { catalogActivities, catalogPageActivities } from './activityProxies';
import {
  RESTORE_PROBLEMS_LISTED,
  type RestoreCounts,
  type RestorePlan,
  type RestoreProblem,
  type RestoreProgress,
  type RestoreRequest,
  type RestoreSummary,
  addRestoreCounts,
  emptyRestoreCounts,
} from '../common/restoreTypes';
import { TASK_QUEUES } from '../common/taskQueues';

export interface RestoreInput extends RestoreRequest {
  /** The catalog host's task queue: the target directory and the catalog are there (default TASK_QUEUES.catalog). */
  catalogTaskQueue?: string;
  /** Most files one page restores (default 500). */
  pageFiles?: number;
  /** Most recorded bytes one page restores (default 256 MiB); a larger file gets a page of its own. */
  pageBytes?: number;
  /** Pages restoring at once (default 2), so one page's last large file never leaves the others idle. */
  pagesInFlight?: number;
  /** Files read at once over all pages in flight (default 8). */
  concurrency?: number;
  /** Set by the workflow itself when it continues as new: the plan, the next page, and what is done. */
  resume?: { plan: RestorePlan; nextPage: number; counts: RestoreCounts; problems: RestoreProblem[]; lastAt: string };
}

export const restoreProgressQuery = defineQuery<RestoreProgress>('restoreProgress');

/** Planning reads the catalog, or downloads and reads a day's manifest: minutes for a large account, heartbeating. */
const planning = (taskQueue: string) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    scheduleToCloseTimeout: '1 day',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
  });

const MiB = 1024 * 1024;

/** Progress from what is done, timed by the catalog host's clock (the plan's start, the last page's end). */
export function restoreProgress(
  plan: RestorePlan | undefined,
  counts: RestoreCounts,
  problems: RestoreProblem[],
  lastAt?: string,
): RestoreProgress {
  const seconds = plan && lastAt ? Math.max(0, (Date.parse(lastAt) - Date.parse(plan.startedAt)) / 1000) : 0;
  const bytesPerSecond = plan && seconds > 0 && counts.filesDone > 0 ? counts.bytesDone / seconds : null;
  const etaSeconds = plan && bytesPerSecond ? (plan.bytes - counts.bytesDone) / bytesPerSecond : null;
  return { plan, counts, problems, seconds, bytesPerSecond, etaSeconds };
}

function details(input: RestoreInput, progress: RestoreProgress): string {
  const { plan, counts } = progress;
  const what = `**restore** from ${input.from}${input.at ? ` as of ${input.at}` : ''} to ${input.to}`;
  if (!plan) return `${what} · planning`;
  const parts = [
    what,
    `${counts.filesDone} of ${plan.files} files`,
    `${(counts.bytesDone / MiB).toFixed(1)} of ${(plan.bytes / MiB).toFixed(1)} MiB`,
    ...(progress.bytesPerSecond === null ? [] : [`${(progress.bytesPerSecond / MiB).toFixed(1)} MiB/s`]),
    ...(progress.etaSeconds === null ? [] : [`ETA ${Math.ceil(progress.etaSeconds)} s`]),
    `${counts.skippedExisting} already there`,
    `${counts.failed} failed`,
  ];
  return parts.join(' · ');
}

/**
 * Restore (`drive-vault restore`): copies a file, a folder or the whole account back from one destination into a
 * directory of the catalog host, as the catalog has it now or as the manifest of a past day recorded it (reading the
 * S3 versions of that day where the bucket keeps them). Every file is checked against its SHA-256 before it gets its
 * final name; a file that fails is reported, never left under its name; nothing is written outside the target, and
 * nothing there is replaced without `overwrite`. The list of files never enters workflow state: the catalog host keeps
 * it, and the workflow goes through it by page number, continuing as new when the server suggests it.
 */
export async function restore(input: RestoreInput): Promise<RestoreSummary> {
  const { workflowId } = workflowInfo();
  const catalogQueue = input.catalogTaskQueue ?? TASK_QUEUES.catalog;
  const pages = catalogPageActivities(catalogQueue);
  const request: RestoreRequest = { from: input.from, to: input.to, path: input.path, at: input.at, overwrite: input.overwrite ?? false };
  const pagesInFlight = Math.max(1, input.pagesInFlight ?? 2);
  const concurrency = Math.max(1, Math.ceil((input.concurrency ?? 8) / pagesInFlight));
  let plan = input.resume?.plan;
  let counts = input.resume?.counts ?? emptyRestoreCounts();
  let problems = input.resume?.problems ?? [];
  let lastAt = input.resume?.lastAt;
  const progress = () => restoreProgress(plan, counts, problems, lastAt);
  setHandler(restoreProgressQuery, progress);
  const report = () => setCurrentDetails(details(input, progress()));
  report();

  if (!plan) {
    plan = await planning(catalogQueue).planRestore({
      restoreId: workflowId,
      from: input.from,
      path: input.path,
      at: input.at,
      pageFiles: input.pageFiles ?? 500,
      pageBytes: input.pageBytes ?? 256 * MiB,
    });
    lastAt = plan.startedAt;
    report();
  }
  const pageCount = plan.pages;
  let nextPage = input.resume?.nextPage ?? 0;
  const inFlight = new Map<number, Promise<void>>();
  // A restore asked over HTTP is checked again where it writes: its target must still resolve inside api.restoreRoot.
  const confinement = input.within !== undefined && patched('restore-target-within-root') ? { within: input.within } : {};
  const start = (page: number) => {
    const done = pages
      .restorePage({
        restoreId: workflowId,
        from: input.from,
        to: input.to,
        overwrite: request.overwrite ?? false,
        page,
        concurrency,
        ...confinement,
      })
      .then((result) => {
        counts = addRestoreCounts(counts, result.counts);
        // In key order, whichever page finished first.
        problems = [...problems, ...result.problems].sort((a, b) => (a.key < b.key ? -1 : 1)).slice(0, RESTORE_PROBLEMS_LISTED);
        if (!lastAt || result.at > lastAt) lastAt = result.at;
        inFlight.delete(page);
        report();
      });
    inFlight.set(page, done);
  };
  let draining = false;
  for (;;) {
    while (!draining && nextPage < pageCount && inFlight.size < pagesInFlight) start(nextPage++);
    if (inFlight.size === 0) {
      if (nextPage >= pageCount) break;
      // Drained for continue-as-new: every page before nextPage is done.
      await continueAsNew<typeof restore>({ ...input, resume: { plan, nextPage, counts, problems, lastAt: lastAt ?? plan.startedAt } });
    }
    await Promise.race(inFlight.values());
    draining ||= workflowInfo().continueAsNewSuggested;
  }
  await catalogActivities(catalogQueue, '1 minute').finishRestore({ restoreId: workflowId });
  return { workflowId, request, ...restoreProgress(plan, counts, problems, lastAt), plan };
}
