import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sealedByWords, wasResealed } from '../../../src/core/datasets/sealed-by';

const at = '2026-12-05T00:00:00.000Z';
const later = '2026-12-05T00:00:05.000Z';

test('who sealed a version: the first sealer, the re-sealer when another, and never a guessed first', () => {
  const once = { createdAt: at, createdBy: 'data push', firstSealedAt: at, firstSealedBy: 'data push' };
  assert.equal(sealedByWords(once), 'data push');
  assert.equal(wasResealed(once), false);
  const byWatcher = { ...once, createdAt: later, createdBy: 'watcher' };
  assert.equal(sealedByWords(byWatcher), 'data push (re-sealed by watcher)');
  assert.equal(wasResealed(byWatcher), true);
  const pushedAgain = { ...once, createdAt: later };
  assert.equal(sealedByWords(pushedAgain), 'data push', 'the same sealer again: one name');
  assert.equal(wasResealed(pushedAgain), true);
  assert.equal(sealedByWords({ createdAt: at, createdBy: 'watcher' }), 'watcher (last to seal it)');
});
