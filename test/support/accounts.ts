import { resolveAccounts } from '../../common/accounts';
import { type Config, parseConfigFile } from '../../common/config';

/** Two accounts, ana@example.org and bo, in one config with the shared sections of `config`, each in its namespace. */
export function twoAccounts(config: Config, namespaces: { ana: string; bo: string }): Config[] {
  const { account: _one, ...shared } = config;
  return resolveAccounts(
    parseConfigFile({
      ...shared,
      accounts: [
        { account: 'ana@example.org', namespace: namespaces.ana },
        { account: 'bo', namespace: namespaces.bo },
      ],
    }),
  );
}
