import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ExportFormatConfig } from '../../common/config';
import { exportExtensionsFor } from '../../common/exportFormats';
import type { ObjectKey } from '../../common/types';

/** Longest name segment we write: local filesystems stop at 255 bytes, and S3 keys at 1,024. */
const MAX_SEGMENT_BYTES = 200;
const FOLDER_CACHE_ENTRIES = 50_000;
/** The `format` under which a shared drive's root folder holds its key. */
const DRIVE_ROOT = 'drive-root';
export const MY_DRIVE = 'My Drive';
export const SHARED_WITH_ME = 'Shared with me';

/**
 * Makes a Drive name safe as one key segment, deterministically and reversibly enough to stay unique:
 * `%`, `/`, `\` and control characters are percent-encoded, `.` and `..` never stand alone, and a name
 * too long for a filesystem is cut at a character boundary with a hash of the whole name appended.
 */
export function safeSegment(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what gets encoded
  let safe = name.replace(/[%/\\\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (safe === '') safe = '%00';
  if (safe === '.' || safe === '..') safe = safe.replace(/\./g, '%2E');
  if (Buffer.byteLength(safe) <= MAX_SEGMENT_BYTES) return safe;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  const ext = extensionOf(safe);
  const keep = MAX_SEGMENT_BYTES - Buffer.byteLength(`~${hash}${ext}`);
  return `${truncateUtf8(safe.slice(0, safe.length - ext.length), keep)}~${hash}${ext}`;
}

/** `.pdf` of `report.pdf`; nothing for `.bashrc`, `archive.` or an extension longer than 10 characters. */
export function extensionOf(name: string): string {
  const m = name.match(/(?<=.)\.[A-Za-z0-9]{1,10}$/);
  return m ? m[0] : '';
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}

/** `Budget` exported as xlsx is `Budget.xlsx`; `report.pdf` stays `report.pdf`. */
export function objectFileName(name: string, exportExtension: string | undefined): string {
  return exportExtension ? `${name}.${exportExtension}` : name;
}

/** Puts ` [<tag>]` before the extension: how an item is told apart from another that holds its plain key. */
export function disambiguate(segment: string, tag: string): string {
  const ext = extensionOf(segment);
  return `${segment.slice(0, segment.length - ext.length)} [${tag}]${ext}`;
}

/** `drive/<account>`: the key every Drive object of the account is below. */
export const accountKeyOf = (account: string): string => `drive/${safeSegment(account)}`;

/** Where an item sits: under My Drive, a shared drive, or (no visible parent) Shared with me. */
export type KeyRoot = 'my-drive' | 'shared-drive' | 'shared-with-me';

interface Row {
  id: string;
  name: string;
  kind: string;
  mime_type: string;
  parent_id: string | null;
  drive_id: string | null;
  /** 0 when someone else owns it; 1, or null in shared drives and catalogs from before Drive's flag was kept. */
  owned_by_me: number | null;
}

interface HeldKey {
  key: string;
  parent_key: string;
  name: string;
}

/**
 * Gives every file, folder and shared drive its object key (DESIGN.md section 7) and records it in
 * `object_keys`: `drive/<account>/<My Drive | shared drive | Shared with me>/<folders>/<name>`, each
 * segment made safe. A key, once given, stays with its holder until the holder itself is renamed or moved;
 * it is never recomputed from the current siblings. A newcomer whose plain key is held by another file,
 * in the catalog's keys or by an object a destination still holds for that file, gets ` [<id prefix>]`
 * whatever its age, so no write ever replaces another file's object.
 *
 * Assigning writes the catalog: call it inside the claim's transaction, and `forget()` if that rolls back.
 */
export class ObjectKeyPlanner {
  private readonly rows = new Map<string, Row | null>();
  private readonly folderKeys = new Map<string, string>();
  private readonly folderPlaces = new Map<string, { path: string; root: KeyRoot }>();
  private namesVersion?: number;
  private readonly accountKey: string;
  private readonly statements: ReturnType<typeof prepare>;

  constructor(
    private readonly db: Database.Database,
    account: string,
    private readonly exportFormats: ExportFormatConfig,
  ) {
    this.accountKey = accountKeyOf(account);
    this.statements = prepare(db);
  }

  /** Call before each batch: file rows are read afresh, and folder places are dropped if names changed since. */
  beginBatch(): void {
    this.rows.clear();
    const { names_version: version } = this.db.prepare('SELECT names_version FROM catalog_state').get() as { names_version: number };
    if (version !== this.namesVersion) this.forget();
    this.namesVersion = version;
  }

  /** Drops everything cached, as after a transaction that assigned keys was rolled back. */
  forget(): void {
    this.rows.clear();
    this.folderKeys.clear();
    this.folderPlaces.clear();
    this.namesVersion = undefined;
  }

  /** The file's readable Drive path and the root it sits under; reads only. */
  locate(fileId: string): { drivePath: string; root: KeyRoot } {
    const row = this.fileRow(fileId);
    const parent = this.placeOf(row);
    return { drivePath: `${parent.path}/${row.name}`, root: parent.root };
  }

  /** The objects one file becomes: its recorded keys, or new ones recorded now for a newcomer or a moved file. */
  assignKeys(fileId: string): ObjectKey[] {
    const row = this.fileRow(fileId);
    const parentKey = this.parentKeyOf(row);
    const formats = row.kind === 'workspace' ? exportExtensionsFor(row.mime_type, this.exportFormats) : [''];
    return formats.map((format) => ({
      format,
      key: this.assign(row.id, format, parentKey, objectFileName(row.name, format || undefined)),
    }));
  }

  private fileRow(id: string): Row {
    const row = this.row(id);
    if (!row) throw new Error(`file ${id} is not in the catalog`);
    return row;
  }

  private row(id: string): Row | null {
    if (!this.rows.has(id)) this.rows.set(id, (this.statements.row.get(id) as Row | undefined) ?? null);
    return this.rows.get(id)!;
  }

  /** A folder the catalog holds; any other parent id (the My Drive root, a shared drive's id) is a drive root. */
  private folder(folderId: string | null): Row | null {
    const folder = folderId ? this.row(folderId) : null;
    return folder?.kind === 'folder' ? folder : null;
  }

  /**
   * The root an item sits under when no folder of the catalog holds it. Drive omits `parents` when the
   * account cannot see the parent: such an item, owned by someone else, is under Shared with me; one the
   * user owns (an "unorganized" file) or whose parent is a drive root is in that drive.
   */
  private rootOf(row: Row): KeyRoot {
    if (row.drive_id) return 'shared-drive';
    return row.parent_id || row.owned_by_me !== 0 ? 'my-drive' : 'shared-with-me';
  }

  private placeOf(row: Row): { path: string; root: KeyRoot } {
    const folder = this.folder(row.parent_id);
    if (folder) return this.folderPlace(folder);
    const root = this.rootOf(row);
    return { path: root === 'shared-drive' ? this.driveName(row.drive_id!) : root === 'my-drive' ? MY_DRIVE : SHARED_WITH_ME, root };
  }

  private folderPlace(folder: Row): { path: string; root: KeyRoot } {
    const cached = this.folderPlaces.get(folder.id);
    if (cached) return cached;
    const parent = this.placeOf(folder);
    const place = { path: `${parent.path}/${folder.name}`, root: parent.root };
    cacheSet(this.folderPlaces, folder.id, place);
    return place;
  }

  private parentKeyOf(row: Row): string {
    const folder = this.folder(row.parent_id);
    if (folder) return this.folderKey(folder);
    const root = this.rootOf(row);
    if (root === 'shared-drive') return this.driveKey(row.drive_id!);
    return `${this.accountKey}/${safeSegment(root === 'my-drive' ? MY_DRIVE : SHARED_WITH_ME)}`;
  }

  private folderKey(folder: Row): string {
    const cached = this.folderKeys.get(folder.id);
    if (cached) return cached;
    const key = this.assign(folder.id, '', this.parentKeyOf(folder), folder.name);
    cacheSet(this.folderKeys, folder.id, key);
    return key;
  }

  private driveKey(driveId: string): string {
    const cacheKey = `drive:${driveId}`;
    const cached = this.folderKeys.get(cacheKey);
    if (cached) return cached;
    const key = this.assign(driveId, DRIVE_ROOT, this.accountKey, this.driveName(driveId));
    cacheSet(this.folderKeys, cacheKey, key);
    return key;
  }

  private driveName(driveId: string): string {
    return (this.statements.driveName.get(driveId) as { name: string } | undefined)?.name ?? driveId;
  }

  /** The holder's recorded key while its place and name are those it was given for; else the first free one. */
  private assign(holder: string, format: string, parentKey: string, name: string): string {
    const held = this.statements.heldKey.get(holder, format) as HeldKey | undefined;
    // A recorded key another file's object still sits at (a catalog from before keys were recorded) is not ours.
    const heldIsFree = held !== undefined && !this.isTaken(held.key, holder);
    if (heldIsFree && held.parent_key === parentKey && held.name === name) return held.key;
    const segment = safeSegment(name);
    for (const candidate of [segment, disambiguate(segment, holder.slice(0, 8)), disambiguate(segment, holder)]) {
      const key = `${parentKey}/${candidate}`;
      if (key === held?.key ? !heldIsFree : this.isTaken(key, holder)) continue;
      this.statements.recordKey.run({ holder, format, key, parentKey, name, now: new Date().toISOString() });
      return key;
    }
    throw new Error(`no free object key for ${holder} (${format || 'content'}) under ${parentKey}`);
  }

  /** Held by another item's recorded key, by an object a destination holds for another file, or reserved. */
  private isTaken(key: string, holder: string): boolean {
    if (key === `${this.accountKey}/${safeSegment(MY_DRIVE)}` || key === `${this.accountKey}/${safeSegment(SHARED_WITH_ME)}`) return true;
    return this.statements.keyHeldByOther.get(key, holder, key, holder) !== undefined;
  }
}

function prepare(db: Database.Database) {
  return {
    row: db.prepare('SELECT id, name, kind, mime_type, parent_id, drive_id, owned_by_me FROM files WHERE id = ?'),
    driveName: db.prepare('SELECT name FROM drives WHERE id = ?'),
    heldKey: db.prepare('SELECT key, parent_key, name FROM object_keys WHERE holder = ? AND format = ?'),
    keyHeldByOther: db.prepare(
      `SELECT 1 FROM object_keys WHERE key = ? AND holder != ?
       UNION ALL SELECT 1 FROM objects WHERE key = ? AND file_id != ? LIMIT 1`,
    ),
    recordKey: db.prepare(
      `INSERT INTO object_keys (holder, format, key, parent_key, name, assigned_at) VALUES (@holder, @format, @key, @parentKey, @name, @now)
       ON CONFLICT (holder, format) DO UPDATE SET key = excluded.key, parent_key = excluded.parent_key, name = excluded.name,
         assigned_at = excluded.assigned_at`,
    ),
  };
}

/** Keeps a cache bounded: past its size it starts afresh (folders are re-read, keys stay recorded). */
function cacheSet<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= FOLDER_CACHE_ENTRIES) cache.clear();
  cache.set(key, value);
}
