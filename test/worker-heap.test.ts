import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WORKER_HEAP_FLAGS } from '../scripts/launchers/workerProcess';

// The bench and the tests measure the worker as the launcher starts it: users start it through these scripts.
test('npm run worker and npm start give the worker the heap flags its memory was measured with', () => {
  const { scripts } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const name of ['worker', 'start']) {
    for (const flag of WORKER_HEAP_FLAGS) assert.ok(scripts[name].split(' ').includes(flag), `${name} passes ${flag}: ${scripts[name]}`);
  }
});
