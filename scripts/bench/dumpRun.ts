import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog } from '../../activities/catalog/catalog';
import { writeDailyDump } from '../../activities/dump/dailyDump';
import { DUMP_FILES, stateLayout } from '../../activities/dump/dumpLayout';
import { uploadPendingDumps } from '../../activities/dump/dumpUploads';
import { recoverCatalog } from '../../activities/dump/recoverCatalog';
import { createDestinations } from '../../activities/storage/createDestinations';
import type { Destination } from '../../activities/storage/destination';
import { type Config, parseConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import type { MinioServer } from '../launchers/minioServer';
import { fillSyntheticCatalog } from './syntheticCatalog';

export const DUMP_BENCH_FILES = 200_000;

export interface DumpMeasurements {
  files: number;
  /** The catalog file as SQLite keeps it, and the dump's compressed catalog and manifest. */
  catalogBytes: number;
  dumpBytes: number;
  manifestBytes: number;
  /** Copy, check, compress, manifest, upload to both buckets and read back: what the nightly dump's activities do. */
  dumpSeconds: number;
  /** The reference: a plain file copy of the catalog and `gzip -6` of it, what a shell script would do (no upload). */
  referenceSeconds: number;
  /** A new machine's catalog rebuilt from the bucket: from the dump, and from the manifest alone (dump object gone). */
  recoverSeconds: number;
  recoverFromManifestSeconds: number;
}

/** Two MinIO buckets as the bench's destinations, and the config that names them. */
export async function benchBuckets(minio: MinioServer, tmp: string, id: string): Promise<{ config: Config; destinations: Destination[] }> {
  const buckets = [`${id}-aws`, `${id}-eu`];
  for (const bucket of buckets) await minio.createBucket(bucket);
  const config = parseConfig({
    account: 'bench@example.com',
    google: { clientId: 'bench' },
    catalog: { path: join(tmp, 'catalog.db') },
    destinations: buckets.map((bucket, i) => ({
      kind: 's3',
      name: i === 0 ? 'aws' : 'eu',
      endpoint: minio.endpoint,
      bucket,
      prefix: 'vault',
      forcePathStyle: true,
    })),
  });
  const env = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
  return { config, destinations: createDestinations(config, env) };
}

/**
 * The nightly dump of a 200,000-file catalog and its recovery on a new machine (issue 12): a catalog filled as a full sync to two buckets leaves it,
 * dumped and uploaded to both by the dump's own activities, against a plain copy and gzip of the same file.
 */
export async function runDumpPhase(minio: MinioServer, tmp: string): Promise<DumpMeasurements> {
  const dir = join(tmp, 'dump-200k');
  mkdirSync(dir, { recursive: true });
  const { config, destinations } = await benchBuckets(minio, dir, 'dump-200k');
  const catalog = Catalog.open(config.catalog.path);
  const logger = createLogger({ level: 'warn' });
  try {
    fillSyntheticCatalog(catalog, DUMP_BENCH_FILES, ['aws', 'eu']);
    catalog.db.pragma('wal_checkpoint(TRUNCATE)');
    const catalogBytes = statSync(config.catalog.path).size;

    const referenceStart = performance.now();
    copyFileSync(config.catalog.path, join(dir, 'reference.db'));
    const gzip = spawnSync('gzip', ['-6', '-f', join(dir, 'reference.db')]);
    if (gzip.status !== 0) throw new Error(`gzip failed: ${gzip.stderr}`);
    const referenceSeconds = (performance.now() - referenceStart) / 1000;

    const dumpDir = join(dir, 'dumps');
    const start = performance.now();
    const layout = stateLayout(config);
    const deps = { catalog, logger, account: config.account, exportFormats: config.exportFormats, destinations, layout };
    const dump = await writeDailyDump(deps, { runId: 'bench-dump', dumpDir });
    await Promise.all(destinations.map((d) => uploadPendingDumps(deps, { runId: 'bench-dump', destination: d.name, dumpDir })));
    const dumpSeconds = (performance.now() - start) / 1000;
    catalog.close();

    const recoverOn = async (destination: Destination, name: string) => {
      const recovered = { ...config, catalog: { ...config.catalog, path: join(dir, name, 'catalog.db') } };
      const began = performance.now();
      const result = await recoverCatalog({ config: recovered, destination, destinations, logger });
      const seconds = (performance.now() - began) / 1000;
      if (result.counts.files !== DUMP_BENCH_FILES + Math.ceil(DUMP_BENCH_FILES / 100)) {
        throw new Error(`the recovered catalog holds ${result.counts.files} items`);
      }
      return seconds;
    };
    const recoverSeconds = await recoverOn(destinations[0]!, 'recovered-from-dump');
    await destinations[1]!.delete(layout.dailyKey(dump.day, DUMP_FILES.catalog));
    const recoverFromManifestSeconds = await recoverOn(destinations[1]!, 'recovered-from-manifest');
    return {
      files: DUMP_BENCH_FILES,
      catalogBytes,
      dumpBytes: dump.catalog.size,
      manifestBytes: dump.manifest.size,
      dumpSeconds,
      referenceSeconds,
      recoverSeconds,
      recoverFromManifestSeconds,
    };
  } finally {
    if (catalog.db.open) catalog.close();
  }
}
