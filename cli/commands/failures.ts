import { Catalog } from '../../activities/catalog/catalog';
import { openFailuresPage } from '../../activities/catalog/failures';
import { retryAllFailures } from '../../api/failureRetry';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { EXIT } from '../exitCodes';
import { type CommandGroup, onCommand } from '../program';
import { withTemporal } from '../temporal';
import { UsageError } from '../usageError';

export interface FailuresCommand extends AccountChoice {
  kind: 'failures';
  json: boolean;
  /** List the open failures, or put the failed files back to pending (and, unless `noSweep`, start a sweep now). */
  action: { verb: 'list'; limit: number } | { verb: 'retry'; noSweep: boolean };
}

async function runFailures(command: FailuresCommand): Promise<number> {
  const config = loadChosenAccount(command);
  const catalog = Catalog.open(config.catalog.path);
  try {
    const { action } = command;
    if (action.verb === 'list') {
      const failures = openFailuresPage(catalog, { limit: action.limit });
      if (command.json) console.log(JSON.stringify(failures, null, 2));
      else if (failures.length === 0) console.log('no open failure');
      else {
        for (const f of failures) {
          console.log(`${f.file.key ?? f.file.name} (${f.fileId}) on ${f.destination ?? 'every destination'}: ${f.reason}: ${f.message}`);
          console.log(`  ${f.attempts} attempts, first ${f.firstFailedAt}, last ${f.lastFailedAt}`);
        }
      }
      return failures.length ? EXIT.problems : EXIT.done;
    }
    const retried = action.noSweep
      ? await retryAllFailures({ config, catalog }, { startSweep: false })
      : await withTemporal(config, (client) => retryAllFailures({ config, catalog, client }, { startSweep: true }));
    console.log(
      command.json
        ? JSON.stringify(retried)
        : `${retried.requeued} files pending again: ${retried.note}${retried.sweep ? `; ${retried.sweep.webUi}` : ''}`,
    );
    return EXIT.done;
  } finally {
    catalog.close();
  }
}

/** `failures [retry]`: the open failures, or retry every failed file. */
export const failuresCommand: CommandGroup = (program) => {
  const cmd = program
    .command('failures')
    .helpGroup('Operations:')
    .summary('list the files that did not reach a destination, or retry them all')
    .description(
      'list the open failures, newest first (exit 3 when there are some), or with `retry` put every failed or deferred ' +
        'file back to pending and start a sweep that transfers them now (--no-sweep: leave them to the next run)',
    )
    .argument('[retry]', 'retry every failed file')
    .option('--limit <n>', 'how many failures to list', '50')
    .option('--no-sweep', 'with retry: start no sweep; the next scheduled run transfers them')
    .option('--json', 'print the failures, or the retry, as JSON');
  onCommand<{ limit: string; sweep: boolean; json?: boolean }, FailuresCommand>(
    cmd,
    (o, self) => {
      const [verb] = self.args;
      if (verb !== undefined && verb !== 'retry') throw new UsageError(`failures takes "retry" or nothing, not "${verb}"`);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError(`--limit must be a whole number from 1 to 1000, not "${o.limit}"`);
      const action: FailuresCommand['action'] = verb === 'retry' ? { verb: 'retry', noSweep: !o.sweep } : { verb: 'list', limit };
      return { kind: 'failures', ...accountChoice(o), json: o.json ?? false, action };
    },
    runFailures,
  );
};
