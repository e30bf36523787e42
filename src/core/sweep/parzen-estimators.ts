/**
 * The Parzen estimators of TPE (./tpe.ts, ./tpe-multivariate.ts): mixtures of one kernel per
 * observed trial plus a wide prior kernel, over numeric parameters (truncated normals, in log space
 * for log domains, integer cells as masses) and categorical ones (smoothed counts), with Optuna's
 * kernel weights and bandwidth rules. Pure and deterministic: workflow code imports it.
 */
import type { ParameterDomain } from './space';
import { clamp } from './space';
import { logStandardNormalDensity, logSumExp, standardNormalMass } from './normal-math';
import type { RandomSource } from './random-source';

/** Optuna's default kernel weights: flat for the newest 25, linearly decaying for older ones. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const rampLength = n - 25;
  const ramp = Array.from({ length: rampLength }, (_, i) =>
    rampLength === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (rampLength - 1),
  );
  return [...ramp, ...Array.from({ length: 25 }, () => 1)];
}

/** A numeric domain seen in the space where kernels live: log for log domains, widened by half a step for integers. */
export interface NumericTransform {
  readonly low: number;
  readonly high: number;
  forward(value: number): number;
  /** Map a point of the internal space to a valid parameter value. */
  snap(internal: number): number;
  /** log density (continuous) or log probability (integer) of a parameter value under a mixture. */
  logMass(estimator: NumericEstimator, value: number): number;
}

export function numericTransform(
  domain: Extract<ParameterDomain, { kind: 'uniform' | 'logUniform' | 'int' }>,
): NumericTransform {
  const log = domain.kind === 'logUniform' || (domain.kind === 'int' && domain.log);
  const forward = (value: number): number => (log ? Math.log(value) : value);
  const backward = (value: number): number => (log ? Math.exp(value) : value);
  if (domain.kind === 'int') {
    const half = domain.step / 2;
    return {
      low: forward(domain.low - half),
      high: forward(domain.high + half),
      forward,
      snap: (internal) =>
        clamp(
          domain.low + Math.round((backward(internal) - domain.low) / domain.step) * domain.step,
          domain.low,
          domain.high,
        ),
      logMass: (estimator, value) => mixtureLogMass(estimator, forward(value - half), forward(value + half)),
    };
  }
  return {
    low: forward(domain.low),
    high: forward(domain.high),
    forward,
    snap: (internal) => clamp(backward(internal), domain.low, domain.high),
    logMass: (estimator, value) => mixtureLogDensity(estimator, forward(value)),
  };
}

export interface NumericEstimator {
  readonly weights: readonly number[];
  readonly mus: readonly number[];
  readonly sigmas: readonly number[];
  readonly low: number;
  readonly high: number;
}

/** Parzen mixture over [low, high] with Optuna's bandwidths and a prior kernel at the centre. */
export function numericEstimator(
  observations: readonly number[],
  low: number,
  high: number,
  priorWeight: number,
  /** One bandwidth for every observation (multivariate TPE); default: Optuna's neighbour rule. */
  bandwidth?: number,
): NumericEstimator {
  const range = high - low;
  const priorMu = 0.5 * (low + high);
  const n = observations.length;
  const weights = n === 0 ? [1] : [...defaultWeights(n), priorWeight];
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  // Bandwidth of each observation: the larger gap to its neighbours among observations, the
  // prior centre and the bounds; the outermost points look only inwards (Optuna's
  // consider_endpoints=False).
  const points = [...observations, priorMu];
  const order = points.map((_, i) => i).sort((a, b) => (points[a] as number) - (points[b] as number) || a - b);
  const sorted = [low, ...order.map((i) => points[i] as number), high];
  const sortedSigmas = order.map((_, k) =>
    Math.max((sorted[k + 1] as number) - (sorted[k] as number), (sorted[k + 2] as number) - (sorted[k + 1] as number)),
  );
  if (sorted.length >= 4) {
    sortedSigmas[0] = (sorted[2] as number) - (sorted[1] as number);
    sortedSigmas[sortedSigmas.length - 1] =
      (sorted[sorted.length - 2] as number) - (sorted[sorted.length - 3] as number);
  }
  const sigmaOf: number[] = new Array<number>(points.length).fill(range);
  order.forEach((pointIndex, k) => (sigmaOf[pointIndex] = sortedSigmas[k] as number));
  // Magic clip: never narrower than range / min(100, n + 2), so a cluster of close points
  // cannot collapse into a spike.
  const minSigma = range / Math.min(100, 1 + (n + 1));
  const sigmas = observations.map((_, i) => clamp(bandwidth ?? (sigmaOf[i] as number), minSigma, range));
  return {
    weights: weights.map((weight) => weight / total),
    mus: [...observations, priorMu],
    sigmas: [...sigmas, range],
    low,
    high,
  };
}

