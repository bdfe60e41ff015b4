import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { localDumpDir, stateLayout } from '../activities/dump/dumpLayout';
import { resolveAccounts, selectAccount } from '../common/accounts';
import { type Config, ConfigError, loadConfig, parseConfig, parseConfigFile, secretFromEnv } from '../common/config';
import { createLogger } from '../common/logger';

const minimal = { account: 'me', google: { clientId: 'cid' }, destinations: [{ kind: 'local', name: 'nas', path: '/tmp/x' }] };

test('the example config in the repository is valid and fills defaults', () => {
  const config = loadConfig(join(__dirname, '..', 'config.example.yaml'));
  assert.equal(config.destinations.length, 3);
  assert.equal(config.exportFormats.document[0], 'docx');
  const scw = config.destinations.find((d) => d.name === 'scaleway');
  assert.ok(scw?.kind === 's3' && scw.maxParts === 1000 && scw.forcePathStyle === false);
  assert.equal(config.transfer.stallTimeoutSeconds, 60);
  assert.equal(parseConfig(minimal).transfer.stallTimeoutSeconds, 60, 'the default without a transfer section');
  assert.equal(
    parseConfig({ ...minimal, transfer: { attempts: 3 } }).transfer.stallTimeoutSeconds,
    60,
    'the default beside other transfer keys',
  );
});

test('a section left out gets the defaults a section written empty gets, and the example config documents them', () => {
  const sections = ['scope', 'exportFormats', 'temporal', 'transfer', 'catalog', 'schedules', 'log', 'api'] as const;
  const pick = (config: Config) => Object.fromEntries(sections.map((s) => [s, config[s]]));
  const omitted = pick(parseConfig(minimal));
  assert.deepEqual(pick(parseConfig({ ...minimal, ...Object.fromEntries(sections.map((s) => [s, {}])) })), omitted);
  assert.deepEqual(omitted.temporal, { address: '127.0.0.1:7233', namespace: 'default', webUiUrl: 'http://127.0.0.1:8233/' });
  assert.deepEqual(pick(loadConfig(join(__dirname, '..', 'config.example.yaml'))), omitted);
  const example = loadConfig(join(__dirname, '..', 'config.example.yaml'));
  assert.equal(example.google.maxRequestsPerSecond, parseConfig(minimal).google.maxRequestsPerSecond, 'the pacer default, as documented');
  assert.equal(parseConfig(minimal).catalog.hostId, 'local');
});

test('the four schedules default to DESIGN.md section 4, each on its own, in UTC', () => {
  assert.deepEqual(parseConfig(minimal).schedules, {
    fullSync: { cron: '0 1 * * SUN', timezone: 'UTC' },
    sweep: { every: '5m', timezone: 'UTC' },
    nightlyDump: { cron: '30 2 * * *', timezone: 'UTC' },
    weeklyRollup: { cron: '45 3 * * SUN', timezone: 'UTC' },
  });
  const one = parseConfig({ ...minimal, schedules: { sweep: { cron: '*/10 * * * *', timezone: 'Europe/Paris' } } }).schedules;
  assert.deepEqual(one.sweep, { cron: '*/10 * * * *', timezone: 'Europe/Paris' });
  assert.deepEqual(one.fullSync, parseConfig(minimal).schedules.fullSync, 'the others keep their defaults');
  const intervals = ['30s', '5m', '1h', '1d', '1h30m', '2d12h'].map(
    (every) => parseConfig({ ...minimal, schedules: { nightlyDump: { every } } }).schedules.nightlyDump.every,
  );
  assert.deepEqual(intervals, ['30s', '5m', '1h', '1d', '1h30m', '2d12h']);
  for (const cron of ['@weekly', '0-30/5 1,2 1-15 JAN,MAR mon-fri', '5/10 * * * *', '0 0 * * 7', '59 23 31 12 sat']) {
    assert.equal(parseConfig({ ...minimal, schedules: { fullSync: { cron } } }).schedules.fullSync.cron, cron);
  }
});

