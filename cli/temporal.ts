import { Client, Connection } from '@temporalio/client';
import type { Config } from '../common/config';

/** Temporal does not answer at the config's address: the CLI exits with 4 (exitCodes.ts). */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

/** A client of the config's Temporal namespace; throws TemporalUnreachableError when the server does not answer. */
export async function connectClient(config: Config): Promise<Client> {
  const { address, namespace } = config.temporal;
  try {
    const connection = await Connection.connect({ address, connectTimeout: '10 seconds' });
    return new Client({ connection, namespace });
  } catch (err) {
    throw new TemporalUnreachableError(`Temporal at ${address} does not answer: ${(err as Error).message}`, { cause: err });
  }
}

/** Runs `use` with a client of the config's namespace, closing its connection after. */
export async function withTemporal<T>(config: Config, use: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await use(client);
  } finally {
    await client.connection.close();
  }
}
