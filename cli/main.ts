import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startFullSync, formatFullSyncSummary, webUiLink } from '../api/fullSyncRuns';
import { ConfigError, loadConfig } from '../common/config';

const usage = `usage: drive-vault sync full [--config config.yaml] [--wait]

  sync full   start a full sync of the configured account on the Temporal server the config names
  --wait      wait for it to finish and print its summary`;

/** `npm run cli -- sync full --wait`: drives a worker that is already running against the same config. */
async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string', default: process.env.DRIVE_VAULT_CONFIG ?? 'config.yaml' },
      wait: { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
  });
  if (values.help || positionals.join(' ') !== 'sync full') {
    console.error(usage);
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfig(values.config!);
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const handle = await startFullSync(client, config);
    const link = webUiLink(config, handle.workflowId);
    console.log(`started ${handle.workflowId}: ${link}`);
    if (values.wait) console.log(formatFullSyncSummary(await handle.result(), link));
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `drive-vault: ${err.message}` : `drive-vault: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
