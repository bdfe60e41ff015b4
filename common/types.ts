/** Types shared by workflows and activities. Types only: the workflow bundle must not pull in Node code. */

/** Which part of the account a listing covers. */
export type DriveScope = { kind: 'my-drive' } | { kind: 'shared-drive'; driveId: string; name: string };

export interface ListingCounts {
  listed: number;
  new: number;
  changed: number;
  unchanged: number;
  /** Items with no content to back up (forms, sites, maps), recorded with the reason. */
  skipped: number;
  folders: number;
}

export interface ListDrivePageInput {
  scope: DriveScope;
  pageToken?: string;
  /** Identifies one full listing; items not seen by it were removed from Drive. */
  listingId: string;
}

/** What crosses the Temporal payload: a cursor and counts, never the file list. */
export interface ListDrivePageResult {
  nextPageToken?: string;
  counts: ListingCounts;
}

/** What following the shortcuts found: targets already listed, targets recorded in the shortcut's place, broken ones. */
export type ShortcutCounts = Record<'inScope' | 'followed' | 'dangling' | 'loops', number>;

export const emptyListingCounts = (): ListingCounts => ({ listed: 0, new: 0, changed: 0, unchanged: 0, skipped: 0, folders: 0 });

export function addListingCounts(a: ListingCounts, b: ListingCounts): ListingCounts {
  return {
    listed: a.listed + b.listed,
    new: a.new + b.new,
    changed: a.changed + b.changed,
    unchanged: a.unchanged + b.unchanged,
    skipped: a.skipped + b.skipped,
    folders: a.folders + b.folders,
  };
}

/** One object a file becomes in every destination: the file itself, or one export format of it. */
export interface ObjectKey {
  /** '' for a binary file, the export extension (docx, xlsx, ...) for a Workspace file. */
  format: string;
  /** Key below each destination's prefix: `drive/<account>/<drive>/<folders>/<name>`. */
  key: string;
}

export interface PlannedObject extends ObjectKey {
  /** Destinations that already hold this version of the object under this key: a retry skips them. */
  storedAt: string[];
}

/** What a transfer worker needs to copy one file: a small descriptor, never the file list. */
export interface TransferItem {
  fileId: string;
  name: string;
  kind: 'binary' | 'workspace';
  mimeType: string;
  size: number | null;
  md5: string | null;
  /** Drive's SHA-256, when it has one (old files and exports have none). */
  sha256: string | null;
  modifiedTime: string;
  version: string;
  /** The file's path in Drive, unencoded, for object metadata. */
  drivePath: string;
  objects: PlannedObject[];
}

export interface StoredObjectRecord {
  format: string;
  destination: string;
  /** Key below the destination's prefix, as planned. */
  key: string;
  size: number;
  sha256: string;
  etag?: string;
  versionId?: string;
  /** The Drive version of the file the bytes came from. */
  fileVersion: string;
  /** When a HEAD right after the upload showed the object with this size and SHA-256. */
  verifiedAt?: string;
}

export interface TransferOutcome {
  fileId: string;
  /** The Drive version the batch transferred (outcomes recorded by older workers lack it). */
  version?: string;
  /** Every object written to every destination; partial when a destination failed. */
  stored: StoredObjectRecord[];
  /** Why the file did not land; `destinations` are those still without it (every one when the download failed). */
  failure?: { reason: string; message: string; attempts: number; destinations: string[]; deferred: boolean };
  bytesDownloaded: number;
}

/**
 * What a transfer batch heartbeats: a retry skips the files done and resumes the large ones, and a batch
 * whose every try was lost still has its finished files recorded.
 */
export interface TransferBatchProgress<Checkpoint = unknown> {
  /** Outcomes of the files finished so far, by position in the batch. */
  finished: Record<number, TransferOutcome>;
  checkpoints: Record<string, Checkpoint>;
  /** Bytes read from Drive by this batch, over all its attempts. */
  bytesMoved: number;
}

