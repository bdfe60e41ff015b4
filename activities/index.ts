import { Context } from '@temporalio/activity';
import type { drive_v3 } from 'googleapis';
import type { ExportFormatConfig } from '../common/config';
import type { Logger } from '../common/logger';
import type { FullSyncTotals, ListDrivePageInput, TransferItem, TransferOutcome } from '../common/types';
import type { Catalog } from './catalog/catalog';
import { ObjectKeyPlanner } from './catalog/objectKeys';
import { type RunKind, closeRun, finishRun, startRun } from './catalog/runs';
import { writeDailyDump } from './dump/dailyDump';
import type { StateLayout } from './dump/dumpLayout';
import { applyDumpRetention } from './dump/dumpRetention';
import { uploadPendingDumps } from './dump/dumpUploads';
import type { ScopeRules } from './catalog/scopeRules';
import { type ClaimInput, claimPendingBatch, recordFailedBatch, recordTransferOutcomes, requeueFailures } from './catalog/syncQueue';
import { readChangesPage } from './drive/changes';
import { listDrivePage, listSharedDrives } from './drive/listing';
import { followShortcutsStep, resolveShortcutsPage } from './drive/shortcuts';
import { heartbeatWhile } from './heartbeatWhile';
import type { Notifications } from './notify/channels';
import { type RunOutcomeReport, reportRunOutcome } from './notify/reportRunOutcome';
import { type PlanRestoreInput, finishRestore, planRestore } from './restore/planRestore';
import { type RestorePageInput, restorePage } from './restore/restorePage';
import type { Destination } from './storage/destination';
import { purgeExpiredTrash } from './storage/trashRetention';
import { beginChangeTracking, beginSweep } from './sweep/beginSweep';
import { applyRollupRetention, uploadPendingRollups, writeWeeklyRollup } from './rollup/weeklyRollup';
import { DriveSlots } from './transfer/driveSlots';
import { applyPlaceChecksPage } from './transfer/placeObjects';
import { type TransferMetrics, transferBatch } from './transfer/transferBatch';
import { type DeepVerifyPageInput, beginDeepVerify, deepVerifyPage } from './verify/deepVerify';
import { auditObjectsPage, planAudit, verifyObjectsPage } from './verify/headObjects';

/** Runs the tasks given to it one after the other, in the order given, whatever each one's outcome. */
function oneAtATimeQueue() {
  let last = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const done = last.then(work);
    last = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  };
}

export interface CatalogActivityDeps {
  catalog: Catalog;
  drive: drive_v3.Drive;
  destinations: Destination[];
  logger: Logger;
  account: string;
  exportFormats: ExportFormatConfig;
  includeSharedWithMe: boolean;
  scopeRules: ScopeRules;
  /** The local dump directory, where the account's dumps and rollups go on each destination, and their retention. */
  dumps: { dir: string; layout: StateLayout; keepLocal: number; keepRemoteDays: number; keepWeekly: number };
  /** Where run outcomes are told; without it they are only recorded (destination health, failed runs). */
  notifications?: Notifications;
}

const NO_NOTIFICATIONS: Notifications = { channels: [], events: new Set(), runLink: () => '' };

/**
 * Activities that touch the catalog. They run on the catalog task queue, served only by the host that
 * owns the SQLite file. Dependencies come in, so tests pass real local ones (temp file, emulator, MinIO).
 */
