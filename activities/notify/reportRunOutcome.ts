import type { NotificationEvent } from '../../common/config';
import type { StateUploadOutcome } from '../../common/types';
import { readDailySummary } from '../catalog/dailySummary';
import { type HealthEvidence, markTurnsNotified, recordDestinationHealth, unnotifiedTurns } from '../catalog/destinationHealth';
import { forgetNoticesSentBefore } from '../catalog/noticesSent';
import { newFileFailures, syncRunEvidence } from '../catalog/runReports';
import { closeFailedRun } from '../catalog/runs';
import { type DeliveryDeps, deliverNotice, deliverParts } from './deliver';
import { type RunRef, dailySummaryNotice, destinationTurnsNotice, filesFailedNotice, runFailedNotice, turnNoticeId } from './messages';
import type { Notice } from './notice';

/** Files named in a files-failed notice; the rest are counted. */
const FILES_LISTED = 10;
/** Deliveries are remembered this long, far beyond any retry. */
const NOTICES_SENT_KEPT_DAYS = 30;

/** What a run tells at its end, or when it fails for good. */
export interface RunOutcomeReport {
  runId: string;
  workflowId: string;
  kind: 'full-sync' | 'incremental-sweep' | 'nightly-dump' | 'weekly-rollup';
  /** The run failed for good: why. `notified` when the failure comes from a child run that told it already. */
  failure?: { reason: string; notified?: boolean };
  /** A dump's or rollup's upload to each destination; a full sync or sweep has its own in the catalog. */
  destinations?: Record<string, StateUploadOutcome>;
  /** The nightly dump ends with the summary of the day it dumped (today on the catalog host's clock, if it dumped none). */
  dailySummary?: { day?: string };
}

export interface RunOutcomeDeps extends DeliveryDeps {
  account: string;
  /** The configured destinations, by name, as the daily summary lists them. */
  destinations: string[];
}

/** What a dump's or rollup's uploads found of each destination. */
function uploadEvidence(outcomes: Record<string, StateUploadOutcome>): Record<string, HealthEvidence> {
  return Object.fromEntries(
    Object.entries(outcomes).map(([d, o]): [string, HealthEvidence] => [
      d,
      o.status === 'verified' ? { state: 'healthy' } : { state: 'degraded', reason: o.message },
    ]),
  );
}

/**
 * A run's outcome, told: a final failure (the run closed as failed in the catalog), files that failed for the first
 * time, destinations that turned degraded or healthy again (their health kept in the catalog, so a turn is told once,
 * not at every run), and, at the end of the nightly dump, the daily summary. Each notice goes to every channel once,
 * whatever the retries. A notice that could not be delivered everywhere fails the activity, so Temporal retries it;
 * the workflow never fails for it.
 */
export async function reportRunOutcome(deps: RunOutcomeDeps, input: RunOutcomeReport): Promise<{ sent: string[] }> {
  const { catalog, notifications } = deps;
  const now = new Date();
  const run: RunRef = {
    runId: input.runId,
    workflowId: input.workflowId,
    kind: input.kind,
    account: deps.account,
    webUiLink: notifications.runLink(input.workflowId),
  };
  const wanted = (event: NotificationEvent) => notifications.channels.length > 0 && notifications.events.has(event);
  const notices: Notice[] = [];

  if (input.failure) {
    closeFailedRun(catalog, input.runId, input.failure.reason);
    if (!input.failure.notified && wanted('failure')) notices.push(runFailedNotice(run, input.failure.reason));
  }
  const syncs = input.kind === 'full-sync' || input.kind === 'incremental-sweep';
  if (syncs && !input.failure) {
    const failures = newFileFailures(catalog, input.runId, FILES_LISTED);
    if (failures.files > 0 && wanted('failure')) notices.push(filesFailedNotice(run, failures));
  }
  const evidence = input.destinations ? uploadEvidence(input.destinations) : syncs ? syncRunEvidence(catalog, input.runId) : {};
  recordDestinationHealth(catalog, input.runId, evidence, now.toISOString());
  const turns = unnotifiedTurns(catalog);
  const turnsNotice = turns.length && wanted('degraded') ? destinationTurnsNotice(run, turns) : undefined;
  if (turnsNotice) notices.push(turnsNotice);
  // Turns no one is to hear of are settled: a channel added later does not get last month's news.
  else markTurnsNotified(catalog, turns);
  if (input.dailySummary && wanted('daily-summary')) {
    notices.push(
      dailySummaryNotice(run, input.dailySummary.day ?? now.toISOString().slice(0, 10), readDailySummary(catalog, deps.destinations, now)),
    );
    forgetNoticesSentBefore(catalog, new Date(now.getTime() - NOTICES_SENT_KEPT_DAYS * 86_400_000).toISOString());
  }

  const undelivered: string[] = [];
  const context = { runId: input.runId, workflowId: input.workflowId };
  for (const notice of notices) {
    // A destination's turn is remembered by itself: a channel down for some runs gets it later, the others only once.
    const failed =
      notice === turnsNotice
        ? await deliverParts(
            deps,
            turns.map(turnNoticeId),
            (parts) =>
              destinationTurnsNotice(
                run,
                parts.map((i) => turns[i]!),
              ),
            context,
          )
        : await deliverNotice(deps, notice, context);
    if (notice === turnsNotice && failed.length === 0) markTurnsNotified(catalog, turns);
    undelivered.push(...failed.map((why) => `${notice.id}: ${why}`));
  }
  if (undelivered.length) throw new Error(`notices not delivered: ${undelivered.join('; ')}`);
  return { sent: notices.map((n) => n.id) };
}
