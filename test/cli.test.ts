import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import type { Command } from 'commander';
import { fullSyncProgressView } from '../cli/commands/sync';
import { ensureTemporal } from '../cli/embeddedStack';
import { COMMAND_GROUPS } from '../cli/main';
import { buildProgram } from '../cli/program';
import { ProgressMeter, formatProgress, showProgress } from '../cli/progress';
import { TemporalUnreachableError } from '../cli/temporal';
import { Catalog } from '../activities/catalog/catalog';
import { parseConfig } from '../common/config';
import { emptyFullSyncTotals } from '../common/types';
import type { FullSyncSummary } from '../common/types';
import { freePort } from '../scripts/launchers/tiedProcess';
import { bytesContent } from './drive-emulator/content';
import { runCli, runInstalledCli } from './support/cli';
import { type Stack, recordProcessGroups, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker, testLogger } from './support/worker';

// Issue 13 section 4: the drive-vault CLI on commander.
const repoRoot = resolve(__dirname, '..');
const MiB = 1024 * 1024;
let stack: Stack;
let worker: RunningWorker | undefined;
const FILES = 5;

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  for (let i = 0; i < FILES; i++)
    await stack.emulator!.store.addFile({ name: `cli-${i}.txt`, content: bytesContent(`file ${i}\n`.repeat(100)) });
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const cliEnv = () => ({ ...process.env, ...stackEnv(stack) });

/** A config file whose Temporal address nothing listens on. */
function unreachableConfig(name: string): string {
  const path = join(stack.tmp, name);
  writeFileSync(
    path,
    [
      'account: a',
      'google: { clientId: c }',
      'temporal: { address: "127.0.0.1:1" }',
      'destinations:',
      '  - { kind: local, name: nas, path: /b }',
    ].join('\n'),
  );
  return path;
}

test('--help lists every command and the exit codes; a group lists its commands', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.status, 0, help.stderr);
  for (const name of ['start', 'worker', 'demo', 'sync', 'dump', 'rollup', 'verify', 'restore', 'schedules', 'catalog', 'recover']) {
    assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  }
  assert.match(help.stdout, /^Exit codes/m);
  for (const code of ['0  done', '1  an error', '2  a bad command line', '3  finished with problems', '4  Temporal does not answer']) {
    assert.match(help.stdout, new RegExp(`^  ${code}`, 'm'), code);
  }
  const sync = await runCli(['sync', '--help']);
  assert.match(sync.stdout, /^ {2}full \[options\]/m);
  assert.match(sync.stdout, /^ {2}sweep \[options\]/m);
  const schedules = await runCli(['help', 'schedules']);
  for (const verb of ['list', 'pause', 'resume', 'trigger']) assert.match(schedules.stdout, new RegExp(`^  ${verb}\\b`, 'm'), verb);
});

/** Every command of the program that runs something (no group of commands), with its path. */
function leafCommands(cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  if (cmd.commands.length === 0) return [{ path: path.join(' '), cmd }];
  return cmd.commands.flatMap((sub) => leafCommands(sub, [...path, sub.name()]));
}

test('every command that prints results takes --json, and every command that starts a run takes --wait', () => {
  const leaves = leafCommands(buildProgram(COMMAND_GROUPS, { env: {}, cwd: '/' }));
  const has = (cmd: Command, flag: string) => cmd.options.some((o) => o.long === flag);
  const services = ['start', 'worker', 'api', 'demo'];
  const runs = ['sync full', 'sync sweep', 'dump', 'rollup', 'verify', 'restore'];
  assert.deepEqual(leaves.map((l) => l.path).sort(), [
    'api',
    'auth',
    'catalog restore',
    'demo',
    'dump',
    'failures',
    'recover',
    'restore',
    'rollup',
    'schedules list',
    'schedules pause',
    'schedules resume',
    'schedules trigger',
    'start',
    'status',
    'sync full',
    'sync sweep',
    'verify',
    'worker',
  ]);
  for (const { path, cmd } of leaves) {
    assert.equal(has(cmd, '--json'), !services.includes(path), `${path} --json`);
    assert.equal(has(cmd, '--wait'), runs.includes(path), `${path} --wait`);
  }
});

