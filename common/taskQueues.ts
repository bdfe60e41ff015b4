/** The three task queues of DESIGN.md section 6. */
export const TASK_QUEUES = {
  workflows: 'drive-vault-workflows',
  transfer: 'drive-vault-transfer',
  catalog: 'drive-vault-catalog',
} as const;
