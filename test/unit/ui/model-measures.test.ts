/**
 * Which evaluate stages' numbers a model card's are (src/ui/model-measures.ts): the ones the register stage's inputs
 * reference; else the ones that scored the model the register stage registered (the same `model:` expression); never
 * an evaluate stage of another model (a baseline's).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateStagesFor } from '../../../src/core/run/register-evaluations';
import { makePlan } from '../../fixtures/runtime/plans';

const model = '${{ stages.finetune.outputs.model }}';

test('the evaluate stage the register stage takes its metrics from', () => {
  const plan = makePlan('p', [
    { id: 'finetune', uses: 'fine-tune' },
    { id: 'evaluate', uses: 'evaluate', with: { model } },
    { id: 'evaluate-copy', uses: 'evaluate', with: { model } },
    { id: 'register', uses: 'register-model', with: { model, metrics: '${{ stages.evaluate.outputs.metrics }}' } },
  ]);
  assert.deepEqual(
    evaluateStagesFor(plan.stages, 'register').map((s) => s.id),
    ['evaluate'],
  );
});

test('without a reference: the evaluate stages that scored the registered model, not the baseline', () => {
  const plan = makePlan('p', [
    { id: 'finetune', uses: 'fine-tune' },
    { id: 'baseline', uses: 'evaluate', with: { model: 'registry://base@1' } },
    { id: 'evaluate', uses: 'evaluate', with: { model } },
    { id: 'register', uses: 'register-model', with: { model } },
  ]);
  assert.deepEqual(
    evaluateStagesFor(plan.stages, 'register').map((s) => s.id),
    ['evaluate'],
  );
  assert.deepEqual(evaluateStagesFor(plan.stages, 'no-such-stage'), []);
});

test('a card whose stage is not a register-model stage: no evaluation (the model of a fine-tune stage is its base)', () => {
  const base = '${{ stages.select.outputs.model }}';
  const plan = makePlan('p', [
    { id: 'select', uses: 'select-model' },
    { id: 'finetune', uses: 'fine-tune', with: { model: base } },
    { id: 'evaluate-base', uses: 'evaluate', with: { model: base } },
  ]);
  assert.deepEqual(evaluateStagesFor(plan.stages, 'finetune'), []);
});
