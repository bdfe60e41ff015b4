import { deepVerifyFoundProblems, formatDeepVerifySummary, startDeepVerify } from '../../api/verifyRuns';
import type { Config } from '../../common/config';
import { type DeepVerifyProgress, deepVerifyProgressQuery } from '../../workflows';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { type CommandGroup, type GlobalOptions, type RunOutputFlags, onCommand, runOutputOptions } from '../program';
import type { Progress } from '../progress';
import { type RunOutput, reportRun } from '../reportRun';
import { withTemporal } from '../temporal';
import { UsageError } from '../usageError';

export interface VerifyCommand extends RunOutput, AccountChoice {
  kind: 'verify-deep';
  samplePercent?: number;
  destination?: string;
}

interface VerifyFlags extends RunOutputFlags {
  deep?: boolean;
  sample?: string;
  destination?: string;
}

/** `5%`, `5` or `2.5%`: a share of the objects above 0 and up to 100. */
export function parseSamplePercent(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent > 0 && percent <= 100)) {
    throw new UsageError(`--sample takes a percentage above 0 and up to 100, such as 5%; "${text}" is not one`);
  }
  return percent;
}

/** A --destination must name a destination of the config, checked before anything starts. */
export function checkDestinationName(config: Config, name: string | undefined): void {
  const names = config.destinations.map((d) => d.name);
  if (name !== undefined && !names.includes(name)) {
    throw new UsageError(`--destination ${name}: the config has no such destination; it has ${names.join(', ')}`);
  }
}

/** A deep verification's progress: objects read back of those chosen, bytes read, objects found wrong. */
export function deepVerifyProgressView(p: DeepVerifyProgress): Progress | undefined {
  if (!p.plan) return undefined;
  const counts = Object.values(p.perDestination);
  const sum = (pick: (c: (typeof counts)[number]) => number) => counts.reduce((n, c) => n + pick(c), 0);
  const unverified = sum((c) => c.unverified);
  return {
    unit: 'objects',
    done: p.plan.objectsChosen - p.remaining,
    total: p.plan.objectsChosen,
    bytesDone: sum((c) => c.bytesRead),
    failed: sum((c) => c.mismatched),
    notes: unverified ? [`${unverified} unreadable`] : [],
  };
}

function readVerify(o: VerifyFlags & GlobalOptions): VerifyCommand {
  if (!o.deep) throw new UsageError('verify needs --deep: a full sync HEADs objects itself, verify --deep reads them back');
  if (o.destination !== undefined && o.destination.trim() === '') throw new UsageError('--destination needs a name');
  return {
    kind: 'verify-deep',
    ...accountChoice(o),
    wait: o.wait === true,
    json: o.json === true,
    samplePercent: o.sample === undefined ? undefined : parseSamplePercent(o.sample),
    destination: o.destination,
  };
}

async function runVerify(command: VerifyCommand): Promise<number> {
  const config = loadChosenAccount(command);
  checkDestinationName(config, command.destination);
  return withTemporal(config, async (client) => {
    const handle = await startDeepVerify(client, config, { samplePercent: command.samplePercent, destination: command.destination });
    return reportRun(config, command, {
      what: 'deep verify',
      handle,
      progress: async () => deepVerifyProgressView(await handle.query(deepVerifyProgressQuery)),
      waiting: 'deep verify: choosing the objects to read back',
      format: formatDeepVerifySummary,
      hasProblems: deepVerifyFoundProblems,
    });
  });
}

/** `verify --deep`: read objects back from their destinations and re-hash them against the catalog. */
export const verifyCommand: CommandGroup = (program) => {
  const cmd = program
    .command('verify')
    .helpGroup('Backups:')
    .summary('--deep: read objects back from their destinations and re-hash them')
    .usage('--deep [--sample P%] [--destination NAME] [--wait] [--json]')
    .description('download objects from their destinations and re-hash them against the catalog')
    .option('--deep', 'read the objects back (a full sync only HEADs them)')
    .option(
      '--sample <P%>',
      'read only P% of the objects (above 0, up to 100), those read back longest ago first, so repeated samples ' +
        'read every object within ceil(100 / P) runs; default: every object',
    )
    .option('--destination <name>', 'only the objects of this configured destination; default: every destination');
  runOutputOptions(cmd).addHelpText('after', '\nWith --wait, exit code 3 when an object was found missing or wrong, or could not be read.');
  onCommand<VerifyFlags, VerifyCommand>(cmd, readVerify, runVerify);
};
