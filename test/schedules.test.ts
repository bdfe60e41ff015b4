import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection, type ScheduleDescription, ScheduleNotFoundError } from '@temporalio/client';
import { SearchAttributeType, type TypedSearchAttributes, defineSearchAttributeKey } from '@temporalio/common';
import {
  SCHEDULED_JOBS,
  SCHEDULE_NAMES,
  type ScheduleName,
  type ScheduleRow,
  describeSpec,
  formatInterval,
  triggerSchedule,
} from '../api/schedules';
import { parseCommandLine } from '../cli/main';
import { type Config, parseConfig } from '../common/config';
import { TASK_QUEUES } from '../common/taskQueues';
import type { NightlyDumpResult, WeeklyRollupResult } from '../common/types';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { QUIET_SCHEDULES, startWorkerProcess } from '../scripts/launchers/workerProcess';
import type { WorkerRole } from '../worker/wiring';
import { type ReconciledSchedule, SCHEDULE_HASH_MEMO, reconcileSchedules } from '../worker/schedules';
import { runCli } from './support/cli';
import { type Stack, recordProcessGroups, startStack } from './support/stack';
import { testLogger } from './support/worker';
import { installTemporalLogging } from '../worker/temporalLogging';

/*
 * Issue 11, section 3: the four Temporal Schedules, reconciled when the catalog host's worker starts, and the CLI
 * that lists, pauses, resumes and triggers them. A real Temporal dev server; each test works in a namespace of its
 * own, since the schedule ids are fixed.
 */

const NAMESPACES = ['worker-starts', 'transfer-only', 'spec-change', 'pause', 'race', 'cli'] as const;
type Namespace = (typeof NAMESPACES)[number];

let stack: Stack;
const connections: Connection[] = [];

before(async () => {
  installTemporalLogging(testLogger, 'WARN');
  stack = await startStack({ temporal: { namespaces: [...NAMESPACES] } });
});
after(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await stack?.stop();
});

async function clientFor(namespace: Namespace): Promise<Client> {
  const connection = await Connection.connect({ address: stack.temporal!.address });
  connections.push(connection);
  return new Client({ connection, namespace });
}

function configFor(namespace: Namespace, overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    account: 'me@example.com',
    google: { clientId: 'schedules-test' },
    temporal: { address: stack.temporal!.address, namespace },
    catalog: { path: join(stack.tmp, `${namespace}.db`), hostId: namespace },
    destinations: [{ kind: 'local', name: 'nas', path: join(stack.tmp, 'nas') }],
    schedules: QUIET_SCHEDULES,
    ...overrides,
  });
}

