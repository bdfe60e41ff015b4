import { parseArgs } from 'node:util';
import type { Config } from '../common/config';

export const usage = `usage: drive-vault sync full [--config config.yaml] [--wait] [--json]
       drive-vault verify --deep [--sample 5%] [--destination NAME] [--config config.yaml] [--wait] [--json]

  sync full      start a full sync of the configured account on the Temporal server the config names
  verify --deep  download objects from their destinations and re-hash them against the catalog
  --sample P%    read only P% of the objects (above 0, up to 100), those read back longest ago first,
                 so repeated samples read every object within ceil(100 / P) runs; default: every object
  --destination  only the objects of this configured destination; default: every destination
  --wait         wait for the run to finish and print its summary
  --json         print the run's id and Web UI link, or with --wait its summary, as JSON`;

/** A command line that cannot run: the CLI prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'sync-full'; config: string; wait: boolean; json: boolean }
  | { kind: 'verify-deep'; config: string; wait: boolean; json: boolean; samplePercent?: number; destination?: string };

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
  if (command === 'sync full') {
    const misplaced = (['deep', 'sample', 'destination'] as const).filter((o) => values[o] !== undefined);
    if (misplaced.length) throw new UsageError(`${misplaced.map((o) => `--${o}`).join(', ')} belong to verify --deep, not sync full`);
    return { kind: 'sync-full', ...common };
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
