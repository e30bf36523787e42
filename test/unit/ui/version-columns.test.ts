/**
 * The columns a model's versions table compares versions by (src/ui/web/version-columns.ts): the evaluate stage's
 * test accuracy, F1 and gate when a card has them, the validation metrics when a version has none; never the
 * training record's bookkeeping that came first in a card's metric list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupHead, versionColumns } from '../../../src/ui/web/version-columns';

const training = { 'train.loss': 0.1, 'validation.loss': 0.3, 'validation.accuracy': 0.9, weightsEpoch: 4 };
const keys = (cards: Parameters<typeof versionColumns>[0]): string[] => versionColumns(cards).map((c) => c.key);

test('evaluated versions: test accuracy, F1 and the gate, labelled as the test set metrics', () => {
  const columns = versionColumns([{ metrics: { ...training, accuracy: 0.8, f1: 0.7, count: 80 } }]);
  assert.deepEqual(
    columns.map((c) => [c.key, c.group, c.label]),
    [
      ['accuracy', 'evaluation', 'test accuracy'],
      ['f1', 'evaluation', 'test f1'],
      ['gate', 'evaluation', 'gate'],
    ],
  );
  assert.equal(groupHead('evaluation'), 'Evaluation: test set metrics');
});

test('a version no evaluate stage scored brings the validation metrics; none brings no column', () => {
  assert.deepEqual(keys([{ metrics: training }, { metrics: { ...training, accuracy: 0.8 } }]), [
    'accuracy',
    'gate',
    'validation.accuracy',
    'validation.loss',
  ]);
  assert.deepEqual(keys([{ metrics: training }]), ['validation.accuracy', 'validation.loss']);
  assert.deepEqual(keys([{ metrics: { weightsEpoch: 3 } }, {}]), []);
  assert.equal(groupHead('training'), 'Training: training and validation metrics of the saved weights');
});
