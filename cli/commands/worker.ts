import { Option } from 'commander';
import { loadAccounts } from '../../common/accounts';
import { WORKER_ROLES, type WorkerRole } from '../../worker/wiring';
import { EXIT } from '../exitCodes';
import { everyAccount } from '../account';
import { type CommandGroup, onCommand } from '../program';
import { connectClient } from '../temporal';

export interface WorkerCommand {
  kind: 'worker';
  config: string;
  role: WorkerRole;
}

async function runWorker(command: WorkerCommand): Promise<number> {
  const accounts = loadAccounts(command.config);
  // Temporal asked first, so a server that does not answer is exit 4 with its address, not the native client's error.
  await (await connectClient(accounts[0]!)).connection.close();
  // Loaded here, not at the top: the worker's wiring (googleapis, the SDK's native worker) is heavy for the other commands.
  const { startWorker, stopOnSignals } = await import('../../worker/startWorker');
  const worker = await startWorker(accounts, command.role);
  stopOnSignals(worker.stop);
  await worker.running;
  return EXIT.done;
}

/** `worker`: what `npm run worker` runs, until SIGINT or SIGTERM. */
export const workerCommand: CommandGroup = (program) => {
  const cmd = program
    .command('worker')
    .helpGroup('Run:')
    .summary('run a worker (npm run worker)')
    .description('run a worker for every account of the config, against the Temporal server it names, until SIGINT or SIGTERM')
    .addOption(
      new Option(
        '--role <role>',
        'catalog: the workflows and the catalog activities of the host that owns the catalog file (it brings the schedules in line with the config as it starts); transfer: only streams files, any number on any hosts; all: both',
      )
        .choices(WORKER_ROLES)
        .default('all'),
    );
  onCommand<{ role: WorkerRole }, WorkerCommand>(
    cmd,
    (o) => ({ kind: 'worker', config: everyAccount(o, 'worker'), role: o.role }),
    runWorker,
  );
};
