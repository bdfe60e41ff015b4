export interface NightlyDumpInput {
  /** The catalog host's task queue (`catalogTaskQueue(hostId)`): the dump runs beside the SQLite file it copies. */
  catalogTaskQueue: string;
}

/** What a scheduled job whose work is not written yet returns, so its schedule can run (and be paused) already. */
export interface NotImplementedResult {
  status: 'not-implemented';
  message: string;
}

/** The nightly catalog dump of DESIGN.md section 4; its schedule exists now, its work comes with issue 12. */
export async function nightlyDump(input: NightlyDumpInput): Promise<NotImplementedResult> {
  return { status: 'not-implemented', message: `the nightly dump of the catalog on ${input.catalogTaskQueue} is not implemented yet` };
}
