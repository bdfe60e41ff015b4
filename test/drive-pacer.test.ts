import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { openDriveDownload, openDriveExport } from '../activities/drive/download';
import { DrivePacer } from '../activities/drive/pacer';
import { bytesContent } from './drive-emulator/content';
import { startDrive, streamToBuffer } from './support/drive';

/** A pacer that counts the turns it hands out. */
class CountingPacer extends DrivePacer {
  turns = 0;
  override take(signal?: AbortSignal | null): Promise<void> {
    this.turns++;
    return super.take(signal);
  }
}

test('the pacer lets a burst through at once, then one request per interval', async () => {
  const pacer = new DrivePacer(20, 5);
  const settled: boolean[] = [];
  const started = performance.now();
  const turns = Array.from({ length: 25 }, (_, i) => pacer.take().then(() => (settled[i] = true)));
  await nextTurn();
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => settled[i] === true),
    [true, true, true, true, true, false],
    'the burst of 5 goes at once; the 6th waits for its turn',
  );
  await Promise.all(turns);
  // 20 turns past the burst, 50 ms apart: a lower bound only, so a slow machine cannot fail it.
  assert.ok(performance.now() - started >= 950, `25 turns at 20/s with a burst of 5 took ${performance.now() - started} ms`);
});

test('a request waiting for its turn is rejected with the abort reason when its signal fires', async () => {
  const pacer = new DrivePacer(1, 1);
  await pacer.take();
  const controller = new AbortController();
  const waiting = pacer.take(controller.signal);
  controller.abort(new Error('cancelled by Temporal'));
  await assert.rejects(waiting, /cancelled by Temporal/);
  await assert.rejects(pacer.take(controller.signal), /cancelled by Temporal/, 'an aborted signal gets no turn');
});

test('every request the Drive client sends waits for a turn: token, metadata, download, export and export link', async () => {
  const pacer = new CountingPacer(1000);
  const { emulator, drive } = await startDrive({ pacer });
  try {
    const file = await emulator.store.addFile({ name: 'a.txt', content: bytesContent('paced bytes') });
    const doc = await emulator.store.addFile({
      name: 'Big',
      mimeType: 'application/vnd.google-apps.document',
      exportSize: 11 * 1024 * 1024,
    });
    await drive.files.list({ pageSize: 10, fields: 'files(id)' });
    assert.equal((await streamToBuffer(await openDriveDownload(drive, file.id))).toString(), 'paced bytes');
    const mime = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    assert.ok((await streamToBuffer(await openDriveExport(drive, doc.id, mime))).length > 10 * 1024 * 1024);
    const kinds = new Set(emulator.requests.map((r) => (r.path.startsWith('/feeds/') ? 'export link' : r.path)));
    assert.ok(kinds.has('/token') && kinds.has('export link'), `requests seen: ${[...kinds].join(', ')}`);
    assert.equal(pacer.turns, emulator.requests.length, 'one turn per request the emulator received');
  } finally {
    await emulator.close();
  }
});

test('a slow pacer holds the Drive client to its rate', async () => {
  const { emulator, drive } = await startDrive({ pacer: new DrivePacer(5, 1) });
  try {
    const started = performance.now();
    for (let i = 0; i < 6; i++) await drive.files.list({ pageSize: 1, fields: 'files(id)' });
    // 7 requests (the token, then 6 lists) at 5/s with no burst: at least 6 intervals of 200 ms.
    assert.equal(emulator.requests.length, 7);
    assert.ok(performance.now() - started >= 1150, `7 requests at 5/s took ${performance.now() - started} ms`);
  } finally {
    await emulator.close();
  }
});
