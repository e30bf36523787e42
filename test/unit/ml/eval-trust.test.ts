import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import {
  bootstrapStatistics,
  differenceIntervals,
  metricIntervals,
  prepareExamples,
  quantileOfSorted,
  weightedMetrics,
} from '../../../src/ml/eval/bootstrap';
import {
  logisticRegressionProbabilities,
  majorityClassProbabilities,
  trainLogisticRegression,
} from '../../../src/ml/eval/classic-baselines';
import { classCurves, precisionRecallCurve, reliabilityBins, rocCurve } from '../../../src/ml/eval/curves';
import { relativeHref } from '../../../src/ml/eval/evaluate';
import { applyGate, classificationMetrics, rocAuc } from '../../../src/ml/eval/metrics';
import { misclassifiedExamples } from '../../../src/ml/eval/misclassified';
import { colouredEpochMarkers, renderReportHtml } from '../../../src/ml/eval/report';
import { mulberry32 } from '../../../src/ml/random';
import type { EpochMetrics } from '../../../src/ml/train/types';

/** n examples of k classes; the model is right with probability `skill`, confident `confidence`. */
function simulated(n: number, k: number, skill: number, seed: number, confidence = 0.7) {
  const random = mulberry32(seed);
  const labels = new Int32Array(n);
  const probabilities = new Float32Array(n * k);
  for (let i = 0; i < n; i += 1) {
    labels[i] = Math.floor(random() * k);
    const predicted = random() < skill ? (labels[i] ?? 0) : ((labels[i] ?? 0) + 1) % k;
    for (let c = 0; c < k; c += 1) probabilities[i * k + c] = c === predicted ? confidence : (1 - confidence) / (k - 1);
  }
  return { labels, probabilities };
}

