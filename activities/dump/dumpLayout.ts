import { dirname, join } from 'node:path';
import type { Config } from '../../common/config';

/**
 * Where dumps and rollups live (DESIGN.md section 7): below the account's state folder on every destination,
 * `<stateRoot>daily/<YYYY-MM-DD>/` and `<stateRoot>weekly/`, and the same day folders in the local dump directory until
 * every destination holds them verified. The state folder is `state/` for a config of one `account` (the keys dumps
 * always had) and `state/<account>/` for each account of an `accounts` list, so accounts that share a bucket and prefix
 * never list, delete or restore each other's dumps.
 */
export interface StateLayout {
  /** `state/daily/`, or `state/<account>/daily/`. */
  daily: string;
  /** `state/weekly/`, or `state/<account>/weekly/`. */
  weekly: string;
  /** `<daily><day>/<file>`, such as `state/daily/2026-11-25/catalog.sqlite.gz`. */
  dailyKey(day: string, file: string): string;
  /** `<daily><day>/`: one day's folder. */
  dayFolder(day: string): string;
  /** `<weekly><name>`. */
  weeklyKey(name: string): string;
}

/** The state folder of a config without `stateRoot`: a config of one `account`. */
const DEFAULT_STATE_ROOT = 'state/';

/** The layout of the account's dumps and rollups, from its `stateRoot` (`state/` when unset). */
export function stateLayout(config: Pick<Config, 'stateRoot'>): StateLayout {
  const root = config.stateRoot ?? DEFAULT_STATE_ROOT;
  const daily = `${root}daily/`;
  const weekly = `${root}weekly/`;
  return {
    daily,
    weekly,
    dailyKey: (day, file) => `${daily}${day}/${file}`,
    dayFolder: (day) => `${daily}${day}/`,
    weeklyKey: (name) => `${weekly}${name}`,
  };
}

/** The files of one daily dump: the compressed catalog and the manifest, each with a `sha256sum` line beside it. */
export const DUMP_FILES = {
  catalog: 'catalog.sqlite.gz',
  catalogSha256: 'catalog.sqlite.gz.sha256',
  manifest: 'manifest.jsonl.gz',
  manifestSha256: 'manifest.jsonl.gz.sha256',
} as const;

/** Upload order: the checksums last, so a destination that holds a `.sha256` holds what it describes. */
export const DUMP_FILE_NAMES = [DUMP_FILES.catalog, DUMP_FILES.manifest, DUMP_FILES.catalogSha256, DUMP_FILES.manifestSha256];

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const WEEKLY = /^weekly_(\d{8})_(\d{8})\.tar\.gz$/;

export const isDumpDay = (name: string): boolean => DAY.test(name) && !Number.isNaN(Date.parse(`${name}T00:00:00Z`));

/** `weekly_20261119_20261125.tar.gz` for the seven days from 2026-11-19 to 2026-11-25. */
export const weeklyName = (firstDay: string, lastDay: string): string =>
  `weekly_${firstDay.replaceAll('-', '')}_${lastDay.replaceAll('-', '')}.tar.gz`;

export const isWeeklyName = (name: string): boolean => WEEKLY.test(name);

/** The local dump directory: the configured one, or `dumps/` beside the catalog file. */
export function localDumpDir(config: Pick<Config, 'dumps' | 'catalog'>): string {
  return config.dumps.localDir ?? join(dirname(config.catalog.path), 'dumps');
}

/** The UTC day of an instant, `YYYY-MM-DD`. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The UTC day `days` before `day`. */
export function dayBefore(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000));
}

/** `<hex>  <name>\n`, what `sha256sum` writes and `sha256sum -c` reads. */
export const sha256Line = (sha256: string, name: string): string => `${sha256}  ${name}\n`;

/** The hash a `sha256sum` line gives for `name`; undefined when the text is not such a line. */
export function sha256FromLine(text: string, name: string): string | undefined {
  const match = /^([0-9a-f]{64}) [ *](.+)\n?$/.exec(text);
  return match && match[2] === name ? match[1] : undefined;
}
