import { spawn, spawnSync } from 'node:child_process';
import { cpuSeconds } from './measurements';

/**
 * The reference: rclone writing the two copies drive-vault writes, from the same local files drive-vault's
 * emulated Drive reads, to the same MinIO.
 *
 * Sequential or concurrent? A user scripting "rclone to S3 plus rclone to the EU provider" can run the two
 * copies one after the other or side by side, and would keep whichever is faster on the box. Both are
 * measured in every run and the faster is the reference, so the ratio never flatters drive-vault: on two
 * cores shared with MinIO, running side by side overlaps rclone's waits (like drive-vault's fan-out, with 4
 * + 4 uploads in flight against drive-vault's 4 files × 2 destinations) but makes both copies fight for the
 * same cores. The CPU reference is one copy to one bucket, the first of the sequential pair.
 */

export interface MinioEndpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RcloneCopyRun {
  seconds: number;
  /** rclone's own CPU (user + system). */
  cpuSeconds: number;
  /** MinIO's CPU while rclone ran. */
  minioCpuSeconds: number;
}

export interface RcloneReference {
  /** The two copies one after the other; `copies[0]` is the one-destination CPU reference. */
  sequential: { seconds: number; copies: [RcloneCopyRun, RcloneCopyRun] };
  concurrent: RcloneCopyRun;
  /** The faster of the two: the reference time drive-vault is measured against. */
  reference: 'sequential' | 'concurrent';
  seconds: number;
}

export function requireRclone(): void {
  if (spawnSync('rclone', ['version']).status !== 0) {
    console.error('bench: rclone is not installed; it is the reference. Install the Debian package: sudo apt-get install rclone');
    process.exit(2);
  }
}

/** `rclone copy` of a local directory to `bucket/prefix` on the MinIO; resolves with the seconds it took. */
export function rcloneCopy(source: string, minio: MinioEndpoint, target: string): Promise<number> {
  // The MinIO is plain HTTP on loopback; rclone's S3 client rejects a CA bundle setting it cannot apply.
  const { AWS_CA_BUNDLE: _caBundle, ...inherited } = process.env;
  const env = {
    ...inherited,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Minio',
    RCLONE_CONFIG_BENCH_ENDPOINT: minio.endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: minio.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: minio.secretAccessKey,
  };
  const started = performance.now();
  const args = ['copy', source, `bench:${target}`, '--transfers', '4', '--checkers', '8', '--no-check-dest', '--no-update-modtime'];
  return new Promise((resolve, reject) => {
    const child = spawn('rclone', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', reject);
    child.once('close', (status) =>
      status === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`rclone copy failed (${status}): ${stderr}`)),
    );
  });
}

/**
 * Runs `copies` and measures them. rclone's CPU is read from this process's reaped children, so nothing else
 * this process started may exit meanwhile (the bench stops its workers between phases, never during this).
 */
async function measured(minioPid: number, copies: () => Promise<unknown>): Promise<RcloneCopyRun> {
  const rclone = cpuSeconds('self', true);
  const minio = cpuSeconds(minioPid);
  const started = performance.now();
  await copies();
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSeconds('self', true) - rclone,
    minioCpuSeconds: cpuSeconds(minioPid) - minio,
  };
}

/** rclone writing both copies of `source`, to `buckets[0]` and `buckets[1]`, one after the other, then side by side. */
export async function rcloneBothCopies(
  source: string,
  minio: MinioEndpoint,
  minioPid: number,
  buckets: [string, string],
): Promise<RcloneReference> {
  const first = await measured(minioPid, () => rcloneCopy(source, minio, `${buckets[0]}/sequential`));
  const second = await measured(minioPid, () => rcloneCopy(source, minio, `${buckets[1]}/sequential`));
  const concurrent = await measured(minioPid, () =>
    Promise.all(buckets.map((bucket) => rcloneCopy(source, minio, `${bucket}/concurrent`))),
  );
  const sequentialSeconds = first.seconds + second.seconds;
  const reference = concurrent.seconds < sequentialSeconds ? 'concurrent' : 'sequential';
  return {
    sequential: { seconds: sequentialSeconds, copies: [first, second] },
    concurrent,
    reference,
    seconds: Math.min(concurrent.seconds, sequentialSeconds),
  };
}
