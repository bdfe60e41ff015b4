import { type IHasher, createMD5, createSHA256 } from 'hash-wasm';

/**
 * MD5 and SHA-256 whose running state can be saved in a heartbeat and loaded by another process, so a
 * resumed download hashes only the bytes it has not seen. (Node's own hashes cannot export their state.)
 */
export class ResumableHashes {
  private constructor(
    private readonly md5: IHasher,
    private readonly sha256: IHasher,
  ) {}

  static async start(saved?: string): Promise<ResumableHashes> {
    const [md5, sha256] = await Promise.all([createMD5(), createSHA256()]);
    md5.init();
    sha256.init();
    if (saved) {
      const state = JSON.parse(saved) as { md5: string; sha256: string };
      md5.load(Buffer.from(state.md5, 'base64'));
      sha256.load(Buffer.from(state.sha256, 'base64'));
    }
    return new ResumableHashes(md5, sha256);
  }

  update(bytes: Buffer): void {
    this.md5.update(bytes);
    this.sha256.update(bytes);
  }

  save(): string {
    return JSON.stringify({
      md5: Buffer.from(this.md5.save()).toString('base64'),
      sha256: Buffer.from(this.sha256.save()).toString('base64'),
    });
  }

  digest(): { md5: string; sha256: string } {
    return { md5: this.md5.digest('hex'), sha256: this.sha256.digest('hex') };
  }
}
