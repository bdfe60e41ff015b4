import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { CatalogActivities, TransferActivities } from '../activities';
import { TASK_QUEUES } from '../common/taskQueues';

/**
 * Transfer batches one worker runs at once: one streaming, and one taking over its tail while the first one's last
 * files finish. More would only queue files behind the worker-wide limit of files in flight, while another worker
 * could have taken the batch.
 */
export const TRANSFER_BATCHES_PER_WORKER = 2;

export interface WorkerSetOptions {
  connection: NativeConnection;
  namespace: string;
  /** The catalog host's part (roles `all` and `catalog`): the workflows, and the catalog activities on its own queue. */
  catalog?: {
    activities: CatalogActivities;
    taskQueue: string;
    /** A prebuilt bundle (tests build one per file); otherwise workflows/ is bundled at start. */
    workflowBundle?: WorkflowBundleOption;
  };
  /** The transfer part (roles `all` and `transfer`), with the queue's server-side rate of batches per second. */
  transfer?: { activities: TransferActivities; maxTaskQueueActivitiesPerSecond?: number };
  /** How Temporal names this process's pollers (the Web UI, DescribeTaskQueue); the SDK's `pid@host` when unset. */
  identity?: string;
}

export interface WorkerSet {
  /** Resolves when every worker has stopped; rejects, once every worker has stopped, if one failed. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * One worker per task queue this process serves. The catalog part: the workflows, the catalog activities on the
 * host's own queue, and on the unqualified queue of runs started before host ids existed. The transfer part: the
 * transfer activities, any number of processes on any hosts.
 */
export async function startWorkers(options: WorkerSetOptions): Promise<WorkerSet> {
  // The SDK's default identity applies only when the key is absent: an explicit undefined is refused.
  const base = { connection: options.connection, namespace: options.namespace, ...(options.identity && { identity: options.identity }) };
  const workers: Worker[] = [];
  const { catalog, transfer } = options;
  if (catalog) {
    const workflowSource = catalog.workflowBundle
      ? { workflowBundle: catalog.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') };
    const { activities } = catalog;
    workers.push(
      await Worker.create({ ...base, taskQueue: TASK_QUEUES.workflows, ...workflowSource }),
      await Worker.create({ ...base, taskQueue: catalog.taskQueue, activities }),
      await Worker.create({ ...base, taskQueue: TASK_QUEUES.catalog, activities }),
    );
  }
  if (transfer) {
    workers.push(
      await Worker.create({
        ...base,
        taskQueue: TASK_QUEUES.transfer,
        activities: transfer.activities,
        maxConcurrentActivityTaskExecutions: TRANSFER_BATCHES_PER_WORKER,
        maxTaskQueueActivitiesPerSecond: transfer.maxTaskQueueActivitiesPerSecond,
      }),
    );
  }
  if (workers.length === 0) throw new Error('a worker needs catalog activities, transfer activities or both');
  const stopRunning = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  // One worker failing stops the others: the set ends once every worker has let go of the connection, with that failure.
  const running = Promise.allSettled(
    workers.map((w) =>
      w.run().catch((err: unknown) => {
        stopRunning();
        throw err;
      }),
    ),
  ).then((ends) => {
    const failed = ends.find((end) => end.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return {
    running,
    async shutdown() {
      stopRunning();
      await running;
    },
  };
}
