import type { drive_v3 } from 'googleapis';
import { z } from 'zod';
import type { Logger } from '../../common/logger';
import type { ListDrivePageInput, ListDrivePageResult } from '../../common/types';
import type { Catalog, CatalogFileInput, FileKind } from '../catalog/catalog';

const G = 'application/vnd.google-apps.';
export const FOLDER_MIME = `${G}folder`;
export const SHORTCUT_MIME = `${G}shortcut`;

/** Workspace types the Drive API can export, and why the others are skipped. */
export const EXPORTABLE_TYPES = ['document', 'spreadsheet', 'presentation', 'drawing', 'script'].map((t) => G + t);
const unsupportedReasons: Record<string, string> = {
  [`${G}form`]: 'Google Forms cannot be exported through the Drive API; metadata recorded only',
  [`${G}site`]: 'Google Sites cannot be exported through the Drive API; metadata recorded only',
  [`${G}map`]: 'Google My Maps cannot be exported through the Drive API; metadata recorded only',
  [`${G}jam`]: 'Jamboards cannot be exported through the Drive API; metadata recorded only',
  [`${G}fusiontable`]: 'Fusion Tables cannot be exported through the Drive API; metadata recorded only',
};

/** Fields requested per file: everything the catalog records, nothing more (Drive meters by response size). */
export const FILE_FIELDS =
  'id,name,mimeType,parents,driveId,size,md5Checksum,sha256Checksum,modifiedTime,createdTime,version,headRevisionId,trashed,ownedByMe,shortcutDetails(targetId,targetMimeType)';
export const LIST_FIELDS = `nextPageToken,incompleteSearch,files(${FILE_FIELDS})`;
const PAGE_SIZE = 1000;

/** A Drive file as the listing needs it; a reply that does not fit is an error naming the field. */
export const listedFileSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  mimeType: z.string().min(1),
  parents: z.array(z.string()).max(1).optional(),
  driveId: z.string().optional(),
  size: z.string().regex(/^\d+$/).optional(),
  md5Checksum: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  sha256Checksum: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  modifiedTime: z.string().min(1),
  createdTime: z.string().min(1).optional(),
  version: z.string().min(1),
  headRevisionId: z.string().optional(),
  trashed: z.boolean().optional(),
  ownedByMe: z.boolean().optional(),
  shortcutDetails: z.object({ targetId: z.string(), targetMimeType: z.string().optional() }).optional(),
});
const fileListSchema = z.object({
  nextPageToken: z.string().optional(),
  incompleteSearch: z.boolean().optional(),
  files: z.array(listedFileSchema),
});
const driveListSchema = z.object({
  nextPageToken: z.string().optional(),
  drives: z.array(z.object({ id: z.string().min(1), name: z.string() })).default([]),
});

/** Drive answered with a shape we do not understand: retrying will not help, so it is not retried. */
export class InvalidDriveReplyError extends Error {
  override name = 'InvalidDriveReplyError';
}

export function parseReply<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidDriveReplyError(`Drive returned an unexpected ${what}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export function fileKind(mimeType: string): FileKind {
  if (mimeType === FOLDER_MIME) return 'folder';
  if (mimeType === SHORTCUT_MIME) return 'shortcut';
  if (EXPORTABLE_TYPES.includes(mimeType)) return 'workspace';
  if (mimeType.startsWith(G)) return 'unsupported';
  return 'binary';
}

export type ListedFile = z.infer<typeof listedFileSchema>;

export function toCatalogInput(f: ListedFile): CatalogFileInput {
  const kind = fileKind(f.mimeType);
  return {
    id: f.id,
    driveId: f.driveId ?? null,
    kind,
    name: f.name,
    mimeType: f.mimeType,
    parentId: f.parents?.[0] ?? null,
    size: f.size !== undefined ? Number(f.size) : null,
    md5: f.md5Checksum ?? null,
    driveSha256: f.sha256Checksum ?? null,
    modifiedTime: f.modifiedTime,
    createdTime: f.createdTime ?? null,
    version: f.version,
    headRevisionId: f.headRevisionId ?? null,
    shortcutTargetId: f.shortcutDetails?.targetId ?? null,
    ownedByMe: f.driveId ? null : (f.ownedByMe ?? null),
    skipReason: kind === 'unsupported' ? (unsupportedReasons[f.mimeType] ?? `${f.mimeType} has no export through the Drive API; metadata recorded only`) : null,
  };
}

export interface ListingDeps {
  drive: drive_v3.Drive;
  catalog: Catalog;
  logger: Logger;
}

/**
 * Fetches one page (up to 1,000 items) of a drive's listing into the catalog; returns only the cursor and counts.
 * Every item is recorded, whoever owns it: a colleague's file in the user's folder is part of My Drive, and an
 * item with no visible parent is what "Shared with me" holds, which the key planner backs up or skips by scope.
 */
export async function listDrivePage(deps: ListingDeps, input: ListDrivePageInput): Promise<ListDrivePageResult> {
  const { scope } = input;
  const params: drive_v3.Params$Resource$Files$List =
    scope.kind === 'my-drive'
      ? { corpora: 'user', q: 'trashed = false', pageSize: PAGE_SIZE, pageToken: input.pageToken, fields: LIST_FIELDS }
      : {
          corpora: 'drive',
          driveId: scope.driveId,
          includeItemsFromAllDrives: true,
          supportsAllDrives: true,
          q: 'trashed = false',
          pageSize: PAGE_SIZE,
          pageToken: input.pageToken,
          fields: LIST_FIELDS,
        };
  const res = await deps.drive.files.list(params);
  const page = parseReply(fileListSchema, res.data, 'file list');
  const wanted = page.files.filter((f) => !f.trashed);
  const counts = deps.catalog.recordListedFiles(wanted.map(toCatalogInput), input.listingId);
  deps.logger.info(
    { event: 'drive.list.page', scope: scope.kind === 'my-drive' ? 'my-drive' : scope.driveId, listingId: input.listingId, ...counts, incompleteSearch: page.incompleteSearch },
    'listed a Drive page',
  );
  return { nextPageToken: page.nextPageToken, counts };
}

/** Lists the account's shared drives into the catalog and returns them (a few hundred at most). */
export async function listSharedDrives(deps: Pick<ListingDeps, 'drive' | 'catalog'>): Promise<Array<{ driveId: string; name: string }>> {
  const drives: Array<{ driveId: string; name: string }> = [];
  let pageToken: string | undefined;
  do {
    const res = await deps.drive.drives.list({ pageSize: 100, pageToken, fields: 'nextPageToken,drives(id,name)' });
    const page = parseReply(driveListSchema, res.data, 'shared drive list');
    for (const d of page.drives) {
      deps.catalog.upsertDrive({ id: d.id, name: d.name, kind: 'shared-drive' });
      drives.push({ driveId: d.id, name: d.name });
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return drives;
}
