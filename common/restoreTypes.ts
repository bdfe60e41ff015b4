/** What a restore is asked for (`drive-vault restore`). */
export interface RestoreRequest {
  /** The destination the objects are read from. */
  from: string;
  /** The target directory, an absolute path on the catalog host (the restore runs there). */
  to: string;
  /**
   * A Drive path (`My Drive/Projects`, `My Drive/Projects/a.txt`) or a key below `drive/<account>/`: that file, or
   * everything in that folder. The whole account when unset.
   */
  path?: string;
  /** `YYYY-MM-DD`: the files as that day's manifest recorded them. As the catalog has them now when unset. */
  at?: string;
  /** Replace files already in the target; without it they are left alone and reported as skipped. */
  overwrite?: boolean;
  /**
   * A folder the target must stay inside (`api.restoreRoot` for a restore asked over HTTP): checked again on the
   * catalog host, links resolved, as each page starts, so a target swapped for a link after the API's check is refused.
   */
  within?: string;
}

/** What a restore set out to bring back, fixed when it starts. */
export interface RestorePlan {
  /** Where the list of objects came from: the catalog now, or the manifest of the day asked for. */
  source: 'catalog' | 'manifest';
  files: number;
  /** The objects' sizes as recorded. */
  bytes: number;
  pages: number;
  /** The catalog host's clock when the plan was made. */
  startedAt: string;
}

/** Why a file did not come back. */
export type RestoreProblemKind =
  /** Its bytes do not hash to the SHA-256 recorded (changed, corrupted, or a later version on an unversioned bucket). */
  | 'mismatch'
  /** The destination holds no object (or no such version) under its key. */
  | 'missing'
  /** Its key would leave the target directory, or is not below `drive/<account>/`. */
  | 'unsafe'
  /** No SHA-256 was recorded for it, so its bytes cannot be checked. */
  | 'unchecked'
  /** The destination could not be read. */
  | 'unreadable'
  /** The target directory could not be written. */
  | 'unwritable';

export interface RestoreProblem {
  /** The object's key on the destination, below its prefix. */
  key: string;
  /** Its readable Drive path, as recorded. */
  path: string;
  kind: RestoreProblemKind;
  reason: string;
}

export interface RestoreCounts {
  /** Files written under their final names, each checked against its SHA-256. */
  restored: number;
  bytesRestored: number;
  /** Files left alone because the target already held a file of that name (no --overwrite). */
  skippedExisting: number;
  /** Files not restored: see the problems. */
  failed: number;
  /** Files dealt with either way, and their recorded bytes: what progress and the ETA count. */
  filesDone: number;
  bytesDone: number;
}

export const emptyRestoreCounts = (): RestoreCounts => ({
  restored: 0,
  bytesRestored: 0,
  skippedExisting: 0,
  failed: 0,
  filesDone: 0,
  bytesDone: 0,
});

export function addRestoreCounts(a: RestoreCounts, b: RestoreCounts): RestoreCounts {
  return {
    restored: a.restored + b.restored,
    bytesRestored: a.bytesRestored + b.bytesRestored,
    skippedExisting: a.skippedExisting + b.skippedExisting,
    failed: a.failed + b.failed,
    filesDone: a.filesDone + b.filesDone,
    bytesDone: a.bytesDone + b.bytesDone,
  };
}

/** The problems a restore reports by name; `counts.failed` counts them all. */
export const RESTORE_PROBLEMS_LISTED = 100;

/** Where a restore is, for its query, the Web UI and the CLI's progress bar. */
export interface RestoreProgress {
  /** Undefined while the plan is being made (a past day's manifest is being read). */
  plan?: RestorePlan;
  counts: RestoreCounts;
  /** The first RESTORE_PROBLEMS_LISTED problems. */
  problems: RestoreProblem[];
  /** Seconds since the plan was made, by the catalog host's clock at the last page. */
  seconds: number;
  /** Recorded bytes dealt with per second so far, and the seconds left at that rate; null before the first page. */
  bytesPerSecond: number | null;
  etaSeconds: number | null;
}

/** The result of a restore. */
export interface RestoreSummary extends RestoreProgress {
  workflowId: string;
  request: RestoreRequest;
  plan: RestorePlan;
}
