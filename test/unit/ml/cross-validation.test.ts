import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classesShorterThanFolds,
  crossValidatedEstimate,
  foldIndices,
  stratifiedFolds,
  studentTCdf,
  studentTQuantile,
} from '../../../src/ml/eval/cross-validation';
import { checkStageInputs } from '../../../activities/ml-stage-support';
import type { BuiltinStageType } from '../../../src/sdk/stage-io.generated';

/** The runtime input check's verdict: [] when the inputs pass, else the error message. */
function checkStageInputList(stageType: BuiltinStageType, inputs: Record<string, unknown>): string[] {
  try {
    checkStageInputs(stageType, inputs as never);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

describe('stratified folds', () => {
  // 3 classes of 10, 7 and 4 examples, interleaved.
  const labels = Int32Array.from([...Array(10).fill(0), ...Array(7).fill(1), ...Array(4).fill(2)]);

  it('every example is in exactly one fold, sizes differ by at most one, each class spread evenly', () => {
    const assignment = stratifiedFolds(labels, 5, 7);
    const sizes = [0, 0, 0, 0, 0];
    for (const fold of assignment) sizes[fold] = (sizes[fold] ?? 0) + 1;
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      labels.length,
    );
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes.join(',')}`);
    for (const label of [0, 1, 2]) {
      const perFold = [0, 0, 0, 0, 0];
      assignment.forEach((fold, i) => {
        if (labels[i] === label) perFold[fold] = (perFold[fold] ?? 0) + 1;
      });
      assert.ok(Math.max(...perFold) - Math.min(...perFold) <= 1, `class ${label}: ${perFold.join(',')}`);
    }
  });

  it('is seeded: the same seed gives the same folds, another seed other folds', () => {
    assert.deepEqual(stratifiedFolds(labels, 4, 3), stratifiedFolds(labels, 4, 3));
    assert.notDeepEqual(stratifiedFolds(labels, 4, 3), stratifiedFolds(labels, 4, 4));
  });

  it('foldIndices splits held-out from training indices without overlap', () => {
    const assignment = stratifiedFolds(labels, 3, 1);
    for (let fold = 0; fold < 3; fold += 1) {
      const { train, test } = foldIndices(assignment, fold);
      assert.equal(train.length + test.length, labels.length);
      assert.ok(test.every((i) => assignment[i] === fold));
      assert.ok(train.every((i) => assignment[i] !== fold));
    }
  });

  it('names classes with fewer examples than folds, and refuses fewer than two folds', () => {
    assert.deepEqual(classesShorterThanFolds(labels, ['a', 'b', 'c'], 5), [{ name: 'c', count: 4 }]);
    assert.throws(() => stratifiedFolds(labels, 1, 0), /folds must be a whole number ≥ 2/);
  });
});

describe("Student's t", () => {
  it('matches published quantiles', () => {
    // Two-sided 95% critical values: df 1 → 12.706, 4 → 2.776, 9 → 2.262, 29 → 2.045, 1000 → 1.962.
    for (const [df, expected] of [
      [1, 12.7062],
      [4, 2.7764],
      [9, 2.2622],
      [29, 2.0452],
      [1000, 1.9623],
    ] as const) {
      assert.ok(Math.abs(studentTQuantile(0.975, df) - expected) < 1e-3, `df ${df}: ${studentTQuantile(0.975, df)}`);
    }
    assert.ok(Math.abs(studentTCdf(0, 5) - 0.5) < 1e-12);
    assert.ok(Math.abs(studentTCdf(-2.015, 5) - 0.05) < 1e-4);
  });
});

describe('crossValidatedEstimate', () => {
  it('is the mean with the corrected t interval, wider than the naive one', () => {
    const scores = [0.8, 0.85, 0.9, 0.75, 0.8];
    const estimate = crossValidatedEstimate(scores, 5, 0.95);
    assert.ok(Math.abs(estimate.mean - 0.82) < 1e-12);
    const variance = scores.reduce((sum, s) => sum + (s - 0.82) ** 2, 0) / 4;
    assert.ok(Math.abs(estimate.std - Math.sqrt(variance)) < 1e-12);
    // Nadeau–Bengio: (1/n + 1/(k−1)) instead of 1/n.
    const half = studentTQuantile(0.975, 4) * Math.sqrt((1 / 5 + 1 / 4) * variance);
    assert.ok(Math.abs(estimate.high - (0.82 + half)) < 1e-9);
    assert.ok(Math.abs(estimate.low - (0.82 - half)) < 1e-9);
    const naive = studentTQuantile(0.975, 4) * Math.sqrt(variance / 5);
    assert.ok(estimate.high - estimate.mean > naive);
    assert.equal(estimate.scores, 5);
  });

  it('more repeats narrow the interval of the same spread; a higher confidence widens it', () => {
    const once = crossValidatedEstimate([0.7, 0.8, 0.9], 3, 0.95);
    const thrice = crossValidatedEstimate([0.7, 0.8, 0.9, 0.7, 0.8, 0.9, 0.7, 0.8, 0.9], 3, 0.95);
    assert.ok(thrice.high - thrice.low < once.high - once.low);
    assert.ok(crossValidatedEstimate([0.7, 0.8, 0.9], 3, 0.99).high > once.high);
    assert.deepEqual(crossValidatedEstimate([0.5], 2, 0.95), {
      mean: 0.5,
      std: 0,
      low: 0.5,
      high: 0.5,
      confidence: 0.95,
      scores: 1,
    });
  });
});

describe('fine-tune crossValidation input', () => {
  const base = { data: 's3://data/d/manifest.json', architecture: 'mlp', epochs: 3 };
  it('accepts folds and repeats in range and refuses early stopping on validation metrics', () => {
    assert.deepEqual(checkStageInputList('fine-tune', { ...base, crossValidation: { folds: 3, repeats: 2 } }), []);
    assert.match(checkStageInputList('fine-tune', { ...base, crossValidation: { folds: 1 } }).join('\n'), /folds/);
    assert.match(checkStageInputList('fine-tune', { ...base, crossValidation: { repeats: 11 } }).join('\n'), /repeats/);
    const stopping = checkStageInputList('fine-tune', {
      ...base,
      crossValidation: {},
      earlyStopping: { patience: 2 },
    }).join('\n');
    assert.match(stopping, /held-out fold/);
    assert.deepEqual(
      checkStageInputList('fine-tune', {
        ...base,
        crossValidation: {},
        earlyStopping: { monitor: 'train.loss' },
      }),
      [],
    );
    // Through a sweep's `hyperparameters` override too.
    assert.match(
      checkStageInputList('fine-tune', {
        ...base,
        crossValidation: {},
        hyperparameters: { earlyStopping: { monitor: 'validation.accuracy' } },
      }).join('\n'),
      /held-out fold/,
    );
  });
});
