import { join } from 'node:path';
import { Catalog, type CatalogFileInput } from '../../activities/catalog/catalog';

export const openTestCatalog = (dir: string, name = 'catalog.db') => Catalog.open(join(dir, name));

/** A binary file in the My Drive root as a listing records it, `<id>.bin`, with what a test sets on top. */
export const listedBinaryFile = (id: string, overrides: Partial<CatalogFileInput> = {}): CatalogFileInput => ({
  id,
  driveId: null,
  kind: 'binary',
  name: `${id}.bin`,
  mimeType: 'application/octet-stream',
  parentId: 'root',
  size: 1,
  md5: null,
  driveSha256: null,
  modifiedTime: '2026-01-01T00:00:00Z',
  createdTime: null,
  version: '1',
  headRevisionId: null,
  shortcutTargetId: null,
  skipReason: null,
  ...overrides,
});
