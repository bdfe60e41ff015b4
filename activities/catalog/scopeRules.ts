/**
 * The user's scope rules applied to a file before it is transferred: exclude patterns on its Drive path
 * and a maximum size. A file they keep out is recorded as skipped with the rule that did it.
 */
export interface ScopeRules {
  /**
   * Globs on the Drive path ("My Drive/Photos/raw/IMG_1.CR2", "<shared drive>/..."): `*` and `?` stay
   * within a segment, `**` spans segments. A pattern without `/` matches a name at any depth. A pattern
   * that matches a folder excludes everything below it.
   */
  exclude: string[];
  maxFileSizeBytes?: number;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // Matching a prefix that ends at a segment boundary is what makes a folder pattern cover its contents.
  return glob.includes('/') ? new RegExp(`^${source}(?:/|$)`) : new RegExp(`(?:^|/)${source}(?:/|$)`);
}

export function compileScopeRules(rules: ScopeRules): (file: { drivePath: string; size: number | null }) => string | undefined {
  const patterns = rules.exclude.map((glob) => ({ glob, re: globToRegExp(glob) }));
  return ({ drivePath, size }) => {
    const hit = patterns.find((p) => p.re.test(drivePath));
    if (hit) return `excluded by pattern ${JSON.stringify(hit.glob)}`;
    if (rules.maxFileSizeBytes !== undefined && size !== null && size > rules.maxFileSizeBytes) {
      return `${size} bytes exceeds scope.maxFileSizeBytes (${rules.maxFileSizeBytes})`;
    }
    return undefined;
  };
}
