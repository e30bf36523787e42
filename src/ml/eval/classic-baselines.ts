/**
 * Classic baselines a fine-tuned model has to beat to be worth its compute: the majority class
 * (predicts the training split's class frequencies, so its accuracy is the test share of the most
 * common training class and its ROC-AUC is 0.5) and multinomial logistic regression on the same
 * features (standardised per feature on the training split, L2-penalised, mini-batch Adam).
 * Pure TypeScript over Float32Arrays: deterministic for a seed and tested without tfjs.
 */
import { mulberry32, shuffleInPlace } from '../random';

export type ClassicBaselineName = 'majority' | 'logistic-regression';
export const CLASSIC_BASELINES: readonly ClassicBaselineName[] = ['majority', 'logistic-regression'];

export interface TrainingData {
  readonly features: Float32Array;
  readonly labels: ArrayLike<number>;
  readonly featureLength: number;
  readonly classes: number;
}

/** Class probabilities of the majority baseline for `count` examples: the training prior on every row. */
export function majorityClassProbabilities(train: TrainingData, count: number): Float32Array {
  const prior = new Float64Array(train.classes);
  for (let i = 0; i < train.labels.length; i += 1) prior[train.labels[i] ?? 0] = (prior[train.labels[i] ?? 0] ?? 0) + 1;
  const total = Math.max(1, train.labels.length);
  const out = new Float32Array(count * train.classes);
  for (let i = 0; i < count; i += 1)
    for (let c = 0; c < train.classes; c += 1) out[i * train.classes + c] = (prior[c] ?? 0) / total;
  return out;
}

export interface LogisticRegressionOptions {
  /** L2 penalty on the weights (not the biases). Default 1e-3. */
  readonly l2?: number;
  readonly learningRate?: number;
  readonly batchSize?: number;
  /** Upper bound on epochs; the work budget may allow fewer. Default 60. */
  readonly maxEpochs?: number;
  /** Multiply-adds the training may spend (bounds the time on large image sets). Default 2e9. */
  readonly budget?: number;
  readonly seed?: number;
}

