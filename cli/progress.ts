/**
 * The progress `--wait` shows for every kind of run: one renderer, fed by a small view of each workflow's progress
 * query. Written here rather than with a progress-bar package: it is one line, redrawn in place on a terminal and
 * logged as plain lines elsewhere, and the runs report their own rate and ETA.
 */

/** One look at a run's progress: what is done (of a total, when the run knows it), bytes, rate and ETA. */
export interface Progress {
  /** The run's current step, as its workflow names it (`list`, `transfer`, `changes`...). */
  phase?: string;
  /** What `done` counts: `files`, `objects`. */
  unit: string;
  done: number;
  total?: number;
  bytesDone: number;
  bytesTotal?: number;
  /** As the run measures it; when undefined, measured here between looks. */
  bytesPerSecond?: number | null;
  /** As the run estimates it; when undefined, estimated here from the rate. */
  etaSeconds?: number | null;
  failed?: number;
  /** More facts worth a glance, such as `1200 listed`. */
  notes?: string[];
}

const MiB = 1024 * 1024;
const BAR_WIDTH = 24;

/** `1:05`, `1:02:03`. */
export function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

/** The share done, by bytes when the total is known, else by count; undefined when the run knows no total. */
function shareDone(p: Progress): number | undefined {
  if (p.bytesTotal !== undefined && p.bytesTotal > 0) return p.bytesDone / p.bytesTotal;
  if (p.total !== undefined) return p.total > 0 ? p.done / p.total : 1;
  return undefined;
}

/** One line: the step, a bar and percentage when the total is known, counts, MiB, rate, ETA, failures. */
export function formatProgress(p: Progress): string {
  const share = shareDone(p);
  const filled = share === undefined ? 0 : Math.round(Math.min(1, share) * BAR_WIDTH);
  const rate = p.bytesPerSecond ?? null;
  const eta = p.etaSeconds ?? null;
  return [
    ...(p.phase ? [p.phase] : []),
    ...(share === undefined
      ? []
      : [`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`]),
    p.total === undefined ? `${p.done} ${p.unit}` : `${p.done}/${p.total} ${p.unit}`,
    p.bytesTotal === undefined
      ? `${(p.bytesDone / MiB).toFixed(1)} MiB`
      : `${(p.bytesDone / MiB).toFixed(1)}/${(p.bytesTotal / MiB).toFixed(1)} MiB`,
    rate === null ? '-- MiB/s' : `${(rate / MiB).toFixed(1)} MiB/s`,
    ...(share === undefined ? [] : [`ETA ${eta === null ? '--' : clock(eta)}`]),
    ...(p.failed ? [`${p.failed} failed`] : []),
    ...(p.notes ?? []),
  ].join(' · ');
}

/** Fills in the rate and ETA a run does not report, from what changed since the first look. */
export class ProgressMeter {
  private first?: { at: number; bytes: number; done: number };

  /** Rates are not measured over less than this: the first seconds say little. */
  static readonly MIN_SPAN_MS = 2_000;

  measure(p: Progress, at: number): Progress {
    this.first ??= { at, bytes: p.bytesDone, done: p.done };
    const seconds = (at - this.first.at) / 1000;
    const measured = seconds * 1000 >= ProgressMeter.MIN_SPAN_MS;
    const bytesPerSecond = p.bytesPerSecond !== undefined ? p.bytesPerSecond : measured ? (p.bytesDone - this.first.bytes) / seconds : null;
    const countPerSecond = measured ? (p.done - this.first.done) / seconds : 0;
    let etaSeconds = p.etaSeconds;
    if (etaSeconds === undefined) {
      if (p.bytesTotal !== undefined && bytesPerSecond) etaSeconds = Math.max(0, p.bytesTotal - p.bytesDone) / bytesPerSecond;
      else if (p.total !== undefined && countPerSecond > 0) etaSeconds = Math.max(0, p.total - p.done) / countPerSecond;
      else etaSeconds = null;
    }
    return { ...p, bytesPerSecond, etaSeconds };
  }
}

export interface ShowProgressOptions {
  /** Asks the run where it is; undefined (or a failed query) while it cannot say. */
  query: () => Promise<Progress | undefined>;
  /** Shown, with the time waited, while the run reports no progress (or has no progress query). */
  waiting: string;
  /** Settles when the run does. */
  done: Promise<unknown>;
  /** With --json, a log (not a terminal) gets no progress lines: stdout and stderr may be one file. */
  json: boolean;
  stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** How often the run is asked. */
  pollMs?: number;
  /** A line goes to a log (not a terminal) at most this often, and only when it changed. */
  logLineMs?: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Shows the run's progress until it settles: a line redrawn in place when `stream` (stderr: stdout carries the result)
 * is a terminal, else plain lines every few seconds, which a cron job's log or a CI console keeps readably.
 */
export async function showProgress(options: ShowProgressOptions): Promise<void> {
  const { stream = process.stderr, pollMs = 1_000, logLineMs = 10_000 } = options;
  const tty = 'isTTY' in stream && stream.isTTY === true;
  if (!tty && options.json) return;
  const columns = ('columns' in stream && stream.columns) || 0;
  const startedAt = Date.now();
  const meter = new ProgressMeter();
  let finished = false;
  const settled = options.done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let lastLine = '';
  let lastLogged = 0;
  while (!finished) {
    const progress = await Promise.race([options.query().catch(() => undefined), settled.then(() => undefined)]);
    if (finished) break;
    const now = Date.now();
    const line = progress ? formatProgress(meter.measure(progress, now)) : `${options.waiting} · ${clock((now - startedAt) / 1000)}`;
    if (tty) stream.write(`\r${columns ? line.slice(0, columns - 1) : line}\x1b[K`);
    else if (line !== lastLine && now - lastLogged >= logLineMs) {
      stream.write(`${line}\n`);
      lastLogged = now;
    }
    lastLine = line;
    await Promise.race([settled, pause(pollMs)]);
  }
  if (tty) stream.write('\r\x1b[K');
}
