import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { BUCKETS, Stack, startStack } from './support/stack';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** The pids of processes whose command line contains `pattern`. */
const pidsMatching = async (pattern: string) => {
  const ps = spawn('pgrep', ['-f', pattern]);
  let out = '';
  ps.stdout.on('data', (d) => (out += d));
  await once(ps, 'exit');
  return out.split('\n').filter(Boolean).map(Number);
};

let stack: Stack;
before(async () => {
  stack = await startStack({ temporal: true, minio: true });
});
after(() => stack.stop());

test('the rig starts a real Temporal dev server with our search attributes and a MinIO with both buckets', async () => {
  const connection = await Connection.connect({ address: stack.temporal!.address });
  try {
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    assert.ok('BackupKind' in (attrs.customAttributes ?? {}));
    assert.ok('Account' in (attrs.customAttributes ?? {}));
  } finally {
    await connection.close();
  }
  const s3 = stack.minio!.client();
  const buckets = await s3.send(new ListBucketsCommand({}));
  s3.destroy();
  assert.deepEqual(buckets.Buckets!.map((b) => b.Name).sort(), Object.values(BUCKETS).sort());
});

test('servers started by a process that is SIGKILLed do not outlive it', async () => {
  const marker = `tied-test-${process.pid}-${Date.now()}`;
  const script = `
    const { startMinio } = require('./scripts/launchers/minioServer');
    startMinio(require('path').join(require('os').tmpdir(), '${marker}')).then((m) => console.log(m.process.pid));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 100));
  const minioPids = await pidsMatching(marker);
  assert.ok(minioPids.length > 0, 'the MinIO server is running');
  child.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (minioPids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(minioPids.filter(alive), [], 'no server process is left behind');
});
