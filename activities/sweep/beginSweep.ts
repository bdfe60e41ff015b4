import type { drive_v3 } from 'googleapis';
import type { Logger } from '../../common/logger';
import { accountHolder, holdAccount } from '../catalog/accountHold';
import type { Catalog } from '../catalog/catalog';
import { MY_DRIVE_SCOPE, changeTokens, dropChangeToken, stageChangeToken } from '../catalog/changeTokens';
import { startRun } from '../catalog/runs';
import { fetchStartPageToken } from '../drive/changes';
import { listSharedDrives } from '../drive/listing';
import { closeAbandonedRuns } from './abandonedRuns';

export interface SweepDeps {
  drive: drive_v3.Drive;
  catalog: Catalog;
  logger: Logger;
}

export type SweepStart =
  /** A full sync holds the account: this sweep does nothing (the full sync covers its changes). */
  | { kind: 'skipped'; reason: string }
  /** No token to read changes from: a full sync must list everything and take them. */
  | { kind: 'full-sync-needed'; reason: string }
  /**
   * Drives to read changes of ('my-drive', shared drives' ids), and shared drives new to the catalog: each has had
   * its start page token staged, and is listed whole by this sweep.
   */
  | { kind: 'sweep'; scopes: string[]; newDrives: Array<{ driveId: string; name: string }>; driveCalls: number };

/**
 * Starts a sweep: closes runs whose workflows are gone, and steps aside while a full sync holds the account. Shared
 * drives are listed (one call) to find new ones, renamed ones (their files get new keys) and ones the account lost
 * (their files are gone).
 */
export async function beginSweep(
  deps: SweepDeps,
  input: { runId: string; workflowId: string; includeSharedDrives: boolean },
): Promise<SweepStart> {
  await closeAbandonedRuns(deps, input.runId);
  const holder = accountHolder(deps.catalog);
  if (holder) return { kind: 'skipped', reason: `full sync ${holder.workflowId} holds the account` };
  const tokens = changeTokens(deps.catalog);
  if (!tokens.has(MY_DRIVE_SCOPE)) return { kind: 'full-sync-needed', reason: 'no change token yet: a full sync lists everything first' };
  startRun(deps.catalog, { runId: input.runId, kind: 'incremental-sweep', workflowId: input.workflowId });
  if (!input.includeSharedDrives) return { kind: 'sweep', scopes: [MY_DRIVE_SCOPE], newDrives: [], driveCalls: 0 };
  const drives = await listSharedDrives(deps);
  const listed = new Set(drives.map((d) => d.driveId));
  for (const scope of tokens.keys()) {
    if (scope === MY_DRIVE_SCOPE || listed.has(scope)) continue;
    const ids = deps.catalog.db.prepare('SELECT id FROM files WHERE drive_id = ? AND gone IS NULL').all(scope) as Array<{ id: string }>;
    deps.catalog.db.transaction(() => {
      deps.catalog.places.markGone(
        ids.map((r) => r.id),
        'removed',
      );
      dropChangeToken(deps.catalog, scope);
    })();
    deps.logger.warn({ event: 'sweep.drive_lost', runId: input.runId, driveId: scope, files: ids.length }, 'a shared drive is gone');
  }
  const newDrives = drives.filter((d) => !tokens.has(d.driveId));
  for (const d of newDrives) stageChangeToken(deps.catalog, input.runId, d.driveId, await fetchStartPageToken(deps, d.driveId));
  const scopes = [MY_DRIVE_SCOPE, ...drives.filter((d) => tokens.has(d.driveId)).map((d) => d.driveId)];
  return { kind: 'sweep', scopes, newDrives, driveCalls: 1 + newDrives.length };
}

/**
 * Before a full sync lists: runs whose workflows are gone are closed (their claims would hold files back), the full
 * sync takes the account's hold, or learns which running full sync has it (it then does nothing), and every drive's
 * start page token is staged, to become current when the sync finishes.
 */
export async function beginChangeTracking(
  deps: SweepDeps,
  input: { runId: string; workflowId?: string; includeSharedDrives: boolean },
): Promise<{ heldBy?: string }> {
  await closeAbandonedRuns(deps, input.runId);
  const holder = holdAccount(deps.catalog, { runId: input.runId, workflowId: input.workflowId ?? input.runId });
  if (holder.runId !== input.runId) return { heldBy: holder.workflowId };
  const drives = input.includeSharedDrives ? await listSharedDrives(deps) : [];
  for (const scope of [MY_DRIVE_SCOPE, ...drives.map((d) => d.driveId)]) {
    stageChangeToken(deps.catalog, input.runId, scope, await fetchStartPageToken(deps, scope));
  }
  return {};
}
