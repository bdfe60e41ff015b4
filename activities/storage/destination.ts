import type { Readable } from 'node:stream';

/** What every object carries besides its bytes (multipart ETags are not file hashes, so we store ours). */
export interface ObjectMetadata {
  driveFileId: string;
  drivePath: string;
  modifiedTime: string;
  version: string;
  md5?: string;
  sha256?: string;
}

/** What the transfer knows of the bytes once it has read them all and checked them against Drive. */
export interface VerifiedContent {
  sha256: string;
  /** '' when the caller did not compute it (state files): the stores then check the bytes by their SHA-256 alone. */
  md5: string;
  size: number;
}

export interface UploadRequest {
  /** Key below the destination's prefix. */
  key: string;
  /** A stream, or the whole object already read and checked (`verified` has resolved). */
  body: Readable | Buffer;
  /** Exact size when known (binary files), for part sizing; unknown for exports. */
  size?: number;
  contentType: string;
  metadata: ObjectMetadata;
  /**
   * Resolves with the hashes once the body has been read through and verified, before its last bytes
   * arrive. The object must not be visible under its key before this resolves, nor written if it rejects.
   */
  verified: Promise<VerifiedContent>;
  /** Aborts the upload (the activity was cancelled, the try gave up): nothing is written after it fires. */
  signal?: AbortSignal;
}

export interface UploadResult {
  /** Full key, with the destination's prefix. */
  key: string;
  size: number;
  etag?: string;
  versionId?: string;
}

export interface ObjectHead {
  size: number;
  sha256?: string;
  driveFileId?: string;
  /** The Drive version of the file the object holds, as written in its metadata. */
  version?: string;
}

/**
 * An upload written part by part, that a new process can continue from its resume token after a crash.
 * Every part but the last has the same size; nothing is visible under the key before complete().
 */
export interface PartUpload {
  writePart(partNumber: number, bytes: Buffer): Promise<void>;
  /** Plain JSON naming what is written so far; valid once the writePart calls before it resolved. */
  resumeToken(): unknown;
  complete(verified: { sha256: string; size: number }): Promise<UploadResult>;
  /** Drops the parts written so far. */
  abort(): Promise<void>;
}

export type PartUploadRequest = Omit<UploadRequest, 'body' | 'verified'> & { size: number };

const MiB = 1024 * 1024;
/** S3's smallest part but the last. */
const MIN_PART = 5 * MiB;
/** Exports have no size up front: a part size that still allows 8 GB at Scaleway's 1,000 parts. */
const UNKNOWN_SIZE_PART = 8 * MiB;

/** The smallest whole-MiB part size (at least 5 MiB) that keeps an upload within `maxParts`. */
export function partSizeFor(size: number | undefined, maxParts: number): number {
  if (size === undefined) return UNKNOWN_SIZE_PART;
  return Math.max(MIN_PART, Math.ceil(size / maxParts / MiB) * MiB);
}

/** One place backups go. Adding a provider is one new file implementing this. */
export interface Destination {
  readonly name: string;
  /** Most parts one upload may have (10,000 on AWS, 1,000 on Scaleway); unlimited for a directory. */
  readonly maxParts: number;
  /**
   * Whether `move` is a rename that leaves nothing behind (a directory): a renamed file's object is then moved, where
   * an object store copies it and keeps the old key under .trash/.
   */
  readonly renamesInPlace: boolean;
  upload(request: UploadRequest): Promise<UploadResult>;
  /** Starts a part upload, or continues the one `resumeToken` names; a token that no longer works throws. */
  beginPartUpload(request: PartUploadRequest, resumeToken?: unknown): Promise<PartUpload>;
  head(key: string): Promise<ObjectHead | undefined>;
  /**
   * Streams an object's bytes as stored, never buffering it whole. A missing object (or version) throws
   * ObjectMissingError before any byte; the signal aborts the request and errors the stream. `versionId` reads that
   * version of the object, on a versioned bucket (a restore as of a past day); a directory keeps no versions.
   */
  read(key: string, options?: ReadOptions): Promise<Readable>;
  /**
   * Server-side copy of `from` to `to` (keys below the prefix), with no byte through this process; the source
   * stays. The copy carries `metadata` (the source's, with its new Drive path) and keeps the stored SHA-256, so
   * `head(to)` answers what `head(from)` did. Whole or absent, like an upload. ObjectMissingError when `from` is empty.
   */
  copy(request: CopyRequest): Promise<UploadResult>;
  /** A copy, then the source removed: a rename on a local directory. */
  move(request: CopyRequest): Promise<UploadResult>;
  /** Removes an object (on a versioned bucket: a delete marker); a key that holds nothing is not an error. */
  delete(key: string): Promise<void>;
  /** The "folders" one level below `prefix` (which ends in `/`), each ending in `/`: `.trash/` gives `.trash/2026-11-01/`. */
  listFolders(prefix: string): Promise<string[]>;
  /** Every object whose key starts with `prefix`, in key order (keys below the destination's prefix). */
  list(prefix: string): AsyncIterable<{ key: string; size: number }>;
  /** Removes every object whose key starts with `prefix` (which ends in `/`); returns how many. */
  deleteUnder(prefix: string): Promise<number>;
  /** Full key for a key below the prefix. */
  fullKey(key: string): string;
}

export interface ReadOptions {
  signal?: AbortSignal;
  versionId?: string;
}

export interface CopyRequest {
  from: string;
  to: string;
  metadata: ObjectMetadata;
  contentType: string;
  signal?: AbortSignal;
}

export class DestinationError extends Error {
  override name = 'DestinationError';
  constructor(
    readonly destination: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${destination}: ${message}`, options);
  }
}

/** The key holds no object. */
export class ObjectMissingError extends DestinationError {
  override name = 'ObjectMissingError';
}
