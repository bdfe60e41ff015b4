import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUES } from '../common/taskQueues';
import { deepVerify, fullSync, incrementalSweep, listDriveIntoCatalog, nightlyDump, restore, weeklyRollup } from '../workflows';
import { bytesContent } from '../test/drive-emulator/content';
import type { DriveStore } from '../test/drive-emulator/store';
import { HISTORIES_DIR, type RecordedHistory, childFirstRunId, historyToJson, runChain } from '../test/support/histories';
import { startStack } from '../test/support/stack';
import { stackConfig, startTestWorker } from '../test/support/worker';

/**
 * `npm run record-histories [-- <label>]`: runs the workflows as they are now against the real stack (Temporal dev
 * server, Drive emulator, a real worker) and writes every run's history to test/histories/<label>/ (default: today's
 * date), for test/replay.test.ts. The server suggests continue-as-new early, so the few files here give several runs
 * each: a full sync in its list and transfer phases (with its listing child), a second one auditing every object, a deep verification of what it
 * wrote, an incremental sweep of a rename, a move, a trash, a modification and new files (its transfers continue as
 * new), a nightly dump and the weekly rollup of it, a restore of the whole account from the local destination, a file
 * per page, and a listing that pages several drives and follows shortcuts.
 */
const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 20;
const G = 'application/vnd.google-apps.';

/** A small Drive with each kind of item the full sync handles: folders, equal names, exports, a form, shortcuts, a shared drive. */
async function seedFullSyncDrive(store: DriveStore): Promise<void> {
  const projects = await store.addFile({ name: 'Projects' });
  for (let i = 0; i < 4; i++) await store.addFile({ name: `note-${i}.txt`, parentId: projects.id, content: bytesContent(`note ${i}`) });
  await store.addFile({ name: 'report.pdf', parentId: projects.id, content: bytesContent('first report') });
  await store.addFile({ name: 'report.pdf', parentId: projects.id, content: bytesContent('second report, same name') });
  await store.addFile({ name: 'Plan', parentId: projects.id, mimeType: `${G}document`, text: 'plan' });
  await store.addFile({ name: 'Survey', mimeType: `${G}form` });
  await store.addFile({ name: 'binned.txt', content: bytesContent('trashed'), trashed: true });
  const ana = await store.addFile({ name: 'Shared by Ana', sharedWithMe: true });
  const followed = bytesContent('followed through a shortcut');
  await store.addFile({ name: 'ana notes.txt', parentId: ana.id, sharedWithMe: true, content: followed });
  await store.addFile({ name: 'back to ana', parentId: ana.id, sharedWithMe: true, mimeType: `${G}shortcut`, shortcutTargetId: ana.id });
  await store.addFile({ name: 'link to ana', mimeType: `${G}shortcut`, shortcutTargetId: ana.id });
  await store.addFile({ name: 'link to nothing', mimeType: `${G}shortcut`, shortcutTargetId: 'no-such-file' });
  const team = store.addDrive('Team Drive');
  await store.addFile({ name: 'team plan.txt', driveId: team.id, content: bytesContent('team plan') });
}

/**
 * What the sweep applies: each kind of change it handles (the files named are seedFullSyncDrive's), and enough new
 * or changed content that its transfers take several batches and continue as new.
 */
async function changeFullSyncDrive(store: DriveStore): Promise<void> {
  const named = (name: string) => [...store.files.values()].find((f) => f.name === name)!;
  const projects = named('Projects');
  store.rename(named('note-0.txt').id, 'note-0 renamed.txt');
  store.move(named('note-1.txt').id, 'root');
  store.setTrashed(named('note-2.txt').id, true);
  await store.modifyContent(named('note-3.txt').id, { content: bytesContent('note 3, edited') });
  store.rename(named('Plan').id, 'Plan v2');
  for (let i = 0; i < 5; i++) await store.addFile({ name: `new-${i}.txt`, parentId: projects.id, content: bytesContent(`new ${i}`) });
}

/** Enough drives and shortcuts that both the paging and the shortcut phase of a listing continue as new. */
async function seedListingDrive(store: DriveStore): Promise<void> {
  for (let d = 0; d < 2; d++) {
    const drive = store.addDrive(`Drive ${d}`);
    await store.addFile({ name: `file in drive ${d}.txt`, driveId: drive.id, content: bytesContent(`drive ${d}`) });
  }
  const links = await store.addFile({ name: 'Links' });
  const target = await store.addFile({ name: 'linked.txt', content: bytesContent('a shortcut target in scope') });
  for (let i = 0; i < 450; i++) {
    await store.addFile({ name: `link ${i}`, parentId: links.id, mimeType: `${G}shortcut`, shortcutTargetId: target.id });
  }
}

function writeRuns(dir: string, workflowId: string, workflowType: string, runs: History[]): string[] {
  return runs.map((history, i) => {
    const file = join(dir, `${workflowId}.run-${i + 1}.json`);
    const recorded: RecordedHistory = { workflowId, workflowType, history: historyToJson(history) };
    writeFileSync(file, `${JSON.stringify(recorded)}\n`);
    return file;
  });
}

