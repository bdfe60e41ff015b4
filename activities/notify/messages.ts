import type { DailySummary } from '../catalog/dailySummary';
import type { DestinationHealth } from '../catalog/destinationHealth';
import type { FileFailureLine } from '../catalog/runReports';
import type { Notice } from './notice';

/** What a run is called in a message. */
const RUN_NAMES: Record<string, string> = {
  'full-sync': 'full sync',
  'incremental-sweep': 'sweep',
  'nightly-dump': 'nightly dump',
  'weekly-rollup': 'weekly rollup',
};
export const runName = (kind: string) => RUN_NAMES[kind] ?? kind;

/** Where a message's run is: its ids, and a link to it in the Temporal Web UI. */
export interface RunRef {
  runId: string;
  workflowId: string;
  kind: string;
  account: string;
  webUiLink: string;
}

export function byteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An ISO instant to the minute, in UTC: `2026-11-26 02:30 UTC`. */
export const minuteOf = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
const link = (run: RunRef) => ({ label: `${runName(run.kind)} ${run.workflowId} in the Temporal Web UI`, url: run.webUiLink });

/**
 * Text from Drive or an error (a file name: anyone can share a file into the account), in a code span: Markdown
 * receivers (Mattermost, Rocket.Chat, Discord) and Slack's mrkdwn show it as it is, no link, no @channel.
 */
export const quoted = (text: string) => `\`${text.replace(/`/g, 'ˋ').replace(/[\r\n]+/g, ' ')}\``;

function failureLine(f: FileFailureLine): string {
  const where = f.destinations.length ? ` [${f.destinations.join(', ')}]` : '';
  return `• ${quoted(f.name)} (${f.fileId}): ${f.reason}: ${quoted(f.message)}${where}`;
}

/** A run that failed for good: its workflow stopped, or (a dump, a rollup) it could not do its job. */
export function runFailedNotice(run: RunRef, reason: string): Notice {
  return {
    id: `${run.runId}/failed`,
    event: 'failure',
    subject: `drive-vault: ${runName(run.kind)} failed (${run.account})`,
    body: [
      `The ${runName(run.kind)} of ${run.account} failed for good: ${quoted(reason)}`,
      `Run ${run.runId}, workflow ${run.workflowId}.`,
      'Nothing it backed up before is lost; the next scheduled run tries again.',
    ],
    link: link(run),
  };
}

/** Files that failed for the first time in a run; later runs retry them. */
export function filesFailedNotice(run: RunRef, failures: { files: number; listed: FileFailureLine[] }): Notice {
  const more = failures.files - failures.listed.length;
  return {
    id: `${run.runId}/files-failed`,
    event: 'failure',
    subject: `drive-vault: ${count(failures.files, 'file')} failed in the ${runName(run.kind)} (${run.account})`,
    body: [
      `${count(failures.files, 'file')} of ${run.account} could not be backed up by run ${run.runId}; every later run retries them.`,
      ...failures.listed.map(failureLine),
      ...(more > 0 ? [`… and ${count(more, 'more file')}.`] : []),
    ],
    link: link(run),
  };
}

/** A destination's turn, the same whichever run tells it: each channel is told it once. */
export const turnNoticeId = (t: DestinationHealth) => `destination/${t.destination}/${t.state}/${t.since}`;

/** Destinations that turned degraded, or healthy again, since people were last told. */
export function destinationTurnsNotice(run: RunRef, turns: DestinationHealth[]): Notice {
  const degraded = turns.filter((t) => t.state === 'degraded').map((t) => t.destination);
  const healthy = turns.filter((t) => t.state === 'healthy').map((t) => t.destination);
  const parts = [
    ...(degraded.length ? [`${degraded.join(', ')} degraded`] : []),
    ...(healthy.length ? [`${healthy.join(', ')} healthy again`] : []),
  ];
  return {
    id: turns.map(turnNoticeId).join(' '),
    event: 'degraded',
    subject: `drive-vault: destination ${parts.join('; ')} (${run.account})`,
    body: [
      ...turns.map((t) =>
        t.state === 'degraded'
          ? `• ${t.destination} is degraded since ${minuteOf(t.since)}: ${quoted(t.reason ?? '')}`
          : `• ${t.destination} is healthy again since ${minuteOf(t.since)}`,
      ),
      ...(degraded.length ? ['The other destinations go on; what a degraded one misses is written to it once it is back.'] : []),
      `Found by the ${runName(run.kind)} ${run.runId}.`,
    ],
    link: link(run),
  };
}

/** The day's state of the backup, sent by the nightly dump. */
export function dailySummaryNotice(run: RunRef, day: string, s: DailySummary): Notice {
  const degraded = s.destinations.filter((d) => d.state === 'degraded');
  const problems = [
    ...(s.failures.files ? [count(s.failures.files, 'failed file')] : []),
    ...(degraded.length ? [`${count(degraded.length, 'destination')} degraded`] : []),
    ...(s.lastDay.failed ? [`${count(s.lastDay.failed, 'failed run')}`] : []),
  ];
  const f = s.files;
  const runLine = (r: DailySummary['lastRuns'][number]) =>
    `• ${runName(r.kind)}: ${r.status}, ${r.endedAt ? `ended ${minuteOf(r.endedAt)}` : `started ${minuteOf(r.startedAt)}`} (${r.workflowId})`;
  return {
    id: `${run.runId}/daily-summary`,
    event: 'daily-summary',
    subject: `drive-vault daily summary ${day} (${run.account}): ${problems.length ? problems.join(', ') : 'all well'}`,
    body: [
      `Files: ${count(f.backedUp, 'file')} backed up (${byteSize(f.bytes)}), ${f.pending} pending, ${f.failed} failed, ` +
        `${f.deferred} deferred, ${f.skipped} skipped.`,
      `Last 24 hours: ${count(s.lastDay.runs, 'run')} (${s.lastDay.completed} completed, ${s.lastDay.failed} failed, ` +
        `${s.lastDay.running} running); ${count(s.lastDay.filesSynced, 'file')} and ${byteSize(s.lastDay.bytes)} transferred.`,
      'Destinations:',
      ...s.destinations.map(
        (d) =>
          `• ${d.name}: ${d.state}${d.since ? ` since ${minuteOf(d.since)}` : ''}${d.reason ? ` (${quoted(d.reason)})` : ''}, ` +
          `${count(d.objects, 'object')}, ${byteSize(d.bytes)}`,
      ),
      ...(s.failures.files ? [`Failed files (${s.failures.files}), latest first:`, ...s.failures.latest.map(failureLine)] : []),
      'Last runs:',
      ...(s.lastRuns.length ? s.lastRuns.map(runLine) : ['• none yet']),
    ],
    link: link(run),
  };
}
