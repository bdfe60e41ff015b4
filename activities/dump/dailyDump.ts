import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import Database from 'better-sqlite3';
import type { ExportFormatConfig } from '../../common/config';
import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import { manifestLines } from '../catalog/manifestRows';
import { ObjectKeyPlanner } from '../catalog/objectKeys';
import { DUMP_FILES, sha256Line, utcDay } from './dumpLayout';
import { type WrittenFile, hashingPassThrough, writeManifestFile } from './manifestFile';

/** Pages the online backup copies per step: each step holds the event loop, so a worker's other tasks go on between. */
const BACKUP_PAGES_PER_STEP = 1_000;

export interface DailyDump {
  day: string;
  /** The dump's folder in the local dump directory. */
  dir: string;
  catalog: WrittenFile;
  manifest: WrittenFile;
  /** What the manifest lists. */
  items: number;
  objects: number;
}

/** A copy of the catalog that SQLite finds damaged, or whose rows break a foreign key. */
export class DumpIntegrityError extends Error {
  override name = 'DumpIntegrityError';
}

/**
 * Checks a catalog copy: `PRAGMA integrity_check` answers ok, and no row breaks a foreign key (an object whose
 * file is missing). Throws DumpIntegrityError with SQLite's first complaints.
 */
export function checkCatalogCopy(db: Database.Database, what: string): void {
  const problems = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw new DumpIntegrityError(`${what} fails integrity_check: ${problems.slice(0, 5).join('; ')}`);
  }
  const orphans = db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>;
  if (orphans.length > 0) {
    const first = orphans[0]!;
    throw new DumpIntegrityError(
      `${what} has ${orphans.length} rows whose ${first.parent} row is missing (first: ${first.table} row ${first.rowid})`,
    );
  }
}

async function gzipFile(from: string, to: string): Promise<WrittenFile> {
  const hashing = hashingPassThrough();
  await pipeline(createReadStream(from), createGzip(), hashing.stream, createWriteStream(to, { mode: 0o600 }));
  return hashing.result();
}

/**
 * Writes tonight's dump into `<dumpDir>/<YYYY-MM-DD>/`: an online copy of the catalog made with SQLite's backup API
 * while syncs keep writing, checked, gzipped, with its SHA-256, and the manifest of that same copy. The folder appears
 * whole (it is written beside and renamed), replacing an earlier dump of the same day.
 */
export async function writeDailyDump(
  deps: { catalog: Catalog; logger: Logger; account: string; exportFormats: ExportFormatConfig },
  input: { runId: string; dumpDir: string; now?: string },
): Promise<DailyDump> {
  const day = utcDay(new Date(input.now ?? Date.now()));
  const work = join(input.dumpDir, `.partial-${day}-${randomUUID()}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const copyPath = join(work, 'catalog.sqlite');
    await deps.catalog.db.backup(copyPath, { progress: () => BACKUP_PAGES_PER_STEP });
    const copy = new Database(copyPath);
    let counts: { items: number; objects: number };
    let manifest: WrittenFile;
    let catalog: WrittenFile;
    try {
      // One self-contained file: no -wal beside it to lose on the way.
      copy.pragma('journal_mode = DELETE');
      checkCatalogCopy(copy, `the catalog copy of ${day}`);
      counts = {
        items: (copy.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n,
        objects: (copy.prepare("SELECT count(*) AS n FROM objects WHERE state IN ('uploaded', 'verified')").get() as { n: number }).n,
      };
      const planner = new ObjectKeyPlanner(copy, deps.account, deps.exportFormats);
      // The manifest is built on this thread while zlib compresses the copy on libuv's: both only read the copy.
      [manifest, catalog] = await Promise.all([
        writeManifestFile(join(work, DUMP_FILES.manifest), manifestLines(copy, planner)),
        gzipFile(copyPath, join(work, DUMP_FILES.catalog)),
      ]);
    } finally {
      copy.close();
    }
    await rm(copyPath);
    await writeFile(join(work, DUMP_FILES.catalogSha256), sha256Line(catalog.sha256, DUMP_FILES.catalog));
    await writeFile(join(work, DUMP_FILES.manifestSha256), sha256Line(manifest.sha256, DUMP_FILES.manifest));
    const dir = join(input.dumpDir, day);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    const dump = { day, dir, catalog, manifest, ...counts };
    deps.logger.info({ event: 'dump.written', runId: input.runId, day, bytes: catalog.size, ...counts }, 'catalog dump written');
    return dump;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
