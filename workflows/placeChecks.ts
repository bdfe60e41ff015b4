import type { CatalogActivities } from '../activities';
import { type FullSyncTotals, type PlaceCounts, addCounts, emptyPlaceCounts } from '../common/types';

/** Files per place-check activity: each file is a few server-side requests per destination. */
const PLACE_CHECKS_PER_PAGE = 200;

/**
 * Runs the queued place checks page by page: renamed and moved files' objects go to their new keys, gone files'
 * objects under .trash/, returned files' objects back. `onPage` gets each page's counts and cursor; `between` runs
 * after every page that has a next one (continue-as-new, with the cursor). A file whose move failed stays queued.
 */
export async function applyQueuedPlaceChecks(
  activities: Pick<CatalogActivities, 'applyPlaceChecksPage'>,
  runId: string,
  afterFileId: string,
  onPage: (counts: PlaceCounts, nextAfterFileId: string | undefined) => void,
  between: () => Promise<void>,
): Promise<void> {
  let cursor = afterFileId;
  for (;;) {
    const page = await activities.applyPlaceChecksPage({ runId, afterFileId: cursor, limit: PLACE_CHECKS_PER_PAGE });
    onPage(page.counts, page.nextAfterFileId);
    if (page.nextAfterFileId === undefined) return;
    cursor = page.nextAfterFileId;
    await between();
  }
}

/** Totals with a page of place checks' counts added. */
export function withPlaceCounts<T extends FullSyncTotals>(totals: T, counts: PlaceCounts): T {
  return { ...totals, places: addCounts(totals.places ?? emptyPlaceCounts(), counts) };
}
