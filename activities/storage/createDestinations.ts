import { Config, secretFromEnv } from '../../common/config';
import type { Destination } from './destination';
import { LocalDestination } from './local';
import { S3Destination } from './s3';

/** Builds the configured destinations; S3 credentials come from the environment variables the config names. */
export function createDestinations(config: Pick<Config, 'destinations' | 'transfer'>, env: NodeJS.ProcessEnv = process.env): Destination[] {
  const connection = { stallTimeoutMs: config.transfer.stallTimeoutSeconds * 1000 };
  return config.destinations.map((c) => {
    if (c.kind === 'local') return new LocalDestination(c.name, c.path);
    const credentials = { accessKeyId: secretFromEnv(c.accessKeyIdEnv, env), secretAccessKey: secretFromEnv(c.secretAccessKeyEnv, env) };
    return new S3Destination(c, credentials, connection);
  });
}
