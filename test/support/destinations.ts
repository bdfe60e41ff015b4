import { type S3DestinationConfig, parseConfig } from '../../common/config';
import { S3Destination } from '../../activities/storage/s3';
import type { MinioServer } from '../../scripts/launchers/minioServer';
import { BUCKETS } from './stack';

/**
 * An S3 destination on the test MinIO, configured the way a user would (path style, prefix; the config's stall
 * timeout unless given, S3's copy limit unless lowered).
 */
export function minioDestination(
  minio: MinioServer,
  name: keyof typeof BUCKETS,
  overrides: Partial<S3DestinationConfig> = {},
  { stallTimeoutSeconds, singleCopyMaxBytes }: { stallTimeoutSeconds?: number; singleCopyMaxBytes?: number } = {},
): S3Destination {
  const config = parseConfig({
    account: 'a',
    google: { clientId: 'c' },
    destinations: [
      {
        kind: 's3',
        name,
        endpoint: minio.endpoint,
        region: 'us-east-1',
        bucket: BUCKETS[name],
        prefix: 'vault',
        forcePathStyle: true,
        ...overrides,
      },
    ],
    transfer: { stallTimeoutSeconds },
  });
  const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
  return new S3Destination(config.destinations[0] as S3DestinationConfig, credentials, {
    stallTimeoutMs: config.transfer.stallTimeoutSeconds * 1000,
    singleCopyMaxBytes,
  });
}
