/**
 * evaluate through MockActivityEnvironment with the in-memory store: metrics, slices, the
 * from-scratch comparison, a baseline alias that does not exist yet (first run: reported, not an
 * error) and one that does, the gate and its reasons, the HTML + JSON report, bad gate inputs.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEvaluateStage, gateSpec } from '../../../activities/evaluate';
import { createFineTuneStage } from '../../../activities/fine-tune';
import { registerModelStage } from '../../../activities/register-model';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { preparedBars, recordingTrainingRunner, registeredBase } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let model: string;

/** Trains in this process on the given store (the child a worker forks cannot see an in-memory store). */
const inProcess = (target: MemoryObjectStore) => inProcessTrainingRunner(target, { tfBackend: 'cpu' });

before(async () => {
  store = memoryStore();
  dataset = await preparedBars(store, `s3://${BUCKET}/runs/ev/prepare/dataset`);
  const base = await registeredBase(store);
  const { result } = await runStage(
    'fine-tune',
    createFineTuneStage({ runTraining: inProcess(store) }),
    store,
    stageContext('finetune', { runId: 'ev' }),
    {
      model: base,
      data: dataset,
      epochs: 6,
      batchSize: 8,
      learningRate: 0.02,
      freeze: 'none',
      seed: 1,
    },
  );
  model = String(result.outputs.model);
});

test('first run: metrics, slices, from-scratch comparison, a missing baseline reported (not an error), gate and report', async () => {
  const stage = createEvaluateStage({ runTraining: inProcess(store) });
  const { result, heartbeats } = await runStage('evaluate', stage, store, stageContext('evaluate', { runId: 'ev' }), {
    model,
    data: dataset,
    metrics: ['accuracy', 'f1', 'confusionMatrix', 'rocAuc'],
    slices: ['label'],
    baseline: 'registry://bars-classifier@champion',
    fromScratch: { epochs: 2, seed: 1 },
    gate: { metric: 'accuracy', min: 0.5, beatBaseline: true },
  });
  const outputs = result.outputs as {
    passed: boolean;
    report: string;
    metrics: {
      accuracy: number;
      f1: number;
      count: number;
      rocAuc: number;
      confusionMatrix: number[][];
      perClass: Record<string, { f1: number }>;
      slices: { label: Record<string, { accuracy: number }> };
    };
    comparison: {
      baseline: { found: boolean; note: string };
      fromScratch: { accuracy: number; trainSeconds: number; epochs: number };
      model: { trainSeconds: number; baseModel: string };
      gate: { reasons: string[] };
    };
  };
  assert.equal(outputs.metrics.count, 18);
  assert.ok(outputs.metrics.accuracy > 0.5, `accuracy ${outputs.metrics.accuracy}`);
  assert.equal(outputs.metrics.confusionMatrix.length, 3);
  assert.equal(
    outputs.metrics.confusionMatrix.flat().reduce((a, b) => a + b, 0),
    18,
  );
  assert.deepEqual(Object.keys(outputs.metrics.perClass).sort(), ['bottom', 'middle', 'top']);
  assert.deepEqual(Object.keys(outputs.metrics.slices.label).sort(), ['bottom', 'middle', 'top']);
  assert.equal(outputs.comparison.baseline.found, false);
  assert.match(outputs.comparison.baseline.note, /does not exist yet/);
  assert.equal(outputs.comparison.fromScratch.epochs, 2);
  assert.ok(outputs.comparison.fromScratch.trainSeconds > 0);
  assert.ok(typeof outputs.comparison.fromScratch.accuracy === 'number');
  assert.equal(outputs.comparison.model.baseModel, 'registry://tiny-base@1');
  assert.ok(outputs.comparison.model.trainSeconds > 0);
  assert.equal(
    outputs.passed,
    outputs.comparison.gate.reasons.every((r) => !/does not beat|</.test(r)),
  );
  assert.ok(outputs.comparison.gate.reasons.some((r) => /accuracy .* min 0.5/.test(r)));
  // The report: HTML with the confusion matrix and learning curves, and JSON beside it.
  assert.equal(outputs.report, `s3://${BUCKET}/runs/ev/evaluate/report/report.html`);
  const html = (await store.getBytes(outputs.report)).toString('utf8');
  assert.match(html, /Confusion matrix/);
  assert.match(html, /Learning curves/);
  assert.match(html, /from-scratch/);
  const json = await store.getJson<{ metrics: { accuracy: number } }>(
    `s3://${BUCKET}/runs/ev/evaluate/report/report.json`,
  );
  assert.equal(json.metrics.accuracy, outputs.metrics.accuracy);
  assert.ok(heartbeats.some((h) => /from-scratch epoch 2\/2/.test(h.message ?? '')));
});

