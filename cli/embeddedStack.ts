import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../common/config';
import { type TemporalDevServer, startTemporalDevServer } from '../scripts/launchers/temporalDevServer';
import { TemporalUnreachableError } from './temporal';

/** A part of the stack `drive-vault start` runs in its own process, once Temporal answers. */
export interface EmbeddedService {
  name: string;
  /** `say` tells the person at the terminal what they need to use the service. */
  start(accounts: Config[], say: (line: string) => void): Promise<RunningService>;
}

export interface RunningService {
  /** Settles when the service stops; a service that stops on its own (it failed) stops the whole stack. */
  running: Promise<void>;
  stop(): Promise<void>;
}

const workerService: EmbeddedService = {
  name: 'worker',
  async start(accounts) {
    // Loaded on start only: the worker's wiring (googleapis, the SDK's native worker) is heavy for the other commands.
    const { startWorker } = await import('../worker/startWorker');
    return startWorker(accounts, 'all');
  },
};

/**
 * The API and the dashboard. On a fresh machine the token variable is often unset: then a token is made for this run
 * and shown once on the terminal (never logged), so the dashboard opens without a setup step.
 */
const apiService: EmbeddedService = {
  name: 'API',
  async start(accounts, say) {
    const { startApiServer } = await import('../api/server');
    const config = accounts[0]!;
    const { tokenEnv } = config.api;
    const env = process.env[tokenEnv] ? process.env : { ...process.env, [tokenEnv]: randomBytes(24).toString('hex') };
    const api = await startApiServer(accounts, { env });
    say(`dashboard on ${api.url}/ (the API's document: ${api.url}/openapi.json)`);
    if (env !== process.env) say(`${tokenEnv} is not set: the API token of this run is ${env[tokenEnv]}`);
    let stopped!: () => void;
    const running = new Promise<void>((resolve) => (stopped = resolve));
    return {
      running,
      async stop() {
        await api.close();
        stopped();
      },
    };
  },
};

/** What `drive-vault start` runs beside Temporal, started in this order and stopped in the reverse one. */
export const EMBEDDED_SERVICES: EmbeddedService[] = [workerService, apiService];

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** `127.0.0.1:7233` → host and port; `[::1]:7233` too. */
function hostAndPort(address: string): { host: string; port?: number } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address);
  return { host: match?.[1] ?? address, port: match?.[2] ? Number(match[2]) : undefined };
}

async function temporalAnswers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '3 seconds' });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Temporal for the stack: the server at temporal.address when it answers; otherwise the pinned dev server started
 * there (a loopback address only), persisted to temporal.db beside the catalog, with its Web UI on temporal.webUiUrl's
 * port when that is on this machine too. Returns the dev server it started, which dies with this process.
 */
export async function ensureTemporal(accounts: Config[], say: (line: string) => void): Promise<TemporalDevServer | undefined> {
  const [config] = accounts as [Config, ...Config[]];
  const { address, webUiUrl } = config.temporal;
  if (await temporalAnswers(address)) {
    say(`Temporal at ${address} answers: using it`);
    return undefined;
  }
  const { host, port } = hostAndPort(address);
  if (!isLoopback(host) || port === undefined) {
    throw new TemporalUnreachableError(
      `Temporal at ${address} does not answer, and start runs its own only on this machine: start that server, or set ` +
        'temporal.address to a loopback address such as 127.0.0.1:7233',
    );
  }
  // Beside the catalog, or for a list of accounts beside the file's own catalog.path: never one account's folder.
  const dataDir = resolve(config.sharedDataDir ?? dirname(config.catalog.path));
  mkdirSync(dataDir, { recursive: true });
  const dbFile = join(dataDir, 'temporal.db');
  const ui = new URL(webUiUrl);
  const uiPort = isLoopback(ui.hostname.replace(/^\[|\]$/g, '')) ? Number(ui.port || (ui.protocol === 'https:' ? 443 : 80)) : undefined;
  say(`Temporal at ${address} does not answer: starting the pinned dev server there (${dbFile})`);
  const server = await startTemporalDevServer({
    dbFile,
    port,
    uiPort,
    namespaces: accounts.map((a) => a.temporal.namespace).filter((n) => n !== 'default'),
  });
  say(
    `Temporal dev server on ${server.address}${server.uiUrl ? `, Web UI on ${server.uiUrl}` : ' (no Web UI: temporal.webUiUrl is not on this machine)'}`,
  );
  return server;
}

/**
 * `drive-vault start`: Temporal (started here unless temporal.address answers), then every embedded service, until
 * SIGINT or SIGTERM or until a service stops on its own; then everything stops, in the reverse order.
 */
export async function runEmbeddedStack(accounts: Config[], say: (line: string) => void): Promise<void> {
  const temporal = await ensureTemporal(accounts, say);
  const started: RunningService[] = [];
  let signalled: () => void = () => undefined;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  process.once('SIGINT', signalled);
  process.once('SIGTERM', signalled);
  try {
    for (const service of EMBEDDED_SERVICES) started.push(await service.start(accounts, say));
    say(
      `started ${EMBEDDED_SERVICES.map((s) => s.name).join(', ')} on Temporal ${accounts[0]!.temporal.address} for ${accounts.map((a) => a.account).join(', ')}; Ctrl-C stops`,
    );
    await Promise.race([signal, ...started.map((s) => s.running)]);
  } finally {
    process.off('SIGINT', signalled);
    process.off('SIGTERM', signalled);
    say('stopping');
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    await temporal?.stop();
  }
}
