import type { drive_v3 } from 'googleapis';
import { z } from 'zod';
import type { Logger } from '../../common/logger';
import type { ShortcutCounts } from '../../common/types';
import type { Catalog, CatalogFileInput } from '../catalog/catalog';
import { ShortcutWalks, type WalkItem, type WalkItemDone, type WalkWork } from '../catalog/shortcutWalk';
import { driveFailureOf } from './errors';
import { FILE_FIELDS, FOLDER_MIME, type ListedFile, fileKind, listedFileSchema, parseReply, toCatalogInput } from './listing';

export interface ShortcutDeps {
  drive: drive_v3.Drive;
  catalog: Catalog;
  logger: Logger;
  /** The scope backs up "Shared with me": a target placed there is backed up at its own place. */
  includeSharedWithMe: boolean;
}

/** Shortcuts taken from the catalog into a walk's queue at a time. */
const SCAN_BATCH = 200;
/**
 * What one step may do: list one page of a followed folder (up to 1,000 items, the slow call) and fetch up to
 * 50 shortcut targets (one files.get each), so a step ends well within its timeout whatever the tree's size.
 */
const STEP_BUDGET = { folderPages: 1, targetFetches: 50 };
const UNBOUNDED = { folderPages: Infinity, targetFetches: Infinity };
type Budget = typeof STEP_BUDGET;

const childrenSchema = z.object({ nextPageToken: z.string().optional(), files: z.array(listedFileSchema) });
type ShortcutItem = Extract<WalkItem, { kind: 'shortcut' }>;
type FolderItem = Extract<WalkItem, { kind: 'folder' }>;

interface Resolution {
  outcome: keyof ShortcutCounts;
  reason: string;
  /** The target, recorded in the shortcut's place. */
  copy?: CatalogFileInput;
  /** A followed folder, whose content is walked next. */
  follow?: WalkWork;
}

/**
 * One bounded step of following the listing's shortcuts, each once (DESIGN.md section 9). A target the listing
 * holds at a place the scope backs up is backed up there. Any other target (shared with the user, or placed
 * only under "Shared with me" while the scope leaves that out) is fetched and recorded in the shortcut's
 * folder: a folder with everything below it, a page per step. A target that is gone, or a shortcut that leads
 * back into a folder being followed, is recorded on the shortcut as the reason it was skipped; neither stops
 * the run. `begin` starts the walk over the catalog's shortcuts after `afterId`; later steps go on from the
 * queue the catalog keeps. `done` once nothing is left.
 */
export async function followShortcutsStep(
  deps: ShortcutDeps,
  input: { listingId: string; begin?: { afterId: string } },
): Promise<{ done: boolean; counts: ShortcutCounts }> {
  const walks = new ShortcutWalks(deps.catalog);
  if (input.begin) walks.begin(input.listingId, input.begin.afterId);
  const step = await walk(deps, walks, input.listingId, input.listingId, { ...STEP_BUDGET });
  deps.logger.info({ event: 'shortcuts.step', listingId: input.listingId, done: step.done, ...step.counts }, 'followed shortcuts');
  return step;
}

/**
 * Resolves `limit` shortcuts after `afterId` and walks everything they lead to, all in this one call. Kept for
 * listings whose history began before the walk went in bounded steps; new runs use followShortcutsStep.
 */
export async function resolveShortcutsPage(
  deps: ShortcutDeps,
  input: { listingId: string; afterId: string; limit: number },
): Promise<{ nextAfterId?: string; counts: ShortcutCounts }> {
  const walks = new ShortcutWalks(deps.catalog);
  const walkId = `${input.listingId} after ${input.afterId}`;
  const shortcuts = walks.shortcutsAfter(input.afterId, input.limit);
  walks.begin(walkId, null);
  walks.enqueue(
    walkId,
    shortcuts.map((shortcut) => ({ kind: 'shortcut', shortcut, following: [] })),
  );
  const { counts } = await walk(deps, walks, walkId, input.listingId, { ...UNBOUNDED });
  return { nextAfterId: shortcuts.length === input.limit ? shortcuts.at(-1)!.id : undefined, counts };
}