test('a bad command line exits 2 naming the problem, and prints nothing on stdout', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /drive-vault: no command given/],
    [['rewind'], /drive-vault: unknown command 'rewind'/],
    [['sync'], /drive-vault: sync needs a command: full, sweep/],
    [['sync', 'full', '--fast'], /drive-vault: unknown option '--fast'/],
    [['--config'], /drive-vault: option '--config <file>' argument missing/],
    [['worker', '--role', 'bogus'], /argument 'bogus' is invalid\. Allowed choices are all, transfer, catalog/],
    [['restore', '--from', 'aws'], /drive-vault: restore needs --to DIR/],
    [['schedules', 'trigger', 'hourly'], /value 'hourly' is invalid for argument 'NAME'/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  });
});

test('Temporal not answering exits 4, naming its address', async () => {
  const configPath = unreachableConfig('unreachable.yaml');
  const results = await Promise.all([
    runCli(['sync', 'full', '--config', configPath]),
    runCli(['schedules', 'list', '--json', '--config', configPath]),
    // The worker too (it exited 1 with the native client's transport error: cold review).
    runCli(['worker', '--config', configPath]),
  ]);
  for (const r of results) {
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /drive-vault: Temporal at 127\.0\.0\.1:1 does not answer/);
    assert.equal(r.stdout, '');
  }
});

test('the installed launcher runs from any directory through a link, reading a relative --config there', async () => {
  const linkDir = join(stack.tmp, 'global-bin');
  const workDir = join(stack.tmp, 'somewhere');
  mkdirSync(linkDir);
  mkdirSync(workDir);
  // As `npm link` or `npm install -g` installs a bin: a link to bin/drive-vault.
  symlinkSync(join(repoRoot, 'bin', 'drive-vault'), join(linkDir, 'drive-vault'));
  writeFileSync(join(workDir, 'mine.yaml'), 'account: a\n');
  const launcher = join(linkDir, 'drive-vault');
  const help = await runInstalledCli(launcher, ['--help'], { cwd: workDir });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: drive-vault /);
  const config = await runInstalledCli(launcher, ['sync', 'full', '--config', 'mine.yaml'], { cwd: workDir });
  assert.equal(config.status, 1, config.stderr);
  assert.match(config.stderr, /mine\.yaml/);
  assert.doesNotMatch(config.stderr, /cannot read config file/, "the file was found in the caller's directory");
  assert.match(config.stderr, /destinations/, 'and read: its missing destinations are named');
});

const transferTotals = { ...emptyFullSyncTotals(), listed: 10, filesSynced: 3, filesFailed: 1, bytes: 2 * MiB };

test("a run's progress is one line: step, bar, counts, MiB, rate, ETA, failures", () => {
  assert.equal(
    formatProgress(
      fullSyncProgressView({
        runId: 'r',
        phase: 'transfer',
        totals: transferTotals,
        pending: { files: 4, bytes: 2 * MiB },
        rate: { filesPerSecond: 1, bytesPerSecond: MiB },
      }),
    ),
    'transfer · [############------------]  50% · 4/8 files · 2.0/4.0 MiB · 1.0 MiB/s · ETA 0:02 · 1 failed',
  );
  assert.equal(
    formatProgress(
      fullSyncProgressView({
        runId: 'r',
        phase: 'list',
        totals: { ...emptyFullSyncTotals(), listed: 120 },
        pending: { files: 0, bytes: 0 },
        rate: { filesPerSecond: 0, bytesPerSecond: 0 },
      }),
    ),
    'list · 0 files · 0.0 MiB · -- MiB/s · 120 listed',
  );
  // A run that reports no rate (a sweep, a deep verification) is measured between looks, from the first one on.
  const meter = new ProgressMeter();
  const first = meter.measure({ unit: 'objects', done: 0, total: 100, bytesDone: 0 }, 0);
  assert.equal(first.bytesPerSecond, null);
  assert.equal(first.etaSeconds, null);
  const later = meter.measure({ unit: 'objects', done: 25, total: 100, bytesDone: 10 * MiB }, 5_000);
  assert.equal(later.bytesPerSecond, 2 * MiB);
  assert.equal(later.etaSeconds, 15, 'the 75 objects left, at the 5 objects a second seen');
  assert.equal(formatProgress(later), '[######------------------]  25% · 25/100 objects · 10.0 MiB · 2.0 MiB/s · ETA 0:15');
});

/** Whether `output` moves the cursor, as a line redrawn in place does. */
const moves = (output: string) => output.includes('\r') || output.includes('\x1b');

