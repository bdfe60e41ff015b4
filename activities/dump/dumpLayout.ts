import { dirname, join } from 'node:path';
import type { Config } from '../../common/config';

/**
 * Where dumps and rollups live (DESIGN.md section 7): `state/daily/<YYYY-MM-DD>/` and `state/weekly/` on every
 * destination, and the same day folders in the local dump directory until every destination holds them verified.
 */
export const DAILY_PREFIX = 'state/daily/';
export const WEEKLY_PREFIX = 'state/weekly/';

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

/** `state/daily/2026-11-25/catalog.sqlite.gz`. */
export const dailyKey = (day: string, file: string): string => `${DAILY_PREFIX}${day}/${file}`;

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
