import { createHash } from 'node:crypto';
import { type Content, type Hashes, bytesContent, contentHashes, contentSize } from './content';
import { exportFormats } from './exports';
import { fileNotFound } from './errors';

export const FOLDER = 'application/vnd.google-apps.folder';
export const SHORTCUT = 'application/vnd.google-apps.shortcut';
const WORKSPACE_PREFIX = 'application/vnd.google-apps.';

export interface EmuFile {
  id: string;
  name: string;
  mimeType: string;
  /** Unset when the parent lies in another person's Drive, out of the account's sight: Drive then omits `parents`. */
  parentId?: string;
  driveId?: string;
  createdTime: string;
  modifiedTime: string;
  version: number;
  trashed: boolean;
  explicitlyTrashed: boolean;
  /** Bytes of a binary file. */
  content?: Content;
  hashes?: Hashes;
  /** Text a Workspace file's exports contain. */
  text: string;
  exportSize?: number;
  shortcutTargetId?: string;
  /** Shared with the account by its owner, another person. */
  sharedWithMe: boolean;
  /** False for another person's file, shared with the account or put in one of its folders. */
  ownedByMe: boolean;
  /** Flagged as malware: downloads need acknowledgeAbuse=true. */
  abusive: boolean;
  /** Old files have no sha256Checksum. */
  withoutSha256: boolean;
}

export interface EmuDrive {
  id: string;
  name: string;
  createdTime: string;
}

export interface ChangeEntry {
  seq: number;
  fileId: string;
  driveId?: string;
  removed: boolean;
  time: string;
}

export interface NewFile {
  name: string;
  mimeType?: string;
  /** Parent folder id; defaults to the My Drive root, or the shared drive's root when driveId is given. */
  parentId?: string;
  driveId?: string;
  content?: Content;
  text?: string;
  exportSize?: number;
  shortcutTargetId?: string;
  trashed?: boolean;
  /** Another person's item shared with the account; without `parentId` its parent is one the account cannot see. */
  sharedWithMe?: boolean;
  /** False: another person owns it, e.g. a colleague's file in one of the account's folders. Default: !sharedWithMe. */
  ownedByMe?: boolean;
  abusive?: boolean;
  withoutSha256?: boolean;
  modifiedTime?: string;
}

const extensionTypes: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  json: 'application/json',
  csv: 'text/csv',
  html: 'text/html',
  zip: 'application/zip',
  mp4: 'video/mp4',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The MIME type Drive infers from a file name's extension on upload. */
export function mimeFromName(name: string): string {
  const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  return extensionTypes[ext] ?? 'application/octet-stream';
}

export const isWorkspaceType = (mimeType: string) => mimeType.startsWith(WORKSPACE_PREFIX);
export const isExportable = (mimeType: string) => mimeType in exportFormats;

/** The emulated account: files, shared drives and the changes feed every mutation writes to. */
export class DriveStore {
  readonly files = new Map<string, EmuFile>();
  readonly drives = new Map<string, EmuDrive>();
  readonly changes: ChangeEntry[] = [];
  readonly rootId: string;
  readonly user = { displayName: 'Emulated User', emailAddress: 'user@drive-vault.test', permissionId: '00000000000000000001' };
  private idCounter = 0;
  private clock = Date.parse('2026-01-01T00:00:00.000Z');

  constructor(private readonly idSeed = 'drive-emulator') {
    this.rootId = this.newId('0A');
  }

  /** Deterministic Drive-like ids, so a seeded tree gets the same ids on every run. */
  newId(prefix = '1'): string {
    const digest = createHash('sha256')
      .update(`${this.idSeed}:${this.idCounter++}`)
      .digest('base64url');
    return (prefix + digest).slice(0, 33);
  }

  /**
   * The emulated clock: one second per mutation from a fixed start, so a seeded Drive is the same on
   * every run (ids, times) and every mutation gets a later modifiedTime than the one before.
   */
  now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  nextChangeToken(): string {
    return String(this.changes.length + 1);
  }

  getFile(id: string): EmuFile {
    const f = this.files.get(id === 'root' ? this.rootId : id);
    if (!f) throw fileNotFound(id);
    return f;
  }

  addDrive(name: string): EmuDrive {
    const drive = { id: this.newId('0A'), name, createdTime: this.now() };
    this.drives.set(drive.id, drive);
    return drive;
  }