test('a schedule that is not exactly one valid cron or interval, in an IANA time zone, is named with what is wrong', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ sweep: { timezone: 'UTC' } }, /schedules\.sweep: give exactly one of cron \(a cron string\) and every \(an interval\)/],
    [{ sweep: { cron: '* * * * *', every: '5m' } }, /schedules\.sweep: give exactly one of cron/],
    [{ sweep: { every: '5' } }, /schedules\.sweep\.every: "5" is not an interval such as 30s, 5m, 1h, 1d or 1h30m/],
    [{ sweep: { every: '0m' } }, /schedules\.sweep\.every: "0m" is not an interval/],
    [{ sweep: { every: '5 minutes' } }, /schedules\.sweep\.every/],
    [{ fullSync: { cron: '0 1 * *' } }, /schedules\.fullSync\.cron: "0 1 \* \*" has 4 fields; a cron string has five: minute hour/],
    [{ fullSync: { cron: '60 1 * * SUN' } }, /schedules\.fullSync\.cron: minute field of "60 1 \* \* SUN": "60" is outside 0-59/],
    [{ fullSync: { cron: '0 24 * * *' } }, /hour field of "0 24 \* \* \*": "24" is outside 0-23/],
    [{ fullSync: { cron: '0 1 0 * *' } }, /day of month field .*"0" is outside 1-31/],
    [{ fullSync: { cron: '0 1 * 13 *' } }, /month field .*"13" is outside 1-12 or JAN-DEC/],
    [{ fullSync: { cron: '0 1 * * SUNDAY' } }, /day of week field .*"SUNDAY" is outside 0-7 or SUN-SAT/],
    [{ fullSync: { cron: '0 5-1 * * *' } }, /the range "5-1" ends before it starts/],
    [{ fullSync: { cron: '*/0 * * * *' } }, /the step in "\*\/0" must be at least 1/],
    [{ fullSync: { cron: '0 1 * * MON-' } }, /"MON-" is not a value, a range/],
    [{ fullSync: { cron: '@every 5m' } }, /an interval goes in "every"/],
    [{ fullSync: { cron: 'CRON_TZ=Europe/Paris 0 1 * * *' } }, /give the time zone in "timezone"/],
    [{ fullSync: { cron: '@fortnightly' } }, /unknown shorthand "@fortnightly"/],
    [
      { fullSync: { cron: '0 1 * * *', timezone: 'Mars/Olympus' } },
      /schedules\.fullSync\.timezone: "Mars\/Olympus" is not an IANA time zone name/,
    ],
    [{ fullSync: { cron: '0 1 * * *', timezone: 'europe/paris' } }, /time zone names are case-sensitive: "Europe\/Paris"/],
    [{ fullSync: { cron: '0 1 * * *', timezone: '+02:00' } }, /schedules\.fullSync\.timezone/],
    [{ hourly: { every: '1h' } }, /schedules\.hourly: unknown key/],
  ];
  for (const [schedules, message] of cases) assert.throws(() => parseConfig({ ...minimal, schedules }), message, JSON.stringify(schedules));
});

test('an unknown key stops start-up with a message that names it', () => {
  assert.throws(
    () => parseConfig({ ...minimal, scope: { sharedDrive: true } }, 'my.yaml'),
    (err: Error) => err instanceof ConfigError && /my\.yaml/.test(err.message) && /scope\.sharedDrive: unknown key/.test(err.message),
  );
  assert.throws(() => parseConfig({ ...minimal, colour: 'red' }), /colour: unknown key/);
});

