import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

const marksSchema = z.record(z.string(), z.record(z.string(), z.string()));
type Marks = z.infer<typeof marksSchema>;

/**
 * Which destinations hold a verified copy of each local state item (a dump day, a weekly archive), by the SHA-256 of
 * the copy verified: a dump redone the same day is not taken for verified by its predecessor's mark. A local item is
 * deleted only once every destination holds it verified. Kept in one small JSON file beside the items; read and
 * written synchronously, so concurrent uploads in one process never lose each other's marks.
 */
export class VerifiedMarks {
  constructor(private readonly path: string) {}

  private read(): Marks {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const parsed = marksSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.path} is not a record of verified uploads: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  isVerified(item: string, destination: string, sha256: string): boolean {
    return this.read()[item]?.[destination] === sha256;
  }

  verifiedEverywhere(item: string, destinations: string[], sha256: string): boolean {
    const marks = this.read()[item] ?? {};
    return destinations.every((d) => marks[d] === sha256);
  }

  mark(item: string, destination: string, sha256: string): void {
    const marks = this.read();
    marks[item] = { ...marks[item], [destination]: sha256 };
    this.write(marks);
  }

  forget(item: string): void {
    const marks = this.read();
    delete marks[item];
    this.write(marks);
  }

  private write(marks: Marks): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(marks, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