  async addFile(spec: NewFile): Promise<EmuFile> {
    const driveId = spec.driveId ?? (spec.parentId ? this.parentDriveId(spec.parentId) : undefined);
    const sharedWithMe = spec.sharedWithMe ?? false;
    if (sharedWithMe && spec.ownedByMe) throw new Error(`${spec.name}: an item shared with the account is owned by someone else`);
    // An item shared on its own sits in its owner's Drive, under a folder the account cannot see.
    const parentId = spec.parentId ?? driveId ?? (sharedWithMe ? undefined : this.rootId);
    if (parentId !== undefined && parentId !== this.rootId && !this.drives.has(parentId)) {
      const parent = this.getFile(parentId);
      if (parent.mimeType !== FOLDER) throw new Error(`parent ${parentId} is not a folder`);
    }
    const time = spec.modifiedTime ?? this.now();
    const mimeType = spec.mimeType ?? (spec.content ? mimeFromName(spec.name) : FOLDER);
    const file: EmuFile = {
      id: this.newId(),
      name: spec.name,
      mimeType,
      parentId,
      driveId,
      createdTime: time,
      modifiedTime: time,
      version: 1,
      trashed: spec.trashed ?? false,
      explicitlyTrashed: spec.trashed ?? false,
      content: isWorkspaceType(mimeType) ? undefined : (spec.content ?? bytesContent('')),
      text: spec.text ?? '',
      exportSize: spec.exportSize,
      shortcutTargetId: spec.shortcutTargetId,
      sharedWithMe,
      ownedByMe: spec.ownedByMe ?? !sharedWithMe,
      abusive: spec.abusive ?? false,
      withoutSha256: spec.withoutSha256 ?? false,
    };
    if (file.content) file.hashes = await contentHashes(file.content);
    this.files.set(file.id, file);
    this.recordChange(file, false);
    return file;
  }

  /** New bytes (binary) or new text (Workspace): a new version, as an edit in Drive makes. */
  async modifyContent(id: string, change: { content?: Content; text?: string }): Promise<EmuFile> {
    const file = this.getFile(id);
    if (change.content) {
      if (isWorkspaceType(file.mimeType)) throw new Error(`${id} is a Workspace file: change its text, not its bytes`);
      file.content = change.content;
      file.hashes = await contentHashes(change.content);
    }
    if (change.text !== undefined) file.text = change.text;
    return this.touch(file);
  }

  rename(id: string, name: string): EmuFile {
    const file = this.getFile(id);
    file.name = name;
    return this.touchMetadata(file);
  }

  move(id: string, newParentId: string): EmuFile {
    const file = this.getFile(id);
    const driveId = this.parentDriveId(newParentId);
    if (driveId !== file.driveId) throw new Error('moving between drives is not emulated');
    file.parentId = newParentId === 'root' ? this.rootId : newParentId;
    return this.touchMetadata(file);
  }

  /**
   * Trashing a folder trashes what it holds, as Drive does (`trashed`, not `explicitlyTrashed`), and restoring it
   * restores them; an item trashed on its own stays trashed. Each item touched is a change in the feed.
   */
  setTrashed(id: string, trashed: boolean): EmuFile {
    const file = this.getFile(id);
    file.trashed = trashed;
    file.explicitlyTrashed = trashed;
    for (const child of this.descendantsOf(file.id)) {
      if (child.explicitlyTrashed || child.trashed === trashed) continue;
      child.trashed = trashed;
      this.touchMetadata(child);
    }
    return this.touchMetadata(file);
  }

  /**
   * The account loses access to a shared item (its owner stopped sharing it): it disappears from every reply, and
   * the feed reports it `removed`, as for a deletion.
   */
  revokeAccess(id: string): void {
    const file = this.getFile(id);
    if (!file.sharedWithMe && file.ownedByMe) throw new Error(`${id} is the account's own item: only a shared item can be unshared`);
    this.delete(id);
  }

  private descendantsOf(folderId: string): EmuFile[] {
    const children = [...this.files.values()].filter((f) => f.parentId === folderId);
    return children.flatMap((c) => [c, ...this.descendantsOf(c.id)]);
  }

  /** Permanent deletion: the file and everything under it disappear; each shows as `removed` in the feed. */
  delete(id: string): void {
    const file = this.getFile(id);
    for (const child of [...this.files.values()].filter((f) => f.parentId === file.id)) this.delete(child.id);
    this.files.delete(file.id);
    this.recordChange(file, true);
  }

  isFolder(id: string): boolean {
    return id === this.rootId || this.drives.has(id) || this.files.get(id)?.mimeType === FOLDER;
  }

  size(file: EmuFile): number | undefined {
    return file.content ? contentSize(file.content) : undefined;
  }

  private parentDriveId(parentId: string): string | undefined {
    if (parentId === 'root' || parentId === this.rootId) return undefined;
    if (this.drives.has(parentId)) return parentId;
    return this.getFile(parentId).driveId;
  }

  private touch(file: EmuFile): EmuFile {
    file.modifiedTime = this.now();
    return this.touchMetadata(file);
  }

  /** A rename, move or trash: a new version and a change, but Drive's modifiedTime stays that of the content. */
  private touchMetadata(file: EmuFile): EmuFile {
    file.version++;
    this.recordChange(file, false);
    return file;
  }

  private recordChange(file: EmuFile, removed: boolean): void {
    this.changes.push({ seq: this.changes.length + 1, fileId: file.id, driveId: file.driveId, removed, time: this.now() });
  }
}
