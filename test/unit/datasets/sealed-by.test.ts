import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstSealTime, resealedWords, sealedByWords, wasResealed } from '../../../src/core/datasets/sealed-by';

const at = '2026-12-05T00:00:00.000Z';
const later = '2026-12-05T00:00:05.000Z';

test('when and who sealed a version: the first seal, re-sealed <when> by <who>, and never a guessed first', () => {
  const once = { createdAt: at, createdBy: 'data push', firstSealedAt: at, firstSealedBy: 'data push' };
  assert.equal(sealedByWords(once), 'data push');
  assert.equal(wasResealed(once), false);
  const byWatcher = { ...once, createdAt: later, createdBy: 'watcher' };
  assert.equal(sealedByWords(byWatcher), `data push (re-sealed ${later} by watcher)`);
  assert.equal(
    sealedByWords(byWatcher, (iso) => iso.slice(11, 19)),
    'data push (re-sealed 00:00:05 by watcher)',
  );
  assert.equal(firstSealTime(byWatcher), at, 'the first seal, not the last');
  assert.equal(wasResealed(byWatcher), true);
  const pushedAgain = { ...once, createdAt: later };
  assert.equal(sealedByWords(pushedAgain), `data push (re-sealed ${later} by data push)`, 'when, even by the same');
  assert.equal(resealedWords(once), undefined);
  assert.equal(wasResealed(pushedAgain), true);
  assert.equal(sealedByWords({ createdAt: later, createdBy: 'watcher' }), 'watcher (last to seal it)');
  assert.equal(firstSealTime({ createdAt: later, createdBy: 'watcher' }), later, 'the only seal known');
});
