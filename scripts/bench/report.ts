import { writeFileSync } from 'node:fs';
import type { SyncResult } from './fullSyncRun';
import { type RunHistory, largestHistory } from './histories';
import { mib } from './measurements';
import type { DumpMeasurements } from './dumpRun';
import type { RcloneReference } from './reference';
import type { RestoreVsRclone } from './restoreVsRclone';
import { type SweepMeasurements, type SweepRun, medianQuietSweep } from './sweepRun';
import { type ChangeMix, changeCount } from './sweepChanges';

/** What one bench run measured, from which the figures of issue 10 section 5 and of issue 11 (the sweep) are computed. */
import type { ApiStatusMeasurements } from './apiStatus';

export interface BenchMeasurements {
  gigabyte: SyncResult;
  large: { ours: SyncResult; rclone: RcloneReference };
  small: { ours: SyncResult; rclone: RcloneReference };
  latencyOneWorker: SyncResult;
  latencyTwoWorkers: SyncResult;
  tenThousand: SyncResult;
  hundredThousand: SyncResult;
  sweep: SweepMeasurements;
  state: StateMeasurements;
  api: ApiStatusMeasurements;
}

/** Issue 12: the dump and recovery of a 200,000-file catalog. */
export interface StateMeasurements {
  dump: DumpMeasurements;
  restore: RestoreVsRclone;
}

/** Drive's answer time the latency phases emulate, in seconds. */
export const DRIVE_LATENCY_SECONDS = 0.1;

type Target = { atLeast: number } | { atMost: number };

const TARGETS = {
  ratio_large_vs_rclone_both: { atLeast: 1.2 },
  ratio_small_vs_rclone_both: { atLeast: 1.0 },
  cpu_per_gb_vs_rclone: { atMost: 1.0 },
  cpu_per_file_vs_rclone: { atMost: 2.0 },
  latency_efficiency: { atLeast: 0.8 },
  scaleout_2_workers: { atLeast: 1.8 },
  per_file_time_100k_vs_10k: { atMost: 1.2 },
  worker_peak_rss_mib: { atMost: 256 },
  stack_peak_rss_mib: { atMost: 1024 },
  sweep_idle_seconds: { atMost: 2 },
  sweep_idle_drive_calls_per_drive: { atMost: 2 },
  sweep_1000_vs_100: { atMost: 12 },
  restore_vs_rclone: { atLeast: 0.8 },
  api_status_p99_ms: { atMost: 50 },
} satisfies Record<string, Target>;

const STATE_FIGURES = [
  'dump_seconds_200k',
  'dump_mb_200k',
  'dump_vs_copy_and_gzip',
  'recover_seconds_200k',
  'recover_from_manifest_seconds_200k',
] as const;

/** Figures written and printed beside those with targets, that have none of their own. */
const UNTARGETED = [
  'sweep_idle_drive_calls',
  'drives',
  'sweep_100_changes_seconds',
  'sweep_1000_changes_seconds',
  ...STATE_FIGURES,
  'api_status_p50_ms',
  'api_health_p99_ms',
  'api_status_vs_health_p99',
] as const;

export type FigureName = keyof typeof TARGETS;
export type Figures = Record<FigureName | (typeof UNTARGETED)[number], number>;

const filesPerSecond = (r: SyncResult, seconds = r.seconds) => r.files / seconds;
/** Files per second over the limit that files in flight ÷ Drive's latency set. */
const latencyEfficiency = (r: SyncResult, seconds = r.seconds) => filesPerSecond(r, seconds) / (r.filesInFlight / DRIVE_LATENCY_SECONDS);
const rcloneOneCopyCpu = (r: RcloneReference) => r.sequential.copies[0].cpuSeconds;

export const allSyncs = (m: BenchMeasurements): SyncResult[] => [
  m.gigabyte,
  m.large.ours,
  m.small.ours,
  m.latencyOneWorker,
  m.latencyTwoWorkers,
  m.tenThousand,
  m.hundredThousand,
  m.sweep.fullSync,
];

/**
 * The figures. CPU ratios set the worker (two destinations, verified) against one rclone copy to one bucket.
 * Latency efficiency is taken over the whole full sync, not the transfer phase alone: listing and verification
 * are part of what a user waits for, and issue 10 asks to pipeline them too (the transfer phase's is printed beside it).
 */
