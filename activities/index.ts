import type { drive_v3 } from 'googleapis';
import type { Logger } from '../common/logger';
import type { ListDrivePageInput } from '../common/types';
import type { Catalog } from './catalog/catalog';
import { listDrivePage, listSharedDrives } from './drive/listing';

export interface ActivityDeps {
  catalog: Catalog;
  drive: drive_v3.Drive;
  logger: Logger;
  includeSharedWithMe: boolean;
}

/**
 * Activities that touch the catalog. They run on the catalog task queue, served only by the host that
 * owns the SQLite file. Dependencies come in, so tests pass real local ones (temp file, emulator).
 */
export function createCatalogActivities(deps: ActivityDeps) {
  return {
    listDrivePage: (input: ListDrivePageInput) => listDrivePage(deps, input),
    listSharedDrives: () => listSharedDrives(deps),
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
