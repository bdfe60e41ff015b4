import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { formatFullSyncSummary, startFullSync, webUiLink } from '../api/fullSyncRuns';
import { formatScheduleRows, pauseSchedule, resumeSchedule, scheduleRows, scheduleWebUiLink, triggerSchedule } from '../api/schedules';
import { formatSweepSummary, startSweep } from '../api/sweepRuns';
import { deepVerifyFoundProblems, formatDeepVerifySummary, startDeepVerify } from '../api/verifyRuns';
import { type Config, ConfigError, loadConfig } from '../common/config';
import { catalogUsage, isCatalogCommand, runCatalogCommand } from './catalogCommands';
import { type CliCommand, type ScheduleAction, UsageError, checkDestinationName, parseCommandLine, usage } from './commandLine';

const fullUsage = `${usage}\n${catalogUsage}`;

/** Exit codes: 0 done, 1 an error, 2 a bad command line, 3 a deep verification that found objects wrong or unreadable. */
const VERIFY_FOUND_PROBLEMS = 3;

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

/** Starts the run, prints its id and link, and with --wait its summary; returns the exit code. */
async function run(client: Client, config: Config, command: Exclude<CliCommand, { kind: 'help' }>): Promise<number> {
  if (command.kind === 'schedules') return runSchedules(client, config, command.action, command.json);
  if (command.kind === 'sync-sweep') {
    const handle = await startSweep(client, config);
    const link = webUiLink(config, handle.workflowId);
    if (!command.wait || !command.json) printStarted(handle.workflowId, link, command.json);
    if (!command.wait) return 0;
    const summary = await handle.result();
    console.log(command.json ? JSON.stringify(summary) : formatSweepSummary(summary, link));
    return 0;
  }
  if (command.kind === 'sync-full') {
    const handle = await startFullSync(client, config);
    const link = webUiLink(config, handle.workflowId);
    if (!command.wait || !command.json) printStarted(handle.workflowId, link, command.json);
    if (!command.wait) return 0;
    const summary = await handle.result();
    console.log(command.json ? JSON.stringify(summary) : formatFullSyncSummary(summary, link));
    return 0;
  }
  const handle = await startDeepVerify(client, config, { samplePercent: command.samplePercent, destination: command.destination });
  const link = webUiLink(config, handle.workflowId);
  if (!command.wait || !command.json) printStarted(handle.workflowId, link, command.json);
  if (!command.wait) return 0;
  const summary = await handle.result();
  console.log(command.json ? JSON.stringify(summary) : formatDeepVerifySummary(summary, link));
  return deepVerifyFoundProblems(summary) ? VERIFY_FOUND_PROBLEMS : 0;
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
