/**
 * Percentile bootstrap confidence intervals for evaluation metrics: resample the evaluated
 * examples with replacement, recompute each metric, and take the central quantiles. Paired
 * intervals (candidate − baseline on the same resampled examples) say whether a difference
 * between two models is larger than the test set's noise. Pure and seeded, so reports reproduce.
 */
import { mulberry32 } from '../random';

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export interface BootstrapOptions {
  /** Resamples; 0 disables intervals. Default 1000. */
  readonly resamples?: number;
  /** Central coverage, e.g. 0.95. */
  readonly confidence?: number;
  readonly seed?: number;
}

/** The headline metrics that get an interval (names as `metricValue` takes them). */
export const INTERVAL_METRICS = [
  'accuracy',
  'f1Macro',
  'precisionMacro',
  'recallMacro',
  'rocAucMacro',
  'expectedCalibrationError',
  'logLoss',
] as const;

/** Linear-interpolated quantile of sorted values (q in [0, 1]). */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const lower = sorted[below] ?? Number.NaN;
  return lower + ((sorted[above] ?? lower) - lower) * (position - below);
}

/** The central `confidence` interval of samples; undefined when fewer than half the resamples defined it. */
export function percentileInterval(
  samples: readonly number[],
  resamples: number,
  confidence: number,
): Interval | undefined {
  if (samples.length === 0 || samples.length < resamples / 2) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return { low: quantileOfSorted(sorted, tail), high: quantileOfSorted(sorted, 1 - tail) };
}

/**
 * Runs `statistics` on `resamples` index sets drawn with replacement from 0..count-1 and returns a
 * percentile interval per statistic name. Undefined statistics (e.g. ROC-AUC of a resample with one
 * class) are skipped.
 */
export function bootstrapStatistics(
  count: number,
  statistics: (indices: Int32Array) => Readonly<Record<string, number | undefined>>,
  options: BootstrapOptions = {},
): Record<string, Interval> {
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (resamples <= 0 || count === 0) return {};
  const random = mulberry32(options.seed ?? 0);
  const samples = new Map<string, number[]>();
  const indices = new Int32Array(count);
  for (let r = 0; r < resamples; r += 1) {
    for (let i = 0; i < count; i += 1) indices[i] = Math.floor(random() * count);
    for (const [name, value] of Object.entries(statistics(indices))) {
      if (value === undefined || Number.isNaN(value)) continue;
      const list = samples.get(name) ?? [];
      list.push(value);
      samples.set(name, list);
    }
  }
  const intervals: Record<string, Interval> = {};
  for (const [name, values] of samples) {
    const interval = percentileInterval(values, resamples, confidence);
    if (interval) intervals[name] = interval;
  }
  return intervals;
}

/**
 * What one pass over the evaluated examples precomputes so that each resample costs O(n·k) instead
 * of k sorts: predicted class, confidence and log-loss term per example, and per class the example
 * order by score (ties grouped) for the rank AUC.
 */
export interface PreparedExamples {
  readonly count: number;
  readonly classes: number;
  readonly labels: Int32Array;
  readonly predicted: Int32Array;
  readonly confidence: Float64Array;
  readonly logLoss: Float64Array;
  /** Per class: example indices by ascending score, and where each tie group starts. */
  readonly orders: readonly { readonly order: Int32Array; readonly groupStart: Uint8Array }[];
}

export function prepareExamples(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): PreparedExamples {
  const count = labels.length;
  const predicted = new Int32Array(count);
  const confidence = new Float64Array(count);
  const logLoss = new Float64Array(count);
  const labelArray = Int32Array.from({ length: count }, (_, i) => labels[i] ?? 0);
  for (let i = 0; i < count; i += 1) {
    let best = 0;
    for (let c = 1; c < classes; c += 1)
      if ((probabilities[i * classes + c] ?? 0) > (probabilities[i * classes + best] ?? 0)) best = c;
    predicted[i] = best;
    confidence[i] = probabilities[i * classes + best] ?? 0;
    logLoss[i] = -Math.log(Math.max(1e-7, probabilities[i * classes + (labelArray[i] ?? 0)] ?? 0));
  }
  const orders = Array.from({ length: classes }, (_, c) => {
    const order = Int32Array.from({ length: count }, (_, i) => i).sort(
      (a, b) => (probabilities[a * classes + c] ?? 0) - (probabilities[b * classes + c] ?? 0),
    );
    const groupStart = new Uint8Array(count);
    for (let j = 0; j < count; j += 1)
      groupStart[j] =
        j === 0 || probabilities[(order[j] ?? 0) * classes + c] !== probabilities[(order[j - 1] ?? 0) * classes + c]
          ? 1
          : 0;
    return { order, groupStart };
  });
  return { count, classes, labels: labelArray, predicted, confidence, logLoss, orders };
}

