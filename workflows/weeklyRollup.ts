import type { NotImplementedResult } from './nightlyDump';

export interface WeeklyRollupInput {
  /** The catalog host's task queue (`catalogTaskQueue(hostId)`), where its dumps are. */
  catalogTaskQueue: string;
}

/** The weekly rollup of the daily dumps of DESIGN.md section 4; its schedule exists now, its work comes with issue 12. */
export async function weeklyRollup(input: WeeklyRollupInput): Promise<NotImplementedResult> {
  return { status: 'not-implemented', message: `the weekly rollup of the dumps on ${input.catalogTaskQueue} is not implemented yet` };
}
