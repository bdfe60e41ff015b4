import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog } from '../../activities/catalog/catalog';
import { startApiServer } from '../../api/server';
import { parseConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import { reconcileSchedules } from '../../worker/schedules';
import type { BenchStack } from './fullSyncRun';
import { fillSyntheticCatalog } from './syntheticCatalog';
import { SCALE } from './workloads';

/** Issue 13: `GET /api/status` under 50 concurrent clients for 20 s on loopback, with a catalog of 100,000 files. */
export const API_BENCH_FILES = Math.round(100_000 * SCALE);
const CLIENTS = 50;
const SECONDS = 20;

export interface LatencyRun {
  path: string;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers that were not 2xx, and connections that failed: both must be 0 for the figures to count. */
  non2xx: number;
  errors: number;
}

export interface ApiStatusMeasurements {
  files: number;
  clients: number;
  status: LatencyRun;
  /** The reference in the same run: `GET /api/health`, a route that reads nothing, through the same server and middleware. */
  health: LatencyRun;
}

/** autocannon in its own process (the load generator must not share the API's event loop), its JSON result read back. */
function autocannon(url: string, token: string, seconds: number): Promise<LatencyRun> {
  const bin = require.resolve('autocannon/autocannon.js');
  const args = [bin, '-c', String(CLIENTS), '-d', String(seconds), '-j', '-H', `authorization=Bearer ${token}`, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const r = JSON.parse(out) as {
        requests: { total: number; average: number };
        latency: { p50: number; p99: number; max: number };
        non2xx: number;
        errors: number;
        duration: number;
      };
      resolve({
        path: new URL(url).pathname,
        seconds: r.duration,
        requests: r.requests.total,
        requestsPerSecond: r.requests.average,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        maxMs: r.latency.max,
        non2xx: r.non2xx,
        errors: r.errors,
      });
    });
  });
}

/**
 * The API as `npm run api` serves it beside a catalog of API_BENCH_FILES files on two destinations, with the four
 * schedules in the Temporal dev server, the rate limit off (50 clients on one address would hit it) and logs off.
 */
export async function runApiStatusPhase(stack: BenchStack): Promise<ApiStatusMeasurements> {
  const dir = join(stack.tmp, 'api');
  mkdirSync(dir, { recursive: true });
  const config = parseConfig({
    account: 'bench@example.com',
    google: { clientId: 'bench', tokenUrl: 'http://127.0.0.1:9/token' },
    temporal: { address: stack.temporal.address },
    catalog: { path: join(dir, 'catalog.db') },
    destinations: [
      { kind: 'local', name: 'nas', path: join(dir, 'nas') },
      { kind: 'local', name: 'usb', path: join(dir, 'usb') },
    ],
    api: { listen: '127.0.0.1:0', rateLimitPerMinute: 0 },
  });
  const logger = createLogger({ level: 'silent' });
  const catalog = Catalog.open(config.catalog.path);
  fillSyntheticCatalog(catalog, API_BENCH_FILES, ['nas', 'usb']);
  await reconcileSchedules(stack.client, config, logger);
  const token = 'bench-token-0123456789abcdef';
  const api = await startApiServer(config, { client: stack.client, catalog, logger, env: { DRIVE_VAULT_API_TOKEN: token } });
  try {
    const first = await fetch(`${api.url}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    if (!first.ok) throw new Error(`GET /api/status answered ${first.status}: ${await first.text()}`);
    const status = await autocannon(`${api.url}/api/status`, token, SECONDS);
    const health = await autocannon(`${api.url}/api/health`, token, SECONDS);
    for (const run of [status, health]) {
      if (run.non2xx || run.errors) throw new Error(`${run.path}: ${run.non2xx} answers not 2xx and ${run.errors} errors under load`);
    }
    return { files: API_BENCH_FILES, clients: CLIENTS, status, health };
  } finally {
    await api.close();
    catalog.close();
  }
}

export function describeApiStatus(m: ApiStatusMeasurements): string {
  const line = (r: LatencyRun) =>
    `${r.path.padEnd(12)} p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(0)} ms, ` +
    `${Math.round(r.requestsPerSecond)} requests/s (${r.requests} in ${r.seconds} s)`;
  return (
    `${'api'.padEnd(10)} ${m.clients} clients, catalog of ${m.files.toLocaleString()} files (autocannon in its own process)\n` +
    `${''.padEnd(10)} ${line(m.status)}\n${''.padEnd(10)} ${line(m.health)} (reference: reads nothing)\n` +
    `${''.padEnd(10)} status p99 ÷ health p99 ${(m.status.p99Ms / m.health.p99Ms).toFixed(2)}`
  );
}
