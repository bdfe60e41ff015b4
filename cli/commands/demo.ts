import { EXIT } from '../exitCodes';
import { everyAccount } from '../account';
import { type CommandGroup, onCommand } from '../program';

export interface DemoCommand {
  kind: 'demo';
  keepRunning: boolean;
}

async function runDemoCommand(command: DemoCommand): Promise<number> {
  // Loaded here: the demo brings the Drive emulator and a worker, which no other command needs.
  const { runDemo } = await import('../../scripts/demo');
  await runDemo({ keepRunning: command.keepRunning });
  return EXIT.done;
}

/** `demo`: what `npm run demo` runs. */
export const demoCommand: CommandGroup = (program) => {
  const cmd = program
    .command('demo')
    .helpGroup('Run:')
    .summary('the main job on embedded defaults: a sample Drive backed up, changed, swept and dumped')
    .description(
      'the main job on embedded defaults, without a config or a Google account: a Temporal dev server (data/temporal.db, ' +
        'Web UI on :8233), a worker, the Drive emulator with a sample Drive, a local and a MinIO destination; runs a full ' +
        'sync, a sweep after a few changes, and a dump',
    )
    .option('--keep-running', 'then create the four schedules and leave everything up until Ctrl-C');
  onCommand<{ keepRunning?: boolean }, DemoCommand>(
    cmd,
    (o) => {
      everyAccount(o, 'demo');
      return { kind: 'demo', keepRunning: o.keepRunning === true };
    },
    runDemoCommand,
  );
};
