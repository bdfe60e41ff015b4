import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deepVerifyFoundProblems, formatDeepVerifySummary } from '../api/verifyRuns';
import { checkDestinationName, parseSamplePercent } from '../cli/commands/verify';
import { parseCommandLine } from '../cli/main';
import { UsageError } from '../cli/usageError';
import { parseConfig } from '../common/config';
import type { DeepVerifySummary } from '../common/types';
import { runCli } from './support/cli';

const tmp = mkdtempSync(join(tmpdir(), 'drive-vault-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const env = {};

test('verify --deep reads the sample, the destination, --wait and --json', () => {
  assert.deepEqual(parseCommandLine(['verify', '--deep', '--sample', '5%', '--destination', 'nas', '--wait', '--json'], env), {
    kind: 'verify-deep',
    config: 'config.yaml',
    wait: true,
    json: true,
    samplePercent: 5,
    destination: 'nas',
  });
  assert.deepEqual(parseCommandLine(['verify', '--deep', '--config', 'c.yaml'], env), {
    kind: 'verify-deep',
    config: 'c.yaml',
    wait: false,
    json: false,
    samplePercent: undefined,
    destination: undefined,
  });
  assert.deepEqual(parseCommandLine(['sync', 'full', '--wait'], env), {
    kind: 'sync-full',
    config: 'config.yaml',
    wait: true,
    json: false,
  });
});

test('a sample is a percentage above 0 and up to 100, with or without its sign', () => {
  assert.equal(parseSamplePercent('5%'), 5);
  assert.equal(parseSamplePercent('2.5%'), 2.5);
  assert.equal(parseSamplePercent('100'), 100);
  for (const bad of ['0%', '0', '101%', '-5%', 'five', '5%%', '', '1e2', '%']) {
    assert.throws(() => parseSamplePercent(bad), UsageError, bad);
  }
});

test('a command line that cannot run is a usage error naming what is wrong', () => {
  const cases: Array<[string[], RegExp]> = [
    [['verify'], /verify needs --deep/],
    [['verify', '--deep', '--sample', '0%'], /--sample takes a percentage above 0 and up to 100/],
    [['verify', '--deep', '--sample'], /--sample/],
    [['verify', '--deep', '--destination', ''], /--destination needs a name/],
    [['sync', 'full', '--sample', '5%'], /unknown option '--sample'/],
    [['verify', '--deep', '--fast'], /unknown option '--fast'/],
    [['rewind'], /unknown command 'rewind'/],
    [[], /no command given/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseCommandLine(argv, env), { name: 'UsageError', message }, argv.join(' '));
});

test('--destination must name a configured destination', () => {
  const config = parseConfig({
    account: 'a',
    google: { clientId: 'c' },
    destinations: [
      { kind: 'local', name: 'nas', path: '/backup' },
      { kind: 's3', name: 'aws', bucket: 'bucket' },
    ],
  });
  assert.doesNotThrow(() => checkDestinationName(config, 'aws'));
  assert.doesNotThrow(() => checkDestinationName(config, undefined));
  assert.throws(() => checkDestinationName(config, 'eu'), {
    name: 'UsageError',
    message: '--destination eu: the config has no such destination; it has nas, aws',
  });
});

test('the CLI exits with 2 and says why on a bad percentage or an unknown destination, before reaching Temporal', async () => {
  const configPath = join(tmp, 'config.yaml');
  // No Temporal listens there: a usage error must be found before connecting.
  writeFileSync(
    configPath,
    [
      'account: a',
      'google: { clientId: c }',
      'temporal: { address: "127.0.0.1:1" }',
      'destinations:',
      '  - { kind: local, name: nas, path: /backup }',
    ].join('\n'),
  );
  const badSample = await runCli(['verify', '--deep', '--sample', '150%', '--config', configPath]);
  assert.equal(badSample.status, 2);
  assert.match(badSample.stderr, /--sample takes a percentage above 0 and up to 100, such as 5%; "150%" is not one/);
  assert.match(badSample.stderr, /Usage: drive-vault verify --deep/);
  const unknown = await runCli(['verify', '--deep', '--destination', 'eu', '--config', configPath]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--destination eu: the config has no such destination; it has nas/);
  assert.equal(unknown.stdout, '');
});

const deepSummary = (over: Partial<DeepVerifySummary>): DeepVerifySummary => ({
  how: 'deep',
  workflowId: 'deep-verify-1',
  startedAt: '2026-01-01T00:00:00.000Z',
  destinations: ['aws', 'nas'],
  samplePercent: 5,
  objectsInScope: 2000,
  objectsChosen: 100,
  withinRuns: 20,
  seconds: 12.34,
  perDestination: {
    aws: { verified: 49, mismatched: 1, unverified: 0, bytesRead: 3 * 1024 ** 2 },
    nas: { verified: 0, mismatched: 0, unverified: 50, bytesRead: 0 },
  },
  degraded: ['nas'],
  ...over,
});
const line = (text: string, label: string) => text.split('\n').find((l) => l.trimStart().startsWith(label));

test('the deep verification summary gives each destination its counts and bytes, and says what happens next', () => {
  const text = formatDeepVerifySummary(deepSummary({}), 'http://ui/d');
  assert.match(
    text.split('\n')[0],
    /^deep verify deep-verify-1: a 5% sample \(every object read back within 20 such runs\), downloaded and re-hashed/,
  );
  assert.equal(line(text, 'objects'), '  objects   100 chosen of 2000 on aws, nas');
  assert.equal(line(text, 'aws'), '  aws       49 verified, 1 mismatched, 0 unverified, 3.0 MiB read');
  assert.equal(line(text, 'nas'), '  nas       0 verified, 0 mismatched, 50 unverified, 0.0 MiB read');
  assert.equal(line(text, 'degraded'), '  degraded  nas');
  assert.match(text, /the next full sync writes them again/);
  assert.match(text, /stay first in line for the next deep verification/);
  assert.equal(deepVerifyFoundProblems(deepSummary({})), true);

  const clean = deepSummary({
    samplePercent: null,
    perDestination: { aws: { verified: 2000, mismatched: 0, unverified: 0, bytesRead: 0 } },
    degraded: [],
  });
  const cleanText = formatDeepVerifySummary(clean, 'http://ui/d');
  assert.match(cleanText, /: every object, downloaded/);
  assert.equal(line(cleanText, 'degraded'), '  degraded  none');
  assert.doesNotMatch(cleanText, /writes them again|first in line/);
  assert.equal(deepVerifyFoundProblems(clean), false);
});
