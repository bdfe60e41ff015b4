/**
 * The times of a schedule as the config writes them: a cron string, an interval (`5m`) and an IANA time zone.
 * Each check returns what is wrong in words, so a bad config names the problem before Temporal would refuse it.
 */

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names accepted for the values from `min` on (JAN for 1, SUN for 0). */
  names?: readonly string[];
}

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // 0 and 7 are both Sunday, as in most crons and in Temporal's.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/** The shorthands Temporal's cron strings accept in place of the five fields. */
const CRON_SHORTHANDS = ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'];

function cronValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return index >= 0 ? field.min + index : undefined;
}

function cronItemProblem(item: string, field: CronField): string | undefined {
  const match = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(item);
  if (!match) return `"${item}" is not a value, a range (a-b), * or a step (*/n, a-b/n)`;
  const [, range, step] = match;
  if (step !== undefined && Number(step) < 1) return `the step in "${item}" must be at least 1`;
  if (range === '*') return undefined;
  const bounds = range.split('-').map((v) => cronValue(v, field));
  const allowed = `${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names.at(-1)}` : ''}`;
  if (bounds.some((v) => v === undefined || v < field.min || v > field.max)) return `"${range}" is outside ${allowed}`;
  if (bounds.length === 2 && bounds[0]! > bounds[1]!) return `the range "${range}" ends before it starts`;
  return undefined;
}

/** Why `text` is not a five-field cron string (minute hour day-of-month month day-of-week) or a shorthand; undefined if it is one. */
export function cronProblem(text: string): string | undefined {
  const cron = text.trim();
  if (/^(CRON_)?TZ=/i.test(cron)) return 'give the time zone in "timezone", not in the cron string';
  if (/^@every\b/i.test(cron)) return 'an interval goes in "every" (every: 5m), not in the cron string';
  if (cron.startsWith('@'))
    return CRON_SHORTHANDS.includes(cron) ? undefined : `unknown shorthand "${cron}": use ${CRON_SHORTHANDS.join(', ')}`;
  const fields = cron.split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) {
    return `"${cron}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a cron string has five: minute hour day-of-month month day-of-week`;
  }
  for (const [i, field] of CRON_FIELDS.entries()) {
    for (const item of fields[i]!.split(',')) {
      const problem = cronItemProblem(item, field);
      if (problem) return `${field.name} field of "${cron}": ${problem}`;
    }
  }
  return undefined;
}

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** `5m`, `1h`, `30s`, `1d`, `1h30m` in milliseconds; undefined if `text` is not such an interval of at least a second. */
export function intervalMs(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, d, h, m, s] = match.map(Number);
  const ms = (d || 0) * UNIT_MS.d + (h || 0) * UNIT_MS.h + (m || 0) * UNIT_MS.m + (s || 0) * UNIT_MS.s;
  return ms >= 1000 ? ms : undefined;
}

/** Why `name` is not an IANA time zone name as Temporal's server reads it (case-sensitive, no offsets); undefined if it is one. */
export function timeZoneProblem(name: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return `"${name}" is not an IANA time zone name such as UTC or Europe/Paris`;
  }
  if (!/^[A-Za-z]/.test(name)) return `"${name}" is an offset; give an IANA time zone name such as UTC or Europe/Paris`;
  // Intl reads names in any case, the server's tz database does not.
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) return `time zone names are case-sensitive: "${resolved}"`;
  return undefined;
}
