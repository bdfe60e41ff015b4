import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { Catalog } from '../catalog/catalog';
import { rebuildFromManifest } from '../catalog/manifestRows';
import { type CatalogCounts, type RecordedRun, peekCatalogFile } from '../catalog/restoredCatalog';
import type { Destination } from '../storage/destination';
import { DUMP_FILES, type StateLayout, stateLayout } from './dumpLayout';
import { readManifestLines } from './manifestFile';
import { downloadVerified, gunzipFile, listDumpDays } from './remoteDumps';
import { prepareRestoredCopy } from './restoredCopy';
import { type AdoptionCounts, type StoredObjectAdoptionDeps, adoptionFromConfig } from './adoptStoredObjects';
import { createDestinations } from '../storage/createDestinations';

export type RecoverySource = 'dump' | 'manifest';

/** A day that could not be used, and why. */
export interface SkippedDay {
  day: string;
  source: RecoverySource;
  problem: string;
}

export interface RecoverResult {
  destination: string;
  catalogPath: string;
  day: string;
  source: RecoverySource;
  /** The full key of what the catalog was made from. */
  key: string;
  counts: CatalogCounts;
  /** Runs the dump recorded as running, closed as abandoned. */
  runsClosed: RecordedRun[];
  /** Objects the destinations gained after that day for files it had still to transfer, now recorded. */
  adopted: AdoptionCounts;
  /** Newer days (or the dumps of every day, when a manifest was used) that could not be used. */
  skipped: SkippedDay[];
}

/** Recovery will not run: the configured catalog holds files, or cannot be read. Nothing was changed. */
export class RecoverRefusedError extends Error {
  override name = 'RecoverRefusedError';
}

/** No day's dump or manifest could be read and verified; each day's problem is named. */
export class NothingToRecoverError extends Error {
  override name = 'NothingToRecoverError';
  constructor(
    message: string,
    readonly skipped: SkippedDay[],
  ) {
    super(message);
  }
}

const moveAside = (path: string) =>
  `move it aside first (mv ${path} ${path}.old, and its -wal and -shm files if there are any), or set catalog.path to a new file`;

/** Recovery builds a catalog where there is none: one that holds files is never replaced. */
function refuseIfCatalogHoldsFiles(path: string): void {
  if (!existsSync(path)) return;
  let files: number;
  try {
    files = peekCatalogFile(path).files;
  } catch (err) {
    throw new RecoverRefusedError(`the catalog ${path} exists and cannot be read (${(err as Error).message}): ${moveAside(path)}`);
  }
  if (files > 0) throw new RecoverRefusedError(`the catalog ${path} already holds ${files} files: ${moveAside(path)}`);
}

/** One day's dump or manifest on a destination, and where the catalog made from it goes (`copyPath`, by way of `work`). */
interface CatalogSource {
  destination: Destination;
  layout: StateLayout;
  day: string;
  work: string;
  copyPath: string;
  adoption: StoredObjectAdoptionDeps;
}

/** Makes the catalog from one day's dump at `copyPath`: downloaded, verified, gunzipped, then made ready (prepareRestoredCopy). */
async function catalogFromDump({ destination, layout, day, work, copyPath, adoption }: CatalogSource) {
  const gzipped = join(work, DUMP_FILES.catalog);
  try {
    await downloadVerified(destination, layout, day, DUMP_FILES.catalog, gzipped);
    await gunzipFile(gzipped, copyPath);
  } finally {
    await rm(gzipped, { force: true });
  }
  const key = destination.fullKey(layout.dailyKey(day, DUMP_FILES.catalog));
  return {
    key,
    ...(await prepareRestoredCopy(copyPath, { day, what: `the dump ${destination.name}: ${key}`, aboveNamesVersion: 0 }, adoption)),
  };
}

/** Makes the catalog from one day's manifest at `copyPath`: downloaded, verified, rebuilt into an empty catalog, made ready. */
async function catalogFromManifest({ destination, layout, day, work, copyPath, adoption }: CatalogSource) {
  const gzipped = join(work, DUMP_FILES.manifest);
  const key = destination.fullKey(layout.dailyKey(day, DUMP_FILES.manifest));
  try {
    await downloadVerified(destination, layout, day, DUMP_FILES.manifest, gzipped);
    const catalog = Catalog.open(copyPath);
    try {
      await rebuildFromManifest(catalog, readManifestLines(createReadStream(gzipped)));
    } finally {
      catalog.close();
    }
  } finally {
    await rm(gzipped, { force: true });
  }
  return {
    key,
    ...(await prepareRestoredCopy(
      copyPath,
      { day, what: `the catalog rebuilt from ${destination.name}: ${key}`, aboveNamesVersion: 0 },
      adoption,
    )),
  };
}

