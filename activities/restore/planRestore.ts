import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ExportFormatConfig } from '../../common/config';
import type { Logger } from '../../common/logger';
import type { RestorePlan, RestoreRequest } from '../../common/restoreTypes';
import type { Catalog } from '../catalog/catalog';
import { ObjectKeyPlanner, accountKeyOf } from '../catalog/objectKeys';
import { RestoreSelection, RestoreSelectionWriter, restorableObjects } from '../catalog/restoreSelection';
import type { StateLayout } from '../dump/dumpLayout';
import { ManifestError, readManifestLines } from '../dump/manifestFile';
import type { Destination } from '../storage/destination';
import { fetchDayManifest } from './dayManifest';

export interface RestoreDeps {
  catalog: Catalog;
  destinations: Destination[];
  logger: Logger;
  account: string;
  exportFormats: ExportFormatConfig;
  /** Where the account's dumps (and their manifests) are on each destination. */
  dumps: { layout: StateLayout };
}

export interface PlanRestoreInput extends Pick<RestoreRequest, 'from' | 'path' | 'at'> {
  /** Names the restore's selection file: its workflow id, the same across continue-as-new. */
  restoreId: string;
  pageFiles: number;
  pageBytes: number;
}

/** Catalog rows read per step: the event loop (and the heartbeat) runs between steps. */
const CATALOG_STEP = 2_000;
/** A selection left by a restore that never finished (terminated, its host replaced) is removed after this. */
const STALE_SELECTION_MS = 7 * 86_400_000;

/** Where restores keep their selections: beside the catalog file, on the catalog host. */
export function restoreWorkDir(catalog: Catalog): string {
  const file = catalog.db.name;
  return file === ':memory:' || file === '' ? join(tmpdir(), 'drive-vault-restore-selections') : join(dirname(file), 'restore-selections');
}

export function selectionPath(catalog: Catalog, restoreId: string): string {
  return join(restoreWorkDir(catalog), `${createHash('sha256').update(restoreId).digest('hex').slice(0, 32)}.sqlite`);
}

export function destinationNamed(deps: Pick<RestoreDeps, 'destinations'>, name: string): Destination {
  const destination = deps.destinations.find((d) => d.name === name);
  if (!destination) {
    const names = deps.destinations.map((d) => d.name).join(', ');
    throw ApplicationFailure.nonRetryable(`no destination is named "${name}"; the configured ones are ${names}`, 'UnknownDestination');
  }
  return destination;
}

/**
 * Whether an object is asked for: `path` names it or a folder above it, as a readable Drive path (`My Drive/Projects`)
 * or as its key below `drive/<account>/` (which differs where names were made safe or told apart). No path: all.
 */
export function pathFilter(path: string | undefined, accountKey: string): (drivePath: string, key: string) => boolean {
  const wanted = (path ?? '').replace(/^\/+|\/+$/g, '');
  if (wanted === '') return () => true;
  const under = (candidate: string) => candidate === wanted || candidate.startsWith(`${wanted}/`);
  const below = `${accountKey}/`;
  return (drivePath, key) => under(drivePath) || (key.startsWith(below) && under(key.slice(below.length)));
}

async function removeStaleSelections(dir: string, keep: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if (path === keep) continue;
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > STALE_SELECTION_MS) await rm(path, { force: true, recursive: true });
  }
}

/** The catalog's objects of the destination, of files still in Drive, with their Drive paths as the catalog has them now. */
async function selectFromCatalog(deps: RestoreDeps, input: PlanRestoreInput, writer: RestoreSelectionWriter): Promise<void> {
  const planner = new ObjectKeyPlanner(deps.catalog.db, deps.account, deps.exportFormats);
  const wanted = pathFilter(input.path, accountKeyOf(deps.account));
  for (let after = ''; ; ) {
    const rows = restorableObjects(deps.catalog, input.from, after, CATALOG_STEP);
    if (rows.length === 0) return;
    planner.beginBatch();
    for (const row of rows) {
      const path = planner.locate(row.fileId).drivePath;
      if (wanted(path, row.key)) writer.add({ ...row, path });
    }
    after = rows.at(-1)!.key;
    await setImmediate();
  }
}

/** That day's manifest's objects on the destination, of files then in Drive, read after the manifest checked out. */
async function selectFromManifest(deps: RestoreDeps, input: PlanRestoreInput & { at: string }, writer: RestoreSelectionWriter) {
  const destination = destinationNamed(deps, input.from);
  const manifestPath = `${writer.path}.manifest.jsonl.gz`;
  await fetchDayManifest(destination, deps.dumps.layout, input.at, manifestPath, Context.current().cancellationSignal);
  const wanted = pathFilter(input.path, accountKeyOf(deps.account));
  try {
    for await (const line of readManifestLines(createReadStream(manifestPath))) {
      if (line.type === 'item' && line.gone !== null) writer.addGone(line.id);
      if (line.type !== 'object' || line.destination !== input.from || !wanted(line.path, line.key)) continue;
      const { fileId, key, path, size, sha256, versionId } = line;
      writer.add({ fileId, key, path, size, sha256, versionId });
    }
  } catch (err) {
    if (err instanceof ManifestError) {
      throw ApplicationFailure.nonRetryable(`the manifest of ${input.at} on ${input.from} cannot be read: ${err.message}`, 'BadManifest');
    }
    throw err;
  } finally {
    await rm(manifestPath, { force: true });
  }
}

/**
 * Fixes what a restore brings back, into a selection file of its own on the catalog host: the destination's objects as
 * the catalog has them now, or as the manifest of `at` recorded them (checked against its `.sha256` first), of files
 * then in Drive, narrowed to `path`; cut into pages. A selection already made for this restore (the activity retried
 * after it finished) is taken as it is. Returns only counts: the list stays on the catalog host.
 */
export async function planRestore(deps: RestoreDeps, input: PlanRestoreInput): Promise<RestorePlan> {
  destinationNamed(deps, input.from);
  const path = selectionPath(deps.catalog, input.restoreId);
  const source = input.at === undefined ? 'catalog' : 'manifest';
  const startedAt = new Date().toISOString();
  const existing = RestoreSelection.open(path);
  if (existing) {
    try {
      return { source, ...existing.size(), startedAt };
    } finally {
      existing.close();
    }
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await removeStaleSelections(dirname(path), path);
  const writer = new RestoreSelectionWriter(`${path}.partial`);
  try {
    if (input.at === undefined) await selectFromCatalog(deps, input, writer);
    else await selectFromManifest(deps, { ...input, at: input.at }, writer);
    const size = writer.finish(input.pageFiles, input.pageBytes);
    await rename(writer.path, path);
    deps.logger.info(
      { event: 'restore.planned', restoreId: input.restoreId, from: input.from, at: input.at, source, ...size },
      'restore planned',
    );
    return { source, ...size, startedAt };
  } catch (err) {
    writer.discard();
    throw err;
  }
}

/** Removes a finished restore's selection. */
export async function finishRestore(deps: Pick<RestoreDeps, 'catalog'>, input: { restoreId: string }): Promise<void> {
  await rm(selectionPath(deps.catalog, input.restoreId), { force: true });
}
