import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { after, before, test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { startFullSync } from '../api/fullSyncRuns';
import { startSweep } from '../api/sweepRuns';
import { type Config, ConfigError, hostAndPort, parseConfig } from '../common/config';
import type { FullSyncSummary } from '../common/types';
import { stopTied } from '../scripts/launchers/tiedProcess';
import { startWorkerProcess } from '../scripts/launchers/workerProcess';
import type { IncrementalSweepSummary } from '../workflows';
import { type MetricsServer, serveMetrics } from '../worker/metricsServer';
import { generatedContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { type Scrape, scrape } from './support/metrics';
import { type Stack, recordProcessGroups, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker } from './support/worker';

// Issue 13, section 6: Prometheus metrics of a worker, scraped over HTTP as Prometheus would.
let stack: Stack;
let worker: RunningWorker;
let config: Config;
let server: MetricsServer;
let runs = 0;
/** The last test stops the in-process worker, so a worker process is the only one serving the queues. */
let workerStopped = false;
const DESTINATIONS = ['aws', 'eu', 'nas'] as const;
const MIB = 1024 * 1024;
const downloadOf = (f: EmuFile) => `GET /drive/v3/files/${f.id}\\?.*alt=media`;

before(async () => {
  stack = await startStack({ temporal: true, minio: true, emulator: true });
  // Files from 2 MiB go part by part: the large-file path is counted like the streamed one.
  config = stackConfig(stack, { transfer: { resumableMinBytes: 2 * MIB, retryBaseDelayMs: 5 }, metrics: { listen: '127.0.0.1:0' } });
  worker = await startTestWorker(stack, config);
  server = await serveMetrics(config.metrics.listen!, worker.wired.metrics.registry);
});

after(async () => {
  await server?.close();
  if (!workerStopped) await worker?.stop();
  await stack?.stop();
});

const fullSync = async (): Promise<FullSyncSummary> => (await startFullSync(worker.client, config, `metrics-full-${++runs}`)).result();
const sweep = async (): Promise<IncrementalSweepSummary> => (await startSweep(worker.client, config, `metrics-sweep-${++runs}`)).result();

async function scraped(): Promise<Scrape> {
  const res = await scrape(server.url);
  assert.equal(res.status, 200);
  return res.scrape;
}

/** The files the local destination holds and their bytes, read from the disk (not its metadata sidecars). */
function onDisk(): { files: number; bytes: number } {
  const root = join(stack.tmp, 'nas');
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter(
    (e) => e.isFile() && !e.parentPath.includes('.drive-vault-meta'),
  );
  return { files: files.length, bytes: files.reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0) };
}

const seconds = (ms: number) => ms / 1000;

test('a full sync counts each file and its bytes once per destination, every Drive request, and its completion', async () => {
  const s = stack.emulator!.store;
  const folder = await s.addFile({ name: 'metrics' });
  const sizes = [5_000, 1.5 * MIB, 3 * MIB];
  for (const [i, size] of sizes.entries()) await s.addFile({ name: `f-${i}.bin`, parentId: folder.id, content: generatedContent(size, i) });
  await s.addFile({ name: 'Report', parentId: folder.id, mimeType: 'application/vnd.google-apps.document', text: 'quarterly' });
  const started = Date.now();
  const summary = await fullSync();
  const ended = Date.now();
  assert.deepEqual([summary.filesSynced, summary.filesFailed], [4, 0]);

  const res = await scrape(server.url);
  assert.equal(res.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const m = res.scrape;
  const disk = onDisk();
  assert.equal(disk.files, 4, 'three files and the Doc export on the local destination');
  assert.ok(disk.bytes > sizes.reduce((a, b) => a + b), 'the export adds bytes');
  for (const destination of DESTINATIONS) {
    assert.equal(m.value('drive_vault_files_transferred_total', { account: config.account, destination }), 4, destination);
    assert.equal(m.value('drive_vault_bytes_transferred_total', { account: config.account, destination }), disk.bytes, destination);
  }
  assert.equal(m.sum('drive_vault_drive_requests_total'), stack.emulator!.requests.length, 'every request the emulator saw');
  const answered = m.matching('drive_vault_drive_requests_total').filter((r) => r.labels.status.startsWith('2'));
  assert.equal(
    answered.reduce((n, r) => n + r.value, 0),
    stack.emulator!.requests.length,
    'all answered with a 2xx',
  );
  assert.equal(m.sum('drive_vault_drive_rate_limited_total'), 0);
  assert.equal(m.sum('drive_vault_failures_total'), 0);
  assert.deepEqual(m.matching('drive_vault_open_failures'), []);

  const fullSyncAt = m.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'full-sync' })!;
  assert.ok(fullSyncAt >= seconds(started) && fullSyncAt <= seconds(ended), `${fullSyncAt} within the run`);
  assert.equal(
    m.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'incremental-sweep' }),
    undefined,
    'no sweep ran yet',
  );
  // The full sync's change tokens became current as it finished: that is when the feed was last read up to.
  const lag = m.value('drive_vault_sweep_lag_seconds', { account: config.account })!;
  assert.ok(lag >= 0 && lag <= seconds(Date.now() - started), `lag ${lag}`);
  assert.ok((m.value('process_resident_memory_bytes') ?? 0) > 0, 'the process metrics are there too');
  assert.deepEqual(globalRegistry.getMetricsAsArray(), [], "nothing lands in prom-client's global registry");
});