/** Does the walk's queued work in order until it is empty (done) or the budget is spent. */
async function walk(
  deps: ShortcutDeps,
  walks: ShortcutWalks,
  walkId: string,
  listingId: string,
  budget: Budget,
): Promise<{ done: boolean; counts: ShortcutCounts }> {
  const counts: ShortcutCounts = { inScope: 0, followed: 0, dangling: 0, loops: 0 };
  for (;;) {
    const item = walks.next(walkId, SCAN_BATCH);
    if (!item) {
      walks.end(walkId);
      return { done: true, counts };
    }
    if (item.kind === 'folder') {
      if (budget.folderPages <= 0) return { done: false, counts };
      budget.folderPages--;
      walks.complete(item, await listFollowedFolderPage(deps, listingId, item));
      continue;
    }
    const shortcut = item.shortcut;
    // A shortcut whose own place the scope leaves out leads nowhere, unless a followed folder brings it in later.
    if (walks.resolvedBefore(walkId, shortcut.id) || (!deps.includeSharedWithMe && deps.catalog.isUnderSharedWithMe(shortcut.id))) {
      walks.complete(item, { listingId, record: [], enqueue: [] });
      continue;
    }
    const resolution = await resolveShortcut(deps, listingId, item, budget);
    if (!resolution) return { done: false, counts };
    const { outcome, reason, copy, follow } = resolution;
    const done: WalkItemDone = {
      listingId,
      record: copy ? [copy] : [],
      skip: { id: shortcut.id, reason },
      enqueue: follow ? [follow] : [],
    };
    if (!walks.complete(item, done)) continue;
    counts[outcome]++;
    if (outcome === 'dangling' || outcome === 'loops')
      deps.logger.warn({ event: `shortcut.${outcome}`, fileId: shortcut.id, targetId: shortcut.targetId }, reason);
  }
}

/** What a shortcut leads to; undefined when that takes fetching its target and the budget allows no more fetches. */
async function resolveShortcut(deps: ShortcutDeps, listingId: string, item: ShortcutItem, budget: Budget): Promise<Resolution | undefined> {
  const { shortcut, following } = item;
  const targetId = shortcut.targetId;
  if (!targetId) return { outcome: 'dangling', reason: 'shortcut without a target' };
  if (following.includes(targetId) || deps.catalog.ancestorsOf(shortcut.parentId).has(targetId)) {
    return { outcome: 'loops', reason: `shortcut loop: target ${targetId} contains this shortcut; followed once` };
  }
  const known = deps.catalog.getFile(targetId);
  // Only a target this listing saw at its own place, one the scope backs up, is skipped unasked; a followed one is refreshed.
  const atOwnPlace = known && known.lastListingId === listingId && !known.followedFrom;
  if (atOwnPlace && (deps.includeSharedWithMe || !deps.catalog.isUnderSharedWithMe(targetId))) {
    return { outcome: 'inScope', reason: `shortcut to ${targetId}, backed up at its own place` };
  }
  if (budget.targetFetches <= 0) return undefined;
  budget.targetFetches--;
  let target: ListedFile;
  try {
    const res = await deps.drive.files.get({ fileId: targetId, fields: FILE_FIELDS, supportsAllDrives: true });
    target = parseReply(listedFileSchema, res.data, 'shortcut target');
  } catch (err) {
    if (driveFailureOf(err)?.status === 404) return { outcome: 'dangling', reason: `dangling shortcut: target ${targetId} not found` };
    throw err;
  }
  if (target.trashed) return { outcome: 'dangling', reason: `dangling shortcut: target ${targetId} is in the trash` };
  if (fileKind(target.mimeType) === 'shortcut')
    return { outcome: 'dangling', reason: `shortcut to another shortcut (${targetId}): not followed further` };
  return {
    outcome: 'followed',
    reason: `shortcut followed to ${targetId}, backed up in its place`,
    // The copy lives where the shortcut is: its folder, in its drive.
    copy: { ...toCatalogInput(target), parentId: shortcut.parentId, driveId: shortcut.driveId, followedFrom: shortcut.id },
    follow:
      target.mimeType === FOLDER_MIME
        ? { kind: 'folder', folderId: targetId, driveId: shortcut.driveId, following: [...following, targetId], pageToken: null }
        : undefined,
  };
}

/** One page of a followed folder: its items are recorded in its place; its folders and shortcuts are queued. */
async function listFollowedFolderPage(deps: ShortcutDeps, listingId: string, item: FolderItem): Promise<WalkItemDone> {
  const res = await deps.drive.files.list({
    q: `'${item.folderId}' in parents and trashed = false`,
    fields: `nextPageToken,files(${FILE_FIELDS})`,
    pageSize: 1000,
    pageToken: item.pageToken ?? undefined,
    supportsAllDrives: true,
    includeItemsFromAllDrives: true,
  });
  const page = parseReply(childrenSchema, res.data, 'folder listing');
  const children = page.files
    .filter((f) => !f.trashed)
    .map((f) => ({ ...toCatalogInput(f), driveId: item.driveId, followedFrom: item.folderId }));
  const enqueue: WalkWork[] = [];
  for (const child of children) {
    if (child.kind === 'folder' && !item.following.includes(child.id)) {
      enqueue.push({
        kind: 'folder',
        folderId: child.id,
        driveId: item.driveId,
        following: [...item.following, child.id],
        pageToken: null,
      });
    }
    if (child.kind === 'shortcut') {
      enqueue.push({
        kind: 'shortcut',
        shortcut: { id: child.id, parentId: child.parentId, driveId: item.driveId, targetId: child.shortcutTargetId },
        following: item.following,
      });
    }
  }
  return { listingId, record: children, enqueue, nextPageToken: page.nextPageToken };
}
