import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MinioServer, startMinio } from '../../scripts/launchers/minioServer';
import { type TemporalDevServer, type TemporalDevServerOptions, startTemporalDevServer } from '../../scripts/launchers/temporalDevServer';
import { DriveEmulator } from '../drive-emulator/server';
import { emulatorOAuth } from './drive';

/** Tells scripts/test.sh which process groups to check for leftovers once the suite is done. */
export function recordProcessGroups(pids: Array<number | undefined>): void {
  const file = process.env.DRIVE_VAULT_TEST_PGIDS;
  if (!file) return;
  for (const pid of pids) if (pid) appendFileSync(file, `${pid}\n`);
}

/** Two buckets on one MinIO stand for the AWS and the EU destination. */
export const BUCKETS = { aws: 'vault-aws', eu: 'vault-eu' } as const;

export interface Stack {
  tmp: string;
  temporal?: TemporalDevServer;
  minio?: MinioServer;
  emulator?: DriveEmulator;
  /** Starts MinIO again on its old port and data, after a test stopped it to play a destination outage. */
  restartMinio(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts what a test file needs: a Temporal dev server, a MinIO with both buckets, the Drive emulator.
 * stop() tears all of it down; the processes are also tied to this one, so none outlives a crashed test.
 */
export async function startStack(wants: {
  temporal?: boolean | TemporalDevServerOptions;
  minio?: boolean;
  emulator?: boolean;
}): Promise<Stack> {
  const tmp = mkdtempSync(join(tmpdir(), 'drive-vault-test-'));
  const stack: Stack = {
    tmp,
    async restartMinio() {
      const port = Number(new URL(stack.minio!.endpoint).port);
      stack.minio = await startMinio(join(tmp, 'minio'), { port });
      recordProcessGroups([stack.minio.process.pid]);
    },
    async stop() {
      await Promise.allSettled([stack.temporal?.stop(), stack.minio?.stop(), stack.emulator?.close()]);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  try {
    const [temporal, minio, emulator] = await Promise.all([
      wants.temporal ? startTemporalDevServer(typeof wants.temporal === 'object' ? wants.temporal : {}) : undefined,
      wants.minio ? startMinio(join(tmp, 'minio')) : undefined,
      wants.emulator ? DriveEmulator.start({ oauth: emulatorOAuth }) : undefined,
    ]);
    Object.assign(stack, { temporal, minio, emulator });
    recordProcessGroups([temporal?.process.pid, minio?.process.pid]);
    if (minio) for (const bucket of Object.values(BUCKETS)) await minio.createBucket(bucket);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

/** Every key in a bucket, page by page. */
export async function listBucketKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}