test('the sweep lag grows while no sweep runs; a sweep counts the 403 and 429 rate limits it met, and resets the lag', async () => {
  const first = await scraped();
  await sleep(1_200);
  const idle = await scraped();
  const lagBefore = idle.value('drive_vault_sweep_lag_seconds', { account: config.account })!;
  assert.ok(
    lagBefore - first.value('drive_vault_sweep_lag_seconds', { account: config.account })! >= 1.1,
    'read at each scrape, not cached',
  );

  const s = stack.emulator!.store;
  const added = [
    await s.addFile({ name: 'late-0.bin', content: generatedContent(10_000, 10) }),
    await s.addFile({ name: 'late-1.bin', content: generatedContent(20_000, 11) }),
  ];
  const faults = stack.emulator!.faults;
  faults.add({ match: downloadOf(added[0]), times: 2, reason: 'rateLimitExceeded' });
  faults.add({ match: downloadOf(added[1]), times: 1, reason: 'userRateLimitExceeded' });
  faults.add({ match: downloadOf(added[1]), times: 1, status: 429, reason: 'rateLimitExceeded' });
  // A 500 on the changes feed: a request like any other, not a rate limit (the page is read again).
  faults.add({ match: 'GET /drive/v3/changes\\?', times: 1, status: 500, reason: 'backendError' });
  const requestsBefore = stack.emulator!.requests.length;
  const started = Date.now();
  const summary = await sweep();
  const fired = faults.list().map((f) => f.fired);
  faults.clear();
  assert.equal(summary.kind, 'swept');
  assert.deepEqual(fired, [2, 1, 1, 1], 'every fault fired');

  const m = await scraped();
  const delta = (name: string, labels: Record<string, string> = {}) => m.sum(name, labels) - idle.sum(name, labels);
  assert.equal(delta('drive_vault_drive_rate_limited_total', { reason: 'rateLimitExceeded' }), 3, 'two 403s and a 429');
  assert.equal(delta('drive_vault_drive_rate_limited_total', { reason: 'userRateLimitExceeded' }), 1);
  assert.equal(delta('drive_vault_drive_requests_total', { status: '403' }), 3);
  assert.equal(delta('drive_vault_drive_requests_total', { status: '429' }), 1);
  assert.equal(delta('drive_vault_drive_requests_total', { status: '500' }), 1);
  assert.equal(delta('drive_vault_drive_requests_total'), stack.emulator!.requests.length - requestsBefore, 'every request counted');
  for (const destination of DESTINATIONS) {
    assert.equal(delta('drive_vault_files_transferred_total', { account: config.account, destination }), 2, destination);
    assert.equal(delta('drive_vault_bytes_transferred_total', { account: config.account, destination }), 30_000, destination);
  }
  assert.equal(m.sum('drive_vault_failures_total'), 0, 'retried rate limits are not failures');

  const sweptAt = m.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'incremental-sweep' })!;
  assert.ok(sweptAt >= seconds(started) && sweptAt <= seconds(Date.now()), `${sweptAt} within the sweep`);
  const lagAfter = m.value('drive_vault_sweep_lag_seconds', { account: config.account })!;
  assert.ok(lagAfter <= seconds(Date.now() - started), `the sweep read the feed: lag ${lagAfter}, was ${lagBefore}`);
});

