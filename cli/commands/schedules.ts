import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import { Argument } from 'commander';
import {
  SCHEDULE_NAMES,
  type ScheduledJob,
  formatScheduleRows,
  pauseSchedule,
  resumeSchedule,
  scheduleRows,
  scheduleWebUiLink,
  scheduledJob,
  triggerSchedule,
} from '../../api/schedules';
import type { Config } from '../../common/config';
import { type AccountChoice, accountChoice, loadChosenAccount } from '../account';
import { EXIT } from '../exitCodes';
import { type CommandGroup, onCommand } from '../program';
import { withTemporal } from '../temporal';
import { UsageError } from '../usageError';

/** What `drive-vault schedules` does: list all four, or act on one. */
export type ScheduleAction =
  | { verb: 'list' }
  | { verb: 'pause'; job: ScheduledJob; note?: string }
  | { verb: 'resume' | 'trigger'; job: ScheduledJob };

export interface SchedulesCommand extends AccountChoice {
  kind: 'schedules';
  json: boolean;
  action: ScheduleAction;
}

interface ScheduleFlags {
  json?: boolean;
  note?: string;
}

const DONE = { pause: 'paused', resume: 'resumed', trigger: 'triggered' } as const;

/** Pauses, resumes or triggers one schedule; prints what it did, or why not. */
async function actOnSchedule(
  client: Client,
  config: Config,
  action: Exclude<ScheduleAction, { verb: 'list' }>,
  json: boolean,
): Promise<number> {
  const { job } = action;
  const link = scheduleWebUiLink(config, job.scheduleId);
  try {
    if (action.verb === 'pause') await pauseSchedule(client, job, action.note ?? 'paused with drive-vault schedules pause');
    else if (action.verb === 'resume') await resumeSchedule(client, job, 'resumed with drive-vault schedules resume');
    else await triggerSchedule(client, job);
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    console.error(`drive-vault: schedule ${job.scheduleId} does not exist yet: the catalog host's worker creates it when it starts`);
    return EXIT.error;
  }
  const done = DONE[action.verb];
  const what = {
    pause: 'it stays paused across worker restarts until resumed',
    resume: undefined,
    trigger: 'a run starts now unless one is still running',
  }[action.verb];
  if (json) console.log(JSON.stringify({ schedule: job.name, scheduleId: job.scheduleId, action: done, webUi: link }));
  else console.log(`${done} ${job.name} (${job.scheduleId})${what ? `: ${what}` : ''}; ${link}`);
  return EXIT.done;
}

/** Lists the schedules, or pauses, resumes or triggers one; returns the exit code. */
async function runSchedules(command: SchedulesCommand): Promise<number> {
  const config = loadChosenAccount(command);
  return withTemporal(config, async (client) => {
    const { action } = command;
    if (action.verb !== 'list') return actOnSchedule(client, config, action, command.json);
    const rows = await scheduleRows(client);
    console.log(command.json ? JSON.stringify(rows) : formatScheduleRows(rows, scheduleWebUiLink(config)));
    return EXIT.done;
  });
}

/** `schedules [list]`, `schedules pause NAME [--note TEXT]`, `schedules resume|trigger NAME`. */
export const schedulesCommands: CommandGroup = (program) => {
  const schedules = program
    .command('schedules')
    .helpGroup('Operations:')
    .summary('[list] | pause | resume | trigger NAME: the four schedules')
    .description(
      'list the four schedules: paused or not (and why), times, next run, last run and its status; pause one (with a note ' +
        'saying why), resume it, or trigger it (run now, skipped if one is running)',
    );
  const list = schedules
    .command('list', { isDefault: true })
    .description('list the four schedules (the default)')
    .option('--json', 'print the schedules as JSON')
    // Anything after `schedules` that is not one of its commands comes here: it says what is wrong.
    .allowExcessArguments();
  onCommand<ScheduleFlags, SchedulesCommand>(
    list,
    (o, cmd) => {
      if (cmd.args.length) {
        throw new UsageError(
          cmd.parent?.args[0] === 'list'
            ? 'schedules list takes no NAME; it lists all four'
            : `unknown schedules command "${cmd.args[0]}": use list, pause, resume or trigger`,
        );
      }
      return { kind: 'schedules', ...accountChoice(o), json: o.json === true, action: { verb: 'list' } };
    },
    runSchedules,
  );
  const verbs = [
    ['pause', 'pause the schedule; it stays paused across worker restarts until resumed'],
    ['resume', 'resume the schedule'],
    ['trigger', 'run it now, unless a run of it is still running'],
  ] as const;
  for (const [verb, description] of verbs) {
    const cmd = schedules
      .command(verb)
      .description(description)
      .addArgument(new Argument('<NAME>', 'the schedule').choices(SCHEDULE_NAMES))
      .option('--json', `print what was ${DONE[verb]}, with its Web UI link, as JSON`);
    if (verb === 'pause') cmd.option('--note <text>', 'why the schedule is paused, shown in the Web UI and by schedules list');
    onCommand<ScheduleFlags, SchedulesCommand>(
      cmd,
      (o, self) => {
        const job = scheduledJob(self.processedArgs[0] as string)!;
        const common = { kind: 'schedules' as const, ...accountChoice(o), json: o.json === true };
        if (verb !== 'pause') return { ...common, action: { verb, job } };
        if (o.note !== undefined && o.note.trim() === '') throw new UsageError('--note needs a text');
        return { ...common, action: { verb, job, note: o.note } };
      },
      runSchedules,
    );
  }
};
