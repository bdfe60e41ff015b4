import Database from 'better-sqlite3';
import { Catalog } from '../catalog/catalog';
import { accountKeyOf } from '../catalog/objectKeys';
import {
  type CatalogCounts,
  LATEST_SCHEMA_VERSION,
  type RecordedRun,
  catalogCounts,
  keyOutsideAccount,
  peekCatalogFile,
  settleRestoredCatalog,
} from '../catalog/restoredCatalog';
import { type AdoptionCounts, type StoredObjectAdoptionDeps, adoptStoredObjects } from './adoptStoredObjects';
import { checkCatalogCopy } from './dailyDump';

export interface PreparedCopy {
  restored: CatalogCounts;
  runsClosed: RecordedRun[];
  adopted: AdoptionCounts;
}

/**
 * Makes a restored catalog copy ready to be used: checked as SQLite reads it, migrated (a dump from an older schema is
 * brought up by Catalog.open; one from a newer schema is refused), checked again, its runs, hold and claims settled,
 * and the objects the destinations gained for its files after the dump recorded.
 */
export async function prepareRestoredCopy(
  path: string,
  input: { day: string; what: string; aboveNamesVersion: number },
  adoption: StoredObjectAdoptionDeps,
): Promise<PreparedCopy> {
  const raw = new Database(path, { fileMustExist: true });
  try {
    checkCatalogCopy(raw, input.what);
  } finally {
    raw.close();
  }
  // Before Catalog.open, which would work on tables a newer drive-vault may have changed.
  const { schemaVersion } = peekCatalogFile(path);
  if (schemaVersion > LATEST_SCHEMA_VERSION) {
    throw new Error(`${input.what} has catalog schema ${schemaVersion}, newer than this drive-vault's ${LATEST_SCHEMA_VERSION}`);
  }
  const copy = Catalog.open(path);
  try {
    checkCatalogCopy(copy.db, `${input.what}, migrated`);
    // Dumps of two accounts sharing a bucket and prefix would replace each other: never install another's catalog.
    const foreign = keyOutsideAccount(copy, accountKeyOf(adoption.account));
    if (foreign !== undefined) {
      throw new Error(`${input.what} is not a catalog of ${adoption.account}: it holds the key ${foreign}`);
    }
    const runsClosed = settleRestoredCatalog(copy, {
      reason: `recorded as running in the dump of ${input.day}; closed when the catalog was restored from it`,
      aboveNamesVersion: input.aboveNamesVersion,
    });
    const adopted = await adoptStoredObjects(copy, adoption);
    return { restored: catalogCounts(copy), runsClosed, adopted };
  } finally {
    copy.close();
  }
}
