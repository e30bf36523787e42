/**
 * What a register-model stage is handed to record on the card (src/core/run/register-evaluations.ts): the verdict of
 * each evaluate stage that scored its model, the gate's reasons and the headline numbers, bounded; nothing for an
 * evaluate stage that has not settled, a baseline's evaluation, or a stage that is not a register-model stage.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { compilePlan } from '../../../src/spec/compile';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import {
  evaluateStagesFor,
  MAX_RECORDED_METRICS,
  parseRecordedEvaluations,
  recordedEvaluations,
} from '../../../src/core/run/register-evaluations';
import { makePlan } from '../../fixtures/runtime/plans';

const model = '${{ stages.finetune.outputs.model }}';
const plan = makePlan('p', [
  { id: 'finetune', uses: 'fine-tune' },
  { id: 'baseline', uses: 'evaluate', with: { model: 'registry://base@1' } },
  { id: 'evaluate', uses: 'evaluate', with: { model, split: 'validation' } },
  { id: 'register', uses: 'register-model', with: { model } },
]);
const evaluated: JsonObject = {
  passed: false,
  metrics: { accuracy: 0.81, f1: 0.8, count: 80, perClass: { a: { f1: 0.7 } }, confusionMatrix: [[1]] },
  report: 's3://fineflow/runs/r/evaluate/report.html',
  comparison: { gate: { passed: false, reasons: ['accuracy 0.8100 < min 0.9'] } },
};

test('the register stage is handed the verdict of the evaluate stage that scored its model, not the baseline', () => {
  const outputs: Record<string, JsonObject> = {
    baseline: { passed: true, metrics: { accuracy: 0.5 } },
    evaluate: evaluated,
  };
  assert.deepEqual(
    recordedEvaluations(plan.stages, 'register', (id) => outputs[id]),
    [
      {
        stage: 'evaluate',
        split: 'validation',
        passed: false,
        reasons: ['accuracy 0.8100 < min 0.9'],
        metrics: { accuracy: 0.81, f1: 0.8, count: 80 },
      },
    ],
  );
  // Not settled yet (or skipped): nothing to record.
  assert.deepEqual(
    recordedEvaluations(plan.stages, 'register', () => undefined),
    [],
  );
  assert.deepEqual(
    recordedEvaluations(plan.stages, 'finetune', (id) => outputs[id]),
    [],
  );
});

test('what an author controls is bounded: numbers, reasons and their length', () => {
  const metrics = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i]));
  const reasons = Array.from({ length: 50 }, () => 'r'.repeat(5000));
  const [recorded] = recordedEvaluations(plan.stages, 'register', () => ({
    passed: true,
    metrics,
    comparison: { gate: { reasons: [...reasons, 7] } },
  }));
  assert.ok(recorded);
  assert.equal(Object.keys(recorded.metrics).length, MAX_RECORDED_METRICS);
  assert.equal(recorded.reasons.length, 8);
  assert.ok(recorded.reasons.every((r) => r.length === 300 && r.endsWith('…')));
});

test('a card read back: only well-formed evaluations, bounded again', () => {
  assert.equal(parseRecordedEvaluations(undefined), undefined);
  assert.equal(parseRecordedEvaluations({ stage: 'x' }), undefined);
  assert.deepEqual(
    parseRecordedEvaluations([
      'junk',
      { stage: 'evaluate', passed: 'yes' },
      { stage: 'evaluate', passed: true, reasons: ['ok', 3], metrics: { accuracy: 0.9, name: 'x' } },
    ]),
    [{ stage: 'evaluate', split: 'test', passed: true, reasons: ['ok'], metrics: { accuracy: 0.9 } }],
  );
});

test("a register stage resting on a sub-pipeline's evaluate stage records its verdict (sub-pipeline.yaml)", () => {
  const file = 'pipelines/sub-pipeline.yaml';
  const compiled = compilePlan(readFileSync(file, 'utf8'), file, { pipelineFiles: pipelineFileSource(file) });
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  // A pipeline stage's outputs are its child's stages' outputs, by child stage id (subPipelineOutputs).
  const outputs: Record<string, JsonObject> = {
    train: { finetune: { model: 's3://fineflow/runs/r/train/model.json' }, evaluate: evaluated },
  };
  const recorded = recordedEvaluations(compiled.plan.stages, 'register', (id) => outputs[id]);
  assert.deepEqual(recorded, [
    {
      stage: 'train.evaluate',
      split: 'test',
      passed: false,
      reasons: ['accuracy 0.8100 < min 0.9'],
      metrics: { accuracy: 0.81, f1: 0.8, count: 80 },
    },
  ]);
  // Its `when` names the child's evaluate stage too; without any reference, the same model expression finds it.
  const unreferenced = compiled.plan.stages.map((s) =>
    s.id === 'register' ? { ...s, with: { model: '${{ stages.train.outputs.finetune.model }}' }, when: undefined } : s,
  );
  assert.deepEqual(
    recordedEvaluations(unreferenced, 'register', (id) => outputs[id]).map((e) => e.stage),
    ['train.evaluate'],
  );
  // The run page's Metrics read the run's own stages: a sub-pipeline's evaluate is not one of them.
  assert.deepEqual(evaluateStagesFor(compiled.plan.stages, 'register'), []);
});