describe('bootstrap intervals', () => {
  it('interpolates quantiles', () => {
    assert.equal(quantileOfSorted([0, 10], 0.25), 2.5);
    assert.equal(quantileOfSorted([1, 2, 3], 0.5), 2);
    assert.ok(Number.isNaN(quantileOfSorted([], 0.5)));
  });

  it('brackets the point estimate, narrows with more examples, and reproduces for a seed', () => {
    const classes = ['a', 'b', 'c'];
    const small = simulated(60, 3, 0.8, 1);
    const large = simulated(2000, 3, 0.8, 2);
    const accuracy = classificationMetrics(small.probabilities, small.labels, classes).accuracy;
    const a = metricIntervals(small.probabilities, small.labels, classes, { resamples: 300, seed: 3 });
    const b = metricIntervals(large.probabilities, large.labels, classes, { resamples: 300, seed: 3 });
    assert.ok(a.accuracy && a.accuracy.low <= accuracy && accuracy <= a.accuracy.high, JSON.stringify(a.accuracy));
    assert.ok(a.rocAucMacro && a.logLoss && a.expectedCalibrationError && a.f1Macro);
    const width = (i: { low: number; high: number } | undefined): number => (i ? i.high - i.low : NaN);
    assert.ok(width(b.accuracy) < width(a.accuracy) / 3, `${width(b.accuracy)} vs ${width(a.accuracy)}`);
    // For n = 2000 and p = 0.8, the normal approximation gives a 95% half-width of 0.0175.
    assert.ok(Math.abs(width(b.accuracy) / 2 - 0.0175) < 0.004, `half-width ${width(b.accuracy) / 2}`);
    assert.deepEqual(metricIntervals(small.probabilities, small.labels, classes, { resamples: 300, seed: 3 }), a);
    assert.deepEqual(metricIntervals(small.probabilities, small.labels, classes, { resamples: 0 }), {});
  });

  it('scores a resample by multiplicities exactly as the expanded resample', () => {
    const classes = ['a', 'b', 'c'];
    const { probabilities, labels } = simulated(40, 3, 0.6, 12);
    // Ties in scores: round to one decimal so the rank AUC has tie groups.
    const rounded = probabilities.map((p) => Math.round(p * 10) / 10);
    const random = mulberry32(13);
    const weights = Int32Array.from({ length: 40 }, () => Math.floor(random() * 3));
    const expandedProbabilities: number[] = [];
    const expandedLabels: number[] = [];
    weights.forEach((w, i) => {
      for (let r = 0; r < w; r += 1) {
        expandedProbabilities.push(...rounded.subarray(i * 3, i * 3 + 3));
        expandedLabels.push(labels[i] ?? 0);
      }
    });
    const expected = classificationMetrics(expandedProbabilities, expandedLabels, classes);
    const actual = weightedMetrics(prepareExamples(rounded, labels, 3), weights);
    for (const name of ['accuracy', 'f1Macro', 'precisionMacro', 'recallMacro', 'rocAucMacro', 'logLoss'] as const)
      assert.ok(
        Math.abs((actual[name] ?? NaN) - (expected[name] ?? NaN)) < 1e-9,
        `${name}: ${actual[name]} vs ${expected[name]}`,
      );
    assert.ok(Math.abs((actual.expectedCalibrationError ?? NaN) - expected.expectedCalibrationError) < 1e-6);
  });

  it('leaves out a statistic that most resamples cannot define', () => {
    const intervals = bootstrapStatistics(10, (indices) => ({ defined: indices[0] ?? 0, never: undefined }), {
      resamples: 50,
    });
    assert.ok(intervals.defined);
    assert.equal(intervals.never, undefined);
  });

  it('pairs differences: a better model has an interval above 0, a copy has [0, 0]', () => {
    const good = simulated(400, 2, 0.9, 4);
    const bad = new Float32Array(good.probabilities.length);
    const random = mulberry32(9);
    for (let i = 0; i < good.labels.length; i += 1) {
      const predicted = random() < 0.6 ? (good.labels[i] ?? 0) : 1 - (good.labels[i] ?? 0);
      bad[i * 2 + predicted] = 0.7;
      bad[i * 2 + 1 - predicted] = 0.3;
    }
    const better = differenceIntervals(good.probabilities, bad, good.labels, 2, { resamples: 300 });
    assert.ok((better.accuracy?.low ?? 0) > 0.2, JSON.stringify(better.accuracy));
    const same = differenceIntervals(good.probabilities, good.probabilities, good.labels, 2, { resamples: 50 });
    assert.deepEqual(same.accuracy, { low: 0, high: 0 });
  });
});

describe('curves', () => {
  it('ROC area equals the rank AUC; PR of a perfect ranking has AP 1', () => {
    const scores = [0.1, 0.4, 0.35, 0.8, 0.8, 0.2];
    const positives = [false, false, true, true, false, true];
    const roc = rocCurve(scores, positives);
    assert.ok(roc);
    assert.ok(Math.abs(roc.area - (rocAuc(scores, positives) ?? NaN)) < 1e-12);
    assert.deepEqual(roc.points[0], [0, 0]);
    assert.deepEqual(roc.points[roc.points.length - 1], [1, 1]);
    assert.equal(precisionRecallCurve([0.9, 0.8, 0.1], [true, true, false])?.area, 1);
    assert.equal(rocCurve([0.1], [true]), undefined);
  });

  it('bins confidence for the reliability diagram and draws one curve for two classes', () => {
    const { probabilities, labels } = simulated(100, 2, 0.75, 5, 0.95);
    const bins = reliabilityBins(probabilities, labels, 2);
    assert.equal(bins.length, 1);
    assert.equal(bins[0]?.count, 100);
    assert.ok(Math.abs((bins[0]?.confidence ?? 0) - 0.95) < 1e-6);
    const curves = classCurves(probabilities, labels, ['no', 'yes']);
    assert.deepEqual(
      curves.roc.map((c) => c.name),
      ['yes'],
    );
    assert.equal(
      classCurves(simulated(50, 4, 0.5, 6).probabilities, simulated(50, 4, 0.5, 6).labels, ['a', 'b', 'c', 'd']).pr
        .length,
      4,
    );
  });
});

