import { Client, Connection } from '@temporalio/client';
import { formatFullSyncSummary, startFullSync, webUiLink } from '../api/fullSyncRuns';
import { deepVerifyFoundProblems, formatDeepVerifySummary, startDeepVerify } from '../api/verifyRuns';
import { type Config, ConfigError, loadConfig } from '../common/config';
import { type CliCommand, UsageError, checkDestinationName, parseCommandLine, usage } from './commandLine';

/** Exit codes: 0 done, 1 an error, 2 a bad command line, 3 a deep verification that found objects wrong or unreadable. */
const VERIFY_FOUND_PROBLEMS = 3;

/** Prints a started run's id and Web UI link, as text or JSON. */
function printStarted(workflowId: string, link: string, json: boolean): void {
  console.log(json ? JSON.stringify({ workflowId, webUi: link }) : `started ${workflowId}: ${link}`);
}

/** Starts the run, prints its id and link, and with --wait its summary; returns the exit code. */
async function run(client: Client, config: Config, command: Exclude<CliCommand, { kind: 'help' }>): Promise<number> {
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

/** `npm run cli -- verify --deep --sample 5% --wait`: drives a worker that is already running against the same config. */
async function main(): Promise<number> {
  const command = parseCommandLine(process.argv.slice(2));
  if (command.kind === 'help') {
    console.log(usage);
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
      console.error(`drive-vault: ${err.message}\n\n${usage}`);
      process.exit(2);
    }
    console.error(err instanceof ConfigError ? `drive-vault: ${err.message}` : `drive-vault: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  },
);
