/** evaluate's `predictions` input: another model's probabilities, checked against the split before they are scored. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalProbabilities, PREDICTIONS_FORMAT } from '../../../src/ml/eval/external-predictions';

const expected = { split: 'test', classes: ['no', 'yes'], labels: Int32Array.from([0, 1, 1]) };
const good = {
  format: PREDICTIONS_FORMAT,
  split: 'test',
  classes: ['no', 'yes'],
  labels: [0, 1, 1],
  probabilities: [
    [0.8, 0.2],
    [0.3, 0.7],
    [0.6, 0.4],
  ],
};

test('aligned predictions become one row-major probability array', () => {
  assert.deepEqual(
    Array.from(externalProbabilities(good, 's3://b/p.json', expected)).map((p) => Number(p.toFixed(3))),
    [0.8, 0.2, 0.3, 0.7, 0.6, 0.4],
  );
});

test('anything that does not line up with the evaluated split is refused, naming the file and the fix', () => {
  const cases: [string, unknown][] = [
    ['format', { ...good, format: 'csv' }],
    ['split', { ...good, split: 'validation' }],
    ['classes', { ...good, classes: ['yes', 'no'] }],
    ['count', { ...good, labels: [0, 1] }],
    ['order', { ...good, labels: [1, 0, 1] }],
    ['row width', { ...good, probabilities: [[0.8], [0.3, 0.7], [0.6, 0.4]] }],
    [
      'range',
      {
        ...good,
        probabilities: [
          [1.5, 0.2],
          [0.3, 0.7],
          [0.6, 0.4],
        ],
      },
    ],
    ['shape', [1, 2, 3]],
  ];
  for (const [what, value] of cases)
    assert.throws(
      () => externalProbabilities(value, 's3://b/p.json', expected),
      (error: Error & { details?: { code?: string } }) =>
        error.details?.code === 'bad-predictions' && /s3:\/\/b\/p\.json/.test(error.message),
      what,
    );
});
