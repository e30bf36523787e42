/**
 * Sweeps over any stage type (src/core/sweep/trial-stage.ts and planSweep's trialStage branch):
 * where sampled values go, where the objective is read, which steps a running trial reports,
 * and what is refused before the first trial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSweep } from '../../../src/core/sweep';
import { planSweep } from '../../../src/core/sweep/sweep-plan';
import {
  layOver,
  objectiveFromOutputs,
  reportSteps,
  trialStageInputs,
  trialStoppingProblem,
} from '../../../src/core/sweep/trial-stage';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import { parseProtocolLine } from '../../../src/command/line-protocol';

const COMMAND_SWEEP: JsonObject = {
  objective: { metric: 'validation_accuracy', goal: 'maximize' },
  algorithm: 'random',
  maxTrials: 9,
  earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 },
  space: { 'params.alpha': { logUniform: [1e-5, 1e-1] }, 'params.loss': { choice: ['hinge', 'log_loss'] } },
  trialStage: { uses: 'command', with: { run: ['python', 'trial.py'], params: { seed: 3 } } },
};

function refusal(inputs: JsonObject): { field: unknown; message: string } {
  try {
    planSweep(inputs);
  } catch (error) {
    const typed = error as { details: { field?: unknown }; message: string };
    return { field: typed.details.field, message: typed.message };
  }
  return assert.fail('planSweep accepted the inputs');
}

test('space names are dotted paths into trialStage.with; sampled values are laid over the trial inputs', () => {
  const plan = planSweep(COMMAND_SWEEP);
  assert.equal(plan.trialStage?.uses, 'command');
  const inputs = trialStageInputs(plan.trialStage!, { 'params.alpha': 0.01, 'params.loss': 'hinge' });
  assert.deepEqual(inputs, { run: ['python', 'trial.py'], params: { seed: 3, alpha: 0.01, loss: 'hinge' } });
  // The shared inputs are not changed by a trial's values.
  assert.deepEqual(plan.trialStage!.with.params, { seed: 3 });
  assert.deepEqual(layOver({}, 'a.b.c', 1), { a: { b: { c: 1 } } });
  assert.throws(() => layOver({ run: ['x'] }, 'run.first', 1), /trialStage\.with\.run is not a mapping/);
  assert.throws(() => layOver({}, 'params..x', 1), /dotted path/);
});

test('the objective is read from outputs.metrics first, then as a dotted path into the outputs', () => {
  const outputs: JsonObject = { metrics: { accuracy: 0.8, 'a.b': 0.1 }, values: { score: 3, text: 'x' } };
  assert.equal(objectiveFromOutputs(outputs, 'accuracy'), 0.8);
  assert.equal(objectiveFromOutputs(outputs, 'a.b'), 0.1);
  assert.equal(objectiveFromOutputs(outputs, 'values.score'), 3);
  assert.equal(objectiveFromOutputs(outputs, 'values.text'), undefined);
  assert.equal(objectiveFromOutputs(outputs, 'missing'), undefined);
  assert.equal(objectiveFromOutputs({ metrics: { loss: Number.NaN } }, 'loss'), undefined);
});

test('a running trial reports at the ASHA rungs, at most 100 median steps, and nothing without early stopping', () => {
  const plan = planSweep(COMMAND_SWEEP);
  assert.deepEqual(reportSteps(createSweep(plan.config)), [1, 3]);
  const median = planSweep({
    ...COMMAND_SWEEP,
    earlyStopping: { type: 'median', maxEpochs: 1000 },
  });
  const steps = reportSteps(createSweep(median.config));
  assert.ok(steps.length <= 100 && steps.length >= 90, `${steps.length} steps`);
  assert.equal(steps[0], 2);
  assert.ok(steps.every((step, i) => i === 0 || step > (steps[i - 1] as number)));
  const none = planSweep({ ...COMMAND_SWEEP, earlyStopping: { type: 'none' } });
  assert.deepEqual(reportSteps(createSweep(none.config)), []);
});

test('refused before the first trial: fine-tune inputs beside a trialStage, a bad metric, early stopping that cannot judge', () => {
  assert.equal(refusal({ ...COMMAND_SWEEP, model: 's3://m/' }).field, 'model');
  assert.equal(refusal({ ...COMMAND_SWEEP, trial: { epochs: 3 } }).field, 'trial');
  assert.equal(refusal({ ...COMMAND_SWEEP, objective: { metric: 'has space' } }).field, 'objective.metric');
  const evaluateTrial = { ...COMMAND_SWEEP, trialStage: { uses: 'evaluate', with: {} } };
  assert.match(refusal(evaluateTrial).message, /evaluate stages report no intermediate values/);
  // Without early stopping any stage type can be a trial: its objective is read when it ends.
  assert.equal(planSweep({ ...evaluateTrial, earlyStopping: { type: 'none' } }).trialStage?.uses, 'evaluate');
  assert.equal(refusal({ ...COMMAND_SWEEP, earlyStopping: { type: 'asha' } }).field, 'earlyStopping.maxEpochs');
  assert.match(refusal({ ...COMMAND_SWEEP, trialStage: { uses: 'fine-tune' } }).message, /model, data and trial/);
  assert.equal(refusal({ ...COMMAND_SWEEP, space: { 'x y': { choice: [1] } } }).field, 'space.x y');
  assert.equal(trialStoppingProblem('command', { type: 'none' }), undefined);
  // A fine-tune sweep still needs what every trial trains on.
  const { trialStage: _t, ...fineTune } = COMMAND_SWEEP;
  assert.equal(refusal({ ...fineTune, objective: { metric: 'validation.accuracy' } }).field, 'model');
});

test('a ::fineflow:: line may carry the step its metrics belong to; a bad step is reported, not trusted', () => {
  const line = parseProtocolLine('::fineflow:: {"step": 3, "metrics": {"validation_accuracy": 0.8}}');
  assert.equal(line.kind, 'progress');
  assert.deepEqual(line.kind === 'progress' ? line.progress.detail : undefined, {
    metrics: { validation_accuracy: 0.8 },
    step: 3,
  });
  for (const step of ['-1', '1.5', '"3"', '1e12'])
    assert.equal(parseProtocolLine(`::fineflow:: {"step": ${step}}`).kind, 'malformed', step);
});
