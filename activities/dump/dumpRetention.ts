import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DumpRetention } from '../../common/types';
import type { Logger } from '../../common/logger';
import type { Destination } from '../storage/destination';
import { DAILY_PREFIX, DUMP_FILES, dayBefore, isDumpDay, utcDay } from './dumpLayout';
import { describeLocalDump, dumpMarks, localDumpDays } from './dumpUploads';

/**
 * Keeps the newest `keepLocal` dumps in the local directory, and older ones only while some destination lacks a
 * verified copy (copy, check, then delete). On each destination, deletes the `state/daily/<day>/` folders older
 * than `keepRemoteDays`, but never its newest day: dumps that stopped for a while leave the last one standing.
 * A destination that is down is reported and skipped; its old days go on a later night.
 */
export async function applyDumpRetention(
  deps: { destinations: Destination[]; logger: Logger },
  input: { runId: string; dumpDir: string; keepLocal: number; keepRemoteDays: number; now?: string },
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
    try {
      const days = (await destination.listFolders(DAILY_PREFIX))
        .map((folder) => folder.slice(DAILY_PREFIX.length, -1))
        .filter(isDumpDay)
        .sort();
      const expired = days.slice(0, -1).filter((day) => day < oldestKept);
      for (const day of expired) await destination.deleteUnder(`${DAILY_PREFIX}${day}/`);
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