test('a bad value names the key and what is expected', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ ...minimal, destinations: [] }, /destinations: at least one destination is needed/],
    [{ ...minimal, destinations: [{ kind: 's3', name: 'aws' }] }, /destinations\.0\.bucket/],
    [{ ...minimal, destinations: [{ kind: 'ftp', name: 'x' }] }, /destinations\.0\.kind/],
    [{ ...minimal, destinations: [{ kind: 's3', name: 'aws', bucket: 'b', maxParts: 20000 }] }, /destinations\.0\.maxParts/],
    [
      { ...minimal, destinations: [{ kind: 's3', name: 'aws', bucket: 'b', prefix: '../up' }] },
      /destinations\.0\.prefix: no leading "\/" and no "\.\." segment/,
    ],
    [{ ...minimal, destinations: [minimal.destinations[0], minimal.destinations[0]] }, /destination names must be unique/],
    [{ ...minimal, exportFormats: { document: ['doc'] } }, /exportFormats\.document\.0/],
    [{ ...minimal, account: 'a/b' }, /account: no "\/"/],
    [{ ...minimal, transfer: { stallTimeoutSeconds: 0 } }, /transfer\.stallTimeoutSeconds/],
    [{ ...minimal, transfer: { maxTaskQueueActivitiesPerSecond: 0 } }, /transfer\.maxTaskQueueActivitiesPerSecond/],
    [{ ...minimal, catalog: { hostId: 'NAS_1' } }, /catalog\.hostId: lowercase letters, digits and dashes/],
    [{ ...minimal, google: { clientId: 'cid', maxRequestsPerSecond: -1 } }, /google\.maxRequestsPerSecond/],
    [{ ...minimal, api: { listen: '8080' } }, /api\.listen: host:port/],
    [{ ...minimal, api: { listen: 'localhost:70000' } }, /api\.listen/],
    [{ ...minimal, api: { restoreRoot: 'restores' } }, /api\.restoreRoot: an absolute path/],
    [{ ...minimal, api: { rateLimitPerMinute: -1 } }, /api\.rateLimitPerMinute/],
  ];
  for (const [raw, message] of cases) assert.throws(() => parseConfig(raw), message);
  assert.equal(parseConfig({ ...minimal, api: { listen: '[::1]:8080' } }).api.listen, '[::1]:8080');
});

test('the Google account is an OAuth client or a service account with a subject, exactly one', () => {
  const oauth = parseConfig(minimal).google;
  assert.deepEqual(
    [oauth.clientId, oauth.refreshTokenEnv, oauth.tokenKeyEnv, oauth.authUrl, oauth.serviceAccount],
    ['cid', 'GOOGLE_REFRESH_TOKEN', 'DRIVE_VAULT_TOKEN_KEY', 'https://accounts.google.com/o/oauth2/v2/auth', undefined],
    'a config of before keeps its meaning',
  );
  const sa = { keyFile: '/etc/drive-vault/sa.json', subject: 'ana@example.org' };
  assert.deepEqual(parseConfig({ ...minimal, google: { serviceAccount: sa } }).google.serviceAccount, sa);
  const viaEnv = { keyFileEnv: 'SA_KEY', subject: 'ana@example.org' };
  assert.deepEqual(parseConfig({ ...minimal, google: { serviceAccount: viaEnv } }).google.serviceAccount, viaEnv);
  const exactlyOne = /google: give exactly one of clientId \(an OAuth client, for a personal account\) and serviceAccount/;
  const cases: Array<[unknown, RegExp]> = [
    [{ clientId: 'cid', serviceAccount: sa }, exactlyOne],
    [{}, exactlyOne],
    [{ serviceAccount: { ...sa, keyFileEnv: 'SA_KEY' } }, /google\.serviceAccount: give exactly one of keyFile and keyFileEnv/],
    [{ serviceAccount: { keyFile: 'sa.json' } }, /google\.serviceAccount\.subject/],
    [{ serviceAccount: { ...sa, subject: 'ana' } }, /google\.serviceAccount\.subject/],
    [{ serviceAccount: { ...sa, user: 'x' } }, /google\.serviceAccount\.user: unknown key/],
    [{ clientId: 'cid', authUrl: 'not a url' }, /google\.authUrl/],
  ];
  for (const [google, message] of cases) assert.throws(() => parseConfig({ ...minimal, google }), message, JSON.stringify(google));
});

test('a config file that is missing or not YAML says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
  assert.throws(() => loadConfig(join(dir, 'nope.yaml')), /cannot read config file/);
  writeFileSync(join(dir, 'bad.yaml'), 'account: [unclosed');
  assert.throws(() => loadConfig(join(dir, 'bad.yaml')), /not valid YAML/);
  writeFileSync(join(dir, 'ok.json'), JSON.stringify(minimal));
  assert.equal(loadConfig(join(dir, 'ok.json')).account, 'me');
});

