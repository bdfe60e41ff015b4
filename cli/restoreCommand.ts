import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { webUiLink } from '../api/fullSyncRuns';
import { formatRestoreSummary, restoreFoundProblems, startRestore } from '../api/restoreRuns';
import type { Config } from '../common/config';
import type { RestoreProgress, RestoreSummary } from '../common/restoreTypes';
import { isDumpDay } from '../activities/dump/dumpLayout';
import { restoreProgressQuery } from '../workflows';
import { UsageError } from './usageError';

export const RESTORE_USAGE = `drive-vault restore --from DESTINATION --to DIR [--path DRIVE_PATH] [--at YYYY-MM-DD] [--overwrite]
                          [--config config.yaml] [--wait] [--json]`;

export const RESTORE_HELP = `  restore        copy files back from a destination into DIR, each checked against its SHA-256 before it gets
                 its name; runs on the catalog host's worker, so DIR is a directory of the catalog host (a
                 relative DIR is taken from the current directory). Exit code 3: some file did not come back
  --from         the configured destination to read from
  --to           the target directory; files land at DIR/<My Drive | shared drive | Shared with me>/<folders>/<name>
  --path         only this file or folder: a Drive path such as "My Drive/Projects" (or its key below drive/<account>/)
  --at           as of this day (UTC): that day's manifest, and the S3 versions it names where the bucket keeps them
  --overwrite    replace files already in DIR; without it they are left alone and counted as skipped`;

export interface RestoreCommand {
  kind: 'restore';
  config: string;
  wait: boolean;
  json: boolean;
  from: string;
  to: string;
  path?: string;
  at?: string;
  overwrite: boolean;
}

const OPTIONS = {
  config: { type: 'string' },
  wait: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  from: { type: 'string' },
  to: { type: 'string' },
  path: { type: 'string' },
  at: { type: 'string' },
  overwrite: { type: 'boolean', default: false },
} as const;

/** Whether the command line is `restore ...` (its first word, whatever options come before it). */
export function isRestoreCommand(argv: string[]): boolean {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: OPTIONS });
  return positionals[0] === 'restore';
}

/** Reads `restore ...` (without `node` and the script). Throws UsageError naming what is wrong. */
export function parseRestoreCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RestoreCommand {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`restore takes no arguments besides its options, not ${positionals.slice(1).join(' ')}`);
  const from = values.from?.trim();
  if (!from) throw new UsageError('restore needs --from DESTINATION: the configured destination to read from');
  if (!values.to?.trim()) throw new UsageError('restore needs --to DIR: the directory the files are restored into');
  if (values.at !== undefined && !isDumpDay(values.at)) {
    throw new UsageError(`--at takes a day as YYYY-MM-DD, such as 2026-11-25; "${values.at}" is not one`);
  }
  if (values.path !== undefined && values.path.replace(/\//g, '').trim() === '') {
    throw new UsageError('--path needs a Drive path such as "My Drive/Projects"; leave it out to restore everything');
  }
  return {
    kind: 'restore',
    config: values.config ?? env.DRIVE_VAULT_CONFIG ?? 'config.yaml',
    wait: values.wait,
    json: values.json,
    from,
    to: resolve(cwd, values.to),
    path: values.path,
    at: values.at,
    overwrite: values.overwrite,
  };
}

/** --from must name a destination of the config, checked before anything starts. */
export function checkRestoreCommand(config: Config, command: RestoreCommand): void {
  const names = config.destinations.map((d) => d.name);
  if (!names.includes(command.from)) {
    throw new UsageError(`--from ${command.from}: the config has no such destination; it has ${names.join(', ')}`);
  }
}

const MiB = 1024 * 1024;
const BAR_WIDTH = 24;

function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

/** One line of progress: a bar by bytes, files, bytes, rate, ETA, and what did not come back. */
export function formatRestoreProgress(progress: RestoreProgress | undefined): string {
  const plan = progress?.plan;
  if (!progress || !plan) return "restore: planning (reading the catalog, or the day's manifest)...";
  const { counts } = progress;
  const share = plan.bytes > 0 ? counts.bytesDone / plan.bytes : plan.files > 0 ? counts.filesDone / plan.files : 1;
  const filled = Math.round(Math.min(1, share) * BAR_WIDTH);
  return [
    `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`,
    `${counts.filesDone}/${plan.files} files`,
    `${(counts.bytesDone / MiB).toFixed(1)}/${(plan.bytes / MiB).toFixed(1)} MiB`,
    progress.bytesPerSecond === null ? '-- MiB/s' : `${(progress.bytesPerSecond / MiB).toFixed(1)} MiB/s`,
    `ETA ${progress.etaSeconds === null ? '--' : clock(progress.etaSeconds)}`,
    ...(counts.failed ? [`${counts.failed} failed`] : []),
  ].join(' · ');
}

/** How often --wait asks the workflow where it is; a line goes to a log (not a terminal) at most this often. */
const POLL_MS = 1_000;
const LOG_LINE_MS = 10_000;

/**
 * Shows the restore's progress on stderr until `done` settles: a bar redrawn in place on a terminal, or (unless
 * `json`) a line every few seconds in a log.
 */
async function showProgress(query: () => Promise<RestoreProgress>, done: Promise<unknown>, json: boolean): Promise<void> {
  const tty = process.stderr.isTTY === true;
  if (!tty && json) return;
  let lastLine = '';
  let lastLogged = 0;
  const draw = async () => {
    const line = formatRestoreProgress(await query().catch(() => undefined));
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (line !== lastLine && Date.now() - lastLogged >= LOG_LINE_MS) {
      process.stderr.write(`${line}\n`);
      lastLogged = Date.now();
    }
    lastLine = line;
  };
  let finished = false;
  done.then(
    () => (finished = true),
    () => (finished = true),
  );
  while (!finished) {
    await draw();
    await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  if (tty) process.stderr.write('\r\x1b[K');
}

/** Exit code of a restore some of whose files did not come back (a failed check, a missing object, an unsafe key). */
export const RESTORE_FOUND_PROBLEMS = 3;

/** Starts the restore, prints its id and link, and with --wait its progress and summary; returns the exit code. */
export async function runRestore(client: Client, config: Config, command: RestoreCommand): Promise<number> {
  const { from, to, path, at, overwrite } = command;
  const handle = await startRestore(client, config, { from, to, path, at, overwrite });
  const link = webUiLink(config, handle.workflowId);
  if (!command.wait || !command.json) {
    console.log(command.json ? JSON.stringify({ workflowId: handle.workflowId, webUi: link }) : `started ${handle.workflowId}: ${link}`);
  }
  if (!command.wait) return 0;
  const result = handle.result();
  await showProgress(() => handle.query(restoreProgressQuery), result, command.json);
  let summary: RestoreSummary;
  try {
    summary = await result;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    console.error(`drive-vault: restore ${handle.workflowId} failed: ${err.cause?.message ?? err.message}\n  Web UI    ${link}`);
    return 1;
  }
  console.log(command.json ? JSON.stringify(summary) : formatRestoreSummary(summary, link));
  return restoreFoundProblems(summary) ? RESTORE_FOUND_PROBLEMS : 0;
}
