import { Argument } from 'commander';
import { loadAccounts } from '../../common/accounts';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { EXIT } from '../exitCodes';
import { type CommandGroup, onCommand } from '../program';

export interface AuthCommand extends AccountChoice {
  kind: 'auth';
  json: boolean;
}

async function runAuthGoogle(command: AuthCommand): Promise<number> {
  const config = loadChosenAccount(command);
  const otherAccounts = loadAccounts(command.config).filter((other) => other.account !== config.account);
  const { runGoogleAuthFlow } = await import('../../api/googleAuthFlow');
  const connected = await runGoogleAuthFlow(config, { otherAccounts });
  console.log(
    command.json ? JSON.stringify(connected) : `connected ${connected.account}${connected.googleUser ? ` (${connected.googleUser})` : ''}`,
  );
  return EXIT.done;
}

/** `auth google`: the OAuth consent through a loopback listener; the refresh token stored encrypted in the catalog. */
export const authCommand: CommandGroup = (program) => {
  const cmd = program
    .command('auth')
    .helpGroup('Operations:')
    .summary('connect the Google account (OAuth consent in a browser)')
    .description(
      'connect the Google account: listens once on 127.0.0.1, prints the consent URL to open in a browser, and stores the ' +
        'refresh token in the catalog, encrypted with the key in the variable google.tokenKeyEnv names',
    )
    .addArgument(new Argument('<provider>', 'the account kind').choices(['google']))
    .option('--json', 'print the connected account as JSON');
  onCommand<{ json?: boolean }, AuthCommand>(cmd, (o) => ({ kind: 'auth', ...accountChoice(o), json: o.json ?? false }), runAuthGoogle);
};
