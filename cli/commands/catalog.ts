import pino from 'pino';
import type { Client } from '@temporalio/client';
import { type AdoptionCounts, adoptionFromConfig } from '../../activities/dump/adoptStoredObjects';
import { type CatalogRestoreResult, restoreCatalog } from '../../activities/dump/catalogRestore';
import { isDumpDay, stateLayout } from '../../activities/dump/dumpLayout';
import { type RecoverResult, recoverCatalog } from '../../activities/dump/recoverCatalog';
import type { RecordedRun } from '../../activities/catalog/restoredCatalog';
import { createDestinations } from '../../activities/storage/createDestinations';
import type { Destination } from '../../activities/storage/destination';
import { isWorkflowRunning } from '../../activities/sweep/abandonedRuns';
import { runningDeepVerifications } from '../../api/verifyRuns';
import type { Config } from '../../common/config';
import { createLogger } from '../../common/logger';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { EXIT } from '../exitCodes';
import { type CommandGroup, type GlobalOptions, onCommand } from '../program';
import { TemporalUnreachableError, connectClient } from '../temporal';
import { UsageError } from '../usageError';

export interface CatalogCommand extends AccountChoice {
  kind: 'catalog-restore' | 'recover';
  from: string;
  date?: string;
  json: boolean;
}

interface CatalogFlags {
  from?: string;
  date?: string;
  json?: boolean;
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
  return {
    workflowRunning: async (workflowId: string) => isWorkflowRunning(await (client ??= connectClient(config)), workflowId),
    unrecordedWriters: async () => runningDeepVerifications(await (client ??= connectClient(config)), config),
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

/**
 * Runs `catalog restore` or `recover` from the config alone; returns the exit code (0 done, 1 refused or failed, 4 when
 * Temporal, asked whether a run still writes the catalog, does not answer).
 */
async function runCatalogCommand(command: CatalogCommand): Promise<number> {
  const config = loadChosenAccount(command);
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
              layout: stateLayout(config),
              logger,
              workflowRunning: temporal.workflowRunning,
              unrecordedWriters: temporal.unrecordedWriters,
              adoption: adoptionFromConfig(config, destinations, logger),
            },
            { date: command.date },
          );
    if (command.json) console.log(JSON.stringify({ ok: true, ...result }));
    else console.log('source' in result ? formatRecoverResult(result) : formatRestoreResult(result));
    return EXIT.done;
  } catch (err) {
    if (!command.json) throw err;
    const { name, message } = err as Error;
    console.log(JSON.stringify({ ok: false, error: { name, message } }));
    console.error(`drive-vault: ${message}`);
    return err instanceof TemporalUnreachableError ? EXIT.temporalUnreachable : EXIT.error;
  } finally {
    await temporal.close();
  }
}

function readCatalogCommand(kind: CatalogCommand['kind'], o: CatalogFlags & GlobalOptions): CatalogCommand {
  const name = kind === 'recover' ? 'recover' : 'catalog restore';
  if (o.from === undefined || o.from.trim() === '') throw new UsageError(`${name} needs --from DESTINATION`);
  if (o.date !== undefined && !isDumpDay(o.date)) {
    throw new UsageError(`--date takes a day as YYYY-MM-DD, such as 2026-11-25; "${o.date}" is not one`);
  }
  return { kind, ...accountChoice(o), from: o.from, date: o.date, json: o.json === true };
}

/** `catalog restore` and `recover`: the catalog back from a dump, run from the config alone (recover needs no Temporal). */
export const catalogCommands: CommandGroup = (program) => {
  const catalog = program
    .command('catalog')
    .helpGroup('Operations:')
    .summary("restore: replace the catalog with a day's dump")
    .description('the catalog itself: restore it from a dump');
  const commands = [
    [
      catalog.command('restore'),
      'catalog-restore',
      "replace the catalog with a day's dump from DESTINATION (checksum verified, safety copy kept beside the catalog, " +
        'rolled back on any failure); refuses while a run writes the catalog',
    ],
    [
      program.command('recover').helpGroup('Operations:').summary('on a new machine: make the catalog from the newest dump that verifies'),
      'recover',
      'on a new machine with no worker running: make the catalog from the newest dump on DESTINATION that verifies (or ' +
        'from its manifest when no dump does); refuses if the catalog already holds files',
    ],
  ] as const;
  for (const [cmd, kind, description] of commands) {
    cmd
      .usage('--from DESTINATION [--date YYYY-MM-DD] [--json]')
      .description(description)
      .option('--from <destination>', 'a destination the config names')
      .option('--date <day>', `that day's dump (YYYY-MM-DD${kind === 'recover' ? ', or its manifest' : ''}); default: the newest`)
      .option('--json', 'print the result, or the error, as JSON');
    onCommand<CatalogFlags, CatalogCommand>(cmd, (o) => readCatalogCommand(kind, o), runCatalogCommand);
  }
};
