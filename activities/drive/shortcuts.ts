import type { drive_v3 } from 'googleapis';
import { z } from 'zod';
import type { Logger } from '../../common/logger';
import type { ShortcutCounts } from '../../common/types';
import type { Catalog } from '../catalog/catalog';
import { driveFailureOf } from './errors';
import { FILE_FIELDS, FOLDER_MIME, ListedFile, fileKind, listedFileSchema, parseReply, toCatalogInput } from './listing';

export interface ShortcutDeps {
  drive: drive_v3.Drive;
  catalog: Catalog;
  logger: Logger;
}

const childrenSchema = z.object({ nextPageToken: z.string().optional(), files: z.array(listedFileSchema) });

interface ShortcutRow {
  id: string;
  parent_id: string | null;
  drive_id: string | null;
  shortcut_target_id: string | null;
}

/**
 * Follows each shortcut once (DESIGN.md section 8). A target the listing already holds is backed up at its
 * own place. A target outside the listed scope (e.g. shared with the user) is fetched and recorded under
 * the shortcut's folder, a folder with everything below it, so it is backed up there. A target that is
 * gone, or a shortcut that leads back into a folder being followed, is recorded on the shortcut as the
 * reason it was skipped; neither stops the run.
 */
export async function resolveShortcutsPage(deps: ShortcutDeps, input: { listingId: string; afterId: string; limit: number }): Promise<{ nextAfterId?: string; counts: ShortcutCounts }> {
  const rows = deps.catalog.db
    .prepare(`SELECT id, parent_id, drive_id, shortcut_target_id FROM files WHERE kind = 'shortcut' AND id > ? ORDER BY id LIMIT ?`)
    .all(input.afterId, input.limit) as ShortcutRow[];
  const counts: ShortcutCounts = { inScope: 0, followed: 0, dangling: 0, loops: 0 };
  for (const row of rows) await resolveShortcut(deps, input.listingId, row, new Set(), counts);
  return { nextAfterId: rows.length === input.limit ? rows.at(-1)!.id : undefined, counts };
}

async function resolveShortcut(deps: ShortcutDeps, listingId: string, shortcut: ShortcutRow, following: Set<string>, counts: ShortcutCounts): Promise<void> {
  const { catalog } = deps;
  const skip = (reason: string, kind: keyof ShortcutCounts) => {
    catalog.markSkipped(shortcut.id, reason);
    counts[kind]++;
    if (kind === 'dangling' || kind === 'loops') deps.logger.warn({ event: `shortcut.${kind}`, fileId: shortcut.id, targetId: shortcut.shortcut_target_id }, reason);
  };
  const targetId = shortcut.shortcut_target_id;
  if (!targetId) return skip('shortcut without a target', 'dangling');
  if (following.has(targetId) || ancestorsOf(catalog, shortcut.parent_id).has(targetId)) {
    return skip(`shortcut loop: target ${targetId} contains this shortcut; followed once`, 'loops');
  }
  const known = catalog.getFile(targetId);
  // Only a target this listing saw at its own place is skipped unasked; a followed one is refreshed from Drive.
  if (known && known.lastListingId === listingId && !known.followedFrom) return skip(`shortcut to ${targetId}, backed up at its own place`, 'inScope');
  let target: ListedFile;
  try {
    const res = await deps.drive.files.get({ fileId: targetId, fields: FILE_FIELDS, supportsAllDrives: true });
    target = parseReply(listedFileSchema, res.data, 'shortcut target');
  } catch (err) {
    if (driveFailureOf(err)?.status === 404) return skip(`dangling shortcut: target ${targetId} not found`, 'dangling');
    throw err;
  }
  if (target.trashed) return skip(`dangling shortcut: target ${targetId} is in the trash`, 'dangling');
  if (fileKind(target.mimeType) === 'shortcut') return skip(`shortcut to another shortcut (${targetId}): not followed further`, 'dangling');
  // The copy lives where the shortcut is: its folder, in its drive.
  catalog.recordListedFiles([{ ...toCatalogInput(target), parentId: shortcut.parent_id, driveId: shortcut.drive_id, followedFrom: shortcut.id }], listingId);
  skip(`shortcut followed to ${targetId}, backed up in its place`, 'followed');
  if (target.mimeType === FOLDER_MIME) await followFolder(deps, listingId, targetId, shortcut.drive_id, new Set([...following, targetId]), counts);
}

/** Records everything below a followed folder, following shortcuts inside it too (once). */
async function followFolder(deps: ShortcutDeps, listingId: string, folderId: string, driveId: string | null, following: Set<string>, counts: ShortcutCounts): Promise<void> {
  let pageToken: string | undefined;
  do {
    const res = await deps.drive.files.list({
      q: `'${folderId}' in parents and trashed = false`,
      fields: `nextPageToken,files(${FILE_FIELDS})`,
      pageSize: 1000,
      pageToken,
      supportsAllDrives: true,
      includeItemsFromAllDrives: true,
    });
    const page = parseReply(childrenSchema, res.data, 'folder listing');
    const children = page.files.filter((f) => !f.trashed).map((f) => ({ ...toCatalogInput(f), driveId, followedFrom: folderId }));
    deps.catalog.recordListedFiles(children, listingId);
    for (const child of children) {
      if (child.kind === 'folder' && !following.has(child.id)) await followFolder(deps, listingId, child.id, driveId, new Set([...following, child.id]), counts);
      if (child.kind === 'shortcut') {
        await resolveShortcut(deps, listingId, { id: child.id, parent_id: child.parentId, drive_id: driveId, shortcut_target_id: child.shortcutTargetId }, following, counts);
      }
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
}

function ancestorsOf(catalog: Catalog, folderId: string | null): Set<string> {
  const seen = new Set<string>();
  const parentOf = catalog.db.prepare('SELECT parent_id FROM files WHERE id = ?');
  for (let id = folderId; id && !seen.has(id); ) {
    seen.add(id);
    id = (parentOf.get(id) as { parent_id: string | null } | undefined)?.parent_id ?? null;
  }
  return seen;
}
