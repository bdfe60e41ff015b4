import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../common/logger';
import { TASK_QUEUES } from '../common/taskQueues';
import { listDriveIntoCatalog } from '../workflows';
import { Stack, startStack } from './support/stack';
import { RunningWorker, stackConfig, startTestWorker } from './support/worker';

/** A logger as production builds it, writing its JSON lines into `lines`. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, sink), lines };
}

let stack: Stack;
let worker: RunningWorker;
const captured = capturingLogger();

before(async () => {
  stack = await startStack({ temporal: true, emulator: true });
  worker = await startTestWorker(stack, stackConfig(stack), { logger: captured.logger });
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

test("a failing activity's log line carries the error's message and stack", async () => {
  // A listing page of the wrong shape: listDrivePage throws, and the failure is not retried.
  stack.emulator!.faults.add({ match: '^GET /drive/v3/files\\?', status: 200, replaceBody: JSON.stringify({ files: 'not a list' }) });
  const workflowId = 'listing-of-a-bad-page';
  const listing = { taskQueue: TASK_QUEUES.workflows, workflowId, args: [{ listingId: 'l1', includeSharedDrives: false }] as const };
  await assert.rejects(worker.client.workflow.execute(listDriveIntoCatalog, listing));
  const failed = captured.lines.map((l) => JSON.parse(l)).find((e) => e.msg === 'Activity failed' && e.activityType === 'listDrivePage');
  assert.ok(failed, `an "Activity failed" line for listDrivePage among:\n${captured.lines.join('\n')}`);
  assert.equal(failed.workflowId, workflowId);
  assert.equal(failed.source, 'temporal');
  assert.match(failed.error.message, /^Drive returned an unexpected file list: files: /);
  assert.match(failed.error.stack, /^InvalidDriveReplyError: Drive returned an unexpected file list/);
  assert.match(failed.error.stack, /\n\s+at parseReply .*activities\/drive\/listing\.ts:\d+/);
  assert.equal(failed.error.type, 'InvalidDriveReplyError');
});

test('a secret nested at any depth, in arrays and in errors, is redacted; other values are left alone', () => {
  const { logger, lines } = capturingLogger();
  const deep = { a: { b: { c: { d: { token: 'tok-five-levels', keep: 'visible' } } } } };
  const error = Object.assign(new Error('upload failed'), { config: { headers: { Authorization: 'Bearer ya29.deep' } } });
  const shared = { id: 'f1' };
  const list = [{ x: [{ refresh_token: 'rt-in-array' }] }];
  logger.warn({ deep, list, err: error, twice: [shared, shared], fileId: 'f1' }, 'with secrets');
  const line = lines[0];
  assert.doesNotMatch(line, /tok-five-levels|rt-in-array|ya29/);
  const event = JSON.parse(line);
  assert.deepEqual(event.deep, { a: { b: { c: { d: { token: '[redacted]', keep: 'visible' } } } } });
  assert.deepEqual(event.list, [{ x: [{ refresh_token: '[redacted]' }] }]);
  assert.equal(event.err.message, 'upload failed');
  assert.equal(event.err.config.headers.Authorization, '[redacted]');
  assert.deepEqual(event.twice, [{ id: 'f1' }, { id: 'f1' }], 'an object met twice is not taken for a cycle');
  assert.equal(event.fileId, 'f1');
  // The caller's objects are not changed by the redaction.
  assert.equal(deep.a.b.c.d.token, 'tok-five-levels');
  assert.equal(error.config.headers.Authorization, 'Bearer ya29.deep');
});

test('a log event that refers to itself is written, the cycle marked', () => {
  const { logger, lines } = capturingLogger();
  const looped: Record<string, unknown> = { name: 'loop', nested: { password: 'pw' } };
  (looped.nested as Record<string, unknown>).back = looped;
  logger.info({ looped }, 'cycle');
  const event = JSON.parse(lines[0]);
  assert.equal(event.looped.nested.password, '[redacted]');
  assert.equal(event.looped.nested.back, '[Circular]');
});
