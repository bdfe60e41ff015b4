import { loadAccounts, selectAccount } from '../common/accounts';
import { type Config, ConfigError } from '../common/config';
import type { GlobalOptions } from './program';
import { UsageError } from './usageError';

/** Which config file a command reads, and which of its accounts it acts on (`--account`; none for a file of one). */
export interface AccountChoice {
  config: string;
  account?: string;
}

/** The config file and the account the command line names; `account` only when given (a command reads as before). */
export const accountChoice = (o: GlobalOptions): AccountChoice => ({
  config: o.config,
  ...(o.account !== undefined && { account: o.account }),
});

/**
 * The config of the account a command acts on. A file that does not load is an error (exit 1); several accounts
 * and none named, or a name the file does not list, is a bad command line (exit 2), its message listing the accounts.
 */
export function loadChosenAccount(choice: AccountChoice): Config {
  const configs = loadAccounts(choice.config);
  try {
    return selectAccount(configs, choice.account, choice.config);
  } catch (err) {
    throw err instanceof ConfigError ? new UsageError(err.message) : err;
  }
}

/** The config file of a command that serves every account of it (start, worker, api, demo): `--account` is refused. */
export function everyAccount(o: GlobalOptions, command: string): string {
  if (o.account !== undefined) {
    throw new UsageError(`${command} serves every account of the config: --account is for the commands that act on one`);
  }
  return o.config;
}
