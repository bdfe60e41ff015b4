import { type ApiCommand, apiCommand } from './commands/api';
import { type AuthCommand, authCommand } from './commands/auth';
import { catalogCommands, type CatalogCommand } from './commands/catalog';
import { type DemoCommand, demoCommand } from './commands/demo';
import { type FailuresCommand, failuresCommand } from './commands/failures';
import { type RestoreCommand, restoreCommand } from './commands/restore';
import { type SchedulesCommand, schedulesCommands } from './commands/schedules';
import { type StartCommand, startCommand } from './commands/start';
import { type StateRunCommand, stateRunCommands } from './commands/stateRuns';
import { type StatusCommand, statusCommand } from './commands/status';
import { type SyncCommand, syncCommands } from './commands/sync';
import { type VerifyCommand, verifyCommand } from './commands/verify';
import { type WorkerCommand, workerCommand } from './commands/worker';
import { type CliContext, type CommandGroup, readCommandLine, runProgram } from './program';
import { UsageError } from './usageError';

/** Every command of `drive-vault`, one module per group (cli/commands/), in the order `--help` lists them. */
export const COMMAND_GROUPS: CommandGroup[] = [
  startCommand,
  workerCommand,
  apiCommand,
  demoCommand,
  syncCommands,
  stateRunCommands,
  verifyCommand,
  restoreCommand,
  statusCommand,
  failuresCommand,
  schedulesCommands,
  authCommand,
  catalogCommands,
];

/** What a command line asks for, as each group reads it. */
export type CliCommand =
  | StartCommand
  | WorkerCommand
  | ApiCommand
  | StatusCommand
  | FailuresCommand
  | AuthCommand
  | DemoCommand
  | SyncCommand
  | StateRunCommand
  | VerifyCommand
  | RestoreCommand
  | SchedulesCommand
  | CatalogCommand;

/** Reads a command line (without `node` and the script) without running it. Throws UsageError naming what is wrong. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CliCommand {
  const chosen = readCommandLine(COMMAND_GROUPS, argv, { env, cwd });
  if (!chosen) throw new UsageError('only help was asked for');
  return chosen.command as CliCommand;
}

/** Runs `drive-vault` on a command line; resolves with the exit code (cli/exitCodes.ts). */
export function runCli(argv: string[], context: CliContext = { env: process.env, cwd: process.cwd() }): Promise<number> {
  return runProgram(COMMAND_GROUPS, argv, context);
}

if (require.main === module) {
  // Exits once stdout is flushed: a piped --json result must not be cut short.
  runCli(process.argv.slice(2)).then(
    (code) => process.stdout.write('', () => process.exit(code)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
