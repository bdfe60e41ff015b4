import type { Config, ExportFormatConfig } from '../../common/config';
import type { Logger } from '../../common/logger';
import { type AdoptedObject, recordAdoptedObjects, unsyncedFilesPage } from '../catalog/adoptedObjects';
import type { Catalog } from '../catalog/catalog';
import { ObjectKeyPlanner } from '../catalog/objectKeys';
import type { ScopeOptions } from '../catalog/syncQueue';
import type { Destination } from '../storage/destination';

const FILES_PER_PAGE = 200;
const HEADS_IN_FLIGHT = 16;

export interface StoredObjectAdoptionDeps extends ScopeOptions {
  /** Every configured destination: a file is synced only when all of them hold it. */
  destinations: Destination[];
  account: string;
  exportFormats: ExportFormatConfig;
  logger: Logger;
}

export interface AdoptionCounts {
  /** Files the catalog had still to transfer (in scope). */
  checked: number;
  /** Objects found on the destinations, for the file's version, and recorded. */
  objects: number;
  /** Files now synced: every destination holds every object of them. */
  files: number;
  /** Destinations that could not be asked: their objects stay to be transferred. */
  unreachable: string[];
}

/**
 * A dump is a snapshot: what its runs transferred after it (a full sync or a sweep writing while the dump was taken,
 * and every night until the catalog was lost) is on the destinations but not in it, and the next full sync would
 * download and upload it again: up to a day of transfers, the whole of it during a first sync of several days.
 * So before a restored catalog is used, each file it still has to transfer is looked for on every destination, under
 * the key a claim gives it: an object whose metadata names this file and this Drive version, with a stored SHA-256
 * and size (what the transfer writes only once the bytes are checked), is recorded as the transfer would have, and a
 * file every destination holds whole is synced. An object of another version, or of another file, is left alone and
 * the file transferred as before. Files new in Drive since the dump are not in the catalog: a full sync still
 * transfers those.
 */
export async function adoptStoredObjects(catalog: Catalog, deps: StoredObjectAdoptionDeps): Promise<AdoptionCounts> {
  const planner = new ObjectKeyPlanner(catalog.db, deps.account, deps.exportFormats);
  const counts: AdoptionCounts = { checked: 0, objects: 0, files: 0, unreachable: [] };
  const unreachable = new Set<string>();
  let afterId = '';
  for (;;) {
    const page = unsyncedFilesPage(catalog, { planner, ...deps }, { afterId, limit: FILES_PER_PAGE });
    if (page.nextAfterId === undefined) break;
    afterId = page.nextAfterId;
    counts.checked += page.files.length;
    const lookups = page.files.flatMap((file) =>
      file.objects.flatMap((object) =>
        deps.destinations.filter((d) => !object.storedAt.includes(d.name)).map((destination) => ({ file, object, destination })),
      ),
    );
    const found: AdoptedObject[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(HEADS_IN_FLIGHT, lookups.length) }, async () => {
        while (next < lookups.length) {
          const { file, object, destination } = lookups[next++]!;
          if (unreachable.has(destination.name)) continue;
          try {
            const head = await destination.head(object.key);
            if (head?.driveFileId !== file.id || head.version !== file.version || !head.sha256) continue;
            // Metadata can name the new version while the bytes are the old one's (a host that died mid-write):
            // a binary file's object must also have the size and SHA-256 Drive gives for this version.
            const binary = object.format === '';
            if (binary && file.size !== null && head.size !== file.size) continue;
            if (binary && file.driveSha256 && head.sha256 !== file.driveSha256) continue;
            found.push({
              fileId: file.id,
              destination: destination.name,
              ...object,
              size: head.size,
              sha256: head.sha256,
              version: file.version,
            });
            object.storedAt.push(destination.name);
          } catch (err) {
            unreachable.add(destination.name);
            deps.logger.warn(
              { event: 'catalog.adopt.destination_unreachable', destination: destination.name, err },
              'destination not checked for objects stored after the dump; their files will be transferred',
            );
          }
        }
      }),
    );
    const synced = page.files
      .filter((f) => f.objects.every((o) => deps.destinations.every((d) => o.storedAt.includes(d.name))))
      .map((f) => ({ fileId: f.id, version: f.version }));
    const recorded = recordAdoptedObjects(catalog, { objects: found, synced });
    counts.objects += recorded.objects;
    counts.files += recorded.files;
  }
  counts.unreachable = [...unreachable].sort();
  deps.logger.info({ event: 'catalog.adopted', ...counts }, 'objects stored after the dump recorded');
  return counts;
}

/** What adoption needs, from the config and every configured destination. */
export function adoptionFromConfig(
  config: Pick<Config, 'account' | 'exportFormats' | 'scope'>,
  destinations: Destination[],
  logger: Logger,
): StoredObjectAdoptionDeps {
  return {
    destinations,
    account: config.account,
    exportFormats: config.exportFormats,
    scopeRules: { exclude: config.scope.exclude, maxFileSizeBytes: config.scope.maxFileSizeBytes },
    includeSharedWithMe: config.scope.sharedWithMe,
    logger,
  };
}
