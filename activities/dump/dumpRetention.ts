import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DumpRetention } from '../../common/types';
import type { Logger } from '../../common/logger';
import type { Destination } from '../storage/destination';
import { DUMP_FILES, DUMP_FILE_NAMES, type StateLayout, dayBefore, isDumpDay, utcDay } from './dumpLayout';
import { describeLocalDump, dumpMarks, localDumpDays } from './dumpUploads';

/**
 * Keeps the newest `keepLocal` dumps in the local directory, and older ones only while some destination lacks a
 * verified copy (copy, check, then delete). On each destination, deletes the account's `<daily><day>/` folders older
 * than `keepRemoteDays`, but never its newest whole day (all four files), nor any day of a destination this run could
 * not upload to: dumps that stopped for a while, or a dump cut short, leave the last whole one standing. Only the
 * account's state folder is looked at: another account's dumps beside it are never its to delete.
 * A destination that is down is reported and skipped; its old days go on a later night.
 */
export async function applyDumpRetention(
  deps: { destinations: Destination[]; logger: Logger; layout: StateLayout },
  input: { runId: string; dumpDir: string; keepLocal: number; keepRemoteDays: number; now?: string; uploadFailed?: string[] },
): Promise<DumpRetention> {
  const retention: DumpRetention = { localDeleted: [], localKeptUnverified: [], remoteDeleted: {}, unreachable: [] };
  const names = deps.destinations.map((d) => d.name);
  const marks = dumpMarks(input.dumpDir);
  for (const day of (await localDumpDays(input.dumpDir)).slice(input.keepLocal)) {
    const files = await describeLocalDump(join(input.dumpDir, day)).catch(() => undefined);
    if (!files || !marks.verifiedEverywhere(day, names, files.get(DUMP_FILES.catalog)!.sha256)) {
      retention.localKeptUnverified.push(day);
      continue;
    }
    await rm(join(input.dumpDir, day), { recursive: true, force: true });
    marks.forget(day);
    retention.localDeleted.push(day);
  }
  const oldestKept = dayBefore(utcDay(new Date(input.now ?? Date.now())), input.keepRemoteDays - 1);
  for (const destination of deps.destinations) {
    // A destination this run could not upload to keeps every day it has: its newest may be older than the retention.
    if (input.uploadFailed?.includes(destination.name)) continue;
    try {
      const files = new Map<string, Set<string>>();
      for await (const { key } of destination.list(deps.layout.daily)) {
        const [day, file] = key.slice(deps.layout.daily.length).split('/');
        if (!day || !file || !isDumpDay(day)) continue;
        files.set(day, (files.get(day) ?? new Set()).add(file));
      }
      const days = [...files.keys()].sort();
      // The newest whole day is never deleted: a newer folder may hold a dump cut short.
      const newestWhole = days.filter((day) => DUMP_FILE_NAMES.every((f) => files.get(day)!.has(f))).at(-1);
      const expired = days.filter((day) => day < oldestKept && day !== newestWhole);
      for (const day of expired) await destination.deleteUnder(deps.layout.dayFolder(day));
      if (expired.length) retention.remoteDeleted[destination.name] = expired;
    } catch (err) {
      retention.unreachable.push(destination.name);
      deps.logger.warn(
        { event: 'dump.retention_failed', runId: input.runId, destination: destination.name, err },
        'dump retention skipped',
      );
    }
  }
  deps.logger.info({ event: 'dump.retention', runId: input.runId, ...retention }, 'dump retention applied');
  return retention;
}
