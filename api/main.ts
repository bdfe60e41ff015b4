import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../common/config';
import { startApiServer } from './server';

/** `npm run api -- [config.yaml]`: serves the control API until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const { positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new ConfigError(`one config file at most, not ${positionals.join(' ')}`);
  const config = loadConfig(positionals[0] ?? process.env.DRIVE_VAULT_CONFIG ?? 'config.yaml');
  const api = await startApiServer(config);
  const stop = () => void api.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `drive-vault: ${err.message}` : err);
  process.exit(1);
});
