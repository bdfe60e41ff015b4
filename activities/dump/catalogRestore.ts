import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../../common/logger';
import { Catalog } from '../catalog/catalog';
import { type CatalogCounts, type RecordedRun, catalogCounts, namesVersion, recordedRunningRuns } from '../catalog/restoredCatalog';
import type { Destination } from '../storage/destination';
import { checkCatalogCopy } from './dailyDump';
import { DUMP_FILES, type StateLayout } from './dumpLayout';
import { downloadVerified, gunzipFile, newestDumpDay } from './remoteDumps';
import { prepareRestoredCopy } from './restoredCopy';
import type { AdoptionCounts, StoredObjectAdoptionDeps } from './adoptStoredObjects';

/** A backup-API copy in one step: the restore is local, and one step keeps the destination's write lock shortest. */
const ALL_PAGES = 0x7fffffff;

export interface CatalogRestoreDeps {
  /** The live catalog file (the config's `catalog.path`). */
  catalogPath: string;
  /** Where the dump is read from. */
  destination: Destination;
  /** Where on it the account's dumps are (`stateLayout(config)`): never another account's beside them. */
  layout: StateLayout;
  logger: Logger;
  /** Whether Temporal still runs a workflow; throws when Temporal cannot be asked. */
  workflowRunning: (workflowId: string) => Promise<boolean>;
  /**
   * Workflows running now that write the catalog without recording a run in it (deep verifications, whose verdicts
   * name objects by rowid: in a restored catalog, other objects); throws when Temporal cannot be asked.
   */
  unrecordedWriters?: () => Promise<string[]>;
  /** Finds the objects the destinations gained after the dump (every configured destination). */
  adoption: StoredObjectAdoptionDeps;
  /** Runs right after the restored copy has replaced the catalog, before it is checked: where a test injects a failure. */
  afterReplace?: () => void | Promise<void>;
}

export interface CatalogRestoreResult {
  destination: string;
  day: string;
  /** The dump's full key on the destination. */
  key: string;
  sha256: string;
  /** The catalog as it was before, copied with the backup API; kept. */
  safetyCopy: string;
  previous: CatalogCounts;
  restored: CatalogCounts;
  /** Runs the dump recorded as running, closed as abandoned in the restored catalog. */
  runsClosed: RecordedRun[];
  /** Objects the destinations gained after the dump for files it had still to transfer, now recorded. */
  adopted: AdoptionCounts;
}

/** The catalog restore will not run: a run writes the catalog, or whether one does cannot be checked. */
export class CatalogBusyError extends Error {
  override name = 'CatalogBusyError';
}

/** The restored catalog failed after it replaced the live one: the safety copy was put back (or, if that failed, says so). */
export class CatalogRestoreFailedError extends Error {
  override name = 'CatalogRestoreFailedError';
  constructor(
    message: string,
    readonly safetyCopy: string,
    readonly rolledBack: boolean,
  ) {
    super(message);
  }
}

const describeRun = (r: RecordedRun) => `${r.kind} run ${r.runId} (workflow ${r.workflowId})`;

/**
 * Refuses while a run writes the catalog: every run it records as running (and the holder of the account hold) is
 * checked with Temporal, and one whose workflow still runs stops the restore, named. A recorded run that Temporal
 * cannot be asked about stops it too: it may be writing. Any kind counts (a nightly dump records its run too), not
 * only syncs: whatever it wrote after the copy would land in a catalog that no longer has its run. So does a running
 * deep verification, which records no run.
 */
async function refuseWhileRunsWrite(catalog: Catalog, deps: CatalogRestoreDeps): Promise<void> {
  const recorded = recordedRunningRuns(catalog);
  const live: RecordedRun[] = [];
  let unreachable: Error | undefined;
  for (const run of recorded) {
    try {
      if (await deps.workflowRunning(run.workflowId)) live.push(run);
    } catch (err) {
      unreachable = err as Error;
    }
  }
  if (live.length) {
    throw new CatalogBusyError(
      `the catalog is being written: ${live.map(describeRun).join('; ')} still runs. Wait for it to finish (or cancel it), then restore`,
    );
  }
  if (unreachable) {
    throw new CatalogBusyError(
      `the catalog records ${recorded.map(describeRun).join('; ')} as running, and Temporal cannot be asked whether it still ` +
        `runs (${unreachable.message}). Start Temporal and try again`,
    );
  }
  let writers: string[] = [];
  try {
    writers = (await deps.unrecordedWriters?.()) ?? [];
  } catch (err) {
    // Nothing in the catalog says one runs, and none makes progress without Temporal.
    deps.logger.warn({ event: 'catalog.restore.writers_unknown', err }, 'Temporal not asked about running deep verifications');
  }
  if (writers.length) {
    throw new CatalogBusyError(
      `the catalog is being written: deep verification ${writers.join(', ')} still runs. Wait for it to finish (or cancel it), then restore`,
    );
  }
}

/** The live catalog, migrated as the worker would; one SQLite cannot open is a case for `recover`, not a restore over it. */
function openLiveCatalog(path: string): Catalog {
  try {
    return Catalog.open(path);
  } catch (err) {
    throw new Error(
      `the catalog ${path} cannot be opened (${(err as Error).message}): if it is damaged, stop the worker, move it aside ` +
        '(with its -wal and -shm files) and use drive-vault recover',
      { cause: err },
    );
  }
}

/** Copies `from` into the catalog file at `to` with the backup API: other connections to `to` see all of it or none. */
async function copyInto(from: string, to: string): Promise<void> {
  const source = new Database(from, { readonly: true, fileMustExist: true });
  try {
    await source.backup(to, { progress: () => ALL_PAGES });
  } finally {
    source.close();
  }
}

