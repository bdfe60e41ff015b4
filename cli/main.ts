import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { formatFullSyncSummary, startFullSync, webUiLink } from '../api/fullSyncRuns';
import { formatScheduleRows, pauseSchedule, resumeSchedule, scheduleRows, scheduleWebUiLink, triggerSchedule } from '../api/schedules';
import { formatDumpResult, formatRollupResult, startDump, startRollup } from '../api/stateRuns';
import { formatSweepSummary, startSweep } from '../api/sweepRuns';
import { deepVerifyFoundProblems, formatDeepVerifySummary, startDeepVerify } from '../api/verifyRuns';
import { type Config, ConfigError, loadConfig } from '../common/config';
import { catalogUsage, isCatalogCommand, runCatalogCommand } from './catalogCommands';
import { type CliCommand, type ScheduleAction, UsageError, checkDestinationName, parseCommandLine, usage } from './commandLine';
import { checkRestoreCommand, runRestore } from './restoreCommand';

const fullUsage = `${usage}\n\n${catalogUsage}`;

/**
 * Exit codes: 0 done, 1 an error, 2 a bad command line, 3 a run that finished with problems: a deep verification
 * that found objects wrong or unreadable, a dump or rollup that some destination does not hold verified, a restore
 * some of whose files did not come back (cli/restoreCommand.ts).
 */
const FINISHED_WITH_PROBLEMS = 3;

/** Prints a started run's id and Web UI link, as text or JSON. */
function printStarted(workflowId: string, link: string, json: boolean): void {
  console.log(json ? JSON.stringify({ workflowId, webUi: link }) : `started ${workflowId}: ${link}`);
}

/** Lists the schedules, or pauses, resumes or triggers one; returns the exit code. */
async function runSchedules(client: Client, config: Config, action: ScheduleAction, json: boolean): Promise<number> {
  if (action.verb === 'list') {
    const rows = await scheduleRows(client);
    console.log(json ? JSON.stringify(rows) : formatScheduleRows(rows, scheduleWebUiLink(config)));
    return 0;
  }
  const { job } = action;
  const link = scheduleWebUiLink(config, job.scheduleId);
  try {
    if (action.verb === 'pause') {
      await pauseSchedule(client, job, action.note ?? 'paused with drive-vault schedules pause');
      console.log(`paused ${job.name} (${job.scheduleId}): it stays paused across worker restarts until resumed; ${link}`);
    } else if (action.verb === 'resume') {
      await resumeSchedule(client, job, 'resumed with drive-vault schedules resume');
      console.log(`resumed ${job.name} (${job.scheduleId}); ${link}`);
    } else {
      await triggerSchedule(client, job);
      console.log(`triggered ${job.name} (${job.scheduleId}): a run starts now unless one is still running; ${link}`);
    }
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    console.error(`drive-vault: schedule ${job.scheduleId} does not exist yet: the catalog host's worker creates it when it starts`);
    return 1;
  }
  return 0;
}

/**
 * Prints a started run's id and link and, with --wait, its result; returns the exit code: FINISHED_WITH_PROBLEMS
 * when the result has some.
 */
async function reportRun<R>(
  config: Config,
  options: { wait: boolean; json: boolean },
  handle: { workflowId: string; result(): Promise<R> },
  format: (result: R, link: string) => string,
  hasProblems: (result: R) => boolean = () => false,
): Promise<number> {
  const link = webUiLink(config, handle.workflowId);
  if (!options.wait || !options.json) printStarted(handle.workflowId, link, options.json);
  if (!options.wait) return 0;
  const result = await handle.result();
  console.log(options.json ? JSON.stringify(result) : format(result, link));
  return hasProblems(result) ? FINISHED_WITH_PROBLEMS : 0;
}

const notVerified = (result: { status: string }) => result.status !== 'verified';

/** Starts the run, prints its id and link, and with --wait its summary; returns the exit code. */
async function run(client: Client, config: Config, command: Exclude<CliCommand, { kind: 'help' }>): Promise<number> {
  switch (command.kind) {
    case 'schedules':
      return runSchedules(client, config, command.action, command.json);
    case 'restore':
      return runRestore(client, config, command);
    case 'dump':
      return reportRun(config, command, await startDump(client, config), formatDumpResult, notVerified);
    case 'rollup':
      return reportRun(config, command, await startRollup(client, config), formatRollupResult, notVerified);
    case 'sync-sweep':
      return reportRun(config, command, await startSweep(client, config), formatSweepSummary);
    case 'sync-full':
      return reportRun(config, command, await startFullSync(client, config), formatFullSyncSummary);
    case 'verify-deep': {
      const handle = await startDeepVerify(client, config, { samplePercent: command.samplePercent, destination: command.destination });
      return reportRun(config, command, handle, formatDeepVerifySummary, deepVerifyFoundProblems);
    }
  }
}

/** `npm run cli -- verify --deep --sample 5% --wait`, `npm run cli -- schedules`: drives a worker that is already running against the same config. */
async function main(): Promise<number> {
  // catalog restore and recover run from the config alone: recover needs no Temporal at all.
  if (isCatalogCommand(process.argv.slice(2))) return runCatalogCommand(process.argv.slice(2));
  const command = parseCommandLine(process.argv.slice(2));
  if (command.kind === 'help') {
    console.log(fullUsage);
    return 0;
  }
  const config = loadConfig(command.config);
  if (command.kind === 'verify-deep') checkDestinationName(config, command.destination);
  if (command.kind === 'restore') checkRestoreCommand(config, command);
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    return await run(new Client({ connection, namespace: config.temporal.namespace }), config, command);
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`drive-vault: ${err.message}\n\n${fullUsage}`);
      process.exit(2);
    }
    console.error(err instanceof ConfigError ? `drive-vault: ${err.message}` : `drive-vault: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  },
);
