import { createHash } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { safeSegment } from '../activities/catalog/objectKeys';
import { isDumpDay, localDumpDir } from '../activities/dump/dumpLayout';
import { type AccountEntry, type Config, ConfigError, type ConfigFile, parseConfigFile, readConfigFile } from './config';

/**
 * The account's name in its defaults (namespace, catalog and dump folders, token variable): lowercase letters, digits
 * and dashes. `Alice@Example.com` gives `alice-example-com`; a label with none of them (`Ёжик`) a hash of it.
 */
export function accountSlug(account: string): string {
  const slug = account
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return slug || `account-${createHash('sha256').update(account).digest('hex').slice(0, 12)}`;
}

/** Where an account of a list keeps its dumps and rollups on each destination, apart from the others'. */
export const accountStateRoot = (account: string) => `state/${safeSegment(account)}/`;

/** One account of a list, with the shared sections: its own catalog, namespace, state folder and Google settings. */
function accountConfig(shared: Omit<ConfigFile, 'account' | 'accounts'>, entry: AccountEntry): Config {
  const slug = accountSlug(entry.account);
  const overrides = entry.google ?? {};
  const serviceAccount =
    shared.google.serviceAccount || overrides.serviceAccount ? { ...shared.google.serviceAccount, ...overrides.serviceAccount } : undefined;
  return {
    ...shared,
    account: entry.account,
    google: {
      ...shared.google,
      ...overrides,
      // Each OAuth account has its own refresh token: `GOOGLE_REFRESH_TOKEN_ALICE_EXAMPLE_COM` unless named.
      refreshTokenEnv: overrides.refreshTokenEnv ?? `${shared.google.refreshTokenEnv}_${slug.toUpperCase().replaceAll('-', '_')}`,
      ...(serviceAccount && { serviceAccount: serviceAccount as Config['google']['serviceAccount'] }),
    },
    temporal: { ...shared.temporal, namespace: entry.namespace ?? `drive-vault-${slug}` },
    catalog: {
      ...shared.catalog,
      path: entry.catalog?.path ?? join(dirname(shared.catalog.path), slug, basename(shared.catalog.path)),
    },
    // Each account its own folder of local dumps, below the shared one, whatever folder its catalog is in.
    dumps: { ...shared.dumps, localDir: entry.dumps?.localDir ?? join(localDumpDir(shared), slug) },
    stateRoot: entry.stateFolder ?? accountStateRoot(entry.account),
    sharedDataDir: dirname(shared.catalog.path),
  };
}

/** The state folder of an account: its own, or the `state/` of a config of one account. */
const stateFolderOf = (config: Config) => config.stateRoot ?? 'state/';

/** Whether two state folders overlap: the same, or one inside the other's daily/ or weekly/ folder. */
function stateFoldersOverlap(a: string, b: string): boolean {
  const inside = (outer: string, inner: string) => inner.startsWith(`${outer}daily/`) || inner.startsWith(`${outer}weekly/`);
  return a === b || inside(a, b) || inside(b, a);
}

/**
 * Whether one local dump folder sits where the other keeps a dump: in its `weekly/`, a day folder or a partial one
 * (`data/dumps/bo` below `data/dumps` is fine; `data/dumps/weekly` is not).
 */
function dumpFoldersOverlap(a: string, b: string): boolean {
  // The same folder twice is the dumps folder check's to name.
  const inside = (outer: string, inner: string) => {
    const first = relative(outer, inner).split(sep)[0]!;
    if (first === '' || first === '..' || isAbsolute(first)) return false;
    return first === 'weekly' || isDumpDay(first) || first.startsWith('.');
  };
  return inside(a, b) || inside(b, a);
}

