import type { drive_v3 } from 'googleapis';
import type { Logger } from '../../common/logger';
import type { StoredObjectRecord } from '../../common/types';
import type { Destination } from '../storage/destination';
import type { CheckpointStore } from './largeFileCheckpoints';

/** What one file's transfer needs, whichever way (streamed or part by part) it goes. */
export interface TransferDeps {
  drive: drive_v3.Drive;
  destinations: Destination[];
  logger: Logger;
  /** Tries per file before it is recorded as a failure (users expect 5). */
  attempts: number;
  /** First backoff step; doubles per attempt, with jitter. */
  backoffBaseMs: number;
  /** Binary files this large go part by part with checkpoints, so a crash costs one part, not the file. */
  resumableMinBytes: number;
  checkpoints: CheckpointStore;
}

/** The outcome of one try at one object. */
export interface TryResult {
  stored: StoredObjectRecord[];
  /** Destinations still without the object, and why. */
  failed: Destination[];
  error?: unknown;
  bytes: number;
}