export function figuresOf(m: BenchMeasurements): Figures {
  const gigabytes = m.large.ours.bytes / 1e9;
  const perFile = (r: SyncResult) => r.seconds / r.files;
  const quiet = medianQuietSweep(m.sweep);
  return {
    ratio_large_vs_rclone_both: m.large.rclone.seconds / m.large.ours.seconds,
    ratio_small_vs_rclone_both: m.small.rclone.seconds / m.small.ours.seconds,
    cpu_per_gb_vs_rclone: m.large.ours.cpu.workers / gigabytes / (rcloneOneCopyCpu(m.large.rclone) / gigabytes),
    cpu_per_file_vs_rclone: m.small.ours.cpu.workers / m.small.ours.files / (rcloneOneCopyCpu(m.small.rclone) / m.small.ours.files),
    latency_efficiency: latencyEfficiency(m.latencyOneWorker),
    scaleout_2_workers: filesPerSecond(m.latencyTwoWorkers) / filesPerSecond(m.latencyOneWorker),
    per_file_time_100k_vs_10k: perFile(m.hundredThousand) / perFile(m.tenThousand),
    worker_peak_rss_mib: mib(Math.max(...allSyncs(m).map((r) => r.workerPeakRssBytes))),
    stack_peak_rss_mib: mib(m.hundredThousand.stackPeakRssBytes ?? Number.NaN),
    sweep_idle_seconds: quiet.seconds,
    sweep_idle_drive_calls_per_drive: quiet.driveCalls / m.sweep.drives,
    sweep_1000_vs_100: m.sweep.thousand.seconds / m.sweep.hundred.seconds,
    sweep_idle_drive_calls: quiet.driveCalls,
    drives: m.sweep.drives,
    sweep_100_changes_seconds: m.sweep.hundred.seconds,
    sweep_1000_changes_seconds: m.sweep.thousand.seconds,
    ...stateFiguresOf(m.state),
    ...apiFiguresOf(m.api),
  };
}

/** Issue 13's figures: GET /api/status's latency, and its ratio to a route that reads nothing. */
export function apiFiguresOf(m: ApiStatusMeasurements) {
  return {
    api_status_p99_ms: m.status.p99Ms,
    api_status_p50_ms: m.status.p50Ms,
    api_health_p99_ms: m.health.p99Ms,
    api_status_vs_health_p99: m.status.p99Ms / m.health.p99Ms,
  };
}

/** The state phases' figures, by the names issue 12 gives them. */
export function stateFiguresOf(m: StateMeasurements): Record<(typeof STATE_FIGURES)[number] | 'restore_vs_rclone', number> {
  return {
    restore_vs_rclone: m.restore.restore_vs_rclone,
    dump_seconds_200k: m.dump.dumpSeconds,
    dump_mb_200k: (m.dump.dumpBytes + m.dump.manifestBytes) / 1e6,
    dump_vs_copy_and_gzip: m.dump.dumpSeconds / m.dump.referenceSeconds,
    recover_seconds_200k: m.dump.recoverSeconds,
    recover_from_manifest_seconds_200k: m.dump.recoverFromManifestSeconds,
  };
}

/** The restore phase's line. */
export function describeRestore(r: RestoreVsRclone): string {
  const rclone = r.rcloneRuns.map((run) => `--transfers ${run.transfers}: ${run.seconds.toFixed(1)} s`).join(', ');
  return (
    `${'restore'.padEnd(10)} ${r.files} files, ${(r.bytes / 1e6).toFixed(0)} MB from MinIO to a directory, every SHA-256 checked: ` +
    `${r.restoreSeconds.toFixed(1)} s, ${r.restoreMBps.toFixed(1)} MB/s; rclone copy ${r.rcloneMBps.toFixed(1)} MB/s (${rclone}); ` +
    `ratio ${r.restore_vs_rclone.toFixed(2)}`
  );
}

