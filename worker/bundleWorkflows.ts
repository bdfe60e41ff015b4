import { bundleWorkflowCode } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Bundles workflows/ in a short-lived child process and returns the bundle's path. Webpack's peak memory
 * (a few hundred MB) then never counts against the long-running worker. `remove` deletes the file once
 * the worker has loaded it.
 */
export async function bundleWorkflowsInChildProcess(): Promise<{ codePath: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'drive-vault-workflows-'));
  const codePath = join(dir, 'workflow-bundle.js');
  await promisify(execFile)(process.execPath, [...process.execArgv, __filename, codePath], { maxBuffer: 16 * 1024 * 1024 });
  return { codePath, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

if (require.main === module) {
  const out = process.argv[2];
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silent as never })
    .then(({ code }) => writeFileSync(out, code))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
