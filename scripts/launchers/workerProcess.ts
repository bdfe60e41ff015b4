import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { WorkerRole } from '../../worker/wiring';
import { spawnTied } from './tiedProcess';

const repoRoot = resolve(__dirname, '..', '..');

/**
 * The worker's V8 heap flags, as `npm run worker` and `npm start` pass them. V8 grows its heap lazily: a worker
 * syncing 5,000 small files peaked at 335 MiB RSS without them and at 199 MiB with them, at the same speed.
 */
export const WORKER_HEAP_FLAGS = ['--max-old-space-size=128', '--max-semi-space-size=2'];

/**
 * The `schedules` of a config for a worker that a test or the benchmark starts: a catalog host's worker creates the
 * four schedules as it starts, and these fire once a year (January 1, 00:00 UTC), so no scheduled sweep or full
 * sync runs beside the work a test checks or the benchmark measures.
 */
export const QUIET_SCHEDULES = {
  fullSync: { cron: '0 0 1 1 *' },
  sweep: { cron: '0 0 1 1 *' },
  nightlyDump: { cron: '0 0 1 1 *' },
  weeklyRollup: { cron: '0 0 1 1 *' },
};

/**
 * Runs the real worker entry point (`worker/main.ts [--role <role>] <config>`) in its own process group, tied to
 * this process, and resolves once it logs `worker.started` (at info level, which the config must allow). For tests
 * that kill it as a crash would or run several, and for the benchmark, which measures its memory on its own.
 * `compiled` runs the `npm run build` output, as in production (about 35 MB less than running the TypeScript
 * through tsx). `role` is the worker's (`all` when unset). The child comes back tagged with the identity it
 * logged at start: Temporal's name for its pollers, on every log line it writes and in the histories it works on,
 * and with what it logged to stdout until then (`startupLog`: the schedules it reconciled, for one).
 */
export async function startWorkerProcess(
  configPath: string,
  env: NodeJS.ProcessEnv,
  options: { compiled?: boolean; timeoutMs?: number; role?: WorkerRole } = {},
): Promise<ChildProcess & { identity: string; startupLog: string }> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const entry = options.compiled ? [join(repoRoot, 'dist', 'worker', 'main.js')] : ['--import', 'tsx', join(repoRoot, 'worker', 'main.ts')];
  const role = options.role ? ['--role', options.role] : [];
  const child = spawnTied(process.execPath, [...WORKER_HEAP_FLAGS, ...entry, ...role, configPath], { ...process.env, ...env });
  let output = '';
  let startupLog = '';
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const identity = await new Promise<string>((resolveStarted, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before it started:\n${output}`));
    };
    child.once('exit', onExit);
    let started: RegExpMatchArray | null = null;
    child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (started) return;
      startupLog += chunk.toString();
      started = output.match(/^\{.*"event":"worker\.started".*\}$/m);
      if (started) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolveStarted((JSON.parse(started[0]) as { worker: string }).worker);
      }
    });
  });
  return Object.assign(child, { identity, startupLog });
}