export interface LogisticRegressionModel {
  readonly featureLength: number;
  readonly classes: number;
  readonly mean: Float32Array;
  readonly scale: Float32Array;
  /** weights[f * classes + c]. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
  readonly epochs: number;
}

function standardisation(train: TrainingData): { mean: Float32Array; scale: Float32Array } {
  const d = train.featureLength;
  const n = train.labels.length;
  const mean = new Float32Array(d);
  const scale = new Float32Array(d);
  for (let i = 0; i < n; i += 1)
    for (let f = 0; f < d; f += 1) mean[f] = (mean[f] ?? 0) + finite(train.features[i * d + f]);
  for (let f = 0; f < d; f += 1) mean[f] = (mean[f] ?? 0) / Math.max(1, n);
  for (let i = 0; i < n; i += 1)
    for (let f = 0; f < d; f += 1)
      scale[f] = (scale[f] ?? 0) + (finite(train.features[i * d + f]) - (mean[f] ?? 0)) ** 2;
  // A constant feature carries no information: scale 0 keeps it out instead of dividing by zero.
  for (let f = 0; f < d; f += 1) {
    const std = Math.sqrt((scale[f] ?? 0) / Math.max(1, n));
    scale[f] = std > 1e-8 ? 1 / std : 0;
  }
  return { mean, scale };
}

function finite(value: number | undefined): number {
  return value === undefined || !Number.isFinite(value) ? 0 : value;
}

/** Softmax probabilities of one example into `out` (length classes). */
function forward(model: LogisticRegressionModel, x: Float32Array, out: Float64Array): void {
  const { classes: k, featureLength: d } = model;
  for (let c = 0; c < k; c += 1) out[c] = model.bias[c] ?? 0;
  for (let f = 0; f < d; f += 1) {
    const value = x[f] ?? 0;
    if (value === 0) continue;
    const row = f * k;
    for (let c = 0; c < k; c += 1) out[c] = (out[c] ?? 0) + value * (model.weights[row + c] ?? 0);
  }
  let max = -Infinity;
  for (let c = 0; c < k; c += 1) max = Math.max(max, out[c] ?? 0);
  let sum = 0;
  for (let c = 0; c < k; c += 1) {
    out[c] = Math.exp((out[c] ?? 0) - max);
    sum += out[c] ?? 0;
  }
  for (let c = 0; c < k; c += 1) out[c] = (out[c] ?? 0) / sum;
}

function standardised(model: LogisticRegressionModel, features: Float32Array, index: number, into: Float32Array): void {
  const d = model.featureLength;
  for (let f = 0; f < d; f += 1)
    into[f] = (finite(features[index * d + f]) - (model.mean[f] ?? 0)) * (model.scale[f] ?? 0);
}

/** Fits softmax regression by mini-batch Adam on the cross-entropy plus L2. */
export function trainLogisticRegression(
  train: TrainingData,
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const n = train.labels.length;
  const d = train.featureLength;
  const k = train.classes;
  const batchSize = options.batchSize ?? 64;
  const l2 = options.l2 ?? 1e-3;
  const rate = options.learningRate ?? 0.01;
  const perEpoch = Math.max(1, 2 * n * d * k);
  const epochs = Math.max(1, Math.min(options.maxEpochs ?? 60, Math.floor((options.budget ?? 2e9) / perEpoch)));
  const { mean, scale } = standardisation(train);
  const model: LogisticRegressionModel = {
    featureLength: d,
    classes: k,
    mean,
    scale,
    weights: new Float32Array(d * k),
    bias: new Float32Array(k),
    epochs,
  };
  const parameters = [model.weights, model.bias];
  const moments = parameters.map((p) => ({ m: new Float64Array(p.length), v: new Float64Array(p.length) }));
  const gradients = parameters.map((p) => new Float64Array(p.length));
  const order = Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(options.seed ?? 0);
  const x = new Float32Array(d);
  const probabilities = new Float64Array(k);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch += 1) {
    shuffleInPlace(order, random);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      for (const g of gradients) g.fill(0);
      const [gw, gb] = gradients as [Float64Array, Float64Array];
      for (let b = start; b < end; b += 1) {
        const i = order[b] ?? 0;
        standardised(model, train.features, i, x);
        forward(model, x, probabilities);
        probabilities[train.labels[i] ?? 0] = (probabilities[train.labels[i] ?? 0] ?? 0) - 1;
        for (let c = 0; c < k; c += 1) gb[c] = (gb[c] ?? 0) + (probabilities[c] ?? 0);
        for (let f = 0; f < d; f += 1) {
          const value = x[f] ?? 0;
          if (value === 0) continue;
          const row = f * k;
          for (let c = 0; c < k; c += 1) gw[row + c] = (gw[row + c] ?? 0) + value * (probabilities[c] ?? 0);
        }
      }
      const size = end - start;
      for (let j = 0; j < gw.length; j += 1) gw[j] = (gw[j] ?? 0) / size + l2 * (model.weights[j] ?? 0);
      for (let c = 0; c < k; c += 1) gb[c] = (gb[c] ?? 0) / size;
      step += 1;
      adamUpdate(parameters, gradients, moments, rate, step);
    }
  }
  return model;
}

function adamUpdate(
  parameters: readonly Float32Array[],
  gradients: readonly Float64Array[],
  moments: readonly { m: Float64Array; v: Float64Array }[],
  rate: number,
  step: number,
): void {
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const correction1 = 1 - beta1 ** step;
  const correction2 = 1 - beta2 ** step;
  parameters.forEach((parameter, p) => {
    const gradient = gradients[p] as Float64Array;
    const { m, v } = moments[p] as { m: Float64Array; v: Float64Array };
    for (let j = 0; j < parameter.length; j += 1) {
      const g = gradient[j] ?? 0;
      m[j] = beta1 * (m[j] ?? 0) + (1 - beta1) * g;
      v[j] = beta2 * (v[j] ?? 0) + (1 - beta2) * g * g;
      parameter[j] =
        (parameter[j] ?? 0) - (rate * ((m[j] ?? 0) / correction1)) / (Math.sqrt((v[j] ?? 0) / correction2) + epsilon);
    }
  });
}

/** Class probabilities (row-major, count × classes) of a fitted model. */
export function logisticRegressionProbabilities(model: LogisticRegressionModel, features: Float32Array): Float32Array {
  const count = Math.floor(features.length / Math.max(1, model.featureLength));
  const out = new Float32Array(count * model.classes);
  const x = new Float32Array(model.featureLength);
  const row = new Float64Array(model.classes);
  for (let i = 0; i < count; i += 1) {
    standardised(model, features, i, x);
    forward(model, x, row);
    for (let c = 0; c < model.classes; c += 1) out[i * model.classes + c] = row[c] ?? 0;
  }
  return out;
}
