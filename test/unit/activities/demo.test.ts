/**
 * The demo driver's pure parts: which base models the quickstart needs, which pretrain
 * pipeline registers each, and the headline it prints from a finished run's stage outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { baseModelsOf, headline, pretrainPipelineFor } from '../../../src/demo/main';
import { compilePlan } from '../../../src/spec/compile';
import type { RunState } from '../../../src/core/run/run-types';

const REPO = path.resolve(__dirname, '../../..');

test('the quickstart needs surface-cnn, which pipelines/pretrain-surface.yaml registers from s3://datasets/surface-brushed/', () => {
  const compiled = compilePlan(
    readFileSync(path.join(REPO, 'pipelines/quickstart.yaml'), 'utf8'),
    'pipelines/quickstart.yaml',
  );
  assert.ok(compiled.plan);
  assert.deepEqual(baseModelsOf(compiled.plan), ['surface-cnn']);
  const pretrain = pretrainPipelineFor('surface-cnn');
  assert.equal(pretrain?.file, 'pipelines/pretrain-surface.yaml');
  assert.equal(pretrain?.dataset, 's3://datasets/surface-brushed/');
  assert.equal(pretrainPipelineFor('digits-cnn')?.file, 'pipelines/pretrain-digits.yaml');
  assert.equal(pretrainPipelineFor('no-such-model'), undefined);
});

function runState(
  overrides: { evaluate?: Record<string, unknown>; register?: Partial<RunState['stages'][number]> } = {},
): RunState {
  const stage = (
    id: string,
    uses: string,
    outputs: Record<string, unknown>,
    extra: Partial<RunState['stages'][number]> = {},
  ) => ({ id, uses, pool: 'cpu', status: 'succeeded' as const, attempts: 1, outputs: outputs as never, ...extra });
  return {
    runId: 'quickstart-1',
    pipeline: 'quickstart',
    status: 'succeeded',
    trigger: { kind: 'manual' },
    startedAt: '2026-01-01T00:00:00Z',
    params: {},
    stages: [
      stage('select', 'select-model', { model: 'registry://digits-cnn@3' }),
      stage('finetune', 'fine-tune', { backend: 'tensorflow', metrics: { trainSeconds: 1.5, trainExamples: 200 } }),
      stage('evaluate', 'evaluate', {
        passed: true,
        report: 's3://fineflow/runs/quickstart-1/evaluate/report/report.html',
        metrics: { accuracy: 0.938 },
        comparison: { fromScratch: { accuracy: 0.825, trainSeconds: 2.8 } },
        ...overrides.evaluate,
      }),
      stage('register', 'register-model', { model: 'registry://shapes-classifier@2', version: 2 }, overrides.register),
    ],
  };
}

test('the headline compares accuracy and time of the fine-tuned and the from-scratch model and names the backend', () => {
  const text = headline(runState());
  assert.match(text, /Same 200 labelled training examples/);
  assert.match(text, /fine-tuned from registry:\/\/digits-cnn@3\n\s+accuracy\s+93\.8%\s+training time 1\.5 s/);
  assert.match(text, /from scratch .*\n\s+accuracy\s+82\.5%\s+training time 2\.8 s/);
  assert.match(text, /fine-tuning is 11\.3 accuracy points better/);
  assert.match(text, /TensorFlow backend: tensorflow/);
  assert.match(text, /Report: s3:\/\/fineflow\/runs\/quickstart-1\/evaluate\/report\/report\.html/);
  assert.match(text, /Registered: registry:\/\/shapes-classifier@2/);
});

test('the headline says so when fine-tuning loses, and when nothing was registered', () => {
  const text = headline(
    runState({
      evaluate: { passed: false, metrics: { accuracy: 0.3 } },
      register: { status: 'skipped', reason: 'when was false' },
    }),
  );
  assert.match(text, /52\.5 points WORSE/);
  assert.match(text, /Gate: NOT passed/);
  assert.match(text, /Registered: no \(register stage skipped: when was false\)/);
});
