import { formatFullSyncSummary, startFullSync } from '../../api/fullSyncRuns';
import { formatSweepSummary, startSweep } from '../../api/sweepRuns';
import type { FullSyncSummary } from '../../common/types';
import {
  type FullSyncProgress,
  type IncrementalSweepSummary,
  type SweepProgress,
  fullSyncProgressQuery,
  sweepProgressQuery,
} from '../../workflows';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { type CommandGroup, type RunOutputFlags, onCommand, runOutputOptions } from '../program';
import type { Progress } from '../progress';
import { type RunOutput, reportRun } from '../reportRun';
import { withTemporal } from '../temporal';

export interface SyncCommand extends RunOutput, AccountChoice {
  kind: 'sync-full' | 'sync-sweep';
}

/** A full sync's progress: files and bytes done, of those pending while it transfers, at the run's own rate. */
export function fullSyncProgressView(p: FullSyncProgress): Progress {
  const { totals, pending, rate } = p;
  const done = totals.filesSynced + totals.filesFailed;
  const bytesPerSecond = rate.bytesPerSecond || null;
  const base = { phase: p.phase, unit: 'files', done, bytesDone: totals.bytes, bytesPerSecond, failed: totals.filesFailed };
  if (p.phase === 'transfer' && done + pending.files > 0) {
    const etaSeconds = bytesPerSecond ? pending.bytes / bytesPerSecond : null;
    return { ...base, total: done + pending.files, bytesTotal: totals.bytes + pending.bytes, etaSeconds };
  }
  const notes = p.phase === 'verify' && totals.audit ? [`${totals.audit.checked}/${totals.audit.objects} objects audited`] : [];
  return { ...base, notes: [`${totals.listed} listed`, ...notes] };
}

/** A sweep's progress: its stage, files and bytes done, and the changes read; the rate is measured by the CLI. */
export function sweepProgressView(p: SweepProgress): Progress {
  const { totals } = p;
  return {
    phase: p.stage,
    unit: 'files',
    done: totals.filesSynced + totals.filesFailed,
    bytesDone: totals.bytes,
    failed: totals.filesFailed,
    notes: [`${totals.changes} changes`],
  };
}

/** Files that failed, objects found wrong, or a destination that missed files: the run needs a look (exit 3). */
export function fullSyncHadProblems(s: FullSyncSummary): boolean {
  return s.filesFailed > 0 || Object.values(s.mismatched).some((n) => n > 0) || s.degraded.length > 0;
}

const sweepHadProblems = (s: IncrementalSweepSummary) =>
  s.kind === 'skipped' ? false : fullSyncHadProblems(s.kind === 'full-sync' ? s.fullSync : s);

async function runSync(command: SyncCommand): Promise<number> {
  const config = loadChosenAccount(command);
  return withTemporal(config, async (client) => {
    if (command.kind === 'sync-full') {
      const handle = await startFullSync(client, config);
      return reportRun(config, command, {
        what: 'full sync',
        handle,
        progress: async () => fullSyncProgressView(await handle.query(fullSyncProgressQuery)),
        waiting: 'full sync: waiting for the worker',
        format: formatFullSyncSummary,
        hasProblems: fullSyncHadProblems,
      });
    }
    const handle = await startSweep(client, config);
    return reportRun(config, command, {
      what: 'sweep',
      handle,
      progress: async () => sweepProgressView(await handle.query(sweepProgressQuery)),
      waiting: 'sweep: waiting for the worker',
      format: formatSweepSummary,
      hasProblems: sweepHadProblems,
    });
  });
}

/** `sync full` and `sync sweep`: start a run on the worker that serves the config's Temporal namespace. */
export const syncCommands: CommandGroup = (program) => {
  const sync = program
    .command('sync')
    .helpGroup('Backups:')
    .summary('full | sweep: start a full sync or an incremental sweep')
    .description('start a full sync or an incremental sweep of the configured account');
  const runs = [
    ['full', 'sync-full', 'list every drive, transfer what is new or changed to every destination, verify, reconcile deletions'],
    ['sweep', 'sync-sweep', 'apply what changed in Drive since the last sweep (its changes feed)'],
  ] as const;
  for (const [name, kind, description] of runs) {
    const cmd = runOutputOptions(sync.command(name).description(description)).addHelpText(
      'after',
      '\nWith --wait, exit code 3 when files failed (retried by the next run), objects were found wrong, or a destination missed files.',
    );
    onCommand<RunOutputFlags, SyncCommand>(
      cmd,
      (o) => ({ kind, ...accountChoice(o), wait: o.wait === true, json: o.json === true }),
      runSync,
    );
  }
};