/** What must differ between two accounts of a list, so that neither reads or writes the other's. */
const DISTINCT: { key: string; of: (c: Config) => string | undefined }[] = [
  { key: 'account', of: (c) => c.account },
  { key: 'namespace', of: (c) => c.temporal.namespace },
  { key: 'catalog.path', of: (c) => resolve(c.catalog.path) },
  { key: 'dumps folder', of: (c) => resolve(localDumpDir(c)) },
  { key: 'google.refreshTokenEnv', of: (c) => (c.google.clientId ? c.google.refreshTokenEnv : undefined) },
  // Two accounts acting as one user would back up one Drive twice, and the other user's not at all.
  { key: 'google.serviceAccount.subject', of: (c) => c.google.serviceAccount?.subject?.toLowerCase() },
];

/** Each account's config; a list whose accounts would share a catalog, namespace or token is refused, naming them. */
export function resolveAccounts(file: ConfigFile, source = 'config'): Config[] {
  const { account, accounts, ...shared } = file;
  if (account !== undefined) return [{ ...shared, account }];
  const configs = accounts!.map((entry) => accountConfig(shared, entry));
  const problems: string[] = [];
  if (shared.google.serviceAccount?.subject) {
    problems.push('  google.serviceAccount.subject: with accounts, each account names its own (accounts[].google.serviceAccount.subject)');
  }
  if (shared.temporal.namespace !== 'default') {
    problems.push('  temporal.namespace: with accounts, each account has its own (accounts[].namespace, default drive-vault-<account>)');
  }
  configs.forEach((config, i) => {
    const { google } = config;
    if ((google.clientId === undefined) === (google.serviceAccount === undefined)) {
      problems.push(`  accounts.${i}.google: give exactly one of clientId and serviceAccount, here or in the shared google section`);
    } else if (google.serviceAccount && !google.serviceAccount.subject) {
      problems.push(`  accounts.${i}.google.serviceAccount.subject: the user whose Drive account ${config.account} backs up is required`);
    } else if (
      google.serviceAccount &&
      (google.serviceAccount.keyFile === undefined) === (google.serviceAccount.keyFileEnv === undefined)
    ) {
      problems.push(`  accounts.${i}.google.serviceAccount: give exactly one of keyFile and keyFileEnv`);
    }
    for (const { key, of } of DISTINCT) {
      const value = of(config);
      const first = configs.findIndex((other) => of(other) === value);
      if (value !== undefined && first < i)
        problems.push(`  accounts.${i}: ${key} "${value}" is already account ${configs[first]!.account}'s; give each account its own`);
    }
    const dumps = resolve(localDumpDir(config));
    const nested = configs.findIndex((other) => other !== config && dumpFoldersOverlap(resolve(localDumpDir(other)), dumps));
    if (nested !== -1 && nested < i) {
      problems.push(`  accounts.${i}.dumps.localDir: "${dumps}" is where account ${configs[nested]!.account} keeps its own dumps`);
    }
    const overlapping = configs.findIndex((other) => stateFoldersOverlap(stateFolderOf(other), stateFolderOf(config)));
    if (overlapping < i) {
      problems.push(
        `  accounts.${i}.stateFolder: "${stateFolderOf(config)}" overlaps account ${configs[overlapping]!.account}'s "${stateFolderOf(configs[overlapping]!)}"`,
      );
    }
  });
  if (problems.length) throw new ConfigError(`invalid configuration in ${source}:\n${problems.join('\n')}`);
  return configs;
}

/** Every account of a config file (one for a file of one `account`). */
export function loadAccounts(path: string): Config[] {
  return resolveAccounts(parseConfigFile(readConfigFile(path), path), path);
}

/**
 * The account a command acts on: the one named, or the only one. Several and none named is refused, listing them, so
 * that nothing acts on an account nobody chose.
 */
export function selectAccount(configs: Config[], name: string | undefined, source = 'config'): Config {
  const names = configs.map((c) => c.account).join(', ');
  if (name === undefined) {
    if (configs.length === 1) return configs[0]!;
    throw new ConfigError(`${source} lists ${configs.length} accounts (${names}): name one with --account`);
  }
  const config = configs.find((c) => c.account === name);
  if (!config) throw new ConfigError(`no account "${name}" in ${source}; it lists ${names}`);
  return config;
}
