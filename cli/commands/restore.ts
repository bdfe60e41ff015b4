import { resolve } from 'node:path';
import { formatRestoreSummary, restoreFoundProblems, startRestore } from '../../api/restoreRuns';
import type { Config } from '../../common/config';
import type { RestoreProgress } from '../../common/restoreTypes';
import { isDumpDay } from '../../activities/dump/dumpLayout';
import { restoreProgressQuery } from '../../workflows';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { type CommandGroup, type GlobalOptions, type RunOutputFlags, onCommand, runOutputOptions } from '../program';
import { type Progress, formatProgress } from '../progress';
import { type RunOutput, reportRun } from '../reportRun';
import { withTemporal } from '../temporal';
import { UsageError } from '../usageError';

export interface RestoreCommand extends RunOutput, AccountChoice {
  kind: 'restore';
  from: string;
  to: string;
  path?: string;
  at?: string;
  overwrite: boolean;
}

interface RestoreFlags extends RunOutputFlags {
  from?: string;
  to?: string;
  path?: string;
  at?: string;
  overwrite?: boolean;
}

const PLANNING = "restore: planning (reading the catalog, or the day's manifest)";

/** A restore's progress once planned: files and bytes of the plan, at the rate and ETA the catalog host measures. */
export function restoreProgressView(progress: RestoreProgress): Progress | undefined {
  const { plan, counts } = progress;
  if (!plan) return undefined;
  return {
    unit: 'files',
    done: counts.filesDone,
    total: plan.files,
    bytesDone: counts.bytesDone,
    bytesTotal: plan.bytes,
    bytesPerSecond: progress.bytesPerSecond,
    etaSeconds: progress.etaSeconds,
    failed: counts.failed,
  };
}

/** One line of progress: a bar by bytes, files, bytes, rate, ETA, and what did not come back. */
export function formatRestoreProgress(progress: RestoreProgress | undefined): string {
  const view = progress && restoreProgressView(progress);
  return view ? formatProgress(view) : `${PLANNING}...`;
}

function readRestore(o: RestoreFlags & GlobalOptions, cwd: string): RestoreCommand {
  const from = o.from?.trim();
  if (!from) throw new UsageError('restore needs --from DESTINATION: the configured destination to read from');
  if (!o.to?.trim()) throw new UsageError('restore needs --to DIR: the directory the files are restored into');
  if (o.at !== undefined && !isDumpDay(o.at))
    throw new UsageError(`--at takes a day as YYYY-MM-DD, such as 2026-11-25; "${o.at}" is not one`);
  if (o.path !== undefined && o.path.replace(/\//g, '').trim() === '') {
    throw new UsageError('--path needs a Drive path such as "My Drive/Projects"; leave it out to restore everything');
  }
  return {
    kind: 'restore',
    ...accountChoice(o),
    wait: o.wait === true,
    json: o.json === true,
    from,
    to: resolve(cwd, o.to),
    path: o.path,
    at: o.at,
    overwrite: o.overwrite === true,
  };
}

/** --from must name a destination of the config, checked before anything starts. */
export function checkRestoreCommand(config: Config, command: RestoreCommand): void {
  const names = config.destinations.map((d) => d.name);
  if (!names.includes(command.from)) {
    throw new UsageError(`--from ${command.from}: the config has no such destination; it has ${names.join(', ')}`);
  }
}

async function runRestore(command: RestoreCommand): Promise<number> {
  const config = loadChosenAccount(command);
  checkRestoreCommand(config, command);
  const { from, to, path, at, overwrite } = command;
  return withTemporal(config, async (client) => {
    const handle = await startRestore(client, config, { from, to, path, at, overwrite });
    return reportRun(config, command, {
      what: 'restore',
      handle,
      progress: async () => restoreProgressView(await handle.query(restoreProgressQuery)),
      waiting: PLANNING,
      format: formatRestoreSummary,
      hasProblems: restoreFoundProblems,
    });
  });
}

/** `restore`: copy files back from a destination, each checked against its SHA-256. */
export const restoreCommand: CommandGroup = (program, context) => {
  const cmd = program
    .command('restore')
    .helpGroup('Backups:')
    .summary('copy files back from a destination, each checked against its SHA-256')
    .usage('--from DESTINATION --to DIR [--path DRIVE_PATH] [--at YYYY-MM-DD] [--overwrite] [--wait] [--json]')
    .description(
      "copy files back from a destination into DIR, each checked against its SHA-256 before it gets its name; runs on the catalog host's " +
        'worker, so DIR is a directory of the catalog host (a relative DIR is taken from the current directory)',
    )
    .option('--from <destination>', 'the configured destination to read from')
    .option('--to <dir>', 'the target directory; files land at DIR/<My Drive | shared drive | Shared with me>/<folders>/<name>')
    .option('--path <drive-path>', 'only this file or folder: a Drive path such as "My Drive/Projects" (or its key below drive/<account>/)')
    .option('--at <day>', "as of this day (UTC, YYYY-MM-DD): that day's manifest, and the S3 versions it names where the bucket keeps them")
    .option('--overwrite', 'replace files already in DIR; without it they are left alone and counted as skipped');
  runOutputOptions(cmd).addHelpText('after', '\nWith --wait, exit code 3 when some file did not come back.');
  onCommand<RestoreFlags, RestoreCommand>(cmd, (o) => readRestore(o, context.cwd), runRestore);
};
