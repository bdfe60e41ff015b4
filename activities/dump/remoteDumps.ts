import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type Destination, ObjectMissingError } from '../storage/destination';
import { DUMP_FILES, type StateLayout, isDumpDay, sha256FromLine } from './dumpLayout';
import { type WrittenFile, hashingPassThrough } from './manifestFile';
import { StateObjectMismatchError } from './stateObjects';

/** The days a destination holds the account's daily dumps for (`<layout.daily><YYYY-MM-DD>/`), newest first. */
export async function listDumpDays(destination: Destination, layout: StateLayout): Promise<string[]> {
  const folders = await destination.listFolders(layout.daily);
  return folders
    .map((f) => f.slice(layout.daily.length, -1))
    .filter(isDumpDay)
    .sort()
    .reverse();
}

/** The newest day whose dump and checksum are both on the destination: a newer day may hold an upload cut short. */
export async function newestDumpDay(destination: Destination, layout: StateLayout): Promise<string | undefined> {
  for (const day of await listDumpDays(destination, layout)) {
    const [dump, checksum] = await Promise.all([
      destination.head(layout.dailyKey(day, DUMP_FILES.catalog)),
      destination.head(layout.dailyKey(day, DUMP_FILES.catalogSha256)),
    ]);
    if (dump && checksum) return day;
  }
  return undefined;
}

/** A state object that cannot be used: missing, unreadable, or its `.sha256` line is not one. */
export class StateObjectUnreadableError extends Error {
  override name = 'StateObjectUnreadableError';
}

const unreadable = (where: string, err: unknown) =>
  new StateObjectUnreadableError(
    err instanceof ObjectMissingError ? `${where} is missing` : `${where} cannot be read: ${(err as Error).message}`,
    {
      cause: err,
    },
  );

/** The SHA-256 a day's `<file>.sha256` gives for `<file>`. */
async function expectedSha256(destination: Destination, layout: StateLayout, day: string, file: string): Promise<string> {
  const key = layout.dailyKey(day, `${file}.sha256`);
  const where = `${destination.name}: ${destination.fullKey(key)}`;
  let text: string;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await destination.read(key)) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw unreadable(where, err);
  }
  const sha256 = sha256FromLine(text, file);
  if (!sha256) throw new StateObjectUnreadableError(`${where} is not a sha256sum line for ${file}: ${JSON.stringify(text.slice(0, 120))}`);
  return sha256;
}

/**
 * Downloads one file of a day's dump (`catalog.sqlite.gz`, `manifest.jsonl.gz`) to `path`, hashing it on the way, and
 * checks it against the SHA-256 in the `.sha256` beside it. A mismatch throws StateObjectMismatchError naming the
 * destination, the key, the expected and the found hash; `path` is removed on any failure.
 */
export async function downloadVerified(
  destination: Destination,
  layout: StateLayout,
  day: string,
  file: string,
  path: string,
): Promise<WrittenFile> {
  const expected = await expectedSha256(destination, layout, day, file);
  const key = layout.dailyKey(day, file);
  const where = `${destination.name}: ${destination.fullKey(key)}`;
  const hashing = hashingPassThrough();
  try {
    await pipeline(await destination.read(key), hashing.stream, createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    await rm(path, { force: true });
    throw unreadable(where, err);
  }
  const found = hashing.result();
  if (found.sha256 !== expected) {
    await rm(path, { force: true });
    throw new StateObjectMismatchError(
      `${where} does not match its checksum: expected SHA-256 ${expected} (${file}.sha256), found ${found.sha256} (${found.size} bytes read)`,
    );
  }
  return found;
}

/** Writes the gunzipped `from` to `to` (mode 0600). */
export async function gunzipFile(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGunzip(), createWriteStream(to, { mode: 0o600 }));
}
