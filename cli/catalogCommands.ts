import { parseArgs } from 'node:util';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { type AdoptionCounts, adoptionFromConfig } from '../activities/dump/adoptStoredObjects';
import { type CatalogRestoreResult, restoreCatalog } from '../activities/dump/catalogRestore';
import { isDumpDay } from '../activities/dump/dumpLayout';
import { type RecoverResult, recoverCatalog } from '../activities/dump/recoverCatalog';
import type { RecordedRun } from '../activities/catalog/restoredCatalog';
import { createDestinations } from '../activities/storage/createDestinations';
import type { Destination } from '../activities/storage/destination';
import { isWorkflowRunning } from '../activities/sweep/abandonedRuns';
import { runningDeepVerifications } from '../api/verifyRuns';
import { type Config, loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { UsageError } from './commandLine';

export const catalogUsage = `       drive-vault catalog restore --from DESTINATION [--date YYYY-MM-DD] [--config config.yaml] [--json]
       drive-vault recover --from DESTINATION [--date YYYY-MM-DD] [--config config.yaml] [--json]

  catalog restore  replace the catalog with a day's dump from DESTINATION (checksum verified, safety copy kept beside
                   the catalog, rolled back on any failure); refuses while a run writes the catalog
  recover          on a new machine with no worker running: make the catalog from the newest dump on DESTINATION that
                   verifies (or from its manifest when no dump does); refuses if the catalog already holds files
  --from           a destination the config names
  --date           that day's dump (recover: or its manifest); default: the newest`;

export interface CatalogCommand {
  kind: 'catalog-restore' | 'recover';
  config: string;
  from: string;
  date?: string;
  json: boolean;
}

/** Whether the command line is `catalog ...` or `recover ...`, which this module reads and runs. */
export function isCatalogCommand(argv: string[]): boolean {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: catalogOptions({}) });
  return positionals[0] === 'catalog' || positionals[0] === 'recover';
}

/** Reads `catalog restore ...` or `recover ...`. Throws UsageError naming what is wrong. */
export function parseCatalogCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): CatalogCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv, env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals.join(' ');
  if (command !== 'catalog restore' && command !== 'recover') {
    throw new UsageError(
      positionals[0] === 'catalog'
        ? `unknown command "${command}": catalog takes restore`
        : `recover takes no argument, not "${positionals.slice(1).join(' ')}"`,
    );
  }
  if (values.from === undefined || values.from.trim() === '') throw new UsageError(`${command} needs --from DESTINATION`);
  if (values.date !== undefined && !isDumpDay(values.date)) {
    throw new UsageError(`--date takes a day as YYYY-MM-DD, such as 2026-11-25; "${values.date}" is not one`);
  }
  return {
    kind: command === 'recover' ? 'recover' : 'catalog-restore',
    config: values.config!,
    from: values.from,
    date: values.date,
    json: values.json!,
  };
}

const catalogOptions = (env: NodeJS.ProcessEnv) =>
  ({
    config: { type: 'string', default: env.DRIVE_VAULT_CONFIG ?? 'config.yaml' },
    json: { type: 'boolean', default: false },
    from: { type: 'string' },
    date: { type: 'string' },
  }) as const;

function parse(argv: string[], env: NodeJS.ProcessEnv) {
  return parseArgs({ args: argv, allowPositionals: true, options: catalogOptions(env) });
}

/** The destination --from names, built from the config alone. */
export function fromDestination(config: Config, name: string, env: NodeJS.ProcessEnv = process.env): Destination {
  const chosen = config.destinations.find((d) => d.name === name);
  if (!chosen) {
    throw new UsageError(`--from ${name}: the config has no such destination; it has ${config.destinations.map((d) => d.name).join(', ')}`);
  }
  return createDestinations({ ...config, destinations: [chosen] }, env)[0]!;
}

