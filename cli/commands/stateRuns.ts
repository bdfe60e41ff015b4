import { formatDumpResult, formatRollupResult, startDump, startRollup } from '../../api/stateRuns';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { type CommandGroup, type RunOutputFlags, onCommand, runOutputOptions } from '../program';
import { type RunOutput, reportRun } from '../reportRun';
import { withTemporal } from '../temporal';

export interface StateRunCommand extends RunOutput, AccountChoice {
  kind: 'dump' | 'rollup';
}

/** A dump or rollup that some destination does not hold verified: exit code 3. */
const notVerified = (result: { status: string }) => result.status !== 'verified';

async function runStateRun(command: StateRunCommand): Promise<number> {
  const config = loadChosenAccount(command);
  return withTemporal(config, async (client) =>
    command.kind === 'dump'
      ? reportRun(config, command, {
          what: 'dump',
          handle: await startDump(client, config),
          waiting: 'dump: copying the catalog, uploading it to every destination and reading it back',
          format: formatDumpResult,
          hasProblems: notVerified,
        })
      : reportRun(config, command, {
          what: 'rollup',
          handle: await startRollup(client, config),
          waiting: "rollup: packing the week's dumps, uploading the archive and reading it back",
          format: formatRollupResult,
          hasProblems: notVerified,
        }),
  );
}

/** `dump` and `rollup`: the backup of the catalog itself, on demand (their schedules run them nightly and weekly). */
export const stateRunCommands: CommandGroup = (program) => {
  const runs = [
    [
      'dump',
      'dump the catalog to every destination now (the nightly dump)',
      'dump the catalog now (the nightly dump): an online copy, checked, with its manifest, uploaded to every destination ' +
        'under state/daily/<day>/ and read back; then the dump retention',
    ],
    [
      'rollup',
      'pack the last seven daily dumps into a weekly archive on every destination',
      'pack the last seven daily dumps into state/weekly/weekly_<first>_<last>.tar.gz on every destination',
    ],
  ] as const;
  for (const [kind, summary, description] of runs) {
    const cmd = runOutputOptions(program.command(kind).helpGroup('Backups:').summary(summary).description(description)).addHelpText(
      'after',
      '\nWith --wait, exit code 3 when some destination does not hold it verified.',
    );
    onCommand<RunOutputFlags, StateRunCommand>(
      cmd,
      (o) => ({ kind, ...accountChoice(o), wait: o.wait === true, json: o.json === true }),
      runStateRun,
    );
  }
};
