import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from '../../common/logger';
import { type DeepVerifyCounts, type DeepVerifyCursor, type DeepVerifyPlan, emptyDeepVerifyCounts } from '../../common/types';
import type { Catalog } from '../catalog/catalog';
import {
  type DeepVerdict,
  type DeepVerifyCandidate,
  countDeepVerifiable,
  deepVerifyCandidates,
  recordDeepVerdicts,
} from '../catalog/deepVerification';
import { type Destination, ObjectMissingError } from '../storage/destination';

export interface DeepVerifyDeps {
  catalog: Catalog;
  destinations: Destination[];
  logger: Logger;
}

export interface DeepVerifyPageInput {
  plan: Pick<DeepVerifyPlan, 'startedAt' | 'destinations'>;
  after: DeepVerifyCursor;
  /** Most objects this page reads. */
  limit: number;
  /** Most bytes this page reads, by the catalog's sizes; a page always takes at least one object. */
  maxBytes: number;
}

export interface DeepVerifyPageResult {
  perDestination: Record<string, DeepVerifyCounts>;
  /** Objects this page took from the plan, read or not. */
  taken: number;
  /** Where the next page starts; undefined when no object is left to read. */
  next?: DeepVerifyCursor;
  /** The catalog host's clock when the page was recorded. */
  at: string;
}

/** Objects read at once: enough to hide a store's latency on small objects, few enough not to thrash a disk. */
const READS_IN_FLIGHT = 4;
const HEARTBEAT_EVERY_MS = 5_000;
/**
 * A page that reads no byte and finishes no object for this long stops heartbeating, so Temporal retries it:
 * a hung NAS mount never errors. S3 requests that stop moving fail on the client's own idle timeout first.
 */
const IDLE_LIMIT_MS = 5 * 60_000;

/**
 * Fixes what a deep verification reads: every object of the chosen destinations, or the sample's share of
 * them, rounded up. Pages take the objects read back longest ago (or never) first, so repeated samples of
 * P% read every object within ceil(100 / P) runs.
 */
export function beginDeepVerify(deps: DeepVerifyDeps, input: { destination?: string; samplePercent?: number }): DeepVerifyPlan {
  const names = deps.destinations.map((d) => d.name);
  if (input.destination !== undefined && !names.includes(input.destination)) {
    throw ApplicationFailure.nonRetryable(
      `no destination is named "${input.destination}"; the configured ones are ${names.join(', ')}`,
      'UnknownDestination',
    );
  }
  const samplePercent = input.samplePercent ?? null;
  if (samplePercent !== null && !(samplePercent > 0 && samplePercent <= 100)) {
    throw ApplicationFailure.nonRetryable(`a sample is a percentage above 0 and up to 100, not ${samplePercent}`, 'InvalidSample');
  }
  const destinations = input.destination === undefined ? names : [input.destination];
  const objectsInScope = countDeepVerifiable(deps.catalog, destinations);
  const objectsChosen = samplePercent === null ? objectsInScope : Math.ceil((objectsInScope * samplePercent) / 100);
  const withinRuns = samplePercent === null ? 1 : Math.ceil(100 / samplePercent);
  return { startedAt: new Date().toISOString(), destinations, samplePercent, objectsInScope, objectsChosen, withinRuns };
}

/** The first objects of `rows` whose recorded sizes fit in `maxBytes`; at least one. */
function withinBytes(rows: DeepVerifyCandidate[], maxBytes: number): DeepVerifyCandidate[] {
  let bytes = rows[0]?.size ?? 0;
  let take = Math.min(rows.length, 1);
  while (take < rows.length && bytes + (rows[take].size ?? 0) <= maxBytes) bytes += rows[take++].size ?? 0;
  return rows.slice(0, take);
}

/** What the catalog recorded of an object, as a mismatch message begins. */
const expected = (object: DeepVerifyCandidate) => `expected ${object.size} bytes with SHA-256 ${object.sha256 ?? '(none recorded)'}`;

/**
 * Streams one object back, hashing and counting as it goes; never holds more than a chunk. An object longer
 * than the catalog says is not read past that length: it cannot match.
 */
