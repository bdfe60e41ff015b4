/** What the CLI's exit status tells a cron job or a monitoring check. */
export const EXIT = {
  done: 0,
  /** The run failed, the command was refused, the config did not load. */
  error: 1,
  /** The command line is wrong: nothing was started. */
  usage: 2,
  /** A run waited for with --wait finished, but with problems its summary names. */
  problems: 3,
  /** Temporal does not answer at temporal.address: nothing was started. */
  temporalUnreachable: 4,
} as const;

export const EXIT_CODES_HELP = `Exit codes (for cron jobs and monitoring checks):
  0  done: the run started, or with --wait finished clean; the command did what it says
  1  an error: a run that failed, a refused command, a config that does not load
  2  a bad command line: an unknown command or option, a missing or bad value; nothing was started
  3  finished with problems (--wait): a full sync or sweep with failed files, objects found wrong or a degraded
     destination; verify --deep found objects missing, wrong or unreadable; a dump or rollup that some
     destination does not hold verified; a restore some of whose files did not come back; status found something
     that needs you (Temporal unreachable, open failures, a degraded destination, a Google token that does not
     work); failures listed some
  4  Temporal does not answer at temporal.address (start it, or run drive-vault start); nothing was started`;
