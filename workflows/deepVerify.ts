import { continueAsNew, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CatalogActivities } from '../activities';
import { catalogPageActivities } from './activityProxies';
import { TASK_QUEUES } from '../common/taskQueues';
import {
  type DeepVerifyCounts,
  type DeepVerifyCursor,
  type DeepVerifyPlan,
  type DeepVerifySummary,
  addDeepVerifyCounts,
  emptyDeepVerifyCounts,
} from '../common/types';

export interface DeepVerifyInput {
  /** The catalog host's task queue: the reads run there, beside the catalog (default TASK_QUEUES.catalog). */
  catalogTaskQueue?: string;
  /** Reads this share of the objects (above 0, up to 100), those read back longest ago first; every object when unset. */
  samplePercent?: number;
  /** Only this destination's objects; every configured destination's when unset. */
  destination?: string;
  /** Most objects one activity reads (default 500). */
  pageObjects?: number;
  /** Most bytes one activity reads, by the catalog's sizes (default 1 GiB); a larger object gets a page of its own. */
  pageBytes?: number;
  /** Set by the workflow itself when it continues as new: the plan, where it was, and what it found. */
  resume?: {
    plan: DeepVerifyPlan;
    remaining: number;
    after: DeepVerifyCursor;
    perDestination: Record<string, DeepVerifyCounts>;
    lastAt: string;
  };
}

export interface DeepVerifyProgress {
  plan?: DeepVerifyPlan;
  /** Chosen objects not read yet. */
  remaining: number;
  perDestination: Record<string, DeepVerifyCounts>;
}

export const deepVerifyProgressQuery = defineQuery<DeepVerifyProgress>('deepVerifyProgress');

/** Fixing the plan is one count on the catalog host, which must not hang the run if that host is gone. */
const planning = (taskQueue: string) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '1 hour',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
  });

const GiB = 1024 ** 3;

/**
 * Deep verification (`drive-vault verify --deep`): downloads objects from their destinations and re-hashes
 * them against the catalog, like restic's `check --read-data-subset`. Every object of the chosen destinations,
 * or a sample of them, those read back longest ago first, so samples of P% read every object within
 * ceil(100 / P) runs. An object that is missing or holds other bytes is marked failed and its file queued for
 * the next sync; one whose destination cannot be read stays unverified. No object list is held in workflow
 * state: pages go by a cursor, and the run continues as new when the server suggests it.
 */
export async function deepVerify(input: DeepVerifyInput): Promise<DeepVerifySummary> {
  const { workflowId } = workflowInfo();
  const catalogQueue = input.catalogTaskQueue ?? TASK_QUEUES.catalog;
  const pages = catalogPageActivities(catalogQueue);
  const pageObjects = input.pageObjects ?? 500;
  const pageBytes = input.pageBytes ?? GiB;
  let plan = input.resume?.plan;
  let remaining = input.resume?.remaining ?? 0;
  let perDestination = input.resume?.perDestination ?? {};
  setHandler(deepVerifyProgressQuery, () => ({ plan, remaining, perDestination }));
  const report = () => {
    const lines = Object.entries(perDestination).map(
      ([d, c]) => `${d}: ${c.verified} verified, ${c.mismatched} mismatched, ${c.unverified} unverified`,
    );
    setCurrentDetails([`**deep verify** · ${remaining} of ${plan?.objectsChosen ?? '?'} objects left`, ...lines].join(' · '));
  };

  if (!plan) {
    plan = await planning(catalogQueue).beginDeepVerify({ destination: input.destination, samplePercent: input.samplePercent });
    remaining = plan.objectsChosen;
    perDestination = Object.fromEntries(plan.destinations.map((d) => [d, emptyDeepVerifyCounts()]));
  }
  let after = input.resume?.after ?? { deepVerifiedAt: '', rowid: 0 };
  let lastAt = input.resume?.lastAt ?? plan.startedAt;
  report();
  while (remaining > 0) {
    const page = await pages.deepVerifyPage({
      plan: { startedAt: plan.startedAt, destinations: plan.destinations },
      after,
      limit: Math.min(pageObjects, remaining),
      maxBytes: pageBytes,
    });
    perDestination = addDeepVerifyCounts(perDestination, page.perDestination);
    remaining -= page.taken;
    lastAt = page.at;
    report();
    if (!page.next) break;
    after = page.next;
    if (remaining > 0 && workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof deepVerify>({ ...input, resume: { plan, remaining, after, perDestination, lastAt } });
    }
  }

  return {
    how: 'deep',
    workflowId,
    ...plan,
    seconds: (Date.parse(lastAt) - Date.parse(plan.startedAt)) / 1000,
    perDestination,
    degraded: Object.keys(perDestination)
      .filter((d) => perDestination[d].unverified > 0)
      .sort(),
  };
}