/** Asks Temporal whether a workflow still runs, and which deep verifications run, connecting on the first question. */
function temporalWorkflowCheck(config: Config) {
  let client: Promise<Client> | undefined;
  const connect = async () => {
    try {
      const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '10 seconds' });
      return new Client({ connection, namespace: config.temporal.namespace });
    } catch (err) {
      throw new Error(`Temporal at ${config.temporal.address} does not answer: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    workflowRunning: async (workflowId: string) => isWorkflowRunning(await (client ??= connect()), workflowId),
    unrecordedWriters: async () => runningDeepVerifications(await (client ??= connect()), config),
    async close() {
      const connected = await client?.catch(() => undefined);
      await connected?.connection.close();
    },
  };
}

const runsLine = (runs: RecordedRun[]) =>
  runs.map((r) => `${r.kind} ${r.runId} (workflow ${r.workflowId})`).join('; ') || 'none recorded as running';

const adoptedLine = (a: AdoptionCounts) =>
  `  adopted      ${a.objects} objects stored after the dump, ${a.files} of ${a.checked} files waiting for a transfer now synced` +
  (a.unreachable.length ? ` (not checked, unreachable: ${a.unreachable.join(', ')})` : '');

export function formatRestoreResult(r: CatalogRestoreResult): string {
  return [
    `catalog restored from ${r.destination}: ${r.key}`,
    `  sha256       ${r.sha256} (matches its .sha256)`,
    `  catalog      ${r.restored.files} items, ${r.restored.objects} objects, schema ${r.restored.schemaVersion}` +
      ` (before: ${r.previous.files} items, ${r.previous.objects} objects)`,
    `  safety copy  ${r.safetyCopy} (the catalog as it was; kept, remove it when no longer needed)`,
    `  runs closed  ${runsLine(r.runsClosed)}`,
    adoptedLine(r.adopted),
  ].join('\n');
}

export function formatRecoverResult(r: RecoverResult): string {
  return [
    `catalog recovered from ${r.destination}: the ${r.source} of ${r.day}, ${r.key}`,
    `  catalog      ${r.catalogPath}: ${r.counts.files} items, ${r.counts.objects} objects, schema ${r.counts.schemaVersion}`,
    ...r.skipped.map((s) => `  skipped      ${s.day} ${s.source}: ${s.problem}`),
    `  runs closed  ${runsLine(r.runsClosed)}`,
    adoptedLine(r.adopted),
    `  next         start the worker: its first full sync transfers only what changed in Drive since ${r.day}`,
  ].join('\n');
}

/** Runs `catalog restore` or `recover` from the config alone; returns the exit code (0 done, 1 refused or failed). */
export async function runCatalogCommand(argv: string[]): Promise<number> {
  const command = parseCatalogCommand(argv);
  const config = loadConfig(command.config);
  const destination = fromDestination(config, command.from);
  // Every destination is looked at for objects stored after the dump: a file is synced only when all of them hold it.
  const destinations = createDestinations(config);
  // Logs to stderr: stdout is the result, JSON with --json.
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const temporal = temporalWorkflowCheck(config);
  try {
    const result =
      command.kind === 'recover'
        ? await recoverCatalog({ config, destination, destinations, logger }, { date: command.date })
        : await restoreCatalog(
            {
              catalogPath: config.catalog.path,
              destination,
              logger,
              workflowRunning: temporal.workflowRunning,
              unrecordedWriters: temporal.unrecordedWriters,
              adoption: adoptionFromConfig(config, destinations, logger),
            },
            { date: command.date },
          );
    if (command.json) console.log(JSON.stringify({ ok: true, ...result }));
    else console.log('source' in result ? formatRecoverResult(result) : formatRestoreResult(result));
    return 0;
  } catch (err) {
    if (!command.json) throw err;
    const { name, message } = err as Error;
    console.log(JSON.stringify({ ok: false, error: { name, message } }));
    console.error(`drive-vault: ${message}`);
    return 1;
  } finally {
    await temporal.close();
  }
}
