import { parseArgs } from 'node:util';
import { SCHEDULE_NAMES, type ScheduledJob, scheduledJob } from '../api/schedules';
import type { Config } from '../common/config';
import { RESTORE_HELP, RESTORE_USAGE, type RestoreCommand, isRestoreCommand, parseRestoreCommand } from './restoreCommand';
import { UsageError } from './usageError';

export const usage = `usage: drive-vault sync full [--config config.yaml] [--wait] [--json]
       drive-vault sync sweep [--config config.yaml] [--wait] [--json]
       drive-vault verify --deep [--sample 5%] [--destination NAME] [--config config.yaml] [--wait] [--json]
       drive-vault dump|rollup [--config config.yaml] [--wait] [--json]
       drive-vault schedules [list] [--config config.yaml] [--json]
       drive-vault schedules pause NAME [--note TEXT] [--config config.yaml]
       drive-vault schedules resume|trigger NAME [--config config.yaml]
       ${RESTORE_USAGE}

  sync full      start a full sync of the configured account on the Temporal server the config names
  sync sweep     start an incremental sweep: apply what changed in Drive since the last one
  verify --deep  download objects from their destinations and re-hash them against the catalog
  dump           dump the catalog now (the nightly dump): an online copy, checked, with its manifest, uploaded to
                 every destination under state/daily/<day>/ and read back; then the dump retention
  rollup         pack the last seven daily dumps into state/weekly/weekly_<first>_<last>.tar.gz on every destination
  schedules      list the four schedules: paused or not (and why), times, next run, last run and its status;
                 pause one (with a note saying why), resume it, or trigger it (run now, skipped if one is running)
${RESTORE_HELP}
  NAME           ${SCHEDULE_NAMES.join(', ')}
  --sample P%    read only P% of the objects (above 0, up to 100), those read back longest ago first,
                 so repeated samples read every object within ceil(100 / P) runs; default: every object
  --destination  only the objects of this configured destination; default: every destination
  --note TEXT    why the schedule is paused, shown in the Web UI and by schedules list
  --wait         wait for the run to finish and print its summary
  --json         print the run's id and Web UI link, or with --wait its summary, or the schedules, as JSON`;

export { UsageError };

/** What `drive-vault schedules` does: list all four, or act on one. */
export type ScheduleAction =
  | { verb: 'list' }
  | { verb: 'pause'; job: ScheduledJob; note?: string }
  | { verb: 'resume' | 'trigger'; job: ScheduledJob };

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'sync-full'; config: string; wait: boolean; json: boolean }
  | { kind: 'sync-sweep'; config: string; wait: boolean; json: boolean }
  | { kind: 'dump'; config: string; wait: boolean; json: boolean }
  | { kind: 'rollup'; config: string; wait: boolean; json: boolean }
  | { kind: 'schedules'; config: string; json: boolean; action: ScheduleAction }
  | { kind: 'verify-deep'; config: string; wait: boolean; json: boolean; samplePercent?: number; destination?: string }
  | RestoreCommand;

/** `5%`, `5` or `2.5%`: a share of the objects above 0 and up to 100. */
export function parseSamplePercent(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent > 0 && percent <= 100)) {
    throw new UsageError(`--sample takes a percentage above 0 and up to 100, such as 5%; "${text}" is not one`);
  }
  return percent;
}

/** Reads the command line (without `node` and the script). Throws UsageError naming what is wrong. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  if (isRestoreCommand(argv) && !argv.includes('--help')) return parseRestoreCommand(argv, env);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv, env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const command = positionals.join(' ');
  const common = { config: values.config!, wait: values.wait!, json: values.json! };
  if (positionals[0] === 'schedules') return schedulesCommand(positionals.slice(1), values);
  if (values.note !== undefined) throw new UsageError('--note belongs to schedules pause');
  if (command === 'sync full' || command === 'sync sweep') {
    const misplaced = (['deep', 'sample', 'destination'] as const).filter((o) => values[o] !== undefined);
    if (misplaced.length) throw new UsageError(`${misplaced.map((o) => `--${o}`).join(', ')} belong to verify --deep, not ${command}`);
    return { kind: command === 'sync full' ? 'sync-full' : 'sync-sweep', ...common };
  }
  if (command === 'dump' || command === 'rollup') {
    const misplaced = (['deep', 'sample', 'destination'] as const).filter((o) => values[o] !== undefined);
    if (misplaced.length) throw new UsageError(`${misplaced.map((o) => `--${o}`).join(', ')} belong to verify --deep, not ${command}`);
    return { kind: command, ...common };
  }
  if (command === 'verify') {
    if (!values.deep) throw new UsageError('verify needs --deep: a full sync HEADs objects itself, verify --deep reads them back');
    if (values.destination !== undefined && values.destination.trim() === '') throw new UsageError('--destination needs a name');
    return {
      kind: 'verify-deep',
      ...common,
      samplePercent: values.sample === undefined ? undefined : parseSamplePercent(values.sample),
      destination: values.destination,
    };
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
}

type ParsedValues = ReturnType<typeof parse>['values'];

/** `schedules [list]`, `schedules pause NAME [--note TEXT]`, `schedules resume|trigger NAME`. */
function schedulesCommand(args: string[], values: ParsedValues): CliCommand {
  const [action = 'list', name, ...extra] = args;
  const misplaced = [
    ...(values.wait ? ['wait'] : []),
    ...(['deep', 'sample', 'destination'] as const).filter((o) => values[o] !== undefined),
  ];
  if (misplaced.length) throw new UsageError(`${misplaced.map((o) => `--${o}`).join(', ')} do not apply to schedules`);
  if (values.note !== undefined && action !== 'pause') throw new UsageError('--note belongs to schedules pause');
  const command = { kind: 'schedules' as const, config: values.config!, json: values.json! };
  if (action === 'list') {
    if (name !== undefined) throw new UsageError(`schedules list takes no NAME; it lists all four`);
    return { ...command, action: { verb: 'list' } };
  }
  if (action !== 'pause' && action !== 'resume' && action !== 'trigger') {
    throw new UsageError(`unknown schedules command "${action}": use list, pause, resume or trigger`);
  }
  if (name === undefined) throw new UsageError(`schedules ${action} needs a NAME: ${SCHEDULE_NAMES.join(', ')}`);
  if (extra.length) throw new UsageError(`schedules ${action} takes one NAME, not ${[name, ...extra].join(' ')}`);
  const job = scheduledJob(name);
  if (!job) throw new UsageError(`unknown schedule "${name}": NAME is one of ${SCHEDULE_NAMES.join(', ')}`);
  if (values.json) throw new UsageError('--json applies to schedules list');
  if (action === 'pause') {
    if (values.note !== undefined && values.note.trim() === '') throw new UsageError('--note needs a text');
    return { ...command, action: { verb: 'pause', job, note: values.note } };
  }
  return { ...command, action: { verb: action, job } };
}

function parse(argv: string[], env: NodeJS.ProcessEnv) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', default: env.DRIVE_VAULT_CONFIG ?? 'config.yaml' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      deep: { type: 'boolean' },
      sample: { type: 'string' },
      destination: { type: 'string' },
      note: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

/** A --destination must name a destination of the config, checked before anything starts. */
export function checkDestinationName(config: Config, name: string | undefined): void {
  const names = config.destinations.map((d) => d.name);
  if (name !== undefined && !names.includes(name)) {
    throw new UsageError(`--destination ${name}: the config has no such destination; it has ${names.join(', ')}`);
  }
}