/** Shows a run that reports three steps of progress and finishes with the third; returns what was written to `stream`. */
async function progressShown(stream: PassThrough, json: boolean): Promise<string> {
  let written = '';
  stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  let looks = 0;
  const query = async () => {
    if (++looks === 3) setImmediate(finish);
    return {
      unit: 'files',
      done: looks,
      total: 3,
      bytesDone: looks * MiB,
      bytesTotal: 3 * MiB,
      bytesPerSecond: MiB,
      etaSeconds: 3 - looks,
    };
  };
  const shown = showProgress({ query, waiting: 'waiting', done, json, stream, pollMs: 5, logLineMs: 0 });
  // Shown at all, it looks three times; not shown (a log under --json), it never asks.
  await Promise.race([done, shown.then(() => assert.equal(looks, 0))]);
  finish();
  await shown;
  return written;
}

test('--wait draws its progress in place on a terminal, as plain lines in a log, and keeps a --json log clean', async () => {
  const log = await progressShown(new PassThrough(), false);
  assert.ok(!moves(log), 'no cursor movement in a log');
  const lines = log.trimEnd().split('\n');
  assert.ok(lines.length >= 3, log);
  assert.equal(lines[0], '[########----------------]  33% · 1/3 files · 1.0/3.0 MiB · 1.0 MiB/s · ETA 0:02');
  assert.equal(await progressShown(new PassThrough(), true), '', 'stdout and stderr may share the log: only the JSON is written');

  const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 40 });
  const drawn = await progressShown(terminal, true);
  assert.ok(
    drawn.startsWith('\r[########----------------]  33% · 1/3 f\x1b[K\r'),
    `redrawn in place, cut to the width: ${JSON.stringify(drawn)}`,
  );
  assert.ok(drawn.endsWith('\r\x1b[K'), 'the line is cleared once the run is done');
  assert.doesNotMatch(drawn, /\n/);
});

test('start uses the Temporal that answers, and starts none on an address of another machine', async () => {
  const config = (address: string) =>
    parseConfig({
      account: 'a',
      google: { clientId: 'c' },
      temporal: { address },
      destinations: [{ kind: 'local', name: 'n', path: '/b' }],
    });
  const said: string[] = [];
  assert.equal(await ensureTemporal([config(stack.temporal!.address)], (l) => said.push(l)), undefined);
  assert.deepEqual(said, [`Temporal at ${stack.temporal!.address} answers: using it`]);
  await assert.rejects(
    ensureTemporal([config('temporal.invalid:7233')], () => undefined),
    (err: Error) => {
      assert.ok(err instanceof TemporalUnreachableError);
      assert.match(err.message, /Temporal at temporal\.invalid:7233 does not answer, and start runs its own only on this machine/);
      return true;
    },
  );
});

/** Resolves with the child's stderr once it matches `ready`; rejects if the child exits or `timeoutMs` passes first. */
function waitForOutput(child: ChildProcess, ready: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolveReady, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolveReady(output);
      }
    });
  });
}

/**
 * `drive-vault start` in its own process, signalled as systemd or docker stop would: the dev server it starts is tied
 * to it. `ready` resolves with its stderr once it has started everything; `stop` sends SIGTERM and resolves with its
 * exit code. Its stdout (the worker's JSON log) is not read.
 */
function spawnStart(configPath: string, env: NodeJS.ProcessEnv = cliEnv()) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'start', '--config', configPath], {
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  recordProcessGroups([child.pid]);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    ready: waitForOutput(child, /drive-vault: started worker, API on Temporal/, 240_000),
    async stop(): Promise<number | null> {
      child.kill('SIGTERM');
      const gaveUp = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
      try {
        return await exited;
      } finally {
        clearTimeout(gaveUp);
      }
    },
  };
}

