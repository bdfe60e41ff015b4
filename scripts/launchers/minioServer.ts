import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, spawnTied, stopTied, toolPath, waitFor } from './tiedProcess';

export interface MinioServer {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  process: ChildProcess;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the pinned MinIO server on loopback with its data in `dataDir`, update checks and console off. */
export async function startMinio(dataDir: string, options: { port?: number } = {}): Promise<MinioServer> {
  mkdirSync(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const consolePort = await freePort();
  const accessKeyId = 'drivevault';
  const secretAccessKey = 'drivevault-secret';
  const child = spawnTied(toolPath('minio'), ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, dataDir], {
    ...process.env,
    MINIO_ROOT_USER: accessKeyId,
    MINIO_ROOT_PASSWORD: secretAccessKey,
    MINIO_UPDATE: 'off',
    MINIO_BROWSER: 'off',
    MINIO_CALLHOME_ENABLE: 'off',
  });
  let output = '';
  child.stdout?.on('data', (d) => (output = (output + d).slice(-10000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-10000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = () =>
    new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await waitFor(`MinIO on ${endpoint}`, async () => (await fetch(`${endpoint}/minio/health/live`)).ok, 60_000, child);
  } catch (err) {
    await stopTied(child);
    throw new Error(`${(err as Error).message}\n${output.slice(-2000)}`);
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    process: child,
    client,
    async createBucket(name) {
      const s3 = client();
      try {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        s3.destroy();
      }
    },
    stop: () => stopTied(child),
  };
}