/** Counts a full sync carries across continue-as-new and reports at the end. */
export interface FullSyncTotals {
  listed: number;
  filesSynced: number;
  filesFailed: number;
  filesDeferred: number;
  bytes: number;
  /** Objects whose size and SHA-256 matched the catalog on HEAD, per destination. */
  verified: Record<string, number>;
  /** Objects missing or different on HEAD, per destination. */
  mismatched: Record<string, number>;
  /** Objects not checked because their destination could not be reached, per destination. */
  unverified: Record<string, number>;
  /** Of `verified`: objects this run wrote, HEADed right after the upload, per destination. */
  verifiedWritten: Record<string, number>;
  /** Of `verified`: objects written before, HEADed as this run's audit sample, per destination. */
  audited: Record<string, number>;
  /**
   * The audit: `percent` of all `of` objects, those HEADed longest ago, so that every object is HEADed at least
   * once every `withinRuns` runs; `checked` of the `objects` planned are done.
   */
  audit?: { percent: number; objects: number; of: number; withinRuns: number; checked: number };
  /** Items found gone from Drive (trashed, deleted, no longer shared or listed), folders' contents included. */
  gone?: number;
  /** Set when the run did nothing because this other full sync (its workflow id) held the account. */
  heldBy?: string;
  /** What the place checks did to the objects of renamed, moved, gone and returned files. */
  places?: PlaceCounts;
}

/** Objects moved by place checks, over all destinations. */
export interface PlaceCounts {
  /** Copied server-side to a renamed or moved file's new key (the old key kept under .trash/, or renamed on a directory). */
  relocated: number;
  /** Moved under .trash/<date>/: their file left Drive. */
  trashed: number;
  /** Moved back from .trash/: their file came back unchanged. */
  restored: number;
  /** Files queued for transfer because an object they need is nowhere (purged from .trash/, lost). */
  requeued: number;
  /** Object moves that failed (a destination down): their files stay queued for the next run. */
  failed: number;
}

export const emptyPlaceCounts = (): PlaceCounts => ({ relocated: 0, trashed: 0, restored: 0, requeued: 0, failed: 0 });

/** What an incremental sweep adds to a full sync's counts. */
export interface SweepTotals extends FullSyncTotals {
  /** Changes read from Drive's feed, per drive ('my-drive' or a shared drive's id), and the Drive calls made. */
  changes: number;
  driveCalls: number;
  /** Objects under .trash/ purged as older than the retention. */
  purged: number;
}

export const emptyFullSyncTotals = (): FullSyncTotals => ({
  listed: 0,
  filesSynced: 0,
  filesFailed: 0,
  filesDeferred: 0,
  bytes: 0,
  verified: {},
  mismatched: {},
  unverified: {},
  verifiedWritten: {},
  audited: {},
});

export function addCounts<K extends string>(a: Record<K, number>, b: Record<K, number>): Record<K, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b) as Array<[K, number]>) out[k] = (out[k] ?? 0) + v;
  return out;
}

export interface FullSyncSummary extends FullSyncTotals {
  runId: string;
  seconds: number;
  bytesPerSecond: number;
  pending: number;
  /** Items recorded but not backed up under their own name (forms, followed or broken shortcuts, scope rules), each with its reason in the catalog. */
  skipped: number;
  /** Destinations that missed files or could not be verified in this run: the next run completes them. */
  degraded: string[];
}

/** Where a deep verification's walk is: objects are read in (deep_verified_at, rowid) order, longest unchecked first. */
export interface DeepVerifyCursor {
  /** '' for objects never read back. */
  deepVerifiedAt: string;
  rowid: number;
}

/** What a deep verification found on one destination. */
export interface DeepVerifyCounts {
  /** Objects read back whose size and SHA-256 match the catalog. */
  verified: number;
  /** Objects missing or holding other bytes: marked failed, their files written again by the next sync. */
  mismatched: number;
  /** Objects not read because their destination could not be reached (or a sync rewrote them meanwhile). */
  unverified: number;
  bytesRead: number;
}

