/** Where a large file's transfer stands after its last part: enough for another process to go on. */
export interface LargeFileCheckpoint {
  fileId: string;
  version: string;
  key: string;
  partSize: number;
  /** Bytes downloaded, hashed and written to every destination below. */
  offset: number;
  nextPart: number;
  hashes: string;
  /** Each destination's resume token, by destination name: a few numbers and an id, whatever the part count. */
  uploads: Record<string, unknown>;
}

/** The checkpoints of the files in flight; the transfer activity sends them with each heartbeat. */
export class CheckpointStore {
  private readonly byFile: Map<string, LargeFileCheckpoint>;

  constructor(initial: Record<string, LargeFileCheckpoint> = {}) {
    this.byFile = new Map(Object.entries(initial));
  }

  get(fileId: string): LargeFileCheckpoint | undefined {
    return this.byFile.get(fileId);
  }

  save(checkpoint: LargeFileCheckpoint): void {
    this.byFile.set(checkpoint.fileId, checkpoint);
  }

  clear(fileId: string): void {
    this.byFile.delete(fileId);
  }

  snapshot(): Record<string, LargeFileCheckpoint> {
    return Object.fromEntries(this.byFile);
  }
}
