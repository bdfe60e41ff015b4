import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  RESTORE_PROBLEMS_LISTED,
  type RestoreCounts,
  type RestoreProblem,
  type RestoreRequest,
  emptyRestoreCounts,
} from '../../common/restoreTypes';
import { accountKeyOf } from '../catalog/objectKeys';
import { RestoreSelection } from '../catalog/restoreSelection';
import { type RestoreDeps, destinationNamed, selectionPath } from './planRestore';
import { restoreFile } from './restoreFile';
import { RestoreTarget, UnsafeTargetError } from './restoreTarget';

export interface RestorePageInput extends Pick<RestoreRequest, 'from' | 'to' | 'within'> {
  restoreId: string;
  overwrite: boolean;
  /** Which page of the restore's selection. */
  page: number;
  /** Files of this page read at once. */
  concurrency: number;
}

export interface RestorePageResult {
  counts: RestoreCounts;
  /** The page's first RESTORE_PROBLEMS_LISTED problems; `counts.failed` counts them all. */
  problems: RestoreProblem[];
  /** The catalog host's clock when the page was done. */
  at: string;
}

const HEARTBEAT_EVERY_MS = 5_000;
/**
 * A page that moves no byte and finishes no file for this long stops heartbeating, so Temporal retries it: a hung NAS
 * mount never errors. S3 requests that stop moving fail on the client's own idle timeout first.
 */
const IDLE_LIMIT_MS = 5 * 60_000;

/**
 * Restores one page of the selection into the target directory, `concurrency` files at a time, each streamed, checked
 * against its SHA-256 and only then given its final name. A file that fails (a mismatch, a missing object, a key that
 * would leave the target) is counted and reported, never thrown: the other files go on. A page retried after its
 * worker died does its files again (those already restored are then reported as existing, or with --overwrite
 * rewritten), and removes the partial files its earlier attempts left.
 */
export async function restorePage(deps: RestoreDeps, input: RestorePageInput): Promise<RestorePageResult> {
  const ctx = Context.current();
  const restoreId = input.restoreId;
  const destination = destinationNamed(deps, input.from);
  const selection = RestoreSelection.open(selectionPath(deps.catalog, restoreId));
  if (!selection) {
    throw ApplicationFailure.nonRetryable(
      `the selection of restore ${restoreId} is gone from the catalog host (was the host replaced?): start the restore again`,
      'RestoreSelectionLost',
    );
  }
  let objects: ReturnType<RestoreSelection['page']>;
  try {
    objects = selection.page(input.page);
  } finally {
    selection.close();
  }
  const target = await RestoreTarget.open(input.to, input.within).catch((err: unknown) => {
    // A relative target names no directory of the catalog host: trying again changes nothing.
    if (err instanceof UnsafeTargetError) throw ApplicationFailure.nonRetryable(err.message, 'UnsafeTarget');
    throw err;
  });
  const counts = emptyRestoreCounts();
  const problems: RestoreProblem[] = [];
  let bytesRead = 0;
  let moved = { progress: 0, at: Date.now() };
  let silent = false;
  const beat = setInterval(() => {
    const now = Date.now();
    if (bytesRead + counts.filesDone !== moved.progress) moved = { progress: bytesRead + counts.filesDone, at: now };
    if (now - moved.at <= IDLE_LIMIT_MS) ctx.heartbeat({ filesDone: counts.filesDone, bytesRead });
    else if (!silent) {
      silent = true;
      deps.logger.error(
        { event: 'restore.page_stuck', restoreId, page: input.page, idleMs: now - moved.at },
        'no byte read for too long; no more heartbeats',
      );
    }
  }, HEARTBEAT_EVERY_MS);
  const fileContext = {
    destination,
    target,
    accountKey: accountKeyOf(deps.account),
    overwrite: input.overwrite,
    restoreId,
    attempt: ctx.info.attempt,
    signal: ctx.cancellationSignal,
    onBytes: (n: number) => {
      bytesRead += n;
    },
  };
  let next = 0;
  try {
    const lanes = Array.from({ length: Math.min(input.concurrency, objects.length) }, async () => {
      while (next < objects.length) {
        ctx.cancellationSignal.throwIfAborted();
        const object = objects[next++];
        const outcome = await restoreFile(fileContext, object);
        counts.filesDone++;
        counts.bytesDone += object.size ?? 0;
        if (outcome.kind === 'restored') {
          counts.restored++;
          counts.bytesRestored += outcome.bytes;
        } else if (outcome.kind === 'skipped-existing') {
          counts.skippedExisting++;
        } else {
          counts.failed++;
          if (problems.length < RESTORE_PROBLEMS_LISTED) problems.push(outcome.problem);
          const { key, kind, reason } = outcome.problem;
          deps.logger.warn({ event: 'restore.file_failed', restoreId, from: destination.name, key, kind, reason }, 'file not restored');
        }
      }
    });
    await Promise.all(lanes);
  } finally {
    clearInterval(beat);
  }
  deps.logger.info({ event: 'restore.page_done', restoreId, page: input.page, ...counts }, 'restore page done');
  return { counts, problems, at: new Date().toISOString() };
}
