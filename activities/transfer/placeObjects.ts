import { emptyPlaceCounts, type PlaceCounts } from '../../common/types';
import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import type { ObjectKeyPlanner } from '../catalog/objectKeys';
import {
  type MoveOutcome,
  type PlaceMove,
  type PlacePlan,
  claimForPlaceCheck,
  planPlaceCheck,
  queuedPlaceChecks,
  recordPlaceCheck,
} from '../catalog/placeChecks';
import { type Destination, ObjectMissingError } from '../storage/destination';

export interface PlaceDeps {
  catalog: Catalog;
  planner: ObjectKeyPlanner;
  destinations: Destination[];
  logger: Logger;
}

/** Files whose moves run at once: each is a few server-side requests, no byte through this host. */
const FILES_IN_FLIGHT = 8;

/**
 * Runs one page of queued place checks: every renamed or moved file's objects are copied server-side to its new
 * key (renamed on a directory) with the old key kept under `.trash/<date>/`; a gone file's objects go under
 * `.trash/`; a file back unchanged gets its objects back from there. Nothing is downloaded or uploaded. Each
 * move's target is HEADed and must show the size and SHA-256 the catalog records before it counts.
 */
export async function applyPlaceChecksPage(
  deps: PlaceDeps,
  input: { runId: string; afterFileId: string; limit: number },
): Promise<{ nextAfterFileId?: string; counts: PlaceCounts }> {
  const fileIds = queuedPlaceChecks(deps.catalog, input);
  const counts = emptyPlaceCounts();
  const names = deps.destinations.map((d) => d.name);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(FILES_IN_FLIGHT, fileIds.length) }, async () => {
      while (next < fileIds.length) {
        const fileId = fileIds[next++];
        // Claimed while its objects move, so no other run starts transferring it meanwhile.
        if (!claimForPlaceCheck(deps.catalog, fileId, input.runId)) continue;
        const plan = planPlaceCheck(deps.catalog, deps.planner, fileId, names);
        const outcomes: MoveOutcome[] = [];
        for (const move of plan.moves) outcomes.push(await runMove(deps, plan, move, input.runId));
        const recorded = recordPlaceCheck(deps.catalog, plan, outcomes, input.runId);
        for (const [k, v] of Object.entries(recorded)) counts[k as keyof PlaceCounts] += v;
      }
    }),
  );
  return { nextAfterFileId: fileIds.length < input.limit ? undefined : fileIds.at(-1), counts };
}

async function runMove(deps: PlaceDeps, plan: PlacePlan, move: PlaceMove, runId: string): Promise<MoveOutcome> {
  const destination = deps.destinations.find((d) => d.name === move.destination)!;
  const log = { runId, fileId: plan.fileId, destination: move.destination, kind: move.kind, from: move.from };
  try {
    const outcome = await moveObject(destination, plan, move);
    if (outcome.done && outcome.lost) deps.logger.warn({ event: 'place.object_lost', ...log }, 'object missing from its destination');
    else deps.logger.info({ event: 'place.move', ...log, to: move.kind === 'trash' ? move.trashKey : move.to }, 'moved an object');
    return outcome;
  } catch (err) {
    deps.logger.warn({ event: 'place.move_failed', ...log, err }, 'object move failed; the file stays queued for the next run');
    return { move, done: false, error: (err as Error).message };
  }
}

/**
 * One move, safe to run again after a crash at any point: a source already gone is fine when the target holds the
 * expected object (the earlier try got that far).
 */
async function moveObject(destination: Destination, plan: PlacePlan, move: PlaceMove): Promise<MoveOutcome> {
  const expected = move.kind === 'restore' ? move.trashed : move.object;
  const metadata = plan.metadataOf(expected);
  const copy = (from: string, to: string) => ({ from, to, metadata, contentType: plan.contentType(move.format) });
  const target = move.kind === 'trash' ? move.trashKey : move.to;
  const check = async (written: unknown) => {
    const head = await destination.head(target);
    if (!head && !written) return false;
    if (!head || head.size !== expected.size || (expected.sha256 && head.sha256 !== expected.sha256)) {
      throw new Error(`${target} does not hold the object moved there (size ${head?.size}, SHA-256 ${head?.sha256})`);
    }
    return true;
  };
  const run = async (step: () => Promise<{ etag?: string; versionId?: string }>) => {
    try {
      return await step();
    } catch (err) {
      if (err instanceof ObjectMissingError) return undefined;
      throw err;
    }
  };
  let written: { etag?: string; versionId?: string } | undefined;
  let oldKeptAt: string | undefined;
  if (move.kind === 'relocate' && !destination.renamesInPlace) {
    written = await run(() => destination.copy(copy(move.from, move.to)));
    // The new key is checked before the old one leaves: a copy that did not land keeps the object where it was.
    if (!(await check(written))) return { move, done: true, lost: true };
    if (await run(() => destination.move({ ...copy(move.from, move.trashKey), metadata: plan.metadataOf(move.object) })))
      oldKeptAt = move.trashKey;
    return { move, done: true, etag: written?.etag, versionId: written?.versionId, oldKeptAt };
  }
  written = await run(() => destination.move(copy(move.from, target)));
  if (!(await check(written))) return { move, done: true, lost: true };
  return { move, done: true, etag: written?.etag, versionId: written?.versionId, oldKeptAt };
}
