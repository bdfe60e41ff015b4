import Database from 'better-sqlite3';
import { Catalog } from '../catalog/catalog';
import {
  type CatalogCounts,
  LATEST_SCHEMA_VERSION,
  type RecordedRun,
  catalogCounts,
  settleRestoredCatalog,
} from '../catalog/restoredCatalog';
import { checkCatalogCopy } from './dailyDump';

/**
 * Checks a catalog copy as SQLite reads it, migrates it (a dump from an older schema is brought up by Catalog.open; one
 * from a newer schema is refused), checks it again, and settles its runs, holds and claims.
 */
export function prepareRestoredCopy(
  path: string,
  input: { day: string; what: string; aboveNamesVersion: number },
): { restored: CatalogCounts; runsClosed: RecordedRun[] } {
  const raw = new Database(path, { fileMustExist: true });
  try {
    checkCatalogCopy(raw, input.what);
  } finally {
    raw.close();
  }
  const copy = Catalog.open(path);
  try {
    if (copy.schemaVersion() > LATEST_SCHEMA_VERSION) {
      throw new Error(`${input.what} has catalog schema ${copy.schemaVersion()}, newer than this drive-vault's ${LATEST_SCHEMA_VERSION}`);
    }
    checkCatalogCopy(copy.db, `${input.what}, migrated`);
    const runsClosed = settleRestoredCatalog(copy, {
      reason: `recorded as running in the dump of ${input.day}; closed when the catalog was restored from it`,
      aboveNamesVersion: input.aboveNamesVersion,
    });
    return { restored: catalogCounts(copy), runsClosed };
  } finally {
    copy.close();
  }
}