describe('classic baselines', () => {
  it('majority predicts the training prior', () => {
    const prior = majorityClassProbabilities(
      { features: new Float32Array(4), labels: [0, 1, 1, 1], featureLength: 1, classes: 2 },
      2,
    );
    assert.deepEqual([...prior], [0.25, 0.75, 0.25, 0.75]);
  });

  it('logistic regression learns a linear boundary and ignores a constant feature', () => {
    const random = mulberry32(11);
    const make = (n: number) => {
      const features = new Float32Array(n * 3);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i += 1) {
        const [x, y] = [random() * 10 - 5, random() * 100];
        features.set([x, y, 7], i * 3);
        labels[i] = x + y / 50 > 1 ? 1 : 0;
      }
      return { features, labels };
    };
    const train = make(400);
    const test = make(200);
    const model = trainLogisticRegression({ ...train, featureLength: 3, classes: 2 }, { seed: 1 });
    const accuracy = classificationMetrics(logisticRegressionProbabilities(model, test.features), test.labels, [
      'a',
      'b',
    ]).accuracy;
    assert.ok(accuracy > 0.95, `accuracy ${accuracy}`);
    assert.equal(model.scale[2], 0);
    const again = trainLogisticRegression({ ...train, featureLength: 3, classes: 2 }, { seed: 1 });
    assert.deepEqual([...again.weights], [...model.weights]);
  });

  it('stays within its work budget', () => {
    const model = trainLogisticRegression(
      { features: new Float32Array(1000 * 100), labels: new Int32Array(1000), featureLength: 100, classes: 10 },
      { budget: 2e7 },
    );
    assert.equal(model.epochs, 10);
  });
});

describe('gate beat', () => {
  const probabilities = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4];
  const candidate = classificationMetrics(probabilities, [0, 1, 1], ['a', 'b']);
  const weak = classificationMetrics([0.6, 0.4, 0.6, 0.4, 0.6, 0.4], [0, 1, 1], ['a', 'b']);
  it('requires beating each named baseline and fails on one that was not evaluated', () => {
    assert.equal(applyGate({ metric: 'accuracy', beat: ['majority'] }, candidate, {}, { majority: weak }).passed, true);
    const missing = applyGate({ metric: 'accuracy', beat: ['logistic-regression'] }, candidate, {}, { majority: weak });
    assert.equal(missing.passed, false);
    assert.match(missing.reasons[0] ?? '', /logistic-regression was not evaluated \(evaluated: majority\)/);
    const margin = applyGate(
      { metric: 'accuracy', beat: ['majority'], minImprovement: 0.5 },
      candidate,
      {},
      { majority: weak },
    );
    assert.equal(margin.passed, false);
  });
});

describe('misclassified examples', () => {
  it('orders by confidence, thumbnails images and maps table columns', () => {
    const probabilities = [0.6, 0.4, 0.1, 0.9, 0.3, 0.7];
    const labels = [1, 1, 0];
    const image = new Float32Array(3 * 4 * 4 * 1).fill(0.5);
    const examples = misclassifiedExamples(
      probabilities,
      labels,
      ['a', 'b'],
      { features: image, featureShape: [4, 4, 1] },
      5,
    );
    assert.deepEqual(
      examples.map((e) => [e.index, e.actual, e.predicted]),
      [
        [2, 'a', 'b'],
        [0, 'b', 'a'],
      ],
    );
    const png = PNG.sync.read(Buffer.from((examples[0]?.thumbnail ?? '').split(',')[1] ?? '', 'base64'));
    assert.deepEqual([png.width, png.height, png.data[0]], [4, 4, 128]);
    const big = misclassifiedExamples(
      [0, 1],
      [0],
      ['a', 'b'],
      { features: new Float32Array(200 * 100 * 3), featureShape: [200, 100, 3] },
      1,
    );
    const bigPng = PNG.sync.read(Buffer.from((big[0]?.thumbnail ?? '').split(',')[1] ?? '', 'base64'));
    assert.deepEqual([bigPng.width, bigPng.height], [25, 50]);
    const table = misclassifiedExamples(
      [0.2, 0.8],
      [0],
      ['a', 'b'],
      {
        features: new Float32Array([3.5, 0, 1]),
        featureShape: [3],
        columns: [
          { name: 'size', kind: 'numeric' },
          { name: 'line', kind: 'one-hot', categories: ['A', 'B'] },
        ],
      },
      3,
    );
    assert.deepEqual(table[0]?.values, { size: 3.5, line: 'B' });
  });
});

