import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatFullSyncSummary } from '../api/fullSyncRuns';
import { type FullSyncSummary, emptyFullSyncTotals } from '../common/types';

const summary = (over: Partial<FullSyncSummary>): FullSyncSummary => ({
  ...emptyFullSyncTotals(),
  runId: 'r',
  seconds: 2,
  bytesPerSecond: 1024 ** 2,
  pending: 0,
  skipped: 0,
  degraded: [],
  ...over,
});
const line = (text: string, label: string) => text.split('\n').find((l) => l.trimStart().startsWith(label));

test('the summary names a degraded destination and what could not be verified on it', () => {
  const text = formatFullSyncSummary(
    summary({ degraded: ['aws'], unverified: { aws: 300 }, verified: { nas: 155, aws: 0 } }),
    'http://ui/r',
  );
  assert.equal(line(text, 'degraded'), '  degraded  aws (unreachable at verification: aws 300)');
  assert.equal(line(text, 'verified'), '  verified  nas 155, aws 0');
  assert.equal(line(text, 'Web UI'), '  Web UI    http://ui/r');
});

test('a healthy run says none', () => {
  const text = formatFullSyncSummary(summary({ verified: { nas: 3 } }), 'http://ui/r');
  assert.equal(line(text, 'degraded'), '  degraded  none');
  assert.equal(line(text, 'mismatch'), '  mismatch  none');
});

test('the summary says how objects were verified: written this run, or audited, and the audit bound', () => {
  const text = formatFullSyncSummary(
    summary({
      verified: { nas: 12 },
      verifiedWritten: { nas: 10 },
      audited: { nas: 2 },
      audit: { percent: 2, objects: 2, of: 100, withinRuns: 50, checked: 2 },
    }),
    'http://ui/r',
  );
  assert.equal(
    line(text, 'how'),
    '  how       HEAD after upload of what this run wrote: nas 10; HEAD audit of earlier objects: nas 2 ' +
      '(2 of 2 planned: 2% of 100 objects, checked longest ago first, so every object within 50 runs)',
  );
});
