import { loadAccounts } from '../../common/accounts';
import { EXIT } from '../exitCodes';
import { everyAccount } from '../account';
import { type CommandGroup, onCommand } from '../program';

export interface ApiCommand {
  kind: 'api';
  config: string;
}

async function runApi(command: ApiCommand): Promise<number> {
  // Every account of the file: each one's routes are at /api/accounts/{account}/...
  const accounts = loadAccounts(command.config);
  // Loaded here: the API's routes (and the OpenAPI machinery) are heavy for the other commands.
  const { startApiServer } = await import('../../api/server');
  const { stopOnSignals } = await import('../../worker/startWorker');
  const api = await startApiServer(accounts);
  console.error(`drive-vault: API and dashboard on ${api.url}/ (OpenAPI document: ${api.url}/openapi.json)`);
  const stopped = new Promise<void>((resolve) => stopOnSignals(async () => resolve(await api.close())));
  await stopped;
  return EXIT.done;
}

/** `api`: what `npm run api` runs, the control API and the dashboard, until SIGINT or SIGTERM. */
export const apiCommand: CommandGroup = (program) => {
  const cmd = program
    .command('api')
    .helpGroup('Run:')
    .summary('serve the control API and the dashboard (npm run api)')
    .description(
      'serve the control API under /api, its OpenAPI document at /openapi.json and the dashboard at / on api.listen ' +
        '(default 127.0.0.1:8080), with the bearer token from the variable api.tokenEnv names, until SIGINT or SIGTERM',
    );
  onCommand<object, ApiCommand>(cmd, (o) => ({ kind: 'api', config: everyAccount(o, 'api') }), runApi);
};