test('a secret comes from the environment variable the config names, and a missing one is named', () => {
  assert.equal(secretFromEnv('DV_TEST_SECRET', { DV_TEST_SECRET: 's3cr3t' }), 's3cr3t');
  assert.throws(() => secretFromEnv('DV_TEST_SECRET', {}), /DV_TEST_SECRET is not set/);
});

test('logs are one JSON event per line with secrets redacted', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'info' }, sink);
  logger.info(
    {
      workflowId: 'wf-1',
      fileId: 'f1',
      credentials: { secretAccessKey: 'AKIA-SECRET' },
      refresh_token: 'rt-secret',
      headers: { authorization: 'Bearer ya29.x' },
    },
    'uploaded',
  );
  assert.equal(lines.length, 1);
  const event = JSON.parse(lines[0]);
  assert.equal(event.workflowId, 'wf-1');
  assert.equal(event.msg, 'uploaded');
  assert.equal(event.credentials.secretAccessKey, '[redacted]');
  assert.equal(event.refresh_token, '[redacted]');
  assert.equal(event.headers.authorization, '[redacted]');
  assert.doesNotMatch(lines[0], /AKIA-SECRET|rt-secret|ya29/);
});

test('a config of several accounts gives each its own catalog, namespace, state folder and Google settings', () => {
  const sa = { keyFile: '/etc/drive-vault/sa.json' };
  const file = parseConfigFile({
    accounts: [
      { account: 'Ana@Example.org', google: { serviceAccount: { subject: 'ana@example.org' } } },
      { account: 'bo', google: { serviceAccount: { subject: 'bo@example.org' } }, namespace: 'bo-backup', catalog: { path: '/srv/bo.db' } },
    ],
    google: { serviceAccount: sa },
    catalog: { path: 'data/catalog.db' },
    dumps: { localDir: '/var/dumps' },
    destinations: minimal.destinations,
  });
  const [ana, bo] = resolveAccounts(file);
  assert.deepEqual(
    [ana!.account, ana!.temporal.namespace, ana!.catalog.path, ana!.stateRoot, ana!.dumps.localDir, ana!.google.serviceAccount],
    [
      'Ana@Example.org',
      'drive-vault-ana-example-org',
      'data/ana-example-org/catalog.db',
      'state/Ana@Example.org/',
      '/var/dumps/ana-example-org',
      { ...sa, subject: 'ana@example.org' },
    ],
  );
  assert.deepEqual([bo!.temporal.namespace, bo!.catalog.path, bo!.stateRoot], ['bo-backup', '/srv/bo.db', 'state/bo/']);
  assert.equal(bo!.destinations, ana!.destinations, 'destinations are shared');
  // A label with no ASCII letter or digit still names its defaults, by a hash of it.
  const [, other] = resolveAccounts(
    parseConfigFile({ ...minimal, account: undefined, accounts: [{ account: 'me' }, { account: 'Ёжик' }] }),
  );
  assert.match(other!.temporal.namespace, /^drive-vault-account-[0-9a-f]{12}$/);
  assert.match(other!.google.refreshTokenEnv, /^GOOGLE_REFRESH_TOKEN_ACCOUNT_[0-9A-F]{12}$/);
  const [only] = resolveAccounts(parseConfigFile(minimal));
  assert.deepEqual(
    [only!.account, only!.stateRoot, only!.temporal.namespace, only!.catalog.path],
    ['me', undefined, 'default', 'data/catalog.db'],
  );

  assert.throws(() => parseConfig(file), /lists 2 accounts \(Ana@Example\.org, bo\): name one with --account/);
  assert.equal(selectAccount([ana!, bo!], 'bo'), bo);
  assert.equal(selectAccount([only!], undefined), only);
  assert.throws(() => selectAccount([ana!, bo!], undefined), /lists 2 accounts \(Ana@Example\.org, bo\): name one with --account/);
  assert.throws(() => selectAccount([ana!, bo!], 'cy'), /no account "cy" in config; it lists Ana@Example\.org, bo/);
});

