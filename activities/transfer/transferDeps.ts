import type { drive_v3 } from 'googleapis';
import type { Logger } from '../../common/logger';
import type { StoredObjectRecord } from '../../common/types';
import type { Destination } from '../storage/destination';
import type { DriveTurn } from './driveSlots';
import type { CheckpointStore } from './largeFileCheckpoints';
import type { TransferMeter } from './stallWatch';

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
  /** A wait on Drive (its reply, the next bytes of the body) this long gives the try up as stalled. */
  stallTimeoutMs: number;
  /** The activity's cancellation: aborts every request of the file in flight, and its retries. */
  signal?: AbortSignal;
  /** The batch's count of bytes moved and of waits on Drive, for its heartbeats. */
  meter?: TransferMeter;
  /** This file's hold on one of the worker's Drive slots: taken before each try, given up once its Drive bytes are read. */
  driveTurn?: DriveTurn;
}

/** The outcome of one try at one object. */
export interface TryResult {
  stored: StoredObjectRecord[];
  /** Destinations still without the object, and why. */
  failed: Destination[];
  error?: unknown;
  bytes: number;
}
