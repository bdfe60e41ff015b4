import { parseArgs } from 'node:util';
import { loadAccounts } from '../common/accounts';
import { ConfigError } from '../common/config';
import { MissingNamespaceError, startWorker, stopOnSignals } from './startWorker';
import { WORKER_ROLES, type WorkerRole } from './wiring';

class UsageError extends Error {}

function parseCommandLine(args: string[]): { role: WorkerRole; configPath: string } {
  let parsed: ReturnType<typeof parseArgs<{ options: { role: { type: 'string'; default: string } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: { role: { type: 'string', default: 'all' } }, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const role = parsed.values.role;
  if (!WORKER_ROLES.includes(role as WorkerRole)) {
    throw new UsageError(`unknown worker role "${role}": --role takes ${WORKER_ROLES.join(', ')}`);
  }
  if (parsed.positionals.length > 1) throw new UsageError(`one config file at most, not ${parsed.positionals.join(' ')}`);
  const configPath = parsed.positionals[0] ?? process.env.DRIVE_VAULT_CONFIG ?? 'config.yaml';
  return { role: role as WorkerRole, configPath };
}

/** `npm run worker -- [--role all|transfer|catalog] [config.yaml]` (or `drive-vault worker`), until SIGINT/SIGTERM. */
async function main() {
  const { role, configPath } = parseCommandLine(process.argv.slice(2));
  const worker = await startWorker(loadAccounts(configPath), role);
  stopOnSignals(worker.stop);
  await worker.running;
}

main().catch((err) => {
  console.error(
    err instanceof ConfigError || err instanceof UsageError || err instanceof MissingNamespaceError ? `drive-vault: ${err.message}` : err,
  );
  process.exit(err instanceof UsageError ? 2 : 1);
});
