import type { StoredObjectRecord } from '../../common/types';
import { type Destination, DestinationError } from '../storage/destination';
import { headMismatch } from '../verify/headComparison';

/**
 * HEADs each object a try just wrote, so a full sync verifies what it wrote without a later pass over every
 * object. One a destination does not show with its size and SHA-256 counts as not written there.
 */
export async function confirmWritten(
  destinations: Destination[],
  written: StoredObjectRecord[],
): Promise<{ confirmed: StoredObjectRecord[]; failed: Destination[]; error?: unknown }> {
  const byName = new Map(destinations.map((d) => [d.name, d]));
  const heads = await Promise.allSettled(
    written.map(async (record) => {
      const destination = byName.get(record.destination)!;
      const problem = headMismatch(await destination.head(record.key), record);
      if (problem) throw new DestinationError(destination.name, `HEAD after upload of ${record.key}: ${problem}`);
      return { ...record, verifiedAt: new Date().toISOString() };
    }),
  );
  const confirmed: StoredObjectRecord[] = [];
  const failed: Destination[] = [];
  let error: unknown;
  heads.forEach((head, i) => {
    if (head.status === 'fulfilled') confirmed.push(head.value);
    else {
      failed.push(byName.get(written[i].destination)!);
      error ??= head.reason;
    }
  });
  return { confirmed, failed, error };
}
