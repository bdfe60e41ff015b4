import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import type { Config } from '../../common/config';
import { TASK_QUEUES, catalogTaskQueue } from '../../common/taskQueues';
import type { NightlyDumpResult } from '../../common/types';
import { nightlyDump } from '../../workflows';
import type { RunningWorker } from './worker';

/**
 * Runs the nightlyDump workflow for the UTC day of `now` and waits for it: the dump records its own run as running
 * while it copies the catalog, as a scheduled one does. Fails the test unless every destination holds it verified.
 */
export async function runNightlyDump(worker: RunningWorker, config: Config, input: { workflowId: string; now: string }) {
  const handle = await worker.client.workflow.start(nightlyDump, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: input.workflowId,
    args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId), now: input.now }],
  });
  const result: NightlyDumpResult = await handle.result();
  if (result.status !== 'verified') throw new Error(`the dump of ${input.now} is ${result.status}: ${JSON.stringify(result)}`);
  return { ...result, workflowId: input.workflowId };
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