test('accounts that would share a catalog, a namespace or a refresh token are refused, naming them', () => {
  const base = { google: { clientId: 'cid' }, destinations: minimal.destinations };
  const oauth = resolveAccounts(parseConfigFile({ ...base, accounts: [{ account: 'ana' }, { account: 'bo' }] }));
  assert.deepEqual(
    oauth.map((c) => c.google.refreshTokenEnv),
    ['GOOGLE_REFRESH_TOKEN_ANA', 'GOOGLE_REFRESH_TOKEN_BO'],
    'each OAuth account reads its own refresh token',
  );
  const cases: Array<[unknown[], RegExp]> = [
    [[{ account: 'ana' }, { account: 'ana' }], /accounts\.1: account "ana" is already account ana's/],
    [[{ account: 'Ana' }, { account: 'ana' }], /accounts\.1: namespace "drive-vault-ana" is already account Ana's/],
    [
      [
        { account: 'ana', catalog: { path: 'x.db' } },
        { account: 'bo', catalog: { path: 'x.db' } },
      ],
      /accounts\.1: catalog\.path "\/.*\/x\.db" is already account ana's/,
    ],
    [
      [
        { account: 'ana', google: { refreshTokenEnv: 'T' } },
        { account: 'bo', google: { refreshTokenEnv: 'T' } },
      ],
      /accounts\.1: google\.refreshTokenEnv "T"/,
    ],
    [
      [{ account: 'ana', google: { serviceAccount: { subject: 'ana@example.org' } } }],
      /accounts\.0\.google: give exactly one of clientId and serviceAccount/,
    ],
    [[{ account: 'ana', namespace: 'Has Space' }], /accounts\.0\.namespace/],
    [[{ account: 'ana', hostId: 'x' }], /accounts\.0\.hostId: unknown key/],
  ];
  for (const [accounts, message] of cases) {
    assert.throws(() => resolveAccounts(parseConfigFile({ ...base, accounts })), message, JSON.stringify(accounts));
  }
  assert.throws(
    () => parseConfigFile({ ...base, account: 'me', accounts: [{ account: 'ana' }] }),
    /give exactly one of account .* and accounts/,
  );
  assert.throws(() => parseConfigFile(base), /give exactly one of account .* and accounts/);
  for (const label of ['.', '..', 'a/b', 'a\\b', 'tab\there']) {
    assert.throws(() => parseConfigFile({ ...base, account: label }), /account: (not "\." or "\.\."|no "\/", "\\" or control)/, label);
    assert.throws(() => parseConfigFile({ ...base, accounts: [{ account: label }] }), /accounts\.0\.account/, label);
  }
  const sa = (subject: string) => ({ google: { serviceAccount: { subject } } });
  const saShared = { ...base, google: { serviceAccount: { keyFile: 'sa.json' } } };
  const refused = (file: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => resolveAccounts(parseConfigFile(file)), message, JSON.stringify(file));
  // Found by a cold review: a subject in the shared section made every account back up that one user's Drive.
  refused(
    {
      ...saShared,
      google: { serviceAccount: { keyFile: 'sa.json', subject: 'ana@example.org' } },
      accounts: [{ account: 'ana' }, { account: 'bo' }],
    },
    /google\.serviceAccount\.subject: with accounts, each account names its own/,
  );
  refused(
    {
      ...saShared,
      accounts: [
        { account: 'ana', ...sa('ana@example.org') },
        { account: 'bo', ...sa('Ana@example.org') },
      ],
    },
    /accounts\.1: google\.serviceAccount\.subject "ana@example\.org" is already account ana's/,
  );
  refused(
    { ...base, temporal: { namespace: 'backup' }, accounts: [{ account: 'ana' }] },
    /temporal\.namespace: with accounts, each account has its own/,
  );
  // Found by a cold review: two catalogs in one folder shared its dumps/ folder, and one account's dump replaced the other's.
  const sameFolder = resolveAccounts(
    parseConfigFile({
      ...base,
      accounts: [
        { account: 'ana', catalog: { path: 'data/catalog.db' } },
        { account: 'bo', catalog: { path: 'data/bo.db' } },
      ],
    }),
  );
  assert.deepEqual(
    sameFolder.map((c) => c.dumps.localDir),
    ['data/dumps/ana', 'data/dumps/bo'],
  );
  // README's recipe for a one-account config moved into a list: its catalog, namespace, token and dumps stay where they were.
  const [single] = resolveAccounts(parseConfigFile({ ...base, account: 'me' }));
  const [kept] = resolveAccounts(
    parseConfigFile({
      ...base,
      accounts: [
        {
          account: 'me',
          catalog: { path: 'data/catalog.db' },
          namespace: 'default',
          google: { refreshTokenEnv: 'GOOGLE_REFRESH_TOKEN' },
          stateFolder: 'state/',
          dumps: { localDir: 'data/dumps' },
        },
        { account: 'bo' },
      ],
    }),
  );
  const kept4 = (c: Config) => [
    c.catalog.path,
    c.temporal.namespace,
    c.google.refreshTokenEnv,
    stateLayout(c).dailyKey('2026-11-25', 'x'),
    localDumpDir(c),
  ];
  assert.deepEqual(kept4(kept!), kept4(single!));
  // Labels whose defaults would collide are told apart by what each names for itself.
  const alike = resolveAccounts(
    parseConfigFile({
      ...base,
      accounts: [
        { account: 'john.smith@corp.com' },
        {
          account: 'john_smith@corp.com',
          namespace: 'john-2',
          catalog: { path: 'data/john-2.db' },
          dumps: { localDir: 'data/dumps/john-2' },
          google: { refreshTokenEnv: 'JOHN_2_REFRESH_TOKEN' },
        },
      ],
    }),
  );
  assert.deepEqual(
    alike.map((c) => c.dumps.localDir),
    ['data/dumps/john-smith-corp-com', 'data/dumps/john-2'],
  );
  refused(
    { ...base, accounts: [{ account: 'ana', stateFolder: 'drive/ana/' }] },
    /accounts\.0\.stateFolder: not in drive\/, photos\/ or \.trash\//,
  );
  // A dump folder may sit below another account's (the recipe's data/dumps/bo), never in its weekly/ or a day folder.
  refused(
    { ...base, accounts: [{ account: 'me', dumps: { localDir: 'data/dumps' } }, { account: 'weekly' }] },
    /accounts\.1\.dumps\.localDir: ".*data\/dumps\/weekly" is where account me keeps its own dumps/,
  );
  refused(
    {
      ...base,
      accounts: [
        { account: 'me', dumps: { localDir: 'data/dumps/2026-11-25' } },
        { account: 'bo', dumps: { localDir: 'data/dumps' } },
      ],
    },
    /accounts\.1\.dumps\.localDir: ".*data\/dumps" is where account me keeps its own dumps/,
  );
  const recipe = resolveAccounts(
    parseConfigFile({ ...base, accounts: [{ account: 'me', dumps: { localDir: 'data/dumps' } }, { account: 'bo' }] }),
  );
  assert.deepEqual(
    recipe.map((c) => c.dumps.localDir),
    ['data/dumps', 'data/dumps/bo'],
  );
  // An account moved into a list may keep the state/ folder of its one-account config; no two may share or nest theirs.
  const moved = resolveAccounts(parseConfigFile({ ...base, accounts: [{ account: 'ana', stateFolder: 'state/' }, { account: 'bo' }] }));
  assert.deepEqual(
    moved.map((c) => c.stateRoot),
    ['state/', 'state/bo/'],
  );
  refused(
    {
      ...base,
      accounts: [
        { account: 'ana', stateFolder: 'state/' },
        { account: 'bo', stateFolder: 'state/' },
      ],
    },
    /accounts\.1\.stateFolder: "state\/" overlaps account ana's "state\/"/,
  );
  refused(
    {
      ...base,
      accounts: [
        { account: 'ana', stateFolder: 'state/' },
        { account: 'bo', stateFolder: 'state/daily/bo/' },
      ],
    },
    /accounts\.1\.stateFolder: "state\/daily\/bo\/" overlaps/,
  );
  refused({ ...base, accounts: [{ account: 'ana', stateFolder: '/abs' }] }, /accounts\.0\.stateFolder/);
  assert.throws(
    () => resolveAccounts(parseConfigFile({ ...saShared, accounts: [{ account: 'ana' }] })),
    /accounts\.0\.google\.serviceAccount\.subject/,
  );
});