/** Mann-Whitney AUC of class c with each example counted `weights[i]` times (ties count half). */
function weightedAuc(prepared: PreparedExamples, c: number, weights: Int32Array): number | undefined {
  const { order, groupStart } = prepared.orders[c] as PreparedExamples['orders'][number];
  let negativesBelow = 0;
  let sum = 0;
  let [positives, negatives] = [0, 0];
  let j = 0;
  while (j < order.length) {
    let [groupPositives, groupNegatives] = [0, 0];
    do {
      const i = order[j] ?? 0;
      const w = weights[i] ?? 0;
      if (prepared.labels[i] === c) groupPositives += w;
      else groupNegatives += w;
      j += 1;
    } while (j < order.length && groupStart[j] === 0);
    sum += groupPositives * (negativesBelow + groupNegatives / 2);
    negativesBelow += groupNegatives;
    positives += groupPositives;
    negatives += groupNegatives;
  }
  return positives === 0 || negatives === 0 ? undefined : sum / (positives * negatives);
}

/**
 * The INTERVAL_METRICS of a resample given as multiplicities (`weights[i]` copies of example i):
 * equal to classificationMetrics of the expanded resample (tested), computed without expanding it.
 */
export function weightedMetrics(prepared: PreparedExamples, weights: Int32Array): Record<string, number | undefined> {
  const k = prepared.classes;
  const bins = 15;
  const truePositive = new Float64Array(k);
  const predictedCount = new Float64Array(k);
  const actualCount = new Float64Array(k);
  const binCount = new Float64Array(bins);
  const binConfidence = new Float64Array(bins);
  const binCorrect = new Float64Array(bins);
  let [total, correct, logLoss] = [0, 0, 0];
  for (let i = 0; i < prepared.count; i += 1) {
    const w = weights[i] ?? 0;
    if (w === 0) continue;
    const [p, a] = [prepared.predicted[i] ?? 0, prepared.labels[i] ?? 0];
    const confidence = prepared.confidence[i] ?? 0;
    const bin = Math.min(bins - 1, Math.floor(confidence * bins));
    total += w;
    predictedCount[p] = (predictedCount[p] ?? 0) + w;
    actualCount[a] = (actualCount[a] ?? 0) + w;
    binCount[bin] = (binCount[bin] ?? 0) + w;
    binConfidence[bin] = (binConfidence[bin] ?? 0) + w * confidence;
    logLoss += w * (prepared.logLoss[i] ?? 0);
    if (p === a) {
      truePositive[a] = (truePositive[a] ?? 0) + w;
      binCorrect[bin] = (binCorrect[bin] ?? 0) + w;
      correct += w;
    }
  }
  let [precision, recall, f1] = [0, 0, 0];
  const aucs: number[] = [];
  for (let c = 0; c < k; c += 1) {
    const pc = (predictedCount[c] ?? 0) > 0 ? (truePositive[c] ?? 0) / (predictedCount[c] ?? 1) : 0;
    const rc = (actualCount[c] ?? 0) > 0 ? (truePositive[c] ?? 0) / (actualCount[c] ?? 1) : 0;
    precision += pc;
    recall += rc;
    f1 += pc + rc > 0 ? (2 * pc * rc) / (pc + rc) : 0;
    const auc = weightedAuc(prepared, c, weights);
    if (auc !== undefined) aucs.push(auc);
  }
  let ece = 0;
  for (let b = 0; b < bins; b += 1) {
    const n = binCount[b] ?? 0;
    if (n > 0) ece += (n / total) * Math.abs((binCorrect[b] ?? 0) / n - (binConfidence[b] ?? 0) / n);
  }
  return {
    accuracy: total > 0 ? correct / total : 0,
    precisionMacro: precision / k,
    recallMacro: recall / k,
    f1Macro: f1 / k,
    rocAucMacro: aucs.length > 0 ? aucs.reduce((x, y) => x + y, 0) / aucs.length : undefined,
    expectedCalibrationError: ece,
    logLoss: total > 0 ? logLoss / total : 0,
  };
}

