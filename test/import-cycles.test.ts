import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..');
const PRODUCT_DIRS = ['activities', 'api', 'cli', 'common', 'worker', 'workflows'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The product modules a file imports by relative path, type-only imports included. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)]
    .map(([, spec]) => resolve(dirname(file), spec))
    .map((base) => [`${base}.ts`, join(base, 'index.ts')].find(existsSync))
    .filter((path): path is string => path !== undefined);
}

test('product modules import one another without cycles', () => {
  const graph = new Map(PRODUCT_DIRS.flatMap((d) => sourceFiles(join(root, d))).map((f) => [f, importsOf(f)]));
  const cycles: string[] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    const at = path.indexOf(file);
    if (at >= 0) {
      cycles.push([...path.slice(at), file].map((f) => relative(root, f)).join(' -> '));
      return;
    }
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});
