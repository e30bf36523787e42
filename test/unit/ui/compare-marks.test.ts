import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowMarks } from '../../../src/ui/web/pages/compare-marks';

const fourDigits = (value: unknown): string => (typeof value === 'number' ? value.toPrecision(4) : String(value));

test('a row is marked ≠ when two runs that have it read differently, ◐ when a run lacks it', () => {
  assert.deepEqual(rowMarks([0.85, 0.85]), { differs: false, onlySome: false });
  assert.deepEqual(rowMarks([0.85, 0.8]), { differs: true, onlySome: false });
  assert.deepEqual(rowMarks([0.85, undefined]), { differs: false, onlySome: true }, 'lacking is not differing');
  assert.deepEqual(rowMarks([0.85, undefined, 0.8]), { differs: true, onlySome: true });
  assert.deepEqual(rowMarks([undefined, undefined, 3]), { differs: false, onlySome: true });
});

test('values are compared as the table shows them', () => {
  assert.deepEqual(rowMarks([0.85, 0.850001], fourDigits), { differs: false, onlySome: false });
  assert.deepEqual(rowMarks([0.85, 0.850001]), { differs: true, onlySome: false });
});

test("the runs' own rows (status, pipeline) and a single run", () => {
  assert.deepEqual(rowMarks(['succeeded', 'failed']), { differs: true, onlySome: false });
  assert.deepEqual(rowMarks(['quickstart', 'quickstart']), { differs: false, onlySome: false });
  assert.deepEqual(rowMarks(['succeeded']), { differs: false, onlySome: false }, 'one run: nothing to compare');
  assert.deepEqual(rowMarks([undefined]), { differs: false, onlySome: false });
});
