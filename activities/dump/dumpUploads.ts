import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/logger';
import type { Destination } from '../storage/destination';
import { DUMP_FILES, DUMP_FILE_NAMES, type StateLayout, isDumpDay, sha256FromLine } from './dumpLayout';
import type { WrittenFile } from './manifestFile';
import { hashStream, uploadStateFile } from './stateObjects';
import { VerifiedMarks } from './verifiedMarks';
import { createReadStream } from 'node:fs';

/** The record of which destinations hold which local dump verified. */
export const dumpMarks = (dumpDir: string) => new VerifiedMarks(join(dumpDir, 'verified.json'));

/** The days in the local dump directory, newest first. */
export async function localDumpDays(dumpDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dumpDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.filter(isDumpDay).sort().reverse();
}

/** What each file of a local dump should be on a destination: the compressed files as their `.sha256` lines say. */
export async function describeLocalDump(dayDir: string): Promise<Map<string, WrittenFile>> {
  const files = new Map<string, WrittenFile>();
  for (const [file, shaFile] of [
    [DUMP_FILES.catalog, DUMP_FILES.catalogSha256],
    [DUMP_FILES.manifest, DUMP_FILES.manifestSha256],
  ] as const) {
    const line = await readFile(join(dayDir, shaFile), 'utf8');
    const sha256 = sha256FromLine(line, file);
    if (!sha256) throw new Error(`${join(dayDir, shaFile)} is not a sha256sum line for ${file}`);
    files.set(file, { sha256, size: (await stat(join(dayDir, file))).size });
    files.set(shaFile, await hashStream(createReadStream(join(dayDir, shaFile))));
  }
  return files;
}

const CONTENT_TYPES: Record<string, string> = {
  [DUMP_FILES.catalog]: 'application/gzip',
  [DUMP_FILES.manifest]: 'application/gzip',
  [DUMP_FILES.catalogSha256]: 'text/plain',
  [DUMP_FILES.manifestSha256]: 'text/plain',
};

/**
 * Uploads to one destination every local dump it does not hold verified yet, newest first: tonight's, and any an
 * earlier night failed to upload. Each file is read back and hashed after upload. A day that fails does not stop
 * the others; the task then fails naming them, and Temporal (or the next night) tries again.
 */
export async function uploadPendingDumps(
  deps: { destinations: Destination[]; logger: Logger; layout: StateLayout },
  input: { runId: string; destination: string; dumpDir: string },
): Promise<{ destination: string; uploaded: string[] }> {
  const destination = deps.destinations.find((d) => d.name === input.destination);
  if (!destination) throw new Error(`no destination named ${input.destination} is configured`);
  const marks = dumpMarks(input.dumpDir);
  const uploaded: string[] = [];
  const failed: string[] = [];
  for (const day of await localDumpDays(input.dumpDir)) {
    const dayDir = join(input.dumpDir, day);
    const log = { runId: input.runId, destination: destination.name, day };
    try {
      const files = await describeLocalDump(dayDir);
      const catalogSha256 = files.get(DUMP_FILES.catalog)!.sha256;
      if (marks.isVerified(day, destination.name, catalogSha256)) continue;
      // A day the destination may hold from an earlier dump of that day loses its checksums first: cut short, the
      // day is then incomplete (retention and recovery pass it by), never a new catalog beside an old checksum.
      for (const name of [DUMP_FILES.catalogSha256, DUMP_FILES.manifestSha256]) await destination.delete(deps.layout.dailyKey(day, name));
      for (const name of DUMP_FILE_NAMES) {
        const expected = files.get(name)!;
        await uploadStateFile(destination, {
          path: join(dayDir, name),
          key: deps.layout.dailyKey(day, name),
          expected,
          contentType: CONTENT_TYPES[name]!,
        });
      }
      marks.mark(day, destination.name, catalogSha256);
      uploaded.push(day);
      deps.logger.info({ event: 'dump.uploaded', ...log }, 'catalog dump uploaded and verified');
    } catch (err) {
      failed.push(`${day}: ${(err as Error).message}`);
      deps.logger.warn({ event: 'dump.upload_failed', ...log, err }, 'catalog dump upload failed');
    }
  }
  if (failed.length > 0) throw new Error(`dumps not verified on ${destination.name}: ${failed.join('; ')}`);
  return { destination: destination.name, uploaded };
}
