/**
 * `trial.checkpoint.everyEpochs` of a fine-tune sweep: a trial checkpoints every epoch whatever it asks (each segment
 * up to a rung ends on a checkpoint), so the setting is refused at its position, saying why and what to set instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validatePipeline } from '../../../src/spec';
import { sweepPipelineYaml } from '../../helpers/sweep-pipeline';

const pipeline = (checkpoint: string) =>
  sweepPipelineYaml(`      trial:\n        epochs: 9\n        checkpoint: ${checkpoint}`, 'trial-checkpoint');

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
