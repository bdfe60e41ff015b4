import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** drive-vault's version, from its package.json: beside the sources, or one folder up from the built ones (dist/). */
function packageVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'drive-vault' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

export const DRIVE_VAULT_VERSION = packageVersion();
