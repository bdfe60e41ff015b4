import { parseArgs } from 'node:util';
import { DriveEmulator } from './server';
import { seedFromDirectory } from './seed';

/** `npm run drive-emulator -- --port 4010 --seed <dir>`: a Drive for a person or another program. */
async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string' },
      'client-id': { type: 'string', default: 'emulator-client' },
      'client-secret': { type: 'string', default: 'emulator-secret' },
      'refresh-token': { type: 'string', default: 'emulator-refresh-token' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a TCP port number, got "${values.port}"`);
  const emulator = await DriveEmulator.start({
    host: values.host,
    port,
    oauth: { clientId: values['client-id']!, clientSecret: values['client-secret']!, refreshToken: values['refresh-token']! },
  });
  if (values.seed) {
    const files = await seedFromDirectory(emulator.store, values.seed);
    console.error(`drive-emulator: seeded ${files.size} items from ${values.seed}`);
  }
  console.log(emulator.baseUrl);
  console.error(
    `drive-emulator: token endpoint ${emulator.baseUrl}token (client ${values['client-id']}, refresh token ${values['refresh-token']}); admin API under ${emulator.baseUrl}_admin/`,
  );
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`drive-emulator: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
