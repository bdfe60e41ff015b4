import { Command, CommanderError, Option, type OutputConfiguration } from 'commander';
import { EXIT, EXIT_CODES_HELP } from './exitCodes';
import { TemporalUnreachableError } from './temporal';
import { UsageError } from './usageError';

/** Where the command line came from: the environment and the directory relative paths are read from. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Adds one group of commands (`sync full|sweep`, `schedules ...`) to the program. */
export type CommandGroup = (program: Command, context: CliContext) => void;

/** A command line read and checked: what it asks for, as plain data, and how to run it. */
export interface ChosenCommand<C extends { kind: string } = { kind: string }> {
  command: C;
  run(): Promise<number>;
  /** The commander command that read it: a usage error found while running is reported with its help. */
  cli: Command;
}

/** The options every command sees: given before or after the command's name. */
export interface GlobalOptions {
  config: string;
  /** The account of a config listing several that a command acts on. */
  account?: string;
}

const chosenByProgram = new WeakMap<Command, ChosenCommand>();

const programOf = (cmd: Command): Command => (cmd.parent ? programOf(cmd.parent) : cmd);

/**
 * Makes `cmd` read its command line with `read` (which throws UsageError naming what is wrong) and run it with
 * `run` once the whole command line is read. `read` gets the command's options with the global ones, and the command.
 */
export function onCommand<O, C extends { kind: string }>(
  cmd: Command,
  read: (options: O & GlobalOptions, cmd: Command) => C,
  run: (command: C) => Promise<number>,
): Command {
  return cmd.action((...args: unknown[]) => {
    const self = args.at(-1) as Command;
    let command: C;
    try {
      command = read(self.optsWithGlobals<O & GlobalOptions>(), self);
    } catch (err) {
      if (err instanceof UsageError) reportUsageError(self, err);
      throw err;
    }
    chosenByProgram.set(programOf(self), { command, run: () => run(command), cli: self });
  });
}

/** What `--wait` and `--json` read as: absent, or set. */
export interface RunOutputFlags {
  wait?: boolean;
  json?: boolean;
}

/** `--wait` and `--json` of a command that starts a run; `--json` prints `what` as JSON. */
export function runOutputOptions(cmd: Command, what = "the run's id and Web UI link (with --wait, its summary)"): Command {
  return cmd
    .option('--wait', 'wait for the run to finish, showing its progress on stderr, and print its summary')
    .option('--json', `print ${what} as JSON`);
}

/** Prints the message and the command's help, and ends the parse with exit code 2 (through the exit override). */
function reportUsageError(cmd: Command, err: UsageError): never {
  cmd.error(err.message, { exitCode: EXIT.usage, code: 'drive-vault.usage' });
}

/** Reports a usage error found while running as one found while reading; returns the CommanderError that ends it. */
function reportedUsageError(cmd: Command, err: UsageError): unknown {
  try {
    reportUsageError(cmd, err);
  } catch (reported) {
    return reported;
  }
}

const commandPath = (cmd: Command): string => (cmd.parent?.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name());

/**
 * Turns commander's own exits into the CLI's exit codes: help asked for exits 0, any other is a bad
 * command line (2). Commander has printed the message and the help already, except for a group called without a
 * command, for which it printed the help alone.
 */
function exitCodesOf(cmd: Command): void {
  cmd.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed') throw err;
    let message = err.message;
    if (err.code === 'commander.help') {
      message = cmd.parent ? `${commandPath(cmd)} needs a command: ${cmd.commands.map((c) => c.name()).join(', ')}` : 'no command given';
      cmd.configureOutput().writeErr?.(`drive-vault: ${message}\n`);
    }
    throw new CommanderError(EXIT.usage, err.code, message.replace(/^error: /, ''));
  });
  for (const sub of cmd.commands) exitCodesOf(sub);
}

/** The `drive-vault` program with `groups` registered; `output` replaces where commander writes (tests silence it). */
export function buildProgram(groups: CommandGroup[], context: CliContext, output: OutputConfiguration = {}): Command {
  const program = new Command('drive-vault')
    .description('Verified backup of Google Drive to S3-compatible stores and local directories, on Temporal.')
    .configureOutput({ ...output, outputError: (message, write) => write(`drive-vault: ${message.replace(/^error: /, '')}`) })
    .showHelpAfterError()
    .addOption(
      new Option('--config <file>', 'the config file, for every command, before or after its name').default(
        context.env.DRIVE_VAULT_CONFIG ?? 'config.yaml',
        '$DRIVE_VAULT_CONFIG, else config.yaml',
      ),
    )
    .option('--account <label>', 'the account to act on; needed when the config lists several (status without it shows each)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  for (const register of groups) register(program, context);
  // Set after the commands, which keep their own (short) help after an error: the program's lists every command.
  program.showHelpAfterError('(drive-vault --help lists the commands, and the exit codes)');
  exitCodesOf(program);
  return program;
}

/**
 * Reads the command line (without `node` and the script) and returns the command it asks for, or undefined when it
 * asked for help. Throws CommanderError (its exit code set) for a bad command line, after commander printed why.
 */
export function chooseCommand(program: Command, argv: string[]): ChosenCommand | undefined {
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === EXIT.done) return undefined;
    throw err;
  }
  return chosenByProgram.get(program);
}

/** Reads the command line without printing anything; a bad one throws UsageError naming what is wrong. */
export function readCommandLine(groups: CommandGroup[], argv: string[], context: CliContext): ChosenCommand | undefined {
  const silent = { writeOut: () => undefined, writeErr: () => undefined };
  try {
    return chooseCommand(buildProgram(groups, context, silent), argv);
  } catch (err) {
    if (err instanceof CommanderError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Runs the command line; returns the exit code (exitCodes.ts). A usage error found while running (a destination the
 * config does not name) is reported as one found while reading.
 */
export async function runProgram(groups: CommandGroup[], argv: string[], context: CliContext): Promise<number> {
  const program = buildProgram(groups, context);
  let chosen: ChosenCommand | undefined;
  try {
    chosen = chooseCommand(program, argv);
    return chosen ? await chosen.run() : EXIT.done;
  } catch (err) {
    const failure = err instanceof UsageError && chosen ? reportedUsageError(chosen.cli, err) : err;
    if (failure instanceof CommanderError) return failure.exitCode;
    console.error(`drive-vault: ${failure instanceof Error ? failure.message : failure}`);
    return failure instanceof TemporalUnreachableError ? EXIT.temporalUnreachable : EXIT.error;
  }
}
