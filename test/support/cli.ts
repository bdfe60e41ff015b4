import { execFile } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(__dirname, '..', '..');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, encoding: 'utf8', timeout: 180_000, env: options.env }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/**
 * Runs `drive-vault` (cli/main.ts) as a user would, without blocking this process: the tests' worker runs here.
 * Resolves with its exit code and output, whatever the code. `env` replaces this process's environment when given.
 */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { env, cwd: repoRoot });
}

/** Runs `launcher` (bin/drive-vault, or a link to it as npm installs one) from the directory `cwd`. */
export function runInstalledCli(launcher: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return run(launcher, args, options);
}
