import { WorkflowFailedError } from '@temporalio/client';
import { webUiLink } from '../api/fullSyncRuns';
import type { Config } from '../common/config';
import { EXIT } from './exitCodes';
import { type Progress, showProgress } from './progress';

/** How a command that starts a run prints: `--wait` for its summary, `--json` for scripts. */
export interface RunOutput {
  wait: boolean;
  json: boolean;
}

export interface StartedRun<R> {
  /** Names the run in messages: `full sync`, `restore`. */
  what: string;
  handle: { workflowId: string; result(): Promise<R> };
  /** Asks the run where it is, for --wait; unset for a workflow with no progress query. */
  progress?: () => Promise<Progress | undefined>;
  /** Shown while the run reports no progress. */
  waiting: string;
  format(result: R, link: string): string;
  /** Whether the result has problems its summary names: exit code 3. */
  hasProblems?(result: R): boolean;
}

/**
 * Prints a started run's id and Web UI link and, with --wait, its progress and result; returns the exit code: 1 when
 * the workflow failed, 3 when its result has problems.
 */
export async function reportRun<R>(config: Config, output: RunOutput, run: StartedRun<R>): Promise<number> {
  const { workflowId } = run.handle;
  const link = webUiLink(config, workflowId);
  if (!output.wait || !output.json) {
    console.log(output.json ? JSON.stringify({ workflowId, webUi: link }) : `started ${workflowId}: ${link}`);
  }
  if (!output.wait) return EXIT.done;
  const result = run.handle.result();
  const query = run.progress ?? (async () => undefined);
  await showProgress({ query, waiting: run.waiting, done: result, json: output.json });
  let summary: R;
  try {
    summary = await result;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    console.error(`drive-vault: ${run.what} ${workflowId} failed: ${err.cause?.message ?? err.message}\n  Web UI    ${link}`);
    return EXIT.error;
  }
  console.log(output.json ? JSON.stringify(summary) : run.format(summary, link));
  return run.hasProblems?.(summary) ? EXIT.problems : EXIT.done;
}
