import { Client, Connection } from '@temporalio/client';
import { Catalog } from '../../activities/catalog/catalog';
import { mib } from '../../api/fullSyncRuns';
import { formatScheduleRows, scheduleWebUiLink } from '../../api/schedules';
import { type StatusReport, readStatus } from '../../api/statusReport';
import { loadAccounts } from '../../common/accounts';
import type { Config } from '../../common/config';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { EXIT } from '../exitCodes';
import { type CommandGroup, onCommand } from '../program';

export interface StatusCommand extends AccountChoice {
  kind: 'status';
  json: boolean;
}

/** The status as an operator reads it at a terminal: what needs them first. */
export function formatStatus(report: StatusReport, config: Config): string {
  const files = report.catalog.files;
  const lines = [
    `account ${report.account}: ${files.total} files in the catalog (${Object.entries(files)
      .filter(([state, n]) => state !== 'total' && n > 0)
      .map(([state, n]) => `${n} ${state}`)
      .join(', ')}), ${report.catalog.openFailures} open failures`,
    `temporal: ${report.temporal.reachable ? 'reachable' : 'UNREACHABLE'}${report.temporal.error ? ` (${report.temporal.error})` : ''}`,
    ...report.destinations.map(
      (d) =>
        `destination ${d.name} (${d.kind}): ${d.health}, ${d.objects} objects, ${mib(d.bytes)}${d.reasons.length ? `: ${d.reasons.join('; ')}` : ''}`,
    ),
    ...report.accounts.map(
      (a) =>
        `google ${a.name} (${a.kind}): ${a.connected ? 'connected' : 'NOT CONNECTED'}, token ${a.tokenWorks ? 'works' : 'does NOT work'}${a.error ? `: ${a.error}` : ''}`,
    ),
    ...report.running.map((r) => `running ${r.kind ?? r.workflowType} ${r.workflowId} since ${r.startedAt}: ${r.webUi}`),
    ...Object.entries(report.lastRuns).map(([kind, { lastFinished }]) =>
      lastFinished
        ? `last ${kind}: ${lastFinished.status} at ${lastFinished.endedAt} (${lastFinished.workflowId})`
        : `last ${kind}: none yet`,
    ),
  ];
  if (report.schedules.length) lines.push(formatScheduleRows(report.schedules, scheduleWebUiLink(config)));
  return lines.join('\n');
}

/** Something an operator must act on: the status exits with 3 then, for a monitoring check. */
export function statusNeedsAttention(report: StatusReport): boolean {
  return (
    !report.temporal.reachable ||
    report.catalog.openFailures > 0 ||
    report.destinations.some((d) => d.health !== 'ok') ||
    report.accounts.some((a) => !a.tokenWorks)
  );
}

/** One account's status, read now, on the shared connection. */
async function accountStatus(config: Config, connection: Connection): Promise<StatusReport> {
  const catalog = Catalog.open(config.catalog.path);
  try {
    return await readStatus({ config, client: new Client({ connection, namespace: config.temporal.namespace }), catalog });
  } finally {
    catalog.close();
  }
}

/** The status of the account named, or of each account the config lists, one after another. */
async function runStatus(command: StatusCommand): Promise<number> {
  const configs = command.account === undefined ? loadAccounts(command.config) : [loadChosenAccount(command)];
  // Lazy: a Temporal that does not answer is reported in the status (exit 3), while the catalog's part still shows.
  // One connection for every account: they share temporal.address, each in its own namespace.
  const connection = Connection.lazy({ address: configs[0]!.temporal.address });
  try {
    const reports = await Promise.all(configs.map((config) => accountStatus(config, connection)));
    if (command.json) {
      const byAccount = Object.fromEntries(reports.map((r) => [r.account, r]));
      console.log(JSON.stringify(reports.length === 1 ? reports[0] : byAccount, null, 2));
    } else console.log(reports.map((r, i) => formatStatus(r, configs[i]!)).join('\n\n'));
    return reports.some(statusNeedsAttention) ? EXIT.problems : EXIT.done;
  } finally {
    await connection.close();
  }
}

/** `status`: what the API's GET /api/status answers, read now. */
export const statusCommand: CommandGroup = (program) => {
  const cmd = program
    .command('status')
    .helpGroup('Operations:')
    .summary('schedules, running workflows, last runs, catalog counts, destination health, Google accounts')
    .description(
      'print the status (the same as GET /api/status): exit 3 when something needs you (Temporal unreachable, open ' +
        'failures, a degraded destination, a Google token that does not work); of a config listing several accounts, ' +
        "without --account, each account's status one after another (exit 3 when one needs you)",
    )
    .option('--json', 'print the status as JSON; of several accounts, an object keyed by account');
  onCommand<{ json?: boolean }, StatusCommand>(cmd, (o) => ({ kind: 'status', ...accountChoice(o), json: o.json ?? false }), runStatus);
};
