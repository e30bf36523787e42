/** The drain rule the workflow and a reader of its history share (src/core/run/history-limit.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyPastLimit } from '../../../src/core/run/history-limit';
import { DEFAULT_HISTORY_EVENT_LIMIT } from '../../../src/core/run/run-types';

test('past the limit counted from where the execution read its state back, or when Temporal suggests it', () => {
  const task = (historyLength: number, continueAsNewSuggested = false) => ({ historyLength, continueAsNewSuggested });
  assert.equal(historyPastLimit(task(99), 0, 100), false);
  assert.equal(historyPastLimit(task(100), 0, 100), true);
  // A continued execution: its first 12 events read the carried state back.
  assert.equal(historyPastLimit(task(111), 12, 100), false);
  assert.equal(historyPastLimit(task(112), 12, 100), true);
  assert.equal(historyPastLimit(task(5, true), 0, 100), true);
  assert.equal(historyPastLimit(task(DEFAULT_HISTORY_EVENT_LIMIT - 1), 0, undefined), false);
  assert.equal(historyPastLimit(task(DEFAULT_HISTORY_EVENT_LIMIT), 0, undefined), true);
});