describe('the trusted report', () => {
  const epoch = (n: number, phase: string, acc: number): EpochMetrics => ({
    epoch: n,
    phase,
    learningRate: 0.01,
    trainLoss: 1 - acc,
    trainAccuracy: acc,
    validationLoss: 1.1 - acc,
    validationAccuracy: acc - 0.05,
    seconds: 1,
    samplesPerSecond: 10,
  });
  it('marks the best epoch and phase boundaries', () => {
    const history = [epoch(1, 'head', 0.5), epoch(2, 'head', 0.6), epoch(3, 'fine-tune', 0.7)];
    assert.deepEqual(
      colouredEpochMarkers(history, 2).map((m) => [m.x, m.label]),
      [
        [2.5, 'phase fine-tune'],
        [2, 'best epoch 2'],
      ],
    );
  });

  it('names pipeline, run and stage, links the data report and shows every section', () => {
    const { probabilities, labels } = simulated(80, 3, 0.7, 8);
    const classes = ['a', 'b', 'c'];
    const metrics = classificationMetrics(probabilities, labels, classes);
    const html = renderReportHtml({
      origin: { pipeline: 'defects', runId: 'run-7', stageId: 'evaluate' },
      dataReport: 's3://b/runs/run-7/prepare/data-report.json',
      dataReportHref: relativeHref(
        's3://b/runs/run-7/evaluate/report/report.html',
        's3://b/runs/run-7/prepare/data-report.json',
      ),
      model: 's3://b/model.json',
      dataset: 's3://b/runs/run-7/prepare/manifest.json',
      split: 'test',
      metrics,
      intervals: metricIntervals(probabilities, labels, classes, { resamples: 100 }),
      bootstrap: { resamples: 100, confidence: 0.95 },
      reliability: reliabilityBins(probabilities, labels, 3),
      curves: classCurves(probabilities, labels, classes),
      misclassified: misclassifiedExamples(
        probabilities,
        labels,
        classes,
        { features: new Float32Array(80 * 4), featureShape: [2, 2, 1] },
        4,
      ),
      bestEpoch: 2,
      history: [epoch(1, 'head', 0.5), epoch(2, 'head', 0.6), epoch(3, 'fine-tune', 0.55)],
      createdAt: '2026-01-01T00:00:00Z',
    });
    assert.match(html, /<title>Evaluation of stage evaluate · pipeline defects · run run-7<\/title>/);
    assert.match(html, /<a href="\.\.\/\.\.\/prepare\/data-report\.json">/);
    assert.match(html, /95% interval/);
    assert.match(html, /reliability diagram/);
    assert.match(html, /ROC \(one-vs-rest\)/);
    assert.match(html, /precision-recall/);
    assert.match(html, /best epoch 2/);
    assert.match(html, /phase fine-tune/);
    assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 4);
    // The learning curves' x axis: whole epochs only.
    const epochTicks = [...html.matchAll(/font-size="10">(\d+(?:\.\d+)?)<\/text>/g)].map((m) => m[1]);
    assert.ok(epochTicks.includes('3'));
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  });
});