/** The dump phase's lines. */
export function describeDump(d: DumpMeasurements): string {
  return [
    `${'dump-200k'.padEnd(10)} catalog of ${d.files} files, ${(d.catalogBytes / 1e6).toFixed(0)} MB: dump ${d.dumpSeconds.toFixed(1)} s ` +
      `(copy, checks, manifest, gzip, upload to two buckets and read back), ${(d.dumpBytes / 1e6).toFixed(1)} MB + manifest ` +
      `${(d.manifestBytes / 1e6).toFixed(1)} MB; reference (file copy + gzip -6, no upload) ${d.referenceSeconds.toFixed(1)} s, ` +
      `ratio ${(d.dumpSeconds / d.referenceSeconds).toFixed(2)}`,
    `${indent}recovered on a new machine from the bucket: ${d.recoverSeconds.toFixed(1)} s from the dump, ` +
      `${d.recoverFromManifestSeconds.toFixed(1)} s from the manifest alone`,
  ].join('\n');
}

const met = (value: number, target: Target) => ('atLeast' in target ? value >= target.atLeast : value <= target.atMost);
const describeTarget = (target: Target) => ('atLeast' in target ? `>= ${target.atLeast}` : `<= ${target.atMost}`);
const indent = ''.padEnd(11);
const fileSize = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(0)} MB` : `${(bytes / 1e3).toFixed(0)} KB`);

/** A phase's lines, printed as it finishes. */
export function describeSync(r: SyncResult): string {
  const mb = r.bytes / 1e6;
  const largest = largestHistory(r.histories);
  const runs = r.histories.filter((h) => h.workflowId === largest.workflowId).length;
  const { workers, minio, emulatorAndClient, temporal, idle } = r.cpu;
  const stack =
    r.stackPeakRssBytes === undefined ? '' : `; Temporal dev server + worker at peak ${mib(r.stackPeakRssBytes).toFixed(0)} MiB`;
  return [
    `${r.id.padEnd(10)} drive-vault, ${r.files} × ${fileSize(r.bytes / r.files)}: ${r.seconds.toFixed(1)} s, ` +
      `${filesPerSecond(r).toFixed(1)} files/s, ${(mb / r.seconds).toFixed(1)} MB/s; transfer phase ${r.transferSeconds.toFixed(1)} s`,
    `${indent}CPU s: workers ${workers.toFixed(1)}, MinIO ${minio.toFixed(1)}, emulator and client ${emulatorAndClient.toFixed(1)}, ` +
      `Temporal ${temporal.toFixed(1)}; cores idle ${idle.toFixed(1)}`,
    `${indent}worker RSS ${mib(r.workerStartRssBytes).toFixed(0)} MiB at the start, ` +
      `peak ${mib(r.workerPeakRssBytes).toFixed(0)} MiB${stack}`,
    `${indent}largest history ${describeHistory(largest)} of ${runs}`,
  ].join('\n');
}

export function describeRclone(name: string, r: RcloneReference, files: number): string {
  const [first, second] = r.sequential.copies;
  return [
    `${name.padEnd(10)} rclone writing both copies: one after the other ${r.sequential.seconds.toFixed(1)} s ` +
      `(${first.seconds.toFixed(1)} + ${second.seconds.toFixed(1)}), side by side ${r.concurrent.seconds.toFixed(1)} s; ` +
      `reference: ${r.reference}`,
    `${indent}one copy: rclone CPU ${first.cpuSeconds.toFixed(2)} s (${((first.cpuSeconds / files) * 1000).toFixed(2)} ms per file), ` +
      `MinIO CPU ${first.minioCpuSeconds.toFixed(1)} s`,
  ].join('\n');
}

/** The latency phases' detail: the concurrency limit and both ways of counting the time. */
export function describeLatency(r: SyncResult): string {
  const limit = r.filesInFlight / DRIVE_LATENCY_SECONDS;
  return (
    `${r.id.padEnd(10)} ${r.filesInFlight} files in flight, ${DRIVE_LATENCY_SECONDS * 1000} ms per Drive request: ` +
    `limit ${limit.toFixed(0)} files/s; ` +
    `whole sync ${filesPerSecond(r).toFixed(1)} files/s (efficiency ${latencyEfficiency(r).toFixed(2)}), ` +
    `transfer phase ${filesPerSecond(r, r.transferSeconds).toFixed(1)} files/s (${latencyEfficiency(r, r.transferSeconds).toFixed(2)})`
  );
}

const describeMix = (mix: ChangeMix) =>
  `${changeCount(mix)} changes (${mix.new} new, ${mix.modified} modified, ${mix.renamed} renamed, ${mix.moved} moved, ` +
  `${mix.trashed} trashed, ${mix.deleted} deleted, ${mix.folderRenamed} folders renamed holding ${mix.filesUnderRenamedFolders} files)`;

/** A sweep's lines: its time, Drive calls and moves, and where its time went, activity by activity. */
export function describeSweep(r: SweepRun): string {
  const places = r.summary.places;
  const { worker, temporal, minio, emulatorAndClient } = r.cpu;
  const { workflowTasks } = r.profile;
  const activities = r.profile.activities.map(
    (a) =>
      `${a.type} ${a.count} × ${(a.totalSeconds / a.count).toFixed(3)} s` +
      (a.queuedSeconds > 0.05 ? ` (queued ${a.queuedSeconds.toFixed(2)} s)` : ''),
  );
  return [
    `${`sweep-${r.label}`.padEnd(10)} ${r.mix ? describeMix(r.mix) : 'no changes'}: ${r.seconds.toFixed(2)} s start to result, ` +
      `${r.driveCalls} Drive calls`,
    `${indent}synced ${r.summary.filesSynced} files; objects moved to new keys ${places?.relocated ?? 0}, under .trash/ ${places?.trashed ?? 0}; ` +
      `history ${r.profile.events} events over ${r.profile.seconds.toFixed(2)} s`,
    `${indent}activities, scheduled to closed: ${activities.join(', ')}; ` +
      `workflow tasks ${workflowTasks.count} × ${(workflowTasks.seconds / Math.max(1, workflowTasks.count)).toFixed(3)} s`,
    `${indent}CPU s: worker ${worker.toFixed(2)}, Temporal ${temporal.toFixed(2)}, MinIO ${minio.toFixed(2)}, ` +
      `emulator and client ${emulatorAndClient.toFixed(2)}`,
  ].join('\n');
}

const describeHistory = (h: RunHistory) => `${h.events} events, ${mib(h.bytes).toFixed(1)} MiB (${h.workflowId}, run ${h.run})`;
const largestInBytes = (runs: RunHistory[]) => runs.reduce((a, b) => (b.bytes > a.bytes ? b : a));

export function printFigures(figures: Figures, histories: RunHistory[]): void {
  console.log(`\n${'figure'.padEnd(32)} ${'value'.padStart(9)}  ${'target'.padEnd(9)} met`);
  for (const [name, target] of Object.entries(TARGETS) as [FigureName, Target][]) {
    const value = figures[name];
    const verdict = met(value, target) ? 'met' : 'NOT MET';
    console.log(`${name.padEnd(32)} ${value.toFixed(2).padStart(9)}  ${describeTarget(target).padEnd(9)} ${verdict}`);
  }
  for (const name of UNTARGETED) console.log(`${name.padEnd(32)} ${figures[name].toFixed(2).padStart(9)}  -`);
  console.log(`largest workflow history: ${describeHistory(largestHistory(histories))}; Temporal's limit is 51,200 events`);
  console.log(`largest in size: ${describeHistory(largestInBytes(histories))}; Temporal's limit is 50 MB`);
}

/** The figures by their names, their targets, the largest history, and every raw time and CPU number behind them. */
export function writeJson(file: string, context: Record<string, unknown>, figures: Figures, m: BenchMeasurements): void {
  const histories = allSyncs(m).flatMap((r) => r.histories);
  const largest = largestHistory(histories);
  const targets = Object.fromEntries(
    (Object.entries(TARGETS) as [FigureName, Target][]).map(([name, target]) => [name, { ...target, met: met(figures[name], target) }]),
  );
  const latency = m.latencyOneWorker;
  const report = {
    ...context,
    ...figures,
    largest_history_events: largest.events,
    largest_history: largest,
    largest_history_bytes: largestInBytes(histories).bytes,
    latency_efficiency_transfer_phase: latencyEfficiency(latency, latency.transferSeconds),
    targets,
    raw: m,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
