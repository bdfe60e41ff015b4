import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { DUMP_FILES, type StateLayout, isDumpDay, sha256FromLine } from '../dump/dumpLayout';
import { hashingPassThrough } from '../dump/manifestFile';
import { type Destination, ObjectMissingError } from '../storage/destination';

/** A `sha256sum` line is about 100 bytes; more than this is not one. */
const MAX_SHA256_LINE_BYTES = 4096;

async function readSmall(destination: Destination, key: string, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of (await destination.read(key, { signal })) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SHA256_LINE_BYTES)
      throw ApplicationFailure.nonRetryable(`${destination.fullKey(key)} is not a sha256sum line`, 'BadManifestChecksum');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Downloads the manifest of `day` from a destination into `path`, hashing it on the way, and checks it against the
 * `.sha256` line beside it before anything reads it: a manifest that is missing, or whose bytes are not those its
 * dump recorded, fails the restore (not retried: reading it again changes nothing) and `path` is removed.
 */
export async function fetchDayManifest(
  destination: Destination,
  layout: StateLayout,
  day: string,
  path: string,
  signal: AbortSignal,
): Promise<void> {
  if (!isDumpDay(day)) throw ApplicationFailure.nonRetryable(`"${day}" is not a day (YYYY-MM-DD)`, 'InvalidDay');
  const { dailyKey } = layout;
  const where = (file: string) => `${destination.name}: ${destination.fullKey(dailyKey(day, file))}`;
  let expected: string | undefined;
  try {
    expected = sha256FromLine(await readSmall(destination, dailyKey(day, DUMP_FILES.manifestSha256), signal), DUMP_FILES.manifest);
    if (!expected)
      throw ApplicationFailure.nonRetryable(`${where(DUMP_FILES.manifestSha256)} is not a sha256sum line`, 'BadManifestChecksum');
    const hashing = hashingPassThrough();
    await pipeline(
      await destination.read(dailyKey(day, DUMP_FILES.manifest), { signal }),
      hashing.stream,
      createWriteStream(path, { mode: 0o600 }),
    );
    const read = hashing.result();
    if (read.sha256 !== expected) {
      throw ApplicationFailure.nonRetryable(
        `${where(DUMP_FILES.manifest)} does not match its .sha256 line: it hashes to ${read.sha256} (${read.size} bytes), the dump recorded ${expected}`,
        'ManifestMismatch',
      );
    }
  } catch (err) {
    await rm(path, { force: true });
    if (err instanceof ObjectMissingError) {
      throw ApplicationFailure.nonRetryable(
        `${destination.name} holds no dump of ${day}: ${err.message} (the nightly dump uploads ${layout.dayFolder(day)})`,
        'NoDumpOfDay',
      );
    }
    throw err;
  }
}
