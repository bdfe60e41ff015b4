import type { ObjectHead } from '../storage/destination';

/** What a HEAD found wrong with an object, against the size and SHA-256 it should have; undefined when it matches. */
export function headMismatch(head: ObjectHead | undefined, expected: { size: number; sha256: string }): string | undefined {
  if (!head) return 'missing';
  if (head.size !== expected.size) return `size ${head.size}, catalog ${expected.size}`;
  if (head.sha256 !== expected.sha256) return `sha256 ${head.sha256 ?? 'absent'}, catalog ${expected.sha256}`;
  return undefined;
}
