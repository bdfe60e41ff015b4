import { createHash } from 'node:crypto';
import type { Catalog, CatalogFileInput } from '../../activities/catalog/catalog';

const FILES_PER_FOLDER = 100;
const PAGE = 1_000;
const ACCOUNT_KEY = 'drive/bench@example.com/My Drive';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Fills a catalog as a full sync of `files` small files in folders of a hundred would leave it: each file listed,
 * keyed, and held verified by every destination. The listing goes through the catalog's own recordListedFiles; the
 * keys and objects are written as the transfer records them, without moving bytes (the dump reads rows, not objects).
 */
export function fillSyntheticCatalog(catalog: Catalog, files: number, destinations: string[]): void {
  const { db } = catalog;
  const folders = Math.ceil(files / FILES_PER_FOLDER);
  const item = (id: string, overrides: Partial<CatalogFileInput>): CatalogFileInput => ({
    id,
    driveId: null,
    kind: 'binary',
    name: id,
    mimeType: 'application/octet-stream',
    parentId: 'root',
    size: 20_000,
    md5: hex(id).slice(0, 32),
    driveSha256: null,
    modifiedTime: '2026-01-01T00:00:00.000Z',
    createdTime: '2026-01-01T00:00:00.000Z',
    version: '3',
    headRevisionId: null,
    shortcutTargetId: null,
    skipReason: null,
    ownedByMe: true,
    ...overrides,
  });
  const folderItems = Array.from({ length: folders }, (_, f) =>
    item(`folder${f}`, { kind: 'folder', name: `Folder ${f}`, mimeType: 'application/vnd.google-apps.folder', size: null, md5: null }),
  );
  for (let i = 0; i < folderItems.length; i += PAGE) catalog.recordListedFiles(folderItems.slice(i, i + PAGE), 'bench-listing');
  const key = db.prepare(
    `INSERT INTO object_keys (holder, format, key, parent_key, name, assigned_at) VALUES (?, '', ?, ?, ?, '2026-01-01T00:00:00Z')`,
  );
  const object = db.prepare(
    `INSERT INTO objects (file_id, destination, format, key, size, sha256, etag, state, uploaded_at, verified_at, file_version)
     VALUES (?, ?, '', ?, 20000, ?, ?, 'verified', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '3')`,
  );
  const synced = db.prepare("UPDATE files SET state = 'synced' WHERE id = ?");
  const keyPage = db.transaction((ids: number[]) => {
    for (const n of ids) {
      const folder = Math.floor(n / FILES_PER_FOLDER);
      const folderKey = `${ACCOUNT_KEY}/Folder ${folder}`;
      if (n % FILES_PER_FOLDER === 0) key.run(`folder${folder}`, folderKey, ACCOUNT_KEY, `Folder ${folder}`);
      const id = `file${n}`;
      const name = `report-${n}.pdf`;
      key.run(id, `${folderKey}/${name}`, folderKey, name);
      for (const d of destinations) object.run(id, d, `${folderKey}/${name}`, hex(`${id} content`), `"${hex(id).slice(0, 32)}"`);
      synced.run(id);
    }
  });
  for (let start = 0; start < files; start += PAGE) {
    const ids = Array.from({ length: Math.min(PAGE, files - start) }, (_, i) => start + i);
    catalog.recordListedFiles(
      ids.map((n) => item(`file${n}`, { name: `report-${n}.pdf`, parentId: `folder${Math.floor(n / FILES_PER_FOLDER)}` })),
      'bench-listing',
    );
    keyPage(ids);
  }
}
