import { readFileSync } from 'node:fs';

/**
 * /proc readers for the bench: CPU seconds, resident memory (current and peak) and idle time. Linux only,
 * like the bench's reference numbers.
 */

/** The server process a tied wrapper (launchers/tiedProcess.ts) runs: its one child that is not the watcher shell. */
export function tiedChildPid(wrapperPid: number): number {
  const children = readFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`, 'utf8').trim().split(/\s+/);
  const pid = children.find((p) => !/^Name:\s+(bash|sleep)$/m.test(readFileSync(`/proc/${p}/status`, 'utf8')));
  if (!pid) throw new Error(`no server process under wrapper ${wrapperPid}`);
  return Number(pid);
}

function statusKib(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** Peak resident set over the process's lifetime (VmHWM), in bytes. */
export const peakRssBytes = (pid: number) => statusKib(pid, 'VmHWM') * 1024;

/** Resident set now (VmRSS), in bytes. */
export const rssBytes = (pid: number) => statusKib(pid, 'VmRSS') * 1024;

export const mib = (bytes: number) => bytes / 1024 / 1024;

/** CPU seconds (user + system) a process has used; with `waited`, those of the children it has reaped. */
export function cpuSeconds(pid: number | 'self', waited = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  // Fields 14-17 of stat(5), counted from the state field (3): utime, stime, cutime, cstime, in clock ticks.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return (waited ? cutime + cstime : utime + stime) / 100;
}

/** CPU seconds the machine's cores have spent idle since boot (summed over cores). */
export function idleSeconds(): number {
  const [, , , , idle, iowait] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).map(Number);
  return (idle + iowait) / 100;
}

/**
 * The largest summed resident set of a group of processes, sampled every `intervalMs`. VmHWM is a peak per
 * process, reached at different moments: only sampling gives the peak of the sum.
 */
export function sampleSummedRss(pids: number[], intervalMs = 500): { stop(): number } {
  let peak = 0;
  const sample = () => {
    peak = Math.max(
      peak,
      pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
    );
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