/** Removes a catalog file made in the work folder, with what SQLite may have left beside it. */
async function removeCatalogFile(path: string): Promise<void> {
  await Promise.all(['', '-wal', '-shm', '-journal'].map((suffix) => rm(`${path}${suffix}`, { force: true })));
}

/**
 * Puts the finished catalog in place by a rename: no process has the configured catalog open (recovery runs with no
 * worker), so the rename is the atomic step, and the catalog is whole or absent. An empty catalog there before (a
 * worker started once on the new machine) goes, with its -wal and -shm, so SQLite never pairs them with the new file.
 */
async function install(copyPath: string, catalogPath: string): Promise<void> {
  if (existsSync(`${copyPath}-wal`)) throw new Error(`${copyPath} still has a write-ahead log after it was closed`);
  await Promise.all(['-wal', '-shm'].map((suffix) => rm(`${catalogPath}${suffix}`, { force: true })));
  await rename(copyPath, catalogPath);
  const dir = await open(dirname(catalogPath), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * `drive-vault recover`: makes the catalog of a new machine from the bucket alone, with no worker and no Temporal. It
 * refuses if the configured catalog already holds files. It reads only the account's state folder (stateLayout), and
 * takes the newest day whose dump verifies against its
 * `.sha256` (or the day given), checks it, brings it to the current schema and closes the runs it recorded as running,
 * letting go of their hold and claims; when no day's dump can be used, it rebuilds the catalog from the newest
 * manifest that verifies. Either is built at a temporary path beside the catalog, then renamed into place. A day that
 * cannot be used is reported and skipped, never fatal while an older one can be used. The catalog then records what
 * the destinations held that day, so the full sync after it transfers only what changed since.
 */
export async function recoverCatalog(
  deps: { config: Config; destination: Destination; destinations?: Destination[]; logger: Logger },
  input: { date?: string } = {},
): Promise<RecoverResult> {
  const { destination, logger } = deps;
  const adoption = adoptionFromConfig(deps.config, deps.destinations ?? createDestinations(deps.config), logger);
  const catalogPath = deps.config.catalog.path;
  const layout = stateLayout(deps.config);
  refuseIfCatalogHoldsFiles(catalogPath);
  const days = input.date ? [input.date] : await listDumpDays(destination, layout);
  if (days.length === 0) {
    throw new NothingToRecoverError(`${destination.name} holds no daily dump under ${destination.fullKey(layout.daily)}`, []);
  }
  await mkdir(dirname(catalogPath), { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(dirname(catalogPath), '.catalog-recover-'));
  const skipped: SkippedDay[] = [];
  try {
    const copyPath = join(work, 'catalog.db');
    for (const source of ['dump', 'manifest'] as const) {
      for (const day of days) {
        let made: Awaited<ReturnType<typeof catalogFromDump>>;
        try {
          made = await (source === 'dump' ? catalogFromDump : catalogFromManifest)({ destination, layout, day, work, copyPath, adoption });
        } catch (err) {
          const problem = (err as Error).message;
          skipped.push({ day, source, problem });
          logger.warn({ event: 'catalog.recover.skipped', destination: destination.name, day, source, problem }, 'day skipped');
          await removeCatalogFile(copyPath);
          continue;
        }
        // Checked again: a download of a large dump leaves time for someone to start a worker.
        refuseIfCatalogHoldsFiles(catalogPath);
        await install(copyPath, catalogPath);
        const result = {
          destination: destination.name,
          catalogPath,
          day,
          source,
          key: made.key,
          counts: made.restored,
          runsClosed: made.runsClosed,
          adopted: made.adopted,
          skipped,
        };
        logger.info({ event: 'catalog.recovered', ...result, skipped: skipped.length }, 'catalog recovered');
        return result;
      }
    }
    throw new NothingToRecoverError(
      `no dump or manifest on ${destination.name} could be used: ${skipped.map((s) => `${s.day} ${s.source}: ${s.problem}`).join('; ')}`,
      skipped,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