function writeConfig(config: Config): string {
  const path = join(stack.tmp, `${config.temporal.namespace}-${Date.now()}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** The real entry point, `worker/main.ts --role <role>`, until it has started; its startup log carries the reconciliation. */
async function startWorker(config: Config, role: WorkerRole) {
  // Never used: no Drive call is made, but the worker reads its secrets at start.
  const env = { GOOGLE_CLIENT_SECRET: 'unused', GOOGLE_REFRESH_TOKEN: 'unused' };
  const child = await startWorkerProcess(writeConfig(config), env, { role });
  recordProcessGroups([child.pid]);
  const reconciled = child.startupLog
    .split('\n')
    .filter((line) => line.includes('"event":"schedule.reconciled"'))
    .map((line) => JSON.parse(line) as ReconciledSchedule);
  return { child, reconciled };
}

const outcomes = (reconciled: ReconciledSchedule[]) => Object.fromEntries(reconciled.map((r) => [r.name, r.outcome]));
const every = (outcome: string) => Object.fromEntries(SCHEDULE_NAMES.map((n) => [n, outcome]));
const describe = (client: Client, name: ScheduleName) => client.schedule.getHandle(SCHEDULED_JOBS[name].scheduleId).describe();

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The schedule ids the namespace holds, once the (eventually consistent) list shows at least `count`. */
async function listedScheduleIds(client: Client, count: number): Promise<string[]> {
  return until(`${count} schedules listed`, async () => {
    const ids: string[] = [];
    for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    return ids.length >= count ? ids.sort() : undefined;
  });
}

/** The workflows a schedule started, by the search attribute Temporal sets on each. */
async function workflowsStartedBy(client: Client, scheduleId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) ids.push(w.workflowId);
  return ids;
}

/** Triggers a schedule, waits for the run it started to finish, and returns it with every run the schedule started. */
async function triggerAndFinish(client: Client, name: ScheduleName, trigger: () => Promise<void>) {
  const { scheduleId } = SCHEDULED_JOBS[name];
  const before = (await describe(client, name)).info.recentActions.length;
  await trigger();
  const taken = await until('the triggered action', async () => (await describe(client, name)).info.recentActions[before]);
  const result = await client.workflow.getHandle(taken.action.workflow.workflowId).result();
  const started = await until('the started run in visibility', async () => {
    const ids = await workflowsStartedBy(client, scheduleId);
    return ids.length ? ids : undefined;
  });
  return { result, started, description: await describe(client, name) };
}

const backupKind = defineSearchAttributeKey('BackupKind', SearchAttributeType.KEYWORD);
const account = defineSearchAttributeKey('Account', SearchAttributeType.KEYWORD);

function assertScheduleFollows(description: ScheduleDescription, config: Config, name: ScheduleName, spec: string): void {
  const job = SCHEDULED_JOBS[name];
  assert.equal(describeSpec(description.spec), spec, `${name} spec`);
  assert.equal(description.action.workflowType, job.workflowType, `${name} workflow`);
  assert.equal(description.action.taskQueue, TASK_QUEUES.workflows, `${name} task queue`);
  assert.deepEqual(description.action.args, job.args(config), `${name} args`);
  assert.equal(description.policies.overlap, 'SKIP', `${name} overlap`);
  const tags = description.action.typedSearchAttributes as TypedSearchAttributes;
  assert.equal(tags.get(backupKind), job.backupKind, `${name} BackupKind`);
  assert.equal(tags.get(account), config.account, `${name} Account`);
}

test('two worker starts create the four schedules once: the first creates them, the second changes nothing', async () => {
  const client = await clientFor('worker-starts');
  const config = configFor('worker-starts', {
    schedules: { ...QUIET_SCHEDULES, sweep: { every: '8760h' }, fullSync: { cron: '0 0 1 1 *', timezone: 'Europe/Paris' } },
  });
  const expectedSpecs: Partial<Record<ScheduleName, string>> = { 'full-sync': 'cron 0 0 1 JAN * (Europe/Paris)', sweep: 'every 365d' };
  const first = await startWorker(config, 'catalog');
  await stopTied(first.child);
  assert.deepEqual(outcomes(first.reconciled), every('created'));
  const created = await Promise.all(SCHEDULE_NAMES.map((n) => describe(client, n)));

  const second = await startWorker(config, 'all');
  try {
    assert.deepEqual(outcomes(second.reconciled), every('unchanged'));
    assert.deepEqual(await listedScheduleIds(client, 4), SCHEDULE_NAMES.map((n) => SCHEDULED_JOBS[n].scheduleId).sort());
    for (const [i, name] of SCHEDULE_NAMES.entries()) {
      const description = await describe(client, name);
      assertScheduleFollows(description, config, name, expectedSpecs[name] ?? 'cron 0 0 1 JAN * (UTC)');
      assert.equal(description.info.createdAt.getTime(), created[i].info.createdAt.getTime(), `${name} was not created again`);
      assert.equal(description.info.lastUpdatedAt, undefined, `${name} was never updated`);
      assert.equal(description.state.paused, false);
    }

    // The worker of the second start runs what the schedule starts: a trigger runs the dump's workflow once.
    const dump = await triggerAndFinish(client, 'nightly-dump', () => triggerSchedule(client, SCHEDULED_JOBS['nightly-dump']));
    assert.equal(dump.started.length, 1);
    assert.match(dump.started[0], /^nightly-dump-/);
    const dumped = dump.result as NightlyDumpResult;
    assert.equal(dumped.status, 'verified', JSON.stringify(dumped));
    assert.equal(dumped.destinations.nas?.status, 'verified');
    assert.equal(dump.description.info.numActionsTaken, 1);
    const run = await client.workflow.getHandle(dump.started[0]).describe();
    assert.equal(run.typedSearchAttributes.get(backupKind), 'nightly-dump');
    assert.equal(typeof run.memo?.[SCHEDULE_HASH_MEMO], 'string', 'the run carries the hash of the schedule that started it');
  } finally {
    await stopTied(second.child);
  }
});

test('a transfer worker never touches the schedules', async () => {
  const client = await clientFor('transfer-only');
  const worker = await startWorker(configFor('transfer-only'), 'transfer');
  await stopTied(worker.child);
  assert.deepEqual(worker.reconciled, []);
  for (const name of SCHEDULE_NAMES) await assert.rejects(describe(client, name), ScheduleNotFoundError);
});

test('a changed config updates the schedules it concerns, and only those', async () => {
  const client = await clientFor('spec-change');
  // The defaults of DESIGN.md section 4 (no worker serves this namespace: what they start is never run).
  const config = configFor('spec-change', { schedules: {} });
  assert.deepEqual(outcomes(await reconcileSchedules(client, config, testLogger)), every('created'));
  const defaults = {
    'full-sync': 'cron 0 1 * * SUN (UTC)',
    sweep: 'every 5m',
    'nightly-dump': 'cron 30 2 * * * (UTC)',
    'weekly-rollup': 'cron 45 3 * * SUN (UTC)',
  };
  for (const name of SCHEDULE_NAMES) assertScheduleFollows(await describe(client, name), config, name, defaults[name]);

  const respecified = configFor('spec-change', {
    schedules: { fullSync: { cron: '15 4 * * SAT', timezone: 'America/New_York' }, nightlyDump: { every: '1h30m' } },
  });
  assert.deepEqual(outcomes(await reconcileSchedules(client, respecified, testLogger)), {
    ...every('unchanged'),
    'full-sync': 'updated',
    'nightly-dump': 'updated',
  });
  assertScheduleFollows(await describe(client, 'full-sync'), respecified, 'full-sync', 'cron 15 4 * * SAT (America/New_York)');
  assertScheduleFollows(await describe(client, 'nightly-dump'), respecified, 'nightly-dump', 'every 1h30m');
  assert.deepEqual(outcomes(await reconcileSchedules(client, respecified, testLogger)), every('unchanged'));

  // The action follows the config too: the batch size is in the input of the full sync and of the sweep.
  const rebatched = configFor('spec-change', { schedules: respecified.schedules, transfer: { batchSize: 7 } });
  assert.deepEqual(outcomes(await reconcileSchedules(client, rebatched, testLogger)), {
    ...every('unchanged'),
    'full-sync': 'updated',
    sweep: 'updated',
  });
  const sweep = await describe(client, 'sweep');
  assertScheduleFollows(sweep, rebatched, 'sweep', 'every 5m');
  assert.equal((sweep.action.args as Array<{ fullSync: { batchSize: number } }>)[0].fullSync.batchSize, 7);
});

test("an operator's pause and its note survive restarts, also one that changes the paused schedule's spec", async () => {
  const client = await clientFor('pause');
  const config = configFor('pause');
  await reconcileSchedules(client, config, testLogger);
  // As the Web UI and `temporal schedule toggle --pause` do it.
  await client.schedule.getHandle(SCHEDULED_JOBS.sweep.scheduleId).pause('Drive quota trouble, see ticket 42');

  const restart = await reconcileSchedules(client, config, testLogger);
  assert.deepEqual(
    restart.find((r) => r.name === 'sweep'),
    { name: 'sweep', scheduleId: 'drive-vault-sweep', outcome: 'unchanged', paused: true, note: 'Drive quota trouble, see ticket 42' },
  );
  const respecified = configFor('pause', { schedules: { ...QUIET_SCHEDULES, sweep: { every: '10m' } } });
  const changed = await reconcileSchedules(client, respecified, testLogger);
  assert.equal(changed.find((r) => r.name === 'sweep')?.outcome, 'updated');
  const sweep = await describe(client, 'sweep');
  assert.equal(describeSpec(sweep.spec), 'every 10m');
  assert.deepEqual(sweep.state, { paused: true, note: 'Drive quota trouble, see ticket 42', remainingActions: undefined });
  for (const name of SCHEDULE_NAMES.filter((n) => n !== 'sweep')) assert.equal((await describe(client, name)).state.paused, false, name);
});

test('two worker starts at once still make each schedule once', async () => {
  const [a, b] = [await clientFor('race'), await clientFor('race')];
  const config = configFor('race');
  const [first, second] = await Promise.all([reconcileSchedules(a, config, testLogger), reconcileSchedules(b, config, testLogger)]);
  for (const name of SCHEDULE_NAMES) {
    const both = [first, second].map((r) => r.find((s) => s.name === name)!.outcome).sort();
    assert.deepEqual(both, ['created', 'unchanged'], name);
  }
  assert.deepEqual(await listedScheduleIds(a, 4), SCHEDULE_NAMES.map((n) => SCHEDULED_JOBS[n].scheduleId).sort());
});

test('the schedules CLI lists, pauses with a note, resumes and triggers, and refuses a name that is not a schedule', async () => {
  const client = await clientFor('cli');
  const config = configFor('cli', {
    schedules: { ...QUIET_SCHEDULES, sweep: { every: '8760h' } },
    dumps: { localDir: join(stack.tmp, 'cli-dumps') },
  });
  const configPath = writeConfig(config);
  const list = async () => {
    const out = await runCli(['schedules', 'list', '--json', '--config', configPath]);
    assert.equal(out.status, 0, out.stderr);
    return Object.fromEntries((JSON.parse(out.stdout) as ScheduleRow[]).map((r) => [r.name, r]));
  };

  assert.deepEqual(
    Object.values(await list()).map((r) => r.exists),
    [false, false, false, false],
  );
  const early = await runCli(['schedules', 'trigger', 'sweep', '--config', configPath]);
  assert.equal(early.status, 1);
  assert.match(early.stderr, /schedule drive-vault-sweep does not exist yet: the catalog host's worker creates it when it starts/);
  await reconcileSchedules(client, config, testLogger);

  const paused = await runCli(['schedules', 'pause', 'sweep', '--note', 'moving the NAS', '--config', configPath]);
  assert.equal(paused.status, 0, paused.stderr);
  assert.deepEqual((await describe(client, 'sweep')).state, { paused: true, note: 'moving the NAS', remainingActions: undefined });
  const rows = await list();
  assert.deepEqual(rows.sweep, {
    name: 'sweep',
    scheduleId: 'drive-vault-sweep',
    exists: true,
    paused: true,
    note: 'moving the NAS',
    spec: 'every 365d',
    nextRun: null,
    lastRun: null,
    running: 0,
  });
  assert.equal(rows['full-sync'].spec, 'cron 0 0 1 JAN * (UTC)');
  assert.match(rows['full-sync'].nextRun!, /^\d{4}-01-01T00:00:00\.000Z$/);
  const text = await runCli(['schedules', '--config', configPath]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^sweep \(drive-vault-sweep\): paused: moving the NAS$/m);
  assert.match(text.stdout, /^full-sync \(drive-vault-full-sync\): active\n {2}spec {5}cron 0 0 1 JAN \* \(UTC\)$/m);

  const resumed = await runCli(['schedules', 'resume', 'sweep', '--config', configPath]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((await describe(client, 'sweep')).state.paused, false);

  // The rollup runs on the catalog host: a whole worker runs it, and finds no dump to pack in this namespace.
  const host = await startWorker(config, 'all');
  const rollup = await triggerAndFinish(client, 'weekly-rollup', async () => {
    const triggered = await runCli(['schedules', 'trigger', 'weekly-rollup', '--config', configPath]);
    assert.equal(triggered.status, 0, triggered.stderr);
    assert.match(triggered.stdout, /^triggered weekly-rollup \(drive-vault-weekly-rollup\)/);
  }).finally(() => stopTied(host.child));
  assert.equal(rollup.started.length, 1);
  assert.equal((rollup.result as WeeklyRollupResult).status, 'empty');
  assert.deepEqual(
    host.reconciled.map((r) => r.outcome),
    ['unchanged', 'unchanged', 'unchanged', 'unchanged'],
  );
  assert.equal(rollup.description.info.numActionsTaken, 1);
  const last = (await list())['weekly-rollup'].lastRun;
  assert.equal(last?.workflowId, rollup.started[0]);
  assert.equal(last?.status, 'COMPLETED');

  const badName = await runCli(['schedules', 'trigger', 'hourly', '--config', configPath]);
  assert.equal(badName.status, 2);
  assert.match(
    badName.stderr,
    /value 'hourly' is invalid for argument 'NAME'\. Allowed choices are full-sync, sweep, nightly-dump, weekly-rollup/,
  );
  const noName = await runCli(['schedules', 'pause', '--config', configPath]);
  assert.equal(noName.status, 2);
  assert.match(noName.stderr, /missing required argument 'NAME'/);
  assert.match(noName.stderr, /Usage: drive-vault schedules pause \[options\] <NAME>/);
  assert.match(noName.stderr, /choices: "full-sync", "sweep", "nightly-dump",\s+"weekly-rollup"/);
  assert.equal((await describe(client, 'weekly-rollup')).info.numActionsTaken, 1, 'a refused command starts nothing');

  // A sweep on demand, tagged as its schedule's runs are (no worker runs it here: the sweep is another part's).
  const sweep = await runCli(['sync', 'sweep', '--json', '--config', configPath]);
  assert.equal(sweep.status, 0, sweep.stderr);
  const { workflowId, webUi } = JSON.parse(sweep.stdout) as { workflowId: string; webUi: string };
  assert.match(webUi, new RegExp(`/namespaces/cli/workflows/${workflowId}$`));
  const started = await client.workflow.getHandle(workflowId).describe();
  assert.equal(started.type, SCHEDULED_JOBS.sweep.workflowType);
  assert.equal(started.typedSearchAttributes.get(backupKind), 'incremental-sweep');
  await client.workflow.getHandle(workflowId).terminate('the test only checks how it was started');
});

test('the command line reads sync sweep and the schedules commands, and names what is wrong', () => {
  const env = {};
  assert.deepEqual(parseCommandLine(['sync', 'sweep', '--wait', '--json'], env), {
    kind: 'sync-sweep',
    config: 'config.yaml',
    wait: true,
    json: true,
  });
  const schedules = { kind: 'schedules', config: 'c.yaml', json: false };
  assert.deepEqual(parseCommandLine(['schedules', '--config', 'c.yaml'], env), { ...schedules, action: { verb: 'list' } });
  assert.deepEqual(parseCommandLine(['schedules', 'list', '--json', '--config', 'c.yaml'], env), {
    ...schedules,
    json: true,
    action: { verb: 'list' },
  });
  assert.deepEqual(parseCommandLine(['schedules', 'pause', 'full-sync', '--note', 'disk swap', '--config', 'c.yaml'], env), {
    ...schedules,
    action: { verb: 'pause', job: SCHEDULED_JOBS['full-sync'], note: 'disk swap' },
  });
  for (const verb of ['resume', 'trigger'] as const) {
    assert.deepEqual(parseCommandLine(['schedules', verb, 'nightly-dump', '--config', 'c.yaml'], env), {
      ...schedules,
      action: { verb, job: SCHEDULED_JOBS['nightly-dump'] },
    });
  }
  const cases: Array<[string[], RegExp]> = [
    [
      ['schedules', 'trigger', 'daily'],
      /value 'daily' is invalid for argument 'NAME'\. Allowed choices are full-sync, sweep, nightly-dump, weekly-rollup/,
    ],
    [['schedules', 'resume'], /missing required argument 'NAME'/],
    [['schedules', 'resume', 'sweep', 'full-sync'], /too many arguments for 'resume'\. Expected 1 argument but got 2: sweep, full-sync/],
    [['schedules', 'delete', 'sweep'], /unknown schedules command "delete": use list, pause, resume or trigger/],
    [['schedules', 'list', 'sweep'], /schedules list takes no NAME/],
    [['schedules', 'resume', 'sweep', '--note', 'x'], /unknown option '--note'/],
    [['schedules', 'pause', 'sweep', '--note', ' '], /--note needs a text/],
    [['schedules', 'trigger', 'sweep', '--wait'], /unknown option '--wait'/],
    [['sync', 'sweep', '--note', 'x'], /unknown option '--note'/],
    [['sync', 'sweep', '--sample', '5%'], /unknown option '--sample'/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseCommandLine(argv, env), { name: 'UsageError', message }, argv.join(' '));
});

test('an interval reads back in the form the config takes', () => {
  assert.equal(formatInterval(300_000), '5m');
  assert.equal(formatInterval(5_400_000), '1h30m');
  assert.equal(formatInterval(30_000), '30s');
  assert.equal(formatInterval(86_400_000 + 1000), '1d1s');
});
