import { extname } from 'node:path';
import { exportFormats, mime } from './exports';
import { DriveStore, EmuFile, FOLDER, SHORTCUT, isWorkspaceType } from './store';

/** Every field of the file resource the emulator knows, for field-mask validation. */
export const FILE_FIELDS = new Set([
  'kind', 'id', 'name', 'mimeType', 'parents', 'driveId', 'teamDriveId', 'createdTime', 'modifiedTime', 'version',
  'trashed', 'explicitlyTrashed', 'capabilities', 'quotaBytesUsed', 'webViewLink', 'owners', 'ownedByMe',
  'shared', 'sharedWithMeTime', 'shortcutDetails', 'exportLinks', 'size', 'md5Checksum', 'sha1Checksum',
  'sha256Checksum', 'headRevisionId', 'originalFilename', 'fullFileExtension', 'fileExtension', 'starred',
  'description', 'spaces', 'viewedByMe', 'modifiedByMe',
]);

/** exportLinks map an export target to the docs host's download URL; the emulator serves that path itself. */
const exportLinkFormat: Record<string, string> = {
  [mime.docx]: 'docx', [mime.xlsx]: 'xlsx', [mime.pptx]: 'pptx', [mime.odt]: 'odt', [mime.ods]: 'ods',
  [mime.odp]: 'odp', [mime.pdf]: 'pdf', [mime.rtf]: 'rtf', [mime.txt]: 'txt', [mime.html]: 'html',
  [mime.zip]: 'zip', [mime.epub]: 'epub', [mime.md]: 'md', [mime.csv]: 'csv', [mime.tsv]: 'tsv',
  [mime.jpeg]: 'jpeg', [mime.png]: 'png', [mime.svg]: 'svg', [mime.scriptJson]: 'json',
};
export const mimeForExportFormat = (format: string) =>
  Object.entries(exportLinkFormat).find(([, f]) => f === format)?.[0];

/** The whole file resource, as Drive v3 returns it with `fields=*`. */
export function fileResource(store: DriveStore, f: EmuFile, baseUrl: string): Record<string, unknown> {
  const r: Record<string, unknown> = {
    kind: 'drive#file',
    id: f.id,
    name: f.name,
    mimeType: f.mimeType,
    ...(f.parentId !== undefined && { parents: [f.parentId] }),
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
    version: String(f.version),
    trashed: f.trashed,
    explicitlyTrashed: f.explicitlyTrashed,
    starred: false,
    spaces: ['drive'],
    viewedByMe: true,
    modifiedByMe: f.ownedByMe,
    shared: !f.ownedByMe || Boolean(f.driveId),
    capabilities: { canDownload: true, canEdit: !f.sharedWithMe, canTrash: !f.sharedWithMe, canListChildren: f.mimeType === FOLDER },
    quotaBytesUsed: String(store.size(f) ?? 0),
    webViewLink: `${baseUrl}file/d/${f.id}/view`,
  };
  if (f.driveId) {
    r.driveId = f.driveId;
    r.teamDriveId = f.driveId;
  } else {
    r.ownedByMe = f.ownedByMe;
    r.owners = [
      f.ownedByMe
        ? { kind: 'drive#user', ...store.user, me: true }
        : { kind: 'drive#user', displayName: 'A Colleague', emailAddress: 'colleague@drive-vault.test', me: false },
    ];
  }
  if (f.sharedWithMe) r.sharedWithMeTime = f.createdTime;
  if (f.mimeType === SHORTCUT && f.shortcutTargetId) {
    const target = store.files.get(f.shortcutTargetId);
    r.shortcutDetails = { targetId: f.shortcutTargetId, targetMimeType: target?.mimeType ?? 'application/octet-stream' };
  }
  if (f.content && f.hashes) {
    const ext = extname(f.name).slice(1);
    r.size = String(store.size(f));
    r.md5Checksum = f.hashes.md5;
    r.sha1Checksum = f.hashes.sha1;
    if (!f.withoutSha256) r.sha256Checksum = f.hashes.sha256;
    r.headRevisionId = `0B${f.id.slice(2, 12)}${f.version}`;
    r.originalFilename = f.name;
    if (ext) {
      r.fullFileExtension = ext;
      r.fileExtension = ext;
    }
  } else if (isWorkspaceType(f.mimeType) && f.mimeType !== FOLDER && f.mimeType !== SHORTCUT) {
    // Google's own storage size, not the size of any export.
    r.size = String(1024 + f.text.length);
    const targets = exportFormats[f.mimeType];
    if (targets) {
      r.exportLinks = Object.fromEntries(
        targets.map((t) => [t, `${baseUrl}feeds/download/documents/export/Export?id=${f.id}&exportFormat=${exportLinkFormat[t]}`]),
      );
    }
  }
  return r;
}

/** Validates a field path of a files.get reply (`id`, `capabilities.canDownload`, ...). */
export const knownFileField = (path: string) => FILE_FIELDS.has(path.split('.')[0]);

/** Validates a field path of a list reply whose items sit under `itemsKey` and have `itemFields`. */
export function knownListField(topFields: string[], itemsKey: string, knownItem: (path: string) => boolean) {
  return (path: string) => {
    const [top, ...rest] = path.split('.');
    if (!topFields.includes(top)) return false;
    return top !== itemsKey || rest.length === 0 || knownItem(rest.join('.'));
  };
}