test('a file given up is a failure per destination and reason, open until a later run lands it', async () => {
  const before = await scraped();
  const lastFullSync = before.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'full-sync' })!;
  const doomed = await stack.emulator!.store.addFile({ name: 'doomed.bin', content: generatedContent(4_000, 20) });
  // A 404 is not retried: the file fails at its first try.
  stack.emulator!.faults.add({ match: downloadOf(doomed), status: 404, reason: 'notFound' });
  const failed = await fullSync();
  stack.emulator!.faults.clear();
  assert.equal(failed.filesFailed, 1);

  const m = await scraped();
  for (const destination of DESTINATIONS) {
    const labels = { account: config.account, destination, reason: 'notFound' };
    assert.equal(m.value('drive_vault_failures_total', labels), 1, destination);
    assert.equal(m.value('drive_vault_open_failures', labels), 1, destination);
  }
  assert.equal(m.sum('drive_vault_failures_total'), 3);
  assert.equal(
    m.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'full-sync' }),
    lastFullSync,
    'a run with a failed file is not a success',
  );

  const healed = await fullSync();
  assert.deepEqual([healed.filesSynced, healed.filesFailed], [1, 0]);
  const after = await scraped();
  assert.deepEqual(after.matching('drive_vault_open_failures'), [], 'the failures are resolved');
  assert.equal(after.sum('drive_vault_failures_total'), 3, 'a counter keeps what happened');
  assert.ok(after.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'full-sync' })! > lastFullSync);
  for (const destination of DESTINATIONS) {
    assert.equal(
      after.sum('drive_vault_files_transferred_total', { account: config.account, destination }) -
        m.sum('drive_vault_files_transferred_total', { account: config.account, destination }),
      1,
    );
  }
});

test('the metrics listener serves only /metrics, and refuses an address in use', async () => {
  const other = await fetch(new URL('/api/status', server.url));
  assert.equal(other.status, 404);
  await other.text();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as { port: number };
  try {
    await assert.rejects(serveMetrics(`127.0.0.1:${port}`, worker.wired.metrics.registry), /EADDRINUSE/);
  } finally {
    blocker.close();
  }
});

test('metrics.listen takes host:port, off when unset, and names the key when it is not one', () => {
  const minimal = { account: 'me', google: { clientId: 'cid' }, destinations: [{ kind: 'local', name: 'nas', path: '/tmp/x' }] };
  assert.equal(parseConfig(minimal).metrics.listen, undefined);
  assert.deepEqual(hostAndPort(parseConfig({ ...minimal, metrics: { listen: '127.0.0.1:9464' } }).metrics.listen!), {
    host: '127.0.0.1',
    port: 9464,
  });
  assert.deepEqual(hostAndPort('[::1]:9464'), { host: '::1', port: 9464 });
  for (const listen of ['9464', 'localhost', '127.0.0.1:99999', 'http://127.0.0.1:9464', '127.0.0.1:']) {
    assert.throws(
      () => parseConfig({ ...minimal, metrics: { listen } }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /metrics\.listen: /, listen);
        return true;
      },
    );
  }
});

test('a worker process serves its own metrics on metrics.listen, and counts what it transfers', async () => {
  await worker.stop();
  workerStopped = true;
  const configPath = join(stack.tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child = await startWorkerProcess(configPath, stackEnv(stack));
  recordProcessGroups([child.pid]);
  const client = new Client({ connection: await Connection.connect({ address: stack.temporal!.address }) });
  try {
    const listening = child.startupLog.match(/^\{.*"event":"worker\.metrics_listening".*\}$/m);
    assert.ok(listening, `the worker says where it serves metrics:\n${child.startupLog}`);
    const { url } = JSON.parse(listening[0]) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await stack.emulator!.store.addFile({ name: 'via-process.bin', content: generatedContent(7_777, 30) });
    const started = Date.now();
    const summary = await (await startFullSync(client, config, `metrics-full-${++runs}`)).result();
    assert.deepEqual([summary.filesSynced, summary.filesFailed], [1, 0]);
    const { status, scrape: m } = await scrape(url);
    assert.equal(status, 200);
    for (const destination of DESTINATIONS) {
      assert.equal(m.value('drive_vault_files_transferred_total', { account: config.account, destination }), 1, destination);
      assert.equal(m.value('drive_vault_bytes_transferred_total', { account: config.account, destination }), 7_777, destination);
    }
    assert.ok(m.sum('drive_vault_drive_requests_total') > 0, 'its Drive requests');
    assert.ok(
      m.value('drive_vault_last_success_timestamp_seconds', { account: config.account, kind: 'full-sync' })! >= seconds(started),
      'read from the catalog',
    );
  } finally {
    await client.connection.close();
    await stopTied(child);
  }
});