export function sampleNumeric(estimator: NumericEstimator, random: RandomSource): number {
  return sampleNumericKernel(estimator, random.weightedIndex(estimator.weights), random);
}

/** A draw from kernel `k` of the mixture, truncated to its bounds. */
export function sampleNumericKernel(estimator: NumericEstimator, k: number, random: RandomSource): number {
  const mu = estimator.mus[k] as number;
  const sigma = estimator.sigmas[k] as number;
  // Rejection from the untruncated normal: every kernel keeps at least ~16% of its mass
  // inside the bounds (centre inside, sigma ≤ range), so this ends quickly.
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = mu + sigma * random.normal();
    if (x >= estimator.low && x <= estimator.high) return x;
  }
  return random.uniformBetween(estimator.low, estimator.high);
}

function mixtureLogDensity(estimator: NumericEstimator, x: number): number {
  return logSumExp(estimator.weights.map((weight, k) => Math.log(weight) + kernelLogDensity(estimator, k, x)));
}

/** log density at `x` of kernel `k` alone (a normal truncated to the bounds). */
export function kernelLogDensity(estimator: NumericEstimator, k: number, x: number): number {
  const mu = estimator.mus[k] as number;
  const sigma = estimator.sigmas[k] as number;
  const inside = standardNormalMass((estimator.low - mu) / sigma, (estimator.high - mu) / sigma);
  return logStandardNormalDensity((x - mu) / sigma) - Math.log(sigma) - Math.log(inside);
}

/** log of the mass kernel `k` alone puts on [a, b] (an integer's cell). */
export function kernelLogMass(estimator: NumericEstimator, k: number, a: number, b: number): number {
  const mu = estimator.mus[k] as number;
  const sigma = estimator.sigmas[k] as number;
  const inside = standardNormalMass((estimator.low - mu) / sigma, (estimator.high - mu) / sigma);
  return Math.log(Math.max(standardNormalMass((a - mu) / sigma, (b - mu) / sigma) / inside, 1e-300));
}

function mixtureLogMass(estimator: NumericEstimator, a: number, b: number): number {
  let total = 0;
  estimator.weights.forEach((weight, k) => {
    const mu = estimator.mus[k] as number;
    const sigma = estimator.sigmas[k] as number;
    const inside = standardNormalMass((estimator.low - mu) / sigma, (estimator.high - mu) / sigma);
    total += (weight * standardNormalMass((a - mu) / sigma, (b - mu) / sigma)) / inside;
  });
  return Math.log(Math.max(total, 1e-300));
}

export interface CategoricalEstimator {
  readonly weights: readonly number[];
  /** One probability row per kernel. */
  readonly rows: readonly (readonly number[])[];
}

/** Smoothed counts: each observation is a kernel putting 1 + prior share on its category. */
export function categoricalEstimator(
  observed: readonly number[],
  choices: number,
  priorWeight: number,
): CategoricalEstimator {
  const valid = observed.filter((index) => index >= 0);
  if (valid.length === 0) return { weights: [1], rows: [Array.from({ length: choices }, () => 1 / choices)] };
  const kernels = valid.length + 1;
  const rows = [...valid, -1].map((hit) => {
    const row = Array.from({ length: choices }, (_, c) => priorWeight / kernels + (c === hit ? 1 : 0));
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((p) => (sum > 0 ? p / sum : 1 / choices));
  });
  const weights = [...defaultWeights(valid.length), priorWeight];
  const total = weights.reduce((a, b) => a + b, 0);
  return { weights: weights.map((weight) => weight / total), rows };
}

export function sampleCategorical(estimator: CategoricalEstimator, random: RandomSource): number {
  const row = estimator.rows[random.weightedIndex(estimator.weights)] as readonly number[];
  return random.weightedIndex(row);
}

export function categoricalProbability(estimator: CategoricalEstimator, index: number): number {
  let p = 0;
  estimator.weights.forEach((weight, k) => (p += weight * ((estimator.rows[k] as readonly number[])[index] ?? 0)));
  return Math.max(p, 1e-300);
}