export const emptyDeepVerifyCounts = (): DeepVerifyCounts => ({ verified: 0, mismatched: 0, unverified: 0, bytesRead: 0 });

export function addDeepVerifyCounts(
  a: Record<string, DeepVerifyCounts>,
  b: Record<string, DeepVerifyCounts>,
): Record<string, DeepVerifyCounts> {
  const out = { ...a };
  for (const [destination, c] of Object.entries(b)) {
    const sum = out[destination] ?? emptyDeepVerifyCounts();
    out[destination] = {
      verified: sum.verified + c.verified,
      mismatched: sum.mismatched + c.mismatched,
      unverified: sum.unverified + c.unverified,
      bytesRead: sum.bytesRead + c.bytesRead,
    };
  }
  return out;
}

/** What a deep verification set out to read, fixed when it starts. */
export interface DeepVerifyPlan {
  /** The catalog host's clock at the start; objects read back since then are behind the run. */
  startedAt: string;
  destinations: string[];
  /** The share of objects asked for; null when every object was. */
  samplePercent: number | null;
  /** Objects of these destinations that can be checked (those already marked failed are not). */
  objectsInScope: number;
  /** Objects this run reads: the sample's share of those in scope, rounded up, or all of them. */
  objectsChosen: number;
  /** Runs of this sample within which every object is read back, longest unread first: ceil(100 / percent). */
  withinRuns: number;
}

/** The result of a deep verification: objects downloaded and re-hashed against the catalog, per destination. */
export interface DeepVerifySummary extends DeepVerifyPlan {
  /** How the objects were verified: read back in full and re-hashed, not HEADed. */
  how: 'deep';
  workflowId: string;
  seconds: number;
  perDestination: Record<string, DeepVerifyCounts>;
  /** Destinations some of whose chosen objects could not be read: they stay first in line for the next run. */
  degraded: string[];
}

/** What a dump's retention did: local dumps deleted or kept for want of a verified copy, remote days deleted. */
export interface DumpRetention {
  localDeleted: string[];
  /** Older than the local retention, kept because some destination holds no verified copy yet. */
  localKeptUnverified: string[];
  /** Per destination, the `state/daily/<day>/` folders deleted. */
  remoteDeleted: Record<string, string[]>;
  /** Destinations whose old dumps could not be listed or deleted this time. */
  unreachable: string[];
}

/** A state file as written: size and SHA-256 of its stored (compressed) bytes. */
export interface StateFileDigest {
  size: number;
  sha256: string;
}

/** Per destination: its copy verified (with the days uploaded this run), or why not. */
export type StateUploadOutcome = { status: 'verified'; uploaded: string[] } | { status: 'failed'; message: string };

/** What the nightly dump reports; `degraded` when some destinations hold it verified and others not. */
export interface NightlyDumpResult {
  runId: string;
  status: 'verified' | 'degraded' | 'failed';
  day?: string;
  catalog?: StateFileDigest;
  manifest?: StateFileDigest;
  /** Items (files and folders) and backed-up objects the dump's manifest lists. */
  items?: number;
  objects?: number;
  destinations: Record<string, StateUploadOutcome>;
  retention?: DumpRetention;
  /** Why the dump failed, when it could not be written. */
  message?: string;
}

/** What the weekly rollup's retention did. */
export interface RollupRetention {
  /** Local archives deleted once every destination held them verified. */
  localDeleted: string[];
  /** Per destination, the archives deleted past the newest `keepWeekly`. */
  remoteDeleted: Record<string, string[]>;
  unreachable: string[];
}

/** What the weekly rollup reports; `empty` when no day of the week had a dump to pack. */
export interface WeeklyRollupResult {
  runId: string;
  status: 'verified' | 'degraded' | 'failed' | 'empty';
  name?: string;
  firstDay?: string;
  lastDay?: string;
  /** Days packed, and days of the week with no dump (reported, not fatal). */
  days: string[];
  missing: string[];
  archive?: StateFileDigest;
  destinations: Record<string, StateUploadOutcome>;
  retention?: RollupRetention;
  message?: string;
}