export function createCatalogActivities(deps: CatalogActivityDeps) {
  const { catalog } = deps;
  const stateDeps = { ...deps, layout: deps.dumps.layout };
  const planner = new ObjectKeyPlanner(catalog.db, deps.account, deps.exportFormats);
  // One page of place checks at a time in this process: two runs at once would move the same objects twice.
  const oneAtATime = oneAtATimeQueue();
  // One dump or rollup step at a time: a dump started by hand beside the nightly one would replace its day folder.
  const oneStateStepAtATime = oneAtATimeQueue();
  return {
    // The sweep's tasks heartbeat: one lost with a killed worker is retried within seconds (its heartbeat timeout).
    listDrivePage: (input: ListDrivePageInput) => heartbeatWhile(() => listDrivePage(deps, input)),
    listSharedDrives: () => listSharedDrives(deps),
    followShortcutsStep: (input: { listingId: string; begin?: { afterId: string } }) => followShortcutsStep(deps, input),
    /** Replaced by followShortcutsStep; served for listings whose history calls it. */
    resolveShortcutsPage: (input: { listingId: string; afterId: string; limit: number }) => resolveShortcutsPage(deps, input),
    startRun: async (input: { runId: string; kind: RunKind; workflowId: string }) => startRun(catalog, input),
    requeueFailures: async () => requeueFailures(catalog),
    claimPendingBatch: async (input: ClaimInput) =>
      claimPendingBatch(catalog, { planner, scopeRules: deps.scopeRules, includeSharedWithMe: deps.includeSharedWithMe }, input),
    recordTransferOutcomes: async (input: { runId: string; outcomes: TransferOutcome[] }) => recordTransferOutcomes(catalog, input),
    recordFailedBatch: async (input: { runId: string; fileIds: string[]; finished: TransferOutcome[]; message: string }) =>
      recordFailedBatch(
        catalog,
        deps.destinations.map((d) => d.name),
        input,
      ),
    /** Replaced by the HEAD right after each upload plus the audit; served for runs whose history calls it. */
    verifyObjectsPage: (input: { afterRowId: number; limit: number }) => verifyObjectsPage(deps, input),
    planAudit: async (input: { percent: number }) => planAudit(deps, input),
    auditObjectsPage: (input: { runId: string; limit: number; unreachable?: string[] }) => auditObjectsPage(deps, input),
    beginDeepVerify: async (input: { destination?: string; samplePercent?: number }) => beginDeepVerify(deps, input),
    deepVerifyPage: (input: DeepVerifyPageInput) => deepVerifyPage(deps, input),
    finishRun: async <T extends FullSyncTotals>(input: { runId: string; totals: T }) => finishRun(catalog, input),
    beginSweep: (input: { runId: string; workflowId: string; includeSharedDrives: boolean }) =>
      heartbeatWhile(() => beginSweep(deps, input)),
    beginChangeTracking: (input: { runId: string; workflowId?: string; includeSharedDrives: boolean }) => beginChangeTracking(deps, input),
    readChangesPage: (input: { runId: string; scope: string }) => heartbeatWhile(() => readChangesPage(deps, input)),
    /** Files a full sync's listing did not see are gone from Drive: their objects are queued for .trash/. */
    markUnlistedGone: async (input: { runId: string }) => {
      const startedAt = catalog.db.prepare('SELECT started_at FROM runs WHERE id = ?').get(input.runId) as { started_at: string };
      return catalog.db.transaction(() => catalog.places.markUnlisted(input.runId, startedAt.started_at))();
    },
    applyPlaceChecksPage: (input: { runId: string; afterFileId: string; limit: number }) =>
      heartbeatWhile(() => oneAtATime(() => applyPlaceChecksPage({ ...deps, planner }, input))),
    purgeExpiredTrash: (input: { runId: string; retentionDays: number; now?: string }) =>
      heartbeatWhile(() => purgeExpiredTrash(deps, input)),
    closeRun: async (input: { runId: string; status: 'completed' | 'failed'; summary: unknown }) => closeRun(catalog, input),
    destinationNames: async () => deps.destinations.map((d) => d.name),
    // The dump and the rollup work in the local dump directory of this host; `now` lets tests pick the day.
    writeDailyDump: (input: { runId: string; now?: string }) =>
      heartbeatWhile(() => oneStateStepAtATime(() => writeDailyDump(deps, { ...input, dumpDir: deps.dumps.dir }))),
    uploadPendingDumps: (input: { runId: string; destination: string }) =>
      heartbeatWhile(() => uploadPendingDumps(stateDeps, { ...input, dumpDir: deps.dumps.dir })),
    applyDumpRetention: (input: { runId: string; now?: string; uploadFailed?: string[] }) =>
      heartbeatWhile(() =>
        oneStateStepAtATime(() =>
          applyDumpRetention(stateDeps, {
            ...input,
            dumpDir: deps.dumps.dir,
            keepLocal: deps.dumps.keepLocal,
            keepRemoteDays: deps.dumps.keepRemoteDays,
          }),
        ),
      ),
    writeWeeklyRollup: (input: { runId: string; now?: string }) =>
      heartbeatWhile(() => oneStateStepAtATime(() => writeWeeklyRollup(deps, { ...input, dumpDir: deps.dumps.dir }))),
    uploadPendingRollups: (input: { runId: string; destination: string }) =>
      heartbeatWhile(() => uploadPendingRollups(stateDeps, { ...input, dumpDir: deps.dumps.dir })),
    applyRollupRetention: (input: { runId: string }) =>
      heartbeatWhile(() =>
        oneStateStepAtATime(() =>
          applyRollupRetention(stateDeps, { ...input, dumpDir: deps.dumps.dir, keepWeekly: deps.dumps.keepWeekly }),
        ),
      ),
    // A restore writes into a directory of the catalog host, and keeps its selection beside the catalog.
    planRestore: (input: PlanRestoreInput) => heartbeatWhile(() => planRestore(deps, input)),
    restorePage: (input: RestorePageInput) => restorePage(deps, input),
    finishRestore: (input: { restoreId: string }) => finishRestore(deps, input),
    reportRunOutcome: (input: RunOutcomeReport) =>
      reportRunOutcome(
        {
          ...deps,
          notifications: deps.notifications ?? NO_NOTIFICATIONS,
          destinations: deps.destinations.map((d) => d.name),
          signal: Context.current().cancellationSignal,
        },
        input,
      ),
  };
}

export interface TransferActivityDeps {
  drive: drive_v3.Drive;
  destinations: Destination[];
  logger: Logger;
  attempts: number;
  backoffBaseMs: number;
  concurrency: number;
  resumableMinBytes: number;
  stallTimeoutMs: number;
  /** Counts the files and bytes written, and the files given up, per destination. */
  metrics?: TransferMetrics;
}

/** Stateless streaming activities for the transfer task queue: any number of workers on any hosts. */
export function createTransferActivities(deps: TransferActivityDeps) {
  const slots = new DriveSlots(deps.concurrency);
  return {
    transferBatch: (items: TransferItem[]) => transferBatch({ ...deps, slots }, items),
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
export type TransferActivities = ReturnType<typeof createTransferActivities>;