test('with a champion in the registry the baseline is compared, and the gate can fail with reasons', async () => {
  await runStage('register-model', registerModelStage, store, stageContext('register', { runId: 'ev' }), {
    model,
    name: 'bars-classifier',
    alias: 'champion',
  });
  const stage = createEvaluateStage({ runTraining: inProcess(store) });
  const { result } = await runStage('evaluate', stage, store, stageContext('evaluate', { runId: 'ev-2' }), {
    model,
    data: dataset,
    baseline: 'registry://bars-classifier@champion',
    gate: { metric: 'accuracy', min: 1.01, beatBaseline: true },
  });
  const comparison = result.outputs.comparison as {
    baseline: { found: boolean; metrics: { accuracy: number } };
    gate: { reasons: string[] };
  };
  assert.equal(comparison.baseline.found, true);
  assert.equal(
    comparison.baseline.metrics.accuracy,
    (result.outputs.metrics as { accuracy: number }).accuracy,
    'the champion is the same model',
  );
  assert.equal(result.outputs.passed, false);
  assert.ok(comparison.gate.reasons.some((r) => /< min 1.01/.test(r)));
  assert.ok(
    comparison.gate.reasons.some((r) => /only ties \(a gate needs it beaten\) the baseline \(/.test(r)),
    'a tie does not beat the baseline',
  );
});

test('gate inputs that can never be checked fail non-retryably, naming the field', async () => {
  const stage = createEvaluateStage({ runTraining: inProcess(store) });
  for (const [gate, field] of [
    [{ metric: 'bogus' }, 'gate.metric'],
    [{ metric: 'accuracy', max: 0.9 }, 'gate.max'],
    [{ metric: 'calibrationError', min: 0.1 }, 'gate.min'],
  ] as const) {
    const failure = await stageFailure(
      runStage('evaluate', stage, store, stageContext('evaluate', { runId: 'ev-bad' }), { model, data: dataset, gate }),
    );
    assert.equal(failure.type, 'FineflowInvalidInput', failure.message);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.details.field, field);
  }
  assert.deepEqual(gateSpec({ metric: 'calibrationError', max: 0.2 }), {
    metric: 'expectedCalibrationError',
    min: 0.2,
  });
});

test("the from-scratch comparison trains with the worker's training settings (backend, engine)", async () => {
  const { runner, requests } = recordingTrainingRunner(store);
  const ml = { tfBackend: 'cpu', trainEngine: 'eager' } as const;
  const { result } = await runStage(
    'evaluate',
    createEvaluateStage({ runTraining: runner }),
    store,
    stageContext('evaluate', { runId: 'ev-backend' }),
    { model, data: dataset, fromScratch: { epochs: 1, seed: 1 } },
    { ml },
  );
  assert.equal(requests[0]?.tfBackend, 'cpu');
  assert.equal(requests[0]?.engine, 'eager');
  const fromScratch = (result.outputs.comparison as { fromScratch: { backend: string; engine: string } }).fromScratch;
  assert.equal(fromScratch.backend, 'cpu');
  assert.equal(fromScratch.engine, 'eager');
});

test('a from-scratch comparison an auto engine trained on eager says so in the stage log, with the reason', async () => {
  // The pure-JS backend has no graph runtime: `auto` trains eagerly and the result records why.
  const { runner } = recordingTrainingRunner(store);
  const runId = 'ev-engine-fallback';
  const { result } = await runStage(
    'evaluate',
    createEvaluateStage({ runTraining: runner }),
    store,
    stageContext('evaluate', { runId }),
    { model, data: dataset, metrics: ['accuracy'], fromScratch: { epochs: 1, seed: 1 } },
    { ml: { tfBackend: 'cpu', trainEngine: 'auto' } },
  );
  assert.equal((result.outputs.comparison as { fromScratch: { engine: string } }).fromScratch.engine, 'eager');
  const [log] = await listStageLogs(store, BUCKET, runId, 'evaluate');
  assert.ok(log, 'the stage wrote a log');
  const lines = (await stageLogText(store, log)).split('\n');
  const warning = lines.filter((line) => line.includes('warning: trained on the eager engine'));
  assert.equal(warning.length, 1, lines.join('\n'));
  assert.match(warning[0] ?? '', /\[from-scratch\] warning: .*: the cpu backend has no graph runtime$/);
});
