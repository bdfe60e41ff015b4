import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TASK_QUEUES } from '../common/taskQueues';
import { type ListDriveInput, type ListDriveResult, listDriveIntoCatalog } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import type { EmuFile } from './drive-emulator/store';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

const G = 'application/vnd.google-apps.';
type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
/** Each Drive listing of a followed folder answers this late; one step lists one page, so it fits the timeout. */
const FOLDER_PAGE_DELAY_MS = 3000;
const ACTIVITY_TIMEOUT = '8 seconds';
let stack: Stack;
let worker: RunningWorker;
let links: EmuFile;
let big: EmuFile;
let link: EmuFile;
const bigFiles = new Set<string>();

before(async () => {
  // A low threshold makes the listing continue as new while it walks, so the walk's cursor crosses runs.
  stack = await startStack({ temporal: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 12 } }, emulator: true });
  const s = stack.emulator!.store;
  links = await s.addFile({ name: 'Links' });
  // A large folder someone shared with the account: 3,000 files, nested, reached through a shortcut in My Drive.
  big = await s.addFile({ name: 'Big shared', sharedWithMe: true });
  const one = await s.addFile({ name: 'one', parentId: big.id, sharedWithMe: true });
  const two = await s.addFile({ name: 'two', parentId: one.id, sharedWithMe: true });
  for (const [folder, count] of [
    [big, 1200],
    [one, 1000],
    [two, 800],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const f = await s.addFile({
        name: `${folder.name}-${i}.txt`,
        parentId: folder.id,
        sharedWithMe: true,
        content: bytesContent(`${folder.name} ${i}`),
      });
      bigFiles.add(f.id);
    }
  }
  await s.addFile({ name: 'back to big', parentId: two.id, sharedWithMe: true, mimeType: `${G}shortcut`, shortcutTargetId: big.id });
  link = await s.addFile({ name: 'big link', parentId: links.id, mimeType: `${G}shortcut`, shortcutTargetId: big.id });
  stack.emulator!.faults.add({ match: 'in%20parents', delayMs: FOLDER_PAGE_DELAY_MS });
  worker = await startTestWorker(stack, stackConfig(stack));
});

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

/** The listing's result; fails as soon as any attempt of a listing activity has timed out. */
async function resultWithoutTimeouts(client: Client, workflowId: string, result: Promise<ListDriveResult>): Promise<ListDriveResult> {
  let finished = false;
  const watch = async (): Promise<never> => {
    for (;;) {
      // Between two runs at continueAsNew a describe may fail: look again.
      const pending =
        (
          await client.workflow
            .getHandle(workflowId)
            .describe()
            .catch(() => undefined)
        )?.raw.pendingActivities ?? [];
      const timedOut = pending.find((a) => a.lastFailure?.timeoutFailureInfo);
      if (timedOut)
        throw new Error(`${timedOut.activityType?.name} timed out (next attempt ${timedOut.attempt}): ${timedOut.lastFailure?.message}`);
      if (finished) return new Promise<never>(() => undefined);
      await sleep(500);
    }
  };
  try {
    return await Promise.race([result, watch()]);
  } finally {
    finished = true;
  }
}

/** Runs a listing; also returns the input each of its runs continued as new with. */
async function runListing(listingId: string): Promise<{ result: ListDriveResult; continuedWith: ListDriveInput[] }> {
  const workflowId = `shortcut-walk-${listingId}`;
  const handle = await worker.client.workflow.start(listDriveIntoCatalog, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ listingId, includeSharedDrives: false, activityTimeout: ACTIVITY_TIMEOUT }],
  });
  const result = await resultWithoutTimeouts(worker.client, workflowId, handle.result());
  const continuedWith: ListDriveInput[] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId; ) {
    const history: History = await worker.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const continued = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
    if (continued) continuedWith.push(JSON.parse(Buffer.from(continued.input!.payloads![0].data!).toString()) as ListDriveInput);
    runId = continued?.newExecutionRunId ?? undefined;
  }
  return { result, continuedWith };
}

/** Ids of the folders from a file up to the top of its place in the catalog. */
function placeOf(fileId: string): string[] {
  const chain: string[] = [];
  for (let id = worker.wired.catalog.getFile(fileId)?.parentId; id && !chain.includes(id); id = worker.wired.catalog.getFile(id)?.parentId)
    chain.push(id);
  return chain;
}

test('a shortcut to a shared folder of 3,000 nested files is followed in bounded steps, none near the activity timeout', {
  timeout: 15 * 60_000,
}, async () => {
  const { result, continuedWith } = await runListing('walk-1');
  assert.deepEqual(result.shortcuts, { inScope: 0, followed: 1, dangling: 0, loops: 1 });
  assert.ok(
    continuedWith.some((input) => input.cursor?.shortcutWalkStarted),
    `a run continued as new mid-walk, carrying no more than that: ${JSON.stringify(continuedWith.map((i) => i.cursor))}`,
  );

  const catalog = worker.wired.catalog;
  const target = catalog.getFile(big.id)!;
  assert.deepEqual([target.parentId, target.followedFrom], [links.id, link.id], "the folder is recorded in the shortcut's place");
  for (const id of bigFiles) {
    const f = catalog.getFile(id);
    assert.ok(f, `file ${id} recorded`);
    assert.equal(f.lastListingId, 'walk-1');
    assert.ok(placeOf(id).includes(links.id) && placeOf(id).includes(big.id), `${f.name} lies under the shortcut's place`);
  }
  assert.match(catalog.getFile(link.id)!.skipReason!, /^shortcut followed/);
  const back = catalog.filesPage('', 10_000).find((f) => f.name === 'back to big')!;
  assert.match(back.skipReason!, /^shortcut loop/);
  const folderPages = stack.emulator!.requests.filter((r) => String(r.query.q ?? '').includes('in parents')).length;
  assert.ok(folderPages >= 5, `the walk listed ${folderPages} folder pages, more than one activity's timeout allows in one go`);
});

test('a second listing follows the shortcut the same way and leaves every file in its place', { timeout: 15 * 60_000 }, async () => {
  stack.emulator!.faults.clear();
  const { result } = await runListing('walk-2');
  assert.deepEqual(result.shortcuts, { inScope: 0, followed: 1, dangling: 0, loops: 1 });
  assert.equal(result.changed, 0, 'nothing changed place');
  for (const id of bigFiles) assert.ok(placeOf(id).includes(links.id), id);
  assert.equal(worker.wired.catalog.getFile(big.id)!.parentId, links.id);
});
