import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wrapText } from '../../../src/ui/web/text-fit';

/** Every character 1 px at font size 1: room is a character count. */
const measure = (text: string, fontPx: number): number => [...text].length * fontPx;

test('a name that fits stays whole on one line', () => {
  assert.deepEqual(wrapText('seed', 10, 1, measure), ['seed']);
});

test('a long name breaks between its words: camelCase, dots, underscores', () => {
  assert.deepEqual(wrapText('learningRateWarmupEpochs', 18, 1, measure), ['learningRateWarmup', 'Epochs']);
  assert.deepEqual(wrapText('optimizer.adam.beta2', 15, 1, measure), ['optimizer.adam.', 'beta2']);
  assert.deepEqual(wrapText('batch_size_per_replica', 12, 1, measure), ['batch_size_', 'per_replica']);
});

test('what two lines cannot hold is cut with an ellipsis; a word wider than a line breaks where it is full', () => {
  assert.deepEqual(wrapText('learningRateWarmupEpochsBeforeDecay', 14, 1, measure), ['learningRate', 'WarmupEpochsB…']);
  assert.deepEqual(wrapText('abcdefghijklmnopqrstuvwxyz', 10, 1, measure), ['abcdefghij', 'klmnopqrs…']);
  for (const lines of [wrapText('a'.repeat(200), 7, 1, measure), wrapText('x.y.z'.repeat(40), 7, 1, measure)]) {
    assert.equal(lines.length, 2);
    for (const line of lines) assert.ok(measure(line, 1) <= 7, line);
  }
});
