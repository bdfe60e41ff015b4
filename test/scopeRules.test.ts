import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileScopeRules } from '../activities/catalog/scopeRules';

const verdict = (exclude: string[], drivePath: string, size: number | null = 1, maxFileSizeBytes?: number) =>
  compileScopeRules({ exclude, maxFileSizeBytes })({ drivePath, size });

test('exclude patterns: names at any depth, anchored paths, folders cover their contents, * stays in a segment', () => {
  assert.equal(verdict(['*.tmp'], 'My Drive/a/b/x.tmp'), 'excluded by pattern "*.tmp"');
  assert.equal(
    verdict(['*.tmp'], 'My Drive/a.tmp/keep.txt'),
    'excluded by pattern "*.tmp"',
    'a folder named like the pattern excludes its contents',
  );
  assert.equal(verdict(['*.tmp'], 'My Drive/a/x.tmpl'), undefined);
  assert.equal(verdict(['My Drive/Photos'], 'My Drive/Photos/2024/img.jpg'), 'excluded by pattern "My Drive/Photos"');
  assert.equal(verdict(['My Drive/Photos'], 'My Drive/Photos old/img.jpg'), undefined, 'a prefix must end at a segment boundary');
  assert.equal(verdict(['My Drive/Photos'], 'Team/My Drive/Photos/img.jpg'), undefined, 'a pattern with / is anchored at the drive');
  assert.equal(verdict(['My Drive/*/raw'], 'My Drive/2024/raw/1.cr2'), 'excluded by pattern "My Drive/*/raw"');
  assert.equal(verdict(['My Drive/*/raw'], 'My Drive/2024/trip/raw/1.cr2'), undefined, '* does not cross a /');
  assert.equal(verdict(['My Drive/**/raw'], 'My Drive/2024/trip/raw/1.cr2'), 'excluded by pattern "My Drive/**/raw"');
  assert.equal(verdict(['file?.txt'], 'My Drive/file1.txt'), 'excluded by pattern "file?.txt"');
  assert.equal(verdict(['a+b (1).txt'], 'My Drive/a+b (1).txt'), 'excluded by pattern "a+b (1).txt"', 'regex characters are literal');
});

test('maximum size: only a larger known size is kept out', () => {
  assert.equal(verdict([], 'My Drive/big', 101, 100), '101 bytes exceeds scope.maxFileSizeBytes (100)');
  assert.equal(verdict([], 'My Drive/exact', 100, 100), undefined);
  assert.equal(verdict([], 'My Drive/doc', null, 100), undefined, 'a Workspace export has no size before it is made');
});
