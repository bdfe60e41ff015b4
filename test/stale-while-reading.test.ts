import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { atMostEvery } from '../api/app';

// The Google accounts' status behind GET /api/status: a token endpoint that hangs for 20 s (5 s a try, 4 tries) made
// every status after the minute wait that long (cold review). Past its time the last answer is given at once.
test('an answer past its time is still given at once while one new read runs; the first read is waited for', {
  timeout: 5000,
}, async () => {
  let reads = 0;
  let release!: () => void;
  const read = () => {
    reads++;
    return reads === 1 ? Promise.resolve('first') : new Promise<string>((resolve) => (release = () => resolve('second')));
  };
  const accounts = atMostEvery(20, read);
  assert.equal(await accounts(), 'first');
  await sleep(30);
  const started = Date.now();
  assert.equal(await accounts(), 'first', 'the old answer, at once');
  assert.equal(await accounts(), 'first', 'one read running, not two');
  assert.ok(Date.now() - started < 15);
  assert.equal(reads, 2);
  release();
  await sleep(5);
  assert.equal(await accounts(), 'second');
});
