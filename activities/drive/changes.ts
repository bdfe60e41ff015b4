import type { drive_v3 } from 'googleapis';
import { z } from 'zod';
import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import { MY_DRIVE_SCOPE, changeTokens, dropChangeToken, saveChangeToken, stageChangeToken } from '../catalog/changeTokens';
import { driveFailureOf } from './errors';
import { FILE_FIELDS, listedFileSchema, parseReply, toCatalogInput } from './listing';

const PAGE_SIZE = 1000;
const CHANGE_FIELDS = `nextPageToken,newStartPageToken,changes(changeType,fileId,removed,driveId,file(${FILE_FIELDS}))`;

const changeListSchema = z
  .object({
    nextPageToken: z.string().min(1).optional(),
    newStartPageToken: z.string().min(1).optional(),
    changes: z.array(
      z.object({
        changeType: z.string().optional(),
        fileId: z.string().min(1).optional(),
        removed: z.boolean().optional(),
        driveId: z.string().optional(),
        file: listedFileSchema.optional(),
      }),
    ),
  })
  .refine((page) => page.nextPageToken !== undefined || page.newStartPageToken !== undefined, {
    message: 'a changes page must end with nextPageToken or newStartPageToken',
  });

const startTokenSchema = z.object({ startPageToken: z.string().min(1) });

export interface ChangesDeps {
  drive: drive_v3.Drive;
  catalog: Catalog;
  logger: Logger;
}

/** 'my-drive' (My Drive and what is shared with the account), or a shared drive's id. */
const scopeParams = (scope: string) =>
  scope === MY_DRIVE_SCOPE ? {} : { driveId: scope, supportsAllDrives: true, includeItemsFromAllDrives: true };

/** Drive's current start page token of one drive: changes from now on are read from it. */
export async function fetchStartPageToken(deps: Pick<ChangesDeps, 'drive'>, scope: string): Promise<string> {
  const res = await deps.drive.changes.getStartPageToken(scopeParams(scope));
  return parseReply(startTokenSchema, res.data, 'start page token').startPageToken;
}

/** Takes each drive's start page token before a listing begins; they become current when the run finishes. */
export async function stageStartPageTokens(deps: ChangesDeps, input: { runId: string; scopes: string[] }): Promise<void> {
  for (const scope of input.scopes) stageChangeToken(deps.catalog, input.runId, scope, await fetchStartPageToken(deps, scope));
}

export interface ChangesPageResult {
  /** Drive refused the token (invalid or expired): it is dropped, and a full sync must take its place. */
  tokenRejected?: boolean;
  /** More pages follow; the catalog's token already points at the next one. */
  more: boolean;
  changes: number;
  recorded: { new: number; changed: number; gone: number };
}

/**
 * Reads one page of a drive's changes feed from the catalog's token and records it, in one transaction with the
 * token that follows it: a crash after it repeats nothing, one before it loses nothing. An item present is recorded
 * as a listing records it (new or changed content becomes pending, a new name or place is queued for a server-side
 * move); one removed, trashed or no longer visible is marked gone, its objects queued for .trash/.
 */
export async function readChangesPage(deps: ChangesDeps, input: { runId: string; scope: string }): Promise<ChangesPageResult> {
  const { scope } = input;
  // Always the catalog's token, not one carried in the input: a retry after a recorded page reads the next one.
  const token = changeTokens(deps.catalog).get(scope);
  if (!token) return { tokenRejected: true, more: false, changes: 0, recorded: { new: 0, changed: 0, gone: 0 } };
  let res: { data: unknown };
  try {
    res = await deps.drive.changes.list({
      pageToken: token,
      pageSize: PAGE_SIZE,
      includeRemoved: true,
      fields: CHANGE_FIELDS,
      ...scopeParams(scope),
    });
  } catch (err) {
    const failure = driveFailureOf(err);
    if (failure?.status === 400 && failure.reason === 'invalid') {
      dropChangeToken(deps.catalog, scope);
      deps.logger.warn(
        { event: 'drive.changes.token_rejected', scope, runId: input.runId, message: failure.message },
        'change token refused',
      );
      return { tokenRejected: true, more: false, changes: 0, recorded: { new: 0, changed: 0, gone: 0 } };
    }
    throw err;
  }
  const page = parseReply(changeListSchema, res.data, 'change list');
  const fileChanges = page.changes.filter((c) => (c.changeType ?? 'file') === 'file' && c.fileId);
  const present = fileChanges.filter((c) => !c.removed && c.file && !c.file.trashed).map((c) => c.file!);
  const trashed = fileChanges.filter((c) => !c.removed && c.file?.trashed).map((c) => c.fileId!);
  // A file moved to another drive shows as removed in its old drive's feed: only the drive it is in can remove it.
  const inThisDrive = deps.catalog.db.prepare('SELECT 1 FROM files WHERE id = ? AND drive_id IS ?');
  const driveOfScope = scope === MY_DRIVE_SCOPE ? null : scope;
  const removed = fileChanges.filter((c) => (c.removed || !c.file) && inThisDrive.get(c.fileId, driveOfScope)).map((c) => c.fileId!);
  const recorded = deps.catalog.db.transaction(() => {
    const counts = deps.catalog.recordListedFiles(present.map(toCatalogInput), input.runId);
    const gone = deps.catalog.places.markGone(trashed, 'trashed') + deps.catalog.places.markGone(removed, 'removed');
    saveChangeToken(deps.catalog, scope, page.nextPageToken ?? page.newStartPageToken!);
    return { new: counts.new, changed: counts.changed, gone };
  })();
  deps.logger.info(
    { event: 'drive.changes.page', scope, runId: input.runId, changes: page.changes.length, ...recorded, more: !!page.nextPageToken },
    'read a page of Drive changes',
  );
  return { more: page.nextPageToken !== undefined, changes: page.changes.length, recorded };
}
