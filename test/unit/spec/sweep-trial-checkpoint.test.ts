/**
 * `trial.checkpoint.everyEpochs` of a fine-tune sweep: a trial checkpoints every epoch whatever it asks (each segment
 * up to a rung ends on a checkpoint), so the setting is refused at its position, saying why and what to set instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validatePipeline } from '../../../src/spec';

const pipeline = (checkpoint: string) => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: trial-checkpoint}
stages:
  sweep:
    uses: hyperparameter-sweep
    with:
      model: s3://fineflow/models/base/model.json
      data: s3://fineflow/data/manifest.json
      objective: {metric: validation.accuracy}
      space: {learningRate: {logUniform: [1.0e-4, 1.0e-2]}}
      trial:
        epochs: 9
        checkpoint: ${checkpoint}
`;

test('trial.checkpoint.everyEpochs is an error at the line and column of its value that says why and what to set', () => {
  const diagnostics = validatePipeline(pipeline('{keepLast: 3, everyEpochs: 3}'), 'p.yaml').diagnostics;
  assert.deepEqual(
    diagnostics.map((d) => [d.severity, d.code, d.path, d.line, d.column]),
    [['error', 'invalid-input', 'stages.sweep.with.trial.checkpoint.everyEpochs', 14, 48]],
  );
  const [only] = diagnostics;
  assert.match(only?.message ?? '', /no effect: a sweep trial checkpoints at the end of every epoch/);
  assert.match(only?.hint ?? '', /remove trial\.checkpoint\.everyEpochs; trial\.checkpoint\.keepLast sets/);
});

test('trial.checkpoint.keepLast alone is accepted', () => {
  assert.deepEqual(validatePipeline(pipeline('{keepLast: 3}'), 'p.yaml').diagnostics, []);
});