/**
 * `drive-vault catalog restore`: replaces the catalog with a day's dump (the newest on the destination unless `date`
 * is given), on the catalog host, with the worker running or not.
 *
 * The dump is downloaded beside the catalog and its SHA-256 checked against its `.sha256`, gunzipped, checked
 * (integrity, foreign keys), brought to the current schema and settled (its running runs closed, holds and claims let
 * go) before anything live is touched. Then a safety copy of the catalog is made with the backup API, and the restored
 * copy is written INTO the live catalog file with the backup API too, not renamed over it: a worker that has the
 * catalog open (WAL) keeps its connection to the same inode, a rename would leave it writing the old file, and the
 * backup's destination holds the write lock for the whole copy and commits once, so other connections read the old
 * catalog or the new one, never a mix. The result is opened, checked and compared with the copy; any failure there
 * writes the safety copy back the same way. Refuses while a run writes the catalog.
 */
export async function restoreCatalog(deps: CatalogRestoreDeps, input: { date?: string; now?: Date } = {}): Promise<CatalogRestoreResult> {
  const { catalogPath, destination, logger } = deps;
  if (!existsSync(catalogPath)) {
    throw new Error(`there is no catalog at ${catalogPath} to restore over: use drive-vault recover to make one from the dumps`);
  }
  const live = openLiveCatalog(catalogPath);
  let previousNamesVersion: number;
  try {
    await refuseWhileRunsWrite(live, deps);
    previousNamesVersion = namesVersion(live);
  } finally {
    live.close();
  }
  const { layout } = deps;
  const day = input.date ?? (await newestDumpDay(destination, layout));
  if (!day)
    throw new Error(`${destination.name} holds no whole daily dump (catalog and checksum) under ${destination.fullKey(layout.daily)}`);
  const key = destination.fullKey(layout.dailyKey(day, DUMP_FILES.catalog));
  const work = await mkdtemp(join(dirname(catalogPath), '.catalog-restore-'));
  const log = { destination: destination.name, day, key };
  try {
    const gzipped = join(work, DUMP_FILES.catalog);
    const { sha256 } = await downloadVerified(destination, layout, day, DUMP_FILES.catalog, gzipped);
    const copyPath = join(work, 'catalog.db');
    await gunzipFile(gzipped, copyPath);
    await rm(gzipped);
    const { restored, runsClosed, adopted } = await prepareRestoredCopy(
      copyPath,
      { day, what: `the dump ${destination.name}: ${key}`, aboveNamesVersion: previousNamesVersion },
      deps.adoption,
    );

    const safetyCopy = `${catalogPath}.safety-${(input.now ?? new Date()).toISOString().replace(/[:.]/g, '-')}`;
    const current = openLiveCatalog(catalogPath);
    let previous: CatalogCounts;
    try {
      // Checked again just before: the download may have taken a while.
      await refuseWhileRunsWrite(current, deps);
      previous = catalogCounts(current);
      // Made 0600 before SQLite writes it: it names every file of the account, as the catalog does.
      closeSync(openSync(safetyCopy, 'wx', 0o600));
      await current.db.backup(safetyCopy, { progress: () => ALL_PAGES }).catch(async (err) => {
        await rm(safetyCopy, { force: true });
        throw new Error(`the safety copy ${safetyCopy} could not be made: ${(err as Error).message}`, { cause: err });
      });
    } finally {
      current.close();
    }
    logger.info({ event: 'catalog.restore.safety_copy', ...log, safetyCopy }, 'safety copy of the catalog made');

    try {
      // A copy that fails midway is rolled back by SQLite; the safety copy is written back all the same.
      await copyInto(copyPath, catalogPath);
      await deps.afterReplace?.();
      checkReplaced(catalogPath, restored);
    } catch (err) {
      const failure = (err as Error).message;
      logger.error({ event: 'catalog.restore.failed', ...log, safetyCopy, err }, 'restored catalog failed its checks; rolling back');
      try {
        await copyInto(safetyCopy, catalogPath);
        checkReplaced(catalogPath, previous);
      } catch (rollbackErr) {
        throw new CatalogRestoreFailedError(
          `the catalog restored from ${key} failed after it replaced ${catalogPath} (${failure}), and writing the safety copy back ` +
            `failed too (${(rollbackErr as Error).message}): stop the worker and copy ${safetyCopy} over ${catalogPath} by hand`,
          safetyCopy,
          false,
        );
      }
      throw new CatalogRestoreFailedError(
        `the catalog restored from ${key} failed after it replaced ${catalogPath}: ${failure}. ` +
          `Rolled back: the catalog is the safety copy ${safetyCopy} again`,
        safetyCopy,
        true,
      );
    }
    logger.info({ event: 'catalog.restore.done', ...log, safetyCopy, ...restored, runsClosed: runsClosed.length }, 'catalog restored');
    return { destination: destination.name, day, key, sha256, safetyCopy, previous, restored, runsClosed, adopted };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Opens the catalog file as the worker does (migrations included), checks it, and compares it with what was written into it. */
function checkReplaced(catalogPath: string, expected: CatalogCounts): void {
  const catalog = Catalog.open(catalogPath);
  try {
    checkCatalogCopy(catalog.db, `the catalog ${catalogPath}`);
    const found = catalogCounts(catalog);
    if (found.files !== expected.files || found.objects !== expected.objects || found.schemaVersion !== expected.schemaVersion) {
      throw new Error(`the catalog ${catalogPath} holds ${JSON.stringify(found)} where ${JSON.stringify(expected)} was written`);
    }
  } finally {
    catalog.close();
  }
}
