import { type ActivityOptions, proxyActivities } from '@temporalio/workflow';
import type { CatalogActivities, TransferActivities } from '../activities';
import { TASK_QUEUES } from '../common/taskQueues';

/**
 * Catalog work must not hang if the catalog host is gone. Claims and records take milliseconds: a short
 * timeout means a task lost with a killed worker is retried within seconds, not after minutes. A page of
 * HEADs to verify takes longer.
 */
export const catalogActivities = (
  taskQueue: string,
  startToCloseTimeout: ActivityOptions['startToCloseTimeout'],
  /** For tasks that heartbeat: one lost with a killed worker is retried once this passes. */
  heartbeatTimeout?: ActivityOptions['heartbeatTimeout'],
) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout,
    heartbeatTimeout,
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

/**
 * A page that streams up to a gigabyte, or one object of any size (deep verification, restore): a dead worker or a
 * hung disk is noticed by the missing heartbeat, not by the long timeout, and the page is done again.
 */
export const catalogPageActivities = (taskQueue: string) =>
  proxyActivities<CatalogActivities>({
    taskQueue,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: '1 minute',
    scheduleToCloseTimeout: '1 day',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
  });
