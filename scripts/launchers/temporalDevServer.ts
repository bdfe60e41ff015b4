import type { ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { freePort, spawnTied, stopTied, toolPath, waitFor } from './tiedProcess';

/** Custom search attributes the Web UI filters runs by. */
export const SEARCH_ATTRIBUTES = { BackupKind: 'Keyword', Account: 'Keyword' } as const;

export interface TemporalDevServerOptions {
  /** Persist to this SQLite file (the demo); in-memory when unset (tests). */
  dbFile?: string;
  /** Serve the Web UI on this port; headless when unset. */
  uiPort?: number;
  port?: number;
  /** Namespaces created at start besides `default`, each with the search attributes (tests that need one apiece). */
  namespaces?: string[];
  /** Extra dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 200 }`. */
  dynamicConfig?: Record<string, unknown>;
  startTimeoutMs?: number;
  attempts?: number;
}

export interface TemporalDevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** The dev server's own log, for a failure message. */
  output(): string;
}

async function startOnce(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const port = options.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn', '--log-format', 'json'];
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const namespace of options.namespaces ?? []) args.push('--namespace', namespace);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1');
  else args.push('--headless');
  for (const [key, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${key}=${type}`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  const child = spawnTied(toolPath('temporal'), args, { ...process.env, TEMPORAL_CLI_SHOW_UPDATE: 'false' });
  let output = '';
  child.stdout?.on('data', (d) => (output = (output + d).slice(-20000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-20000)));
  const address = `127.0.0.1:${port}`;
  const server: TemporalDevServer = {
    address,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    process: child,
    stop: () => stopTied(child),
    output: () => output,
  };
  try {
    await waitFor(
      `Temporal dev server on ${address}`,
      async () => {
        const connection = await Connection.connect({ address, connectTimeout: 2000 });
        try {
          const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
          return Boolean(ns.namespaceInfo);
        } finally {
          await connection.close();
        }
      },
      options.startTimeoutMs ?? 60_000,
      child,
    );
    return server;
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-2000)}`);
  }
}

/**
 * Starts `temporal server start-dev` from the pinned CLI on loopback. A cold start on a small machine can
 * be slow or lose a port race, so the start itself is retried, never the caller's work.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const attempts = options.attempts ?? 3;
  let last: Error | undefined;
  for (let i = 1; i <= attempts; i++) {
    try {
      return await startOnce(options);
    } catch (err) {
      last = err as Error;
    }
  }
  throw new Error(`could not start the Temporal dev server after ${attempts} attempts: ${last?.message}`);
}