test('start runs Temporal (persisted beside the catalog, with its Web UI), the worker and the API; a full sync runs on them; SIGTERM stops all', async () => {
  const [port, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = join(stack.tmp, 'start-data');
  const configPath = join(stack.tmp, 'start-config.json');
  const config = {
    ...stackConfig(stack, { destinations: [{ kind: 'local', name: 'nas', path: join(dataDir, 'backup') }] }),
    temporal: { address: `127.0.0.1:${port}`, namespace: 'default', webUiUrl: `http://127.0.0.1:${uiPort}/` },
    catalog: { path: join(dataDir, 'catalog.db'), hostId: 'local' },
    api: { listen: `127.0.0.1:${apiPort}` },
  };
  writeFileSync(configPath, JSON.stringify(config));
  const start = spawnStart(configPath);
  let code: number | null;
  try {
    const output = await start.ready;
    assert.match(output, new RegExp(`Temporal at 127\\.0\\.0\\.1:${port} does not answer: starting the pinned dev server there`));
    assert.match(output, new RegExp(`Web UI on http://127\\.0\\.0\\.1:${uiPort}`));
    assert.equal((await fetch(`http://127.0.0.1:${uiPort}/`)).status, 200, 'the Web UI answers');

    const sync = await runCli(['sync', 'full', '--wait', '--json', '--config', configPath], cliEnv());
    assert.equal(sync.status, 0, sync.stderr);
    const summary = JSON.parse(sync.stdout) as FullSyncSummary;
    assert.equal(summary.filesSynced, FILES);
    assert.ok(existsSync(join(dataDir, 'temporal.db')), 'Temporal persists beside the catalog');
    // No token in the environment: start made one for this run and told it; the dashboard's API answers with it.
    assert.match(output, new RegExp(`dashboard on http://127\\.0\\.0\\.1:${apiPort}/`));
    const token = /DRIVE_VAULT_API_TOKEN is not set: the API token of this run is ([0-9a-f]{48})/.exec(output)?.[1];
    assert.ok(token, output);
    const status = await fetch(`http://127.0.0.1:${apiPort}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { catalog: { files: { synced: number } } }).catalog.files.synced, FILES);
  } finally {
    code = await start.stop();
  }
  assert.equal(code, 0, 'SIGTERM stops start cleanly');
  await assert.rejects(
    Connection.connect({ address: config.temporal.address, connectTimeout: '2 seconds' }),
    'its Temporal stopped with it',
  );
});

test('start with a config of several accounts runs each in its own namespace on its dev server, and the API serves each', async () => {
  const [port, apiPort] = [await freePort(), await freePort()];
  const dataDir = join(stack.tmp, 'start-accounts');
  const configPath = join(stack.tmp, 'start-accounts.json');
  const { account: _one, ...shared } = stackConfig(stack, {
    destinations: [{ kind: 'local', name: 'nas', path: join(dataDir, 'backup') }],
  });
  writeFileSync(
    configPath,
    JSON.stringify({
      ...shared,
      accounts: [{ account: 'me@example.com' }, { account: 'bo' }],
      // No Web UI: its address is not on this machine.
      temporal: { address: `127.0.0.1:${port}`, webUiUrl: 'http://temporal-ui.invalid/' },
      catalog: { path: join(dataDir, 'catalog.db') },
      api: { listen: `127.0.0.1:${apiPort}` },
    }),
  );
  // Both accounts read the emulator's Drive, each with its own refresh token variable.
  const refreshToken = stackEnv(stack).GOOGLE_REFRESH_TOKEN;
  const env = {
    ...cliEnv(),
    GOOGLE_REFRESH_TOKEN_ME_EXAMPLE_COM: refreshToken,
    GOOGLE_REFRESH_TOKEN_BO: refreshToken,
    DRIVE_VAULT_API_TOKEN: 't'.repeat(32),
  };
  const start = spawnStart(configPath, env);
  let code: number | null;
  try {
    const output = await start.ready;
    assert.match(output, /started worker, API on Temporal 127\.0\.0\.1:\d+ for me@example\.com, bo/);
    assert.ok(existsSync(join(dataDir, 'temporal.db')), "Temporal persists beside the config's catalog.path, not in an account's folder");
    const sync = await runCli(['sync', 'full', '--account', 'bo', '--wait', '--json', '--config', configPath], env);
    assert.equal(sync.status, 0, sync.stderr);
    assert.equal((JSON.parse(sync.stdout) as FullSyncSummary).filesSynced, FILES);
    assert.ok(existsSync(join(dataDir, 'backup', 'drive', 'bo', 'My Drive')), "bo's files");
    assert.equal(existsSync(join(dataDir, 'backup', 'drive', 'me@example.com')), false, 'nothing of the account that did not run');

    const api = (path: string) => fetch(`http://127.0.0.1:${apiPort}${path}`, { headers: { authorization: `Bearer ${'t'.repeat(32)}` } });
    const listed = (await (await api('/api/accounts')).json()) as { items: Array<{ account: string; namespace: string }> };
    assert.deepEqual(
      listed.items.map((a) => [a.account, a.namespace]),
      [
        ['me@example.com', 'drive-vault-me-example-com'],
        ['bo', 'drive-vault-bo'],
      ],
    );
    const synced = async (account: string) =>
      ((await (await api(`/api/accounts/${encodeURIComponent(account)}/status`)).json()) as { catalog: { files: { synced: number } } })
        .catalog.files.synced;
    assert.deepEqual([await synced('bo'), await synced('me@example.com')], [FILES, 0]);
  } finally {
    code = await start.stop();
  }
  assert.equal(code, 0, 'SIGTERM stops start cleanly');
});

test('sync full --wait --json prints the summary alone; a run with a failed file exits 3, its progress as plain lines', async () => {
  const config = stackConfig(stack, { transfer: { attempts: 2, retryBaseDelayMs: 5 } });
  const configPath = join(stack.tmp, 'sync-config.json');
  writeFileSync(configPath, JSON.stringify(config));
  worker = await startTestWorker(stack, config, { logger: testLogger });

  const clean = await runCli(['sync', 'full', '--wait', '--json', '--config', configPath], cliEnv());
  assert.equal(clean.status, 0, clean.stderr);
  const summary = JSON.parse(clean.stdout) as FullSyncSummary;
  assert.equal(summary.filesSynced, FILES);
  assert.equal(summary.filesFailed, 0);
  assert.deepEqual(summary.degraded, []);
  assert.doesNotMatch(clean.stderr, /MiB|waiting/, 'no progress in a log under --json');

  const broken = await stack.emulator!.store.addFile({ name: 'broken.txt', content: bytesContent('never downloads') });
  stack.emulator!.faults.add({ match: `GET /drive/v3/files/${broken.id}\\?.*alt=media`, status: 500, reason: 'backendError' });
  const failed = await runCli(['sync', 'full', '--wait', '--config', configPath], cliEnv());
  assert.equal(failed.status, 3, failed.stderr);
  assert.match(failed.stdout, /^started full-sync-\S+: http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/full-sync-/);
  assert.match(failed.stdout, /\n {2}failures {2}1 failed/);
  assert.match(failed.stderr, /^(full sync: waiting for the worker · \d+:\d\d|\w+ · .*files · )/m, 'a progress line');
  assert.ok(!moves(failed.stderr), 'plain lines: stderr is not a terminal');

  const sweep = await runCli(['sync', 'sweep', '--json', '--config', configPath], cliEnv());
  assert.equal(sweep.status, 0, sweep.stderr);
  const started = JSON.parse(sweep.stdout) as { workflowId: string; webUi: string };
  assert.match(started.webUi, new RegExp(`/namespaces/default/workflows/${started.workflowId}$`));
  await worker.client.workflow.getHandle(started.workflowId).result();
});

test('status and failures read the catalog: both exit 3 while a file is failed; failures retry puts it back to pending; a bad word exits 2', async () => {
  const configPath = join(stack.tmp, 'sync-config.json');
  const listed = await runCli(['failures', '--json', '--config', configPath], cliEnv());
  assert.equal(listed.status, 3, listed.stderr);
  const failures = JSON.parse(listed.stdout) as Array<{ fileId: string; file: { name: string }; reason: string }>;
  assert.ok(
    failures.some((f) => f.file.name === 'broken.txt'),
    listed.stdout,
  );

  const status = await runCli(['status', '--json', '--config', configPath], cliEnv());
  assert.equal(status.status, 3, status.stderr);
  const report = JSON.parse(status.stdout) as { catalog: { openFailures: number }; temporal: { reachable: boolean }; schedules: unknown[] };
  assert.ok(report.catalog.openFailures >= 1);
  assert.equal(report.temporal.reachable, true);
  const text = await runCli(['status', '--config', configPath], cliEnv());
  assert.match(text.stdout, /^account me@example\.com: \d+ files in the catalog/);
  assert.match(text.stdout, /destination nas \(local\): /);

  const retried = await runCli(['failures', 'retry', '--no-sweep', '--json', '--config', configPath], cliEnv());
  assert.equal(retried.status, 0, retried.stderr);
  const retry = JSON.parse(retried.stdout) as { requeued: number; sweep: unknown };
  assert.ok(retry.requeued >= 1, retried.stdout);
  assert.equal(retry.sweep, null, 'no sweep with --no-sweep');

  const bad = await runCli(['failures', 'everything', '--config', configPath], cliEnv());
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /failures takes "retry" or nothing, not "everything"/);
});

/** A catalog at `path` holding one file, `name`, failed on nas: one open failure row. */
function catalogWithFailure(path: string, name: string): void {
  const catalog = Catalog.open(path);
  const listed = { driveId: null, kind: 'binary' as const, mimeType: 'text/plain', parentId: null, size: 1, md5: null, driveSha256: null };
  const times = { modifiedTime: '2026-01-01T00:00:00Z', createdTime: '2026-01-01T00:00:00Z', version: '1' };
  const file = { ...listed, ...times, id: `${name}-id`, name, headRevisionId: null, shortcutTargetId: null, skipReason: null };
  catalog.recordListedFiles([file], 'l1');
  catalog.recordFailure(
    { fileId: file.id, destination: 'nas', runId: null, attempts: 1, reason: 'drive', message: 'no' },
    times.modifiedTime,
  );
  catalog.close();
}

test('a config of several accounts: a command acts on the one --account names; none named or an unknown one exits 2 listing them', async () => {
  const dir = join(stack.tmp, 'accounts');
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'accounts.yaml');
  writeFileSync(
    configPath,
    [
      'accounts:',
      `  - { account: ana, catalog: { path: ${join(dir, 'ana.db')} } }`,
      `  - { account: bo, catalog: { path: ${join(dir, 'bo.db')} } }`,
      'google: { clientId: c }',
      `temporal: { address: "${stack.temporal!.address}" }`,
      'destinations:',
      `  - { kind: local, name: nas, path: ${join(dir, 'nas')} }`,
    ].join('\n'),
  );
  catalogWithFailure(join(dir, 'ana.db'), 'ana.txt');
  catalogWithFailure(join(dir, 'bo.db'), 'bo.txt');
  const connection = await Connection.connect({ address: stack.temporal!.address });
  for (const namespace of ['drive-vault-ana', 'drive-vault-bo'])
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  await connection.close();
  const failedNames = (stdout: string) => (JSON.parse(stdout) as Array<{ file: { name: string } }>).map((f) => f.file.name);

  const unnamed = await Promise.all([
    runCli(['failures', '--json', '--config', configPath]),
    runCli(['sync', 'full', '--config', configPath]),
    runCli(['schedules', 'list', '--config', configPath]),
  ]);
  for (const r of unnamed) {
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /drive-vault: .*accounts\.yaml lists 2 accounts \(ana, bo\): name one with --account/);
    assert.equal(r.stdout, '');
  }

  const bo = await runCli(['failures', '--json', '--account', 'bo', '--config', configPath]);
  assert.equal(bo.status, 3, bo.stderr);
  assert.deepEqual(failedNames(bo.stdout), ['bo.txt']);
  const ana = await runCli(['--account', 'ana', 'failures', '--json', '--config', configPath]);
  assert.equal(ana.status, 3, ana.stderr);
  assert.deepEqual(failedNames(ana.stdout), ['ana.txt']);

  const unknown = await runCli(['failures', '--account', 'carol', '--config', configPath]);
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /no account "carol" in .*accounts\.yaml; it lists ana, bo/);
  assert.equal(unknown.stdout, '');
  // A command that serves every account refuses --account rather than ignore it.
  const worker = await runCli(['worker', '--account', 'bo', '--config', configPath]);
  assert.equal(worker.status, 2, worker.stderr);
  assert.match(worker.stderr, /worker serves every account of the config: --account is for the commands that act on one/);

  // status with no --account shows every account, one after another (keyed by account with --json).
  const statuses = await runCli(['status', '--json', '--config', configPath]);
  assert.equal(statuses.status, 3, statuses.stderr);
  const byAccount = JSON.parse(statuses.stdout) as Record<string, { account: string; catalog: { openFailures: number } }>;
  assert.deepEqual(Object.keys(byAccount), ['ana', 'bo']);
  for (const name of ['ana', 'bo']) assert.equal(byAccount[name]!.account, name);
  assert.equal(byAccount.bo!.catalog.openFailures, 1);
  const text = await runCli(['status', '--config', configPath]);
  assert.match(text.stdout, /^account ana: 1 files in the catalog[\s\S]*\n\naccount bo: 1 files in the catalog/m);
  const one = await runCli(['status', '--json', '--account', 'bo', '--config', configPath]);
  assert.equal((JSON.parse(one.stdout) as { account: string }).account, 'bo');

  // A config of one account needs no --account.
  const soloPath = join(dir, 'solo.yaml');
  writeFileSync(
    soloPath,
    [
      'account: solo',
      `catalog: { path: ${join(dir, 'solo.db')} }`,
      'google: { clientId: c }',
      'destinations:',
      '  - { kind: local, name: nas, path: /b }',
    ].join('\n'),
  );
  const solo = await runCli(['failures', '--json', '--config', soloPath]);
  assert.equal(solo.status, 0, solo.stderr);
  assert.deepEqual(JSON.parse(solo.stdout), []);
});