async function main() {
  const label = process.argv[2] ?? new Date().toISOString().slice(0, 10);
  const dir = join(HISTORIES_DIR, label);
  if (existsSync(dir)) throw new Error(`${relative(process.cwd(), dir)} exists: recorded histories stay as they are; pass another label`);
  const dynamicConfig = { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS };
  const stack = await startStack({ temporal: { dynamicConfig }, emulator: true });
  const worker = await startTestWorker(stack, stackConfig(stack));
  // As production starts them: on the catalog host's own queue.
  const catalogTaskQueue = worker.wired.parts.catalog.taskQueue;
  try {
    const store = stack.emulator!.store;
    await seedFullSyncDrive(store);
    const sync = await worker.client.workflow.start(fullSync, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'full-sync',
      args: [{ includeSharedDrives: true, batchSize: 2, batchesInFlight: 2, verifyPageSize: 3, catalogTaskQueue }],
    });
    await sync.result();
    // A second full sync has nothing to transfer and audits every object, a few per page.
    const audit = await worker.client.workflow.start(fullSync, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'full-sync-audit',
      args: [{ includeSharedDrives: true, batchSize: 4, verifyPageSize: 3, auditPercent: 100, catalogTaskQueue }],
    });
    await audit.result();
    const verify = await worker.client.workflow.start(deepVerify, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'deep-verify',
      args: [{ samplePercent: 100, pageObjects: 2, catalogTaskQueue }],
    });
    await verify.result();
    await changeFullSyncDrive(store);
    const sweep = await worker.client.workflow.start(incrementalSweep, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'sweep',
      args: [{ fullSync: { includeSharedDrives: true, batchSize: 2, batchesInFlight: 2, catalogTaskQueue }, trashRetentionDays: 30 }],
    });
    const swept = await sweep.result();
    if (swept.kind !== 'swept' || !swept.places?.relocated || !swept.places.trashed) {
      throw new Error(`the sweep did not move and trash objects: ${JSON.stringify(swept)}`);
    }
    // A dump of that catalog to the destination, and the rollup that packs it.
    const dump = await worker.client.workflow.start(nightlyDump, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'nightly-dump',
      args: [{ catalogTaskQueue }],
    });
    const dumped = await dump.result();
    const rollup = await worker.client.workflow.start(weeklyRollup, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'weekly-rollup',
      args: [{ catalogTaskQueue }],
    });
    const rolled = await rollup.result();
    if (dumped.status !== 'verified' || rolled.status !== 'verified') {
      throw new Error(`the dump or the rollup did not verify: ${JSON.stringify({ dumped, rolled })}`);
    }
    const restored = await worker.client.workflow.start(restore, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'restore',
      // Within a root, as the API asks: its pages check the target again (patched restore-target-within-root).
      args: [{ from: 'nas', to: join(stack.tmp, 'restored'), within: stack.tmp, pageFiles: 1, pagesInFlight: 2, catalogTaskQueue }],
    });
    const restoreSummary = await restored.result();
    if (restoreSummary.counts.restored === 0 || restoreSummary.counts.failed > 0) {
      throw new Error(`the restore did not bring every file back: ${JSON.stringify(restoreSummary.counts)}`);
    }
    rmSync(join(stack.tmp, 'restored'), { recursive: true, force: true });
    await seedListingDrive(store);
    const listing = await worker.client.workflow.start(listDriveIntoCatalog, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'listing-with-shortcuts',
      args: [{ listingId: 'listing-with-shortcuts', includeSharedDrives: true, catalogTaskQueue }],
    });
    await listing.result();

    const syncRuns = await runChain(worker.client, sync.workflowId, sync.firstExecutionRunId);
    const auditRuns = await runChain(worker.client, audit.workflowId, audit.firstExecutionRunId);
    const listingRuns = await runChain(worker.client, listing.workflowId, listing.firstExecutionRunId);
    const verifyRuns = await runChain(worker.client, verify.workflowId, verify.firstExecutionRunId);
    const sweepRuns = await runChain(worker.client, sweep.workflowId, sweep.firstExecutionRunId);
    const restoreRuns = await runChain(worker.client, restored.workflowId, restored.firstExecutionRunId);
    const runs = {
      sync: syncRuns.length,
      audit: auditRuns.length,
      listing: listingRuns.length,
      verify: verifyRuns.length,
      sweep: sweepRuns.length,
      restore: restoreRuns.length,
    };
    if (runs.sync < 2 || runs.audit < 2 || runs.listing < 3 || runs.verify < 2 || runs.sweep < 2 || runs.restore < 2) {
      throw new Error(
        `too few runs continued as new to record a resumed run of each phase (${JSON.stringify(runs)}): lower the threshold or add items`,
      );
    }
    mkdirSync(dir, { recursive: true });
    const childId = `${sync.workflowId}-listing`;
    const written = [
      ...writeRuns(dir, sync.workflowId, 'fullSync', syncRuns),
      ...writeRuns(dir, audit.workflowId, 'fullSync', auditRuns),
      ...writeRuns(dir, childId, 'listDriveIntoCatalog', await runChain(worker.client, childId, childFirstRunId(syncRuns, childId))),
      ...writeRuns(dir, listing.workflowId, 'listDriveIntoCatalog', listingRuns),
      ...writeRuns(dir, verify.workflowId, 'deepVerify', verifyRuns),
      ...writeRuns(dir, sweep.workflowId, 'incrementalSweep', sweepRuns),
      ...writeRuns(dir, dump.workflowId, 'nightlyDump', await runChain(worker.client, dump.workflowId, dump.firstExecutionRunId)),
      ...writeRuns(dir, rollup.workflowId, 'weeklyRollup', await runChain(worker.client, rollup.workflowId, rollup.firstExecutionRunId)),
      ...writeRuns(dir, restored.workflowId, 'restore', restoreRuns),
    ];
    for (const file of written) console.log(`recorded ${relative(process.cwd(), file)}`);
  } finally {
    await worker.stop();
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
