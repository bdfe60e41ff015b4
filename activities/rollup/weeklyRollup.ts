import { createReadStream } from 'node:fs';
import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import type { Logger } from '../../common/logger';
import type { RollupRetention, StateFileDigest } from '../../common/types';
import { DUMP_FILES, DUMP_FILE_NAMES, type StateLayout, dayBefore, isWeeklyName, utcDay, weeklyName } from '../dump/dumpLayout';
import { hashStream, uploadStateFile } from '../dump/stateObjects';
import { VerifiedMarks } from '../dump/verifiedMarks';
import type { Destination } from '../storage/destination';

const DAYS_PER_ROLLUP = 7;

/** Weekly archives wait in `<dumpDir>/weekly/` until every destination holds them verified. */
const weeklyDir = (dumpDir: string) => join(dumpDir, 'weekly');
const rollupMarks = (dumpDir: string) => new VerifiedMarks(join(weeklyDir(dumpDir), 'verified.json'));

export interface WeeklyArchive {
  name: string;
  firstDay: string;
  lastDay: string;
  /** Days packed, oldest first, and days of the week with no local dump. */
  days: string[];
  missing: string[];
  /** Absent when no day of the week had a dump: nothing was packed. */
  archive?: StateFileDigest;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Packs the daily dumps of the seven days ending today (UTC) into `weekly_<first>_<last>.tar.gz`, each day's files
 * under `<YYYY-MM-DD>/`. A day with no local dump is reported, not fatal. Written beside and renamed, so an archive
 * is whole or absent.
 */
export async function writeWeeklyRollup(
  deps: { logger: Logger },
  input: { runId: string; dumpDir: string; now?: string },
): Promise<WeeklyArchive> {
  const lastDay = utcDay(new Date(input.now ?? Date.now()));
  const firstDay = dayBefore(lastDay, DAYS_PER_ROLLUP - 1);
  const week = Array.from({ length: DAYS_PER_ROLLUP }, (_, i) => dayBefore(lastDay, DAYS_PER_ROLLUP - 1 - i));
  const days: string[] = [];
  const missing: string[] = [];
  for (const day of week) ((await exists(join(input.dumpDir, day, DUMP_FILES.catalogSha256))) ? days : missing).push(day);
  const name = weeklyName(firstDay, lastDay);
  const result: WeeklyArchive = { name, firstDay, lastDay, days, missing };
  if (days.length === 0) {
    deps.logger.warn({ event: 'rollup.empty', runId: input.runId, firstDay, lastDay }, 'no daily dump to roll up');
    return result;
  }
  await mkdir(weeklyDir(input.dumpDir), { recursive: true, mode: 0o700 });
  const path = join(weeklyDir(input.dumpDir), name);
  const partial = `${path}.partial`;
  await createTar(
    { gzip: true, file: partial, cwd: input.dumpDir, portable: true, mode: 0o600 },
    days.flatMap((day) => DUMP_FILE_NAMES.map((file) => `${day}/${file}`)),
  );
  await rename(partial, path);
  result.archive = await hashStream(createReadStream(path));
  deps.logger.info(
    { event: 'rollup.written', runId: input.runId, name, days, missing, bytes: result.archive.size },
    'weekly rollup written',
  );
  return result;
}

/** Uploads to one destination every local weekly archive it does not hold verified yet (read back and hashed). */
export async function uploadPendingRollups(
  deps: { destinations: Destination[]; logger: Logger; layout: StateLayout },
  input: { runId: string; destination: string; dumpDir: string },
): Promise<{ destination: string; uploaded: string[] }> {
  const destination = deps.destinations.find((d) => d.name === input.destination);
  if (!destination) throw new Error(`no destination named ${input.destination} is configured`);
  const marks = rollupMarks(input.dumpDir);
  const uploaded: string[] = [];
  for (const name of await localArchives(input.dumpDir)) {
    const path = join(weeklyDir(input.dumpDir), name);
    const expected = await hashStream(createReadStream(path));
    if (marks.isVerified(name, destination.name, expected.sha256)) continue;
    await uploadStateFile(destination, { path, key: deps.layout.weeklyKey(name), expected, contentType: 'application/gzip' });
    marks.mark(name, destination.name, expected.sha256);
    uploaded.push(name);
    deps.logger.info(
      { event: 'rollup.uploaded', runId: input.runId, destination: destination.name, name },
      'weekly rollup uploaded and verified',
    );
  }
  return { destination: destination.name, uploaded };
}

async function localArchives(dumpDir: string): Promise<string[]> {
  const names = await readdir(weeklyDir(dumpDir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter(isWeeklyName).sort();
}

/**
 * Keeps the newest `keepWeekly` archives of the account on each destination (names sort by their first day). A local archive goes
 * once every destination holds it verified: the daily dumps it packs are still kept locally by their own retention.
 */
export async function applyRollupRetention(
  deps: { destinations: Destination[]; logger: Logger; layout: StateLayout },
  input: { runId: string; dumpDir: string; keepWeekly: number },
): Promise<RollupRetention> {
  const retention: RollupRetention = { localDeleted: [], remoteDeleted: {}, unreachable: [] };
  const marks = rollupMarks(input.dumpDir);
  const names = deps.destinations.map((d) => d.name);
  for (const name of await localArchives(input.dumpDir)) {
    const path = join(weeklyDir(input.dumpDir), name);
    const { sha256 } = await hashStream(createReadStream(path));
    if (!marks.verifiedEverywhere(name, names, sha256)) continue;
    await rm(path, { force: true });
    marks.forget(name);
    retention.localDeleted.push(name);
  }
  for (const destination of deps.destinations) {
    try {
      const archives: string[] = [];
      for await (const { key } of destination.list(deps.layout.weekly)) {
        const name = key.slice(deps.layout.weekly.length);
        if (isWeeklyName(name)) archives.push(name);
      }
      const expired = archives.sort().slice(0, Math.max(0, archives.length - input.keepWeekly));
      for (const name of expired) await destination.delete(deps.layout.weeklyKey(name));
      if (expired.length) retention.remoteDeleted[destination.name] = expired;
    } catch (err) {
      retention.unreachable.push(destination.name);
      deps.logger.warn(
        { event: 'rollup.retention_failed', runId: input.runId, destination: destination.name, err },
        'rollup retention skipped',
      );
    }
  }
  return retention;
}
