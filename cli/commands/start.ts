import { loadAccounts } from '../../common/accounts';
import { runEmbeddedStack } from '../embeddedStack';
import { EXIT } from '../exitCodes';
import { everyAccount } from '../account';
import { type CommandGroup, onCommand } from '../program';

export interface StartCommand {
  kind: 'start';
  config: string;
}

async function runStart(command: StartCommand): Promise<number> {
  // Lines for a person on stderr: stdout carries the services' JSON logs.
  await runEmbeddedStack(loadAccounts(command.config), (line) => console.error(`drive-vault: ${line}`));
  return EXIT.done;
}

/** `start`: the embedded stack on the user's config, the main job on a fresh machine. */
export const startCommand: CommandGroup = (program) => {
  const cmd = program
    .command('start')
    .helpGroup('Run:')
    .summary('run Temporal (unless it answers already), the worker and the API with the dashboard on this machine')
    .description(
      'run everything on this machine: Temporal (the pinned dev server, persisted to temporal.db beside the catalog, on ' +
        'temporal.address with its Web UI on temporal.webUiUrl, unless a server already answers there), then the worker, ' +
        'then the API and the dashboard on api.listen, until SIGINT or SIGTERM',
    );
  onCommand<object, StartCommand>(cmd, (o) => ({ kind: 'start', config: everyAccount(o, 'start') }), runStart);
};
