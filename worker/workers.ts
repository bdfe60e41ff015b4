import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { CatalogActivities, TransferActivities } from '../activities';
import { TASK_QUEUES } from '../common/taskQueues';

export interface WorkerSetOptions {
  connection: NativeConnection;
  namespace: string;
  catalogActivities: CatalogActivities;
  transferActivities: TransferActivities;
  /** A prebuilt bundle (tests build one per file); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundleOption;
}

export interface WorkerSet {
  /** Resolves when every worker has stopped; rejects if one fails. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/** One worker per task queue: workflows, the catalog activities owned by this host, and transfers. */
export async function startWorkers(options: WorkerSetOptions): Promise<WorkerSet> {
  const { connection, namespace } = options;
  const workflowSource = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : { workflowsPath: require.resolve('../workflows') };
  const workers = [
    await Worker.create({ connection, namespace, taskQueue: TASK_QUEUES.workflows, ...workflowSource }),
    await Worker.create({ connection, namespace, taskQueue: TASK_QUEUES.catalog, activities: options.catalogActivities }),
    await Worker.create({ connection, namespace, taskQueue: TASK_QUEUES.transfer, activities: options.transferActivities }),
  ];
  const running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    running,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    },
  };
}
