import { type ActivityOptions, proxyActivities } from '@temporalio/workflow';
import type { CatalogActivities, TransferActivities } from '../activities';
import { TASK_QUEUES } from '../common/taskQueues';

/**
 * Catalog work must not hang if the catalog host is gone. Claims and records take milliseconds: a short
 * timeout means a task lost with a killed worker is retried within seconds, not after minutes. A page of
 * HEADs to verify takes longer.
 */
export const catalogActivities = (taskQueue: string, startToCloseTimeout: ActivityOptions['startToCloseTimeout']) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout,
    scheduleToCloseTimeout: '1 hour',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
  });

/**
 * A batch streams many bytes: a dead worker is noticed by its missing heartbeat, not by a long timeout,
 * and the retry goes on from the heartbeat's checkpoints.
 */
export const transferActivities = (heartbeatTimeout: ActivityOptions['heartbeatTimeout'], maximumAttempts: number) =>
  proxyActivities<TransferActivities>({
    taskQueue: TASK_QUEUES.transfer,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '5 minutes', maximumAttempts },
  });
