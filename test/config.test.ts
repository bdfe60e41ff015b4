import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { type Config, ConfigError, loadConfig, parseConfig, secretFromEnv } from '../common/config';
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
  const sections = ['scope', 'exportFormats', 'temporal', 'transfer', 'catalog', 'log'] as const;
  const pick = (config: Config) => Object.fromEntries(sections.map((s) => [s, config[s]]));
  const omitted = pick(parseConfig(minimal));
  assert.deepEqual(pick(parseConfig({ ...minimal, ...Object.fromEntries(sections.map((s) => [s, {}])) })), omitted);
  assert.deepEqual(omitted.temporal, { address: '127.0.0.1:7233', namespace: 'default', webUiUrl: 'http://127.0.0.1:8233/' });
  assert.deepEqual(pick(loadConfig(join(__dirname, '..', 'config.example.yaml'))), omitted);
  const example = loadConfig(join(__dirname, '..', 'config.example.yaml'));
  assert.equal(example.google.maxRequestsPerSecond, parseConfig(minimal).google.maxRequestsPerSecond, 'the pacer default, as documented');
  assert.equal(parseConfig(minimal).catalog.hostId, 'local');
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
  ];
  for (const [raw, message] of cases) assert.throws(() => parseConfig(raw), message);
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