async function readBack(
  destination: Destination,
  object: DeepVerifyCandidate,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<string | undefined> {
  let body: Readable;
  try {
    body = await destination.read(object.key, { signal });
  } catch (err) {
    if (err instanceof ObjectMissingError) return `${expected(object)}, found no object`;
    throw err;
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    onBytes(chunk.length);
    if (size > (object.size ?? 0)) return `${expected(object)}, found more than ${object.size} bytes`;
  }
  const sha256 = hash.digest('hex');
  return size === object.size && sha256 === object.sha256 ? undefined : `${expected(object)}, found ${size} bytes with SHA-256 ${sha256}`;
}

/**
 * Reads one page of the plan's objects back from their destinations, re-hashes them and compares size and
 * SHA-256 with the catalog. A missing or different object is marked failed and its file goes back to
 * pending, so the next sync writes it again. A destination that cannot be read is not read again in this
 * page: its objects keep their state and count as unverified, first in line for the next run.
 */
export async function deepVerifyPage(deps: DeepVerifyDeps, input: DeepVerifyPageInput): Promise<DeepVerifyPageResult> {
  const ctx = Context.current();
  const workflowId = ctx.info.workflowExecution?.workflowId;
  const rows = deepVerifyCandidates(deps.catalog, {
    destinations: input.plan.destinations,
    before: input.plan.startedAt,
    after: input.after,
    limit: input.limit,
  });
  const page = withinBytes(rows, input.maxBytes);
  const byName = new Map(deps.destinations.map((d) => [d.name, d]));
  const perDestination: Record<string, DeepVerifyCounts> = {};
  const countsOf = (destination: string) => (perDestination[destination] ??= emptyDeepVerifyCounts());
  const unreachable = new Set<string>();
  const verdicts: DeepVerdict[] = [];
  let done = 0;
  let bytesRead = 0;
  let moved = { progress: 0, at: Date.now() };
  let silent = false;
  const beat = setInterval(() => {
    const now = Date.now();
    if (bytesRead + done !== moved.progress) moved = { progress: bytesRead + done, at: now };
    if (now - moved.at <= IDLE_LIMIT_MS) {
      ctx.heartbeat({ objectsDone: done, bytesRead });
    } else if (!silent) {
      silent = true;
      deps.logger.error(
        { event: 'deep_verify.page_stuck', workflowId, idleMs: now - moved.at },
        'no byte read for too long; no more heartbeats',
      );
    }
  }, HEARTBEAT_EVERY_MS);
  let next = 0;
  try {
    const lanes = Array.from({ length: Math.min(READS_IN_FLIGHT, page.length) }, async () => {
      while (next < page.length) {
        ctx.cancellationSignal.throwIfAborted();
        const object = page[next++];
        const destination = byName.get(object.destination);
        // A destination dropped from the config since the run began has nothing to read the object from.
        if (!destination || unreachable.has(destination.name)) {
          countsOf(object.destination).unverified++;
          done++;
          continue;
        }
        try {
          const onBytes = (n: number) => {
            bytesRead += n;
            countsOf(destination.name).bytesRead += n;
          };
          verdicts.push({ object, problem: await readBack(destination, object, ctx.cancellationSignal, onBytes) });
        } catch (err) {
          ctx.cancellationSignal.throwIfAborted();
          deps.logger.warn(
            { event: 'deep_verify.destination_unreachable', workflowId, destination: destination.name, key: object.key, err },
            'destination could not be read; its objects in this page stay unverified',
          );
          unreachable.add(destination.name);
          countsOf(destination.name).unverified++;
        }
        done++;
      }
    });
    await Promise.all(lanes);
  } finally {
    clearInterval(beat);
  }
  const at = new Date().toISOString();
  const superseded = new Set(recordDeepVerdicts(deps.catalog, verdicts, at));
  for (const verdict of verdicts) {
    const { object, problem } = verdict;
    const counts = countsOf(object.destination);
    if (superseded.has(verdict)) counts.unverified++;
    else if (problem) {
      counts.mismatched++;
      deps.logger.warn(
        { event: 'deep_verify.mismatch', workflowId, destination: object.destination, fileId: object.fileId, key: object.key, problem },
        'object does not hold the bytes the catalog recorded; its file is pending again',
      );
    } else counts.verified++;
  }
  const last = page.at(-1);
  const more = last !== undefined && (page.length < rows.length || rows.length === input.limit);
  return {
    perDestination,
    taken: page.length,
    next: more ? { deepVerifiedAt: last.deepVerifiedAt, rowid: last.rowid } : undefined,
    at,
  };
}
