import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { evaluateModel, sliceKeys } from '../../../src/ml/eval/evaluate';
import {
  applyGate,
  classificationMetrics,
  compareMetrics,
  expectedCalibrationError,
  rocAuc,
  sliceMetrics,
} from '../../../src/ml/eval/metrics';
import { renderReportHtml } from '../../../src/ml/eval/report';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { generateDefects } from '../../../src/ml/generators/defects';
import { createMemoryObjectStore } from './helpers/memory-object-store';
import type { LabelledSet } from '../../../src/ml/generators/image-set';
import { mulberry32 } from '../../../src/ml/random';
import type { DatasetManifest } from '../../../src/ml/data/shards';

describe('metrics', () => {
  // 3 classes, 6 examples. Predicted: 0,0,1,2,2,1 ; actual: 0,1,1,2,2,0
  const probabilities = [0.8, 0.1, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.1, 0.1, 0.8, 0.2, 0.2, 0.6, 0.3, 0.5, 0.2];
  const labels = [0, 1, 1, 2, 2, 0];
  const metrics = classificationMetrics(probabilities, labels, ['a', 'b', 'c']);

  it('computes accuracy, per-class and macro precision/recall/F1 and the confusion matrix', () => {
    assert.equal(metrics.accuracy, 4 / 6);
    assert.deepEqual(metrics.confusionMatrix, [
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 2],
    ]);
    assert.deepEqual(
      metrics.perClass.map((entry) => [entry.precision, entry.recall, entry.support]),
      [
        [0.5, 0.5, 2],
        [0.5, 0.5, 2],
        [1, 1, 2],
      ],
    );
    assert.ok(Math.abs(metrics.f1Macro - 2 / 3) < 1e-12);
  });

  it('computes ROC-AUC by ranks and calibration error by bins', () => {
    assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
    assert.equal(rocAuc([0.5, 0.5], [true, false]), 0.5);
    assert.equal(rocAuc([0.1, 0.2], [true, true]), undefined);
    assert.equal(metrics.perClass[2]?.rocAuc, 1);
    // Always 100% confident and right half the time: ECE 0.5.
    assert.equal(expectedCalibrationError([1, 1, 1, 1], [true, false, true, false]), 0.5);
  });

  it('slices, compares and gates', () => {
    const slices = sliceMetrics(probabilities, labels, ['a', 'b', 'c'], (i) => (i < 3 ? 'line-a' : 'line-b'));
    assert.equal(slices['line-a']?.accuracy, 2 / 3);
    assert.equal(slices['line-b']?.accuracy, 2 / 3);
    const worse = classificationMetrics(
      [0.1, 0.8, 0.1, 0.1, 0.8, 0.1, 0.8, 0.1, 0.1, 0.8, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.1],
      labels,
      ['a', 'b', 'c'],
    );
    const comparison = compareMetrics(metrics, worse);
    assert.equal(comparison.find((entry) => entry.metric === 'accuracy')?.better, true);
    assert.deepEqual(
      applyGate({ metric: 'accuracy', min: 0.6, beatBaseline: true }, metrics, { champion: worse }).passed,
      true,
    );
    const failed = applyGate({ metric: 'accuracy', min: 0.9, beatBaseline: true }, worse, { champion: metrics });
    assert.equal(failed.passed, false);
    assert.equal(failed.reasons.length, 2);
    assert.match(failed.reasons[0] ?? '', /< min 0.9/);
    assert.match(failed.reasons[1] ?? '', /does not beat baseline champion/);
    assert.equal(applyGate({ metric: 'nonsense', min: 0 }, metrics).passed, false);
    // The evaluate stage records its `baseline:` input as `baseline`; a retrain equal to the champion only ties.
    const tie = applyGate({ metric: 'accuracy', beatBaseline: true }, metrics, { baseline: metrics });
    assert.equal(tie.passed, false);
    assert.match(tie.reasons[0] ?? '', /^accuracy \d\.\d{4} only ties \(a gate needs it beaten\) the baseline \(/);
  });

  it('renders a self-contained HTML report with charts', () => {
    const html = renderReportHtml({
      model: 's3://m/model.json',
      dataset: 's3://d/manifest.json',
      split: 'test',
      metrics,
      history: [
        {
          epoch: 1,
          phase: 'head',
          learningRate: 0.01,
          trainLoss: 1,
          trainAccuracy: 0.5,
          validationLoss: 1.1,
          validationAccuracy: 0.4,
          seconds: 1,
          samplesPerSecond: 10,
        },
        {
          epoch: 2,
          phase: 'head',
          learningRate: 0.01,
          trainLoss: 0.5,
          trainAccuracy: 0.8,
          validationLoss: 0.7,
          validationAccuracy: 0.7,
          seconds: 1,
          samplesPerSecond: 10,
        },
      ],
      trials: {
        xLabel: 'learningRate',
        yLabel: 'validation.accuracy',
        points: [
          { trial: 1, x: 0.001, value: 0.5 },
          { trial: 2, x: 0.1, value: 0.7, status: 'pruned' },
        ],
      },
      gate: { passed: true, reasons: ['accuracy 0.6667 >= min 0.5'], spec: { metric: 'accuracy', min: 0.5 } },
      createdAt: '2026-01-01T00:00:00Z',
    });
    assert.match(html, /^<!doctype html>/);
    assert.ok((html.match(/<svg/g) ?? []).length >= 4, 'confusion matrix, two learning curves, trial scatter');
    assert.match(html, /PASSED/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('evaluateModel', () => {
  it('scores a model, compares baselines (reporting one that fails to load), gates, and writes the report', async () => {
    const { tf } = loadTf({ preference: 'auto' });
    const store = createMemoryObjectStore();
    const { manifestUri } = await writeDataset(store, 's3://b/d', { test: generateDefects({ perClass: 5, seed: 1 }) });
    const architecture = {
      kind: 'cnn',
      inputShape: [28, 28, 1],
      filters: [2, 2],
      featureUnits: 4,
      pooling: 'max',
    } as const;
    await saveModel(tf, store, buildModel(tf, architecture, { numClasses: 4 }), 's3://b/candidate');
    await saveModel(tf, store, buildModel(tf, architecture, { numClasses: 4 }), 's3://b/baseline');
    const result = await evaluateModel(store, {
      modelUri: 's3://b/candidate',
      datasetUri: manifestUri,
      slices: ['label'],
      baselines: { scratch: 's3://b/baseline', champion: 'registry://defects@champion' },
      gate: { metric: 'accuracy', min: 1.01 },
      reportPrefix: 's3://b/report',
      registryBucket: 'b',
    });
    assert.equal(result.metrics.count, 20);
    assert.equal(result.passed, false);
    assert.ok(result.report.baselines?.scratch?.metrics);
    assert.match(result.report.baselines?.champion?.error ?? '', /not in the registry/);
    assert.deepEqual(Object.keys(result.report.slices?.label ?? {}).sort(), ['crack', 'ok', 'scratch', 'spot']);
    assert.ok(await store.stat(result.reportUri));
    assert.match((await store.getBytes(result.htmlUri)).toString(), /Confusion matrix/);
  });

  it('trains the classic baselines on the training split, gates on beating them and writes the trusted report', async () => {
    const { tf } = loadTf({ preference: 'auto' });
    const store = createMemoryObjectStore();
    // Two sensor readings; the class is whether their sum is positive: a linear rule.
    const linearSet = (count: number, seed: number): LabelledSet => {
      const random = mulberry32(seed);
      const features = new Float32Array(count * 2).map(() => random() * 2 - 1);
      const labels = Int32Array.from({ length: count }, (_, i) =>
        (features[i * 2] ?? 0) + (features[i * 2 + 1] ?? 0) > 0 ? 1 : 0,
      );
      return { featureShape: [2], classes: ['low', 'high'], features, labels };
    };
    const { manifestUri } = await writeDataset(store, 's3://b/runs/r1/prepare', {
      train: linearSet(200, 2),
      test: linearSet(60, 3),
    });
    await store.putJson('s3://b/runs/r1/prepare/data-report.json', { records: 260 });
    await saveModel(
      tf,
      store,
      buildModel(tf, { kind: 'mlp', inputShape: [2], hidden: [4] }, { numClasses: 2 }),
      's3://b/untrained',
    );
    const result = await evaluateModel(store, {
      modelUri: 's3://b/untrained',
      datasetUri: manifestUri,
      classicBaselines: ['majority', 'logistic-regression'],
      gate: { metric: 'accuracy', beat: ['logistic-regression', 'majority'] },
      bootstrap: { resamples: 200 },
      origin: { pipeline: 'defects', runId: 'r1', stageId: 'evaluate' },
      reportPrefix: 's3://b/runs/r1/evaluate/report',
      registryBucket: 'b',
    });
    const logistic = result.report.baselines?.['logistic-regression'];
    const majority = result.report.baselines?.majority;
    // An untrained network does not beat a logistic regression on the pixels: the gate says so.
    assert.ok((logistic?.metrics?.accuracy ?? 0) > 0.9, `logistic regression ${logistic?.metrics?.accuracy}`);
    assert.ok(majority?.metrics && majority.metrics.rocAucMacro === 0.5);
    assert.equal(result.passed, false);
    assert.match(result.reasons.join('\n'), /does not beat logistic-regression/);
    assert.ok(logistic?.differences?.accuracy);
    const interval = result.report.intervals?.accuracy;
    assert.ok(interval && interval.low <= result.metrics.accuracy && result.metrics.accuracy <= interval.high);
    assert.equal(result.report.dataReport, 's3://b/runs/r1/prepare/data-report.json');
    assert.equal(result.report.dataReportHref, '../../prepare/data-report.json');
    assert.ok((result.report.misclassified?.length ?? 0) > 0);
    const html = (await store.getBytes(result.htmlUri)).toString();
    assert.match(html, /Evaluation of stage evaluate · pipeline defects · run r1/);
    assert.match(html, /logistic-regression/);
  });
});

it('a mistyped slice column names the one it resembles and says how to fix it (edit, submit again)', () => {
  const manifest = {
    classes: ['no', 'yes'],
    featureShape: [4],
    columns: [
      { name: 'income', kind: 'numeric' },
      { name: 'employment', kind: 'one-hot', categories: ['salaried', 'retired', 'unemployed'] },
    ],
  } as unknown as DatasetManifest;
  const raw: LabelledSet = {
    featureShape: [4],
    classes: ['no', 'yes'],
    features: new Float32Array(4),
    labels: new Int32Array(1),
  };
  assert.equal(sliceKeys(manifest, raw, 'employment')(0), '(missing)');
  assert.throws(
    () => sliceKeys(manifest, raw, 'employmnt'),
    (error: Error & { type?: string; details?: unknown }) => {
      assert.equal(error.type, 'FineflowInvalidInput');
      assert.match(
        error.message,
        /cannot slice by employmnt \(did you mean `employment`\?\); slices available for this dataset: label, employment/,
      );
      assert.match(error.message, /Fix `slices` in the evaluate stage and submit the pipeline again/);
      return true;
    },
  );
});