/** Multiplicities of a resample: how often each example was drawn. */
function multiplicities(indices: Int32Array, count: number): Int32Array {
  const weights = new Int32Array(count);
  for (const i of indices) weights[i] = (weights[i] ?? 0) + 1;
  return weights;
}

/** An interval for every metric of INTERVAL_METRICS over the evaluated examples. */
export function metricIntervals(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: readonly string[],
  options: BootstrapOptions = {},
): Record<string, Interval> {
  const prepared = prepareExamples(probabilities, labels, classes.length);
  return bootstrapStatistics(
    labels.length,
    (indices) => weightedMetrics(prepared, multiplicities(indices, labels.length)),
    options,
  );
}

/** The metrics `differenceIntervals` computes: the ones a confusion matrix gives, so each resample is O(n). */
export const DIFFERENCE_METRICS = ['accuracy', 'f1Macro', 'precisionMacro', 'recallMacro'] as const;

function predictedClasses(probabilities: ArrayLike<number>, count: number, classes: number): Int32Array {
  const predicted = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    let best = 0;
    for (let c = 1; c < classes; c += 1)
      if ((probabilities[i * classes + c] ?? 0) > (probabilities[i * classes + best] ?? 0)) best = c;
    predicted[i] = best;
  }
  return predicted;
}

/** Accuracy and macro precision/recall/F1 of predicted classes over the resampled indices. */
export function confusionStatistics(
  predicted: Int32Array,
  labels: ArrayLike<number>,
  classes: number,
  indices: Int32Array,
): Record<(typeof DIFFERENCE_METRICS)[number], number> {
  const truePositive = new Float64Array(classes);
  const predictedCount = new Float64Array(classes);
  const actualCount = new Float64Array(classes);
  let correct = 0;
  for (const i of indices) {
    const [p, a] = [predicted[i] ?? 0, labels[i] ?? 0];
    predictedCount[p] = (predictedCount[p] ?? 0) + 1;
    actualCount[a] = (actualCount[a] ?? 0) + 1;
    if (p === a) {
      truePositive[a] = (truePositive[a] ?? 0) + 1;
      correct += 1;
    }
  }
  let [precision, recall, f1] = [0, 0, 0];
  for (let c = 0; c < classes; c += 1) {
    const pc = (predictedCount[c] ?? 0) > 0 ? (truePositive[c] ?? 0) / (predictedCount[c] ?? 1) : 0;
    const rc = (actualCount[c] ?? 0) > 0 ? (truePositive[c] ?? 0) / (actualCount[c] ?? 1) : 0;
    precision += pc;
    recall += rc;
    f1 += pc + rc > 0 ? (2 * pc * rc) / (pc + rc) : 0;
  }
  return {
    accuracy: indices.length > 0 ? correct / indices.length : 0,
    precisionMacro: precision / classes,
    recallMacro: recall / classes,
    f1Macro: f1 / classes,
  };
}

/**
 * Paired intervals of candidate − baseline for accuracy and macro precision/recall/F1, both scored on
 * the same resampled examples: an interval above 0 says the candidate is better beyond the test set's noise.
 */
export function differenceIntervals(
  candidate: ArrayLike<number>,
  baseline: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  options: BootstrapOptions = {},
): Record<string, Interval> {
  const a = predictedClasses(candidate, labels.length, classes);
  const b = predictedClasses(baseline, labels.length, classes);
  return bootstrapStatistics(
    labels.length,
    (indices) => {
      const ma = confusionStatistics(a, labels, classes, indices);
      const mb = confusionStatistics(b, labels, classes, indices);
      return Object.fromEntries(DIFFERENCE_METRICS.map((name) => [name, ma[name] - mb[name]]));
    },
    options,
  );
}
