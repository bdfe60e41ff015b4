import { startSweep } from '../../api/sweepRuns';
import { runChain } from '../../test/support/histories';
import type { IncrementalSweepSummary } from '../../workflows';
import { type BenchStack, type OpenPhase, type SyncPhase, type SyncResult, measureFullSync, openPhase } from './fullSyncRun';
import { type RunProfile, runProfile } from './histories';
import { cpuSeconds, tiedChildPid } from './measurements';
import { type ChangeMix, changeCount, makeChanges, relocatedFiles, transferredFiles, trashedFiles } from './sweepChanges';
import { WORKLOADS, seedDriveLikeTree } from './workloads';

type SweptSummary = Extract<IncrementalSweepSummary, { kind: 'swept' }>;

export interface SweepRun {
  /** Names the workflow (`bench-sweep-<label>`). */
  label: string;
  /** The changes made in Drive before it; none for a quiet sweep. */
  mix?: ChangeMix;
  /** Start to result, as the client waits for it. */
  seconds: number;
  /** Requests to Drive's API (/drive/v3/) in the emulator's log while it ran; the OAuth token endpoint is not one. */
  driveCalls: number;
  /** CPU seconds while it ran: the worker, Temporal, MinIO, this process (the emulator and the client). */
  cpu: { worker: number; temporal: number; minio: number; emulatorAndClient: number };
  profile: RunProfile;
  summary: SweptSummary;
}

export interface SweepMeasurements {
  /** The full sync that puts the Drive in the catalog and on both buckets first. */
  fullSync: SyncResult;
  /** My Drive and the shared drives. */
  drives: number;
  /** Quiet sweeps one after the other: the figure is their median. */
  idle: SweepRun[];
  hundred: SweepRun;
  thousand: SweepRun;
}

const QUIET_SWEEPS = 3;

/** A sweep must do what its changes ask, no more: else its time measures something else. */
function checkSweep(label: string, summary: IncrementalSweepSummary, destinations: number, mix: ChangeMix | undefined): SweptSummary {
  if (summary.kind !== 'swept') throw new Error(`sweep ${label}: ${summary.kind} (${summary.reason}), not swept`);
  const places = summary.places ?? { relocated: 0, trashed: 0, restored: 0, requeued: 0, failed: 0 };
  const expected = {
    changes: mix ? changeCount(mix) : 0,
    filesSynced: mix ? transferredFiles(mix) : 0,
    filesFailed: 0,
    relocated: mix ? relocatedFiles(mix) * destinations : 0,
    trashed: mix ? trashedFiles(mix) * destinations : 0,
    restored: 0,
    requeued: 0,
    failed: 0,
  };
  const actual = { changes: summary.changes, filesSynced: summary.filesSynced, filesFailed: summary.filesFailed, ...places };
  const wrong = Object.entries(expected).filter(([k, v]) => actual[k as keyof typeof actual] !== v);
  if (wrong.length)
    throw new Error(`sweep ${label}: ${wrong.map(([k, v]) => `${k} ${actual[k as keyof typeof actual]}, expected ${v}`).join('; ')}`);
  return summary;
}

async function sweepOnce(stack: BenchStack, open: OpenPhase, label: string, changes?: { count: number; seed: number }): Promise<SweepRun> {
  const { emulator, config } = open;
  const mix = changes && (await makeChanges(emulator.store, changes.count, WORKLOADS.sweep.size, changes.seed));
  const pids = {
    worker: open.workerPids[0],
    temporal: tiedChildPid(stack.temporal.process.pid!),
    minio: tiedChildPid(stack.minio.process.pid!),
  };
  const cpuNow = () => ({
    worker: cpuSeconds(pids.worker),
    temporal: cpuSeconds(pids.temporal),
    minio: cpuSeconds(pids.minio),
    emulatorAndClient: cpuSeconds('self'),
  });
  const cpuBefore = cpuNow();
  const from = emulator.requests.length;
  const workflowId = `bench-sweep-${label}`;
  const started = performance.now();
  const handle = await startSweep(stack.client, config, workflowId);
  const summary = await handle.result();
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuNow();
  const cpu = Object.fromEntries(
    Object.entries(cpuAfter).map(([k, v]) => [k, v - cpuBefore[k as keyof typeof cpuBefore]]),
  ) as SweepRun['cpu'];
  const driveCalls = emulator.requests.slice(from).filter((r) => r.path.startsWith('/drive/v3/')).length;
  const profile = runProfile(await runChain(stack.client, workflowId, handle.firstExecutionRunId));
  return { label, mix, seconds, driveCalls, cpu, profile, summary: checkSweep(label, summary, config.destinations.length, mix) };
}

/**
 * The incremental sweep on a Drive of 100,000 files (WORKLOADS.sweep) to two buckets, synced first by a real full
 * sync: quiet sweeps, then one after 100 changes of mixed kinds, then one after 1,000. One worker, as a user runs it.
 */
export async function runSweepPhase(
  stack: BenchStack,
  progress: { synced(fullSync: SyncResult): void; swept(sweep: SweepRun): void },
): Promise<SweepMeasurements> {
  const w = WORKLOADS.sweep;
  const phase: SyncPhase = {
    id: 'sweep',
    files: w.files,
    bytes: w.files * w.size,
    destinations: 's3',
    seed: (s) => seedDriveLikeTree(s, w),
  };
  const open = await openPhase(stack, phase);
  try {
    const fullSync = await measureFullSync(stack, phase, open);
    progress.synced(fullSync);
    const swept = async (label: string, changes?: { count: number; seed: number }) => {
      const run = await sweepOnce(stack, open, label, changes);
      progress.swept(run);
      return run;
    };
    const idle: SweepRun[] = [];
    for (let i = 1; i <= QUIET_SWEEPS; i++) idle.push(await swept(`quiet-${i}`));
    const hundred = await swept('100', { count: 100, seed: 1 });
    const thousand = await swept('1000', { count: 1000, seed: 2 });
    return { fullSync, drives: open.emulator.store.drives.size + 1, idle, hundred, thousand };
  } finally {
    await open.close();
  }
}

/** The median quiet sweep: the first of the day also purges expired trash, and one may meet a busy moment. */
export function medianQuietSweep(m: SweepMeasurements): SweepRun {
  const sorted = [...m.idle].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)];
}
