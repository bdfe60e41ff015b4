import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

/** Finds a pinned tool in .tools/bin (see scripts/install-tools.sh), then on PATH. */
export function toolPath(name: 'temporal' | 'minio' | 'rclone'): string {
  const local = join(repoRoot, '.tools', 'bin', name);
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed: run "npm run tools" (builds it with Go into .tools/bin)`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts a server process that dies with us: a bash wrapper holds our end of a pipe and kills the
 * server when the pipe closes, which happens even when this process is killed with SIGKILL.
 */
export function spawnTied(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const wrapper = [
    'exec 3<&0',
    '"$@" </dev/null & child=$!',
    '( read -r _ <&3; kill -TERM "$child" 2>/dev/null; sleep 5; kill -KILL "$child" 2>/dev/null ) & watcher=$!',
    'wait "$child"; status=$?',
    // The watcher may be in its grace-period sleep: end that too, so nothing outlives the server.
    'pkill -P "$watcher" 2>/dev/null; kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null',
    'exit $status',
  ].join('\n');
  return spawn('bash', ['-c', wrapper, 'tied', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
}

/** Stops a tied process and waits for it to exit (TERM, then KILL after `graceMs`). */
export async function stopTied(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `check` until it resolves true, or fails after `timeoutMs` naming what it waited for. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with code ${child.exitCode}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}
