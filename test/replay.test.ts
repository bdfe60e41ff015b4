import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { historyFromJson, readRecordedHistories } from './support/histories';
import { installTemporalLogging } from '../worker/temporalLogging';
import { testLogger, workflowBundle } from './support/worker';

/** The patches a history recorded (`patched(id)` leaves a marker whose payload names the id). */
function patchesOf(history: unknown): string[] {
  const events = (
    history as { events: Array<{ markerRecordedEventAttributes?: { details?: Record<string, { payloads?: Array<{ data?: string }> }> } }> }
  ).events;
  return events.flatMap((e) =>
    (e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? []).map(
      (p) => (JSON.parse(Buffer.from(p.data ?? '', 'base64').toString('utf8')) as { id: string }).id,
    ),
  );
}

test('every recorded workflow history replays on the current workflow code without nondeterminism', async () => {
  installTemporalLogging(testLogger, 'ERROR');
  const recorded = readRecordedHistories();
  const continuedAsNew = (type: string) =>
    recorded.some((r) => r.workflowType === type && JSON.stringify(r.history).includes('"workflowExecutionContinuedAsNewEventAttributes"'));
  for (const type of ['fullSync', 'listDriveIntoCatalog', 'incrementalSweep']) {
    assert.ok(continuedAsNew(type), `${type} has a recorded history that continued as new`);
  }
  for (const type of ['deepVerify', 'nightlyDump', 'weeklyRollup']) {
    assert.ok(
      recorded.some((r) => r.workflowType === type),
      `${type} has a recorded history`,
    );
  }
  // Issue 13's notifications: each kind that tells its outcome has a history recorded with the activity that tells it.
  for (const type of ['fullSync', 'incrementalSweep', 'nightlyDump', 'weeklyRollup']) {
    assert.ok(
      recorded.some((r) => r.workflowType === type && JSON.stringify(r.history).includes('"reportRunOutcome"')),
      `${type} has a recorded history that tells its outcome`,
    );
  }

  // A restore asked within a root (the API's): its pages check the target again, behind a patch.
  assert.ok(
    recorded.some((r) => r.workflowType === 'restore' && patchesOf(r.history).includes('restore-target-within-root')),
    'a restore has a recorded history with the within-root patch',
  );

  const replays = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    recorded.map((r) => ({ workflowId: r.workflowId, history: historyFromJson(r.history) })),
  );
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of replays) {
    if (result.error) failures.push(`${recorded[replayed].file}: ${result.error.name}: ${result.error.message}`);
    replayed++;
  }
  assert.deepEqual(failures, []);
  assert.equal(replayed, recorded.length);
});
