import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs `drive-vault` (cli/main.ts) as a user would, without blocking this process: the tests' worker runs here.
 * Resolves with its exit code and output, whatever the code. `env` replaces this process's environment when given.
 */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', ...args],
      { cwd: join(__dirname, '..', '..'), encoding: 'utf8', timeout: 180_000, env },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}
