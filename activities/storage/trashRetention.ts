import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import { accountKeyOf } from '../catalog/objectKeys';
import { forgetTrashedBefore, lastDoneOn, markDoneOn } from '../catalog/maintenance';
import type { Destination } from './destination';

const PURGE_TASK = 'trash-purge';
const DAY_FOLDER = /^\.trash\/(\d{4}-\d{2}-\d{2})\/$/;

/**
 * Purges the account's trash in the `.trash/<YYYY-MM-DD>/` folders older than the retention on every destination, once
 * a day: the only deletion drive-vault ever makes. Only below `drive/<account>/` in each: another account sharing the
 * destination purges its own. Days are read from the destinations themselves, so trash the catalog no longer
 * knows (a catalog rebuilt from a dump) is purged too. On a versioned bucket a delete leaves a delete marker, and the
 * bucket's own lifecycle rules decide when the old versions go.
 */
export async function purgeExpiredTrash(
  deps: { catalog: Catalog; destinations: Destination[]; logger: Logger; account: string },
  input: { runId: string; retentionDays: number; now?: string },
): Promise<{ purged: number; days: string[]; unreachable: string[] }> {
  const now = new Date(input.now ?? Date.now());
  const today = now.toISOString().slice(0, 10);
  if (lastDoneOn(deps.catalog, PURGE_TASK) === today) return { purged: 0, days: [], unreachable: [] };
  const oldestKept = new Date(now.getTime() - input.retentionDays * 86_400_000).toISOString().slice(0, 10);
  let purged = 0;
  const days = new Set<string>();
  const unreachable: string[] = [];
  for (const destination of deps.destinations) {
    // A destination that is down does not stop the others: its old trash waits for the next day's purge.
    try {
      for (const folder of await destination.listFolders('.trash/')) {
        const day = DAY_FOLDER.exec(folder)?.[1];
        if (!day || day >= oldestKept) continue;
        const removed = await destination.deleteUnder(`${folder}${accountKeyOf(deps.account)}/`);
        if (removed === 0) continue;
        purged += removed;
        days.add(day);
        const log = { event: 'trash.purged', runId: input.runId, destination: destination.name, day, objects: removed };
        deps.logger.info(log, 'purged old trash');
      }
      forgetTrashedBefore(deps.catalog, destination.name, oldestKept);
    } catch (err) {
      unreachable.push(destination.name);
      deps.logger.warn(
        { event: 'trash.purge_failed', runId: input.runId, destination: destination.name, err },
        'could not purge old trash',
      );
    }
  }
  if (unreachable.length === 0) markDoneOn(deps.catalog, PURGE_TASK, today);
  return { purged, days: [...days].sort(), unreachable };
}
