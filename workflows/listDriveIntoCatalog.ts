import { type ActivityOptions, continueAsNew, defineQuery, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CatalogActivities } from '../activities';
import { TASK_QUEUES } from '../common/taskQueues';
import { type DriveScope, type ListingCounts, type ShortcutCounts, addCounts, addListingCounts, emptyListingCounts } from '../common/types';

export interface ListDriveInput {
  /** Identifies this listing in the catalog (files it does not see were removed from Drive). */
  listingId: string;
  includeSharedDrives: boolean;
  /**
   * Where a continued run picks up: scope index (0 = My Drive, then shared drives in id order) and page
   * token; past the last scope, the shortcut walk goes on from the catalog once started (a run continued by
   * older code carries the shortcut after which following resumes instead).
   */
  cursor?: { scopeIndex: number; pageToken?: string; shortcutsAfterId?: string; shortcutWalkStarted?: boolean };
  totals?: ListingCounts;
  shortcuts?: ShortcutCounts;
  /** The catalog host's task queue; listings started before host ids existed use the unqualified one. */
  catalogTaskQueue?: string;
  /** How long one listing activity may take (default 2 minutes); each does bounded work, so tests lower it. */
  activityTimeout?: ActivityOptions['startToCloseTimeout'];
}

export interface ListDriveResult extends ListingCounts {
  shortcuts: ShortcutCounts;
}

export interface ListingProgress {
  listingId: string;
  scopeIndex: number;
  scopes: number;
  pages: number;
  totals: ListingCounts;
}

export const listingProgressQuery = defineQuery<ListingProgress>('listingProgress');

/** Listing calls Drive and writes the catalog: retry Drive's transient errors, give up on a bad reply. */
const listingActivities = (taskQueue: string, startToCloseTimeout: ActivityOptions['startToCloseTimeout']) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout,
    scheduleToCloseTimeout: '30 minutes',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 10,
      nonRetryableErrorTypes: ['InvalidDriveReplyError'],
    },
  });

/**
 * Pages every drive of the account (My Drive, then each shared drive) into the catalog, then follows the
 * shortcuts it found in bounded steps (targets outside the scope are recorded in the shortcut's place, a
 * followed folder a page per step). Only a cursor and counts cross Temporal; the run continues as new when
 * the server suggests it, so history stays small whatever the number of files.
 */
export async function listDriveIntoCatalog(input: ListDriveInput): Promise<ListDriveResult> {
  const catalogActivities = listingActivities(input.catalogTaskQueue ?? TASK_QUEUES.catalog, input.activityTimeout ?? '2 minutes');
  let totals = input.totals ?? emptyListingCounts();
  let scopeIndex = input.cursor?.scopeIndex ?? 0;
  let pageToken = input.cursor?.pageToken;
  let pages = 0;
  const sharedDrives = input.includeSharedDrives ? await catalogActivities.listSharedDrives() : [];
  const scopes: DriveScope[] = [{ kind: 'my-drive' }, ...sharedDrives.map((d) => ({ kind: 'shared-drive' as const, ...d }))];
  setHandler(listingProgressQuery, () => ({ listingId: input.listingId, scopeIndex, scopes: scopes.length, pages, totals }));

  for (; scopeIndex < scopes.length; scopeIndex++) {
    do {
      const page = await catalogActivities.listDrivePage({ scope: scopes[scopeIndex], pageToken, listingId: input.listingId });
      totals = addListingCounts(totals, page.counts);
      pageToken = page.nextPageToken;
      pages++;
      if (workflowInfo().continueAsNewSuggested) {
        const next = pageToken ? { scopeIndex, pageToken } : { scopeIndex: scopeIndex + 1 };
        await continueAsNew<typeof listDriveIntoCatalog>({ ...input, cursor: next, totals });
      }
    } while (pageToken);
  }

  let shortcuts: ShortcutCounts = input.shortcuts ?? { inScope: 0, followed: 0, dangling: 0, loops: 0 };
  if (patched('shortcut-walk-in-bounded-steps')) {
    // Each step lists at most one page of a followed folder; the walk's queue stays in the catalog.
    let begin = input.cursor?.shortcutWalkStarted ? undefined : { afterId: input.cursor?.shortcutsAfterId ?? '' };
    for (;;) {
      const step = await catalogActivities.followShortcutsStep({ listingId: input.listingId, begin });
      shortcuts = addCounts(shortcuts, step.counts);
      if (step.done) return { ...totals, shortcuts };
      begin = undefined;
      if (workflowInfo().continueAsNewSuggested) {
        const cursor = { scopeIndex, shortcutWalkStarted: true };
        await continueAsNew<typeof listDriveIntoCatalog>({ ...input, cursor, totals, shortcuts });
      }
    }
  }
  // Histories from before the patch: 200 shortcuts per activity, each with everything it leads to.
  let afterId: string | undefined = input.cursor?.shortcutsAfterId ?? '';
  while (afterId !== undefined) {
    const page: { nextAfterId?: string; counts: ShortcutCounts } = await catalogActivities.resolveShortcutsPage({
      listingId: input.listingId,
      afterId,
      limit: 200,
    });
    shortcuts = addCounts(shortcuts, page.counts);
    afterId = page.nextAfterId;
    if (afterId !== undefined && workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof listDriveIntoCatalog>({ ...input, cursor: { scopeIndex, shortcutsAfterId: afterId }, totals, shortcuts });
    }
  }
  return { ...totals, shortcuts };
}
