/** The three task queues of DESIGN.md section 6. */
export const TASK_QUEUES = {
  workflows: 'drive-vault-workflows',
  transfer: 'drive-vault-transfer',
  /**
   * The catalog queue of runs started before `catalog.hostId` existed, which name no queue in their input: every
   * catalog worker serves it until no such run is left. New runs use their catalog host's own queue.
   */
  catalog: 'drive-vault-catalog',
} as const;

/**
 * The catalog activities' queue of one catalog host (the worker-specific task queue pattern): only the worker that
 * owns the SQLite file polls it, so two catalog workers of different hosts never split one catalog.
 */
export function catalogTaskQueue(hostId: string): string {
  return `${TASK_QUEUES.catalog}-${hostId}`;
}
