import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import type { Catalog } from '../../activities/catalog/catalog';
import { type DailyDump, writeDailyDump } from '../../activities/dump/dailyDump';
import { DUMP_FILE_NAMES, dailyKey } from '../../activities/dump/dumpLayout';
import { hashStream, uploadStateFile } from '../../activities/dump/stateObjects';
import type { Destination } from '../../activities/storage/destination';
import type { Config } from '../../common/config';
import { testLogger } from './worker';

/**
 * Takes tonight's dump of `catalog` and uploads it to each destination, as the nightlyDump workflow does: the online
 * copy with the backup API, then each file of the day with uploadStateFile (checksums last), each verified.
 */
export async function dumpToDestinations(
  catalog: Catalog,
  config: Config,
  destinations: Destination[],
  input: { runId: string; dumpDir: string; now?: string },
): Promise<DailyDump> {
  const dump = await writeDailyDump({ catalog, logger: testLogger, account: config.account, exportFormats: config.exportFormats }, input);
  for (const destination of destinations) {
    for (const name of DUMP_FILE_NAMES) {
      const path = join(dump.dir, name);
      await uploadStateFile(destination, {
        path,
        key: dailyKey(dump.day, name),
        expected: await hashStream(createReadStream(path)),
        contentType: name.endsWith('.gz') ? 'application/gzip' : 'text/plain',
      });
    }
  }
  return dump;
}

/** Every row of every table of a catalog file (by rowid), read through a connection of its own; `except` tables left out. */
export function catalogTables(path: string, except: string[] = []): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{
        name: string;
      }>
    ).map((t) => t.name);
    return Object.fromEntries(
      tables.filter((t) => !except.includes(t)).map((t) => [t, db.prepare(`SELECT rowid AS _rowid, * FROM "${t}" ORDER BY rowid`).all()]),
    );
  } finally {
    db.close();
  }
}

/** Flips one byte of an object in the middle, keeping its size, content type and metadata (its stored SHA-256 too). */
export async function corruptObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  body[body.length >> 1] ^= 0x01;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: head.Metadata, ContentType: head.ContentType }));
}
