/**
 * Multivariate TPE (Falkner et al. 2018; Optuna's `TPESampler(multivariate=True)`): l(x) and g(x)
 * are mixtures with one kernel per good (bad) trial over *all* parameters at once — a product of
 * one truncated normal per numeric parameter and one smoothed category row per categorical one —
 * plus a prior kernel. A candidate is drawn whole from one kernel of l, so values that worked
 * together are proposed together (a learning rate with the batch size it suited), where the
 * univariate estimator (./tpe.ts) recombines each parameter independently.
 *
 * Bandwidth of every numeric kernel: Scott's rule as Optuna applies it,
 * 0.2 · n^(−1/(d+4)) · (high − low), n observations and d parameters, never below Optuna's
 * "magic clip" range / min(100, n + 2). The best of `nEiCandidates` draws by log l(x) − log g(x)
 * is suggested. Pure: workflow code imports it.
 */
import type { JsonValue } from '../spec/plan-types';
import {
  categoricalEstimator,
  kernelLogDensity,
  kernelLogMass,
  numericEstimator,
  numericTransform,
  sampleNumericKernel,
  type CategoricalEstimator,
  type NumericEstimator,
  type NumericTransform,
} from './parzen-estimators';
import { logSumExp } from './normal-math';
import type { RandomSource } from './random-source';
import type { ParameterDomain, ParameterValues, SearchSpace } from './space';

/** Optuna's SIGMA0_MAGNITUDE. */
const SIGMA0 = 0.2;

type Dimension =
  | { readonly name: string; readonly kind: 'fixed'; readonly value: JsonValue }
  | {
      readonly name: string;
      readonly kind: 'numeric';
      readonly transform: NumericTransform;
      readonly estimator: NumericEstimator;
      readonly integerHalfStep?: number;
    }
  | {
      readonly name: string;
      readonly kind: 'categorical';
      readonly values: readonly JsonValue[];
      readonly estimator: CategoricalEstimator;
    };

/** A joint Parzen mixture: kernel k is the product of every dimension's kernel k. */
export interface JointEstimator {
  readonly weights: readonly number[];
  readonly dimensions: readonly Dimension[];
}

interface Observed {
  readonly params: ParameterValues;
}

/** The joint estimator of `observations` over `space`. */
export function jointEstimator(
  space: SearchSpace,
  observations: readonly Observed[],
  priorWeight: number,
): JointEstimator {
  const tunable = space.parameters.filter(({ domain }) => domain.kind !== 'fixed').length;
  const n = observations.length;
  let weights: readonly number[] = [1];
  const dimensions = space.parameters.map(({ name, domain }): Dimension => {
    const observed = observations.map((trial) => trial.params[name] ?? null);
    if (domain.kind === 'fixed') return { name, kind: 'fixed', value: domain.value };
    if (domain.kind === 'choice') {
      const indexOf = (value: JsonValue): number =>
        domain.values.findIndex((choice) => JSON.stringify(choice) === JSON.stringify(value));
      // An observation outside the choices (a changed space) keeps its kernel slot with the prior row.
      const estimator = alignedCategorical(observed.map(indexOf), domain.values.length, priorWeight);
      weights = estimator.weights;
      return { name, kind: 'categorical', values: domain.values, estimator };
    }
    const transform = numericTransform(domain);
    const internal = observed.map((value) => transform.forward(typeof value === 'number' ? value : NaN));
    // A missing value (a changed space) sits at the centre, where the prior kernel is.
    const centred = internal.map((value) => (Number.isFinite(value) ? value : 0.5 * (transform.low + transform.high)));
    const bandwidth = SIGMA0 * Math.max(n, 1) ** (-1 / (tunable + 4)) * (transform.high - transform.low);
    const estimator = numericEstimator(centred, transform.low, transform.high, priorWeight, bandwidth);
    weights = estimator.weights;
    return { name, kind: 'numeric', transform, estimator, ...integerStep(domain) };
  });
  return { weights, dimensions };
}

function integerStep(domain: ParameterDomain): { integerHalfStep?: number } {
  return domain.kind === 'int' ? { integerHalfStep: domain.step / 2 } : {};
}

/** Like categoricalEstimator, but every observation keeps its kernel (index −1 gets the prior row). */
function alignedCategorical(observed: readonly number[], choices: number, priorWeight: number): CategoricalEstimator {
  const valid = categoricalEstimator(
    observed.map((index) => Math.max(index, 0)),
    choices,
    priorWeight,
  );
  if (observed.every((index) => index >= 0)) return valid;
  const prior = valid.rows[valid.rows.length - 1] as readonly number[];
  return { weights: valid.weights, rows: valid.rows.map((row, k) => ((observed[k] ?? 0) < 0 ? prior : row)) };
}

/** One draw from the mixture: pick a kernel, then every dimension from that kernel. */
export function sampleJoint(estimator: JointEstimator, random: RandomSource): ParameterValues {
  const k = random.weightedIndex(estimator.weights);
  const values: Record<string, JsonValue> = {};
  for (const dimension of estimator.dimensions) {
    if (dimension.kind === 'fixed') values[dimension.name] = dimension.value;
    else if (dimension.kind === 'categorical')
      values[dimension.name] =
        dimension.values[random.weightedIndex(dimension.estimator.rows[k] as readonly number[])] ?? null;
    else values[dimension.name] = dimension.transform.snap(sampleNumericKernel(dimension.estimator, k, random));
  }
  return values;
}

/** log l(x): log Σ_k w_k Π_d p_kd(x_d), with integer parameters as cell masses. */
export function jointLogDensity(estimator: JointEstimator, values: ParameterValues): number {
  return logSumExp(
    estimator.weights.map((weight, k) => {
      let total = Math.log(weight);
      for (const dimension of estimator.dimensions) total += dimensionLogDensity(dimension, k, values[dimension.name]);
      return total;
    }),
  );
}

function dimensionLogDensity(dimension: Dimension, k: number, value: JsonValue | undefined): number {
  switch (dimension.kind) {
    case 'fixed':
      return 0;
    case 'categorical': {
      const index = dimension.values.findIndex((choice) => JSON.stringify(choice) === JSON.stringify(value));
      return Math.log(Math.max((dimension.estimator.rows[k] as readonly number[])[index] ?? 0, 1e-300));
    }
    case 'numeric': {
      const x = typeof value === 'number' ? value : NaN;
      const { transform, estimator, integerHalfStep } = dimension;
      if (integerHalfStep === undefined) return kernelLogDensity(estimator, k, transform.forward(x));
      return kernelLogMass(
        estimator,
        k,
        transform.forward(x - integerHalfStep),
        transform.forward(x + integerHalfStep),
      );
    }
  }
}

/** The candidate, among `candidates` draws from l, with the largest log l(x) − log g(x). */
export function suggestJointly(
  space: SearchSpace,
  below: readonly Observed[],
  above: readonly Observed[],
  options: { readonly nEiCandidates: number; readonly priorWeight: number },
  random: RandomSource,
): ParameterValues {
  const good = jointEstimator(space, below, options.priorWeight);
  const bad = jointEstimator(space, above, options.priorWeight);
  let best: ParameterValues | undefined;
  let bestScore = -Infinity;
  for (let i = 0; i < options.nEiCandidates; i++) {
    const candidate = sampleJoint(good, random);
    const score = jointLogDensity(good, candidate) - jointLogDensity(bad, candidate);
    if (best === undefined || score > bestScore) [best, bestScore] = [candidate, score];
  }
  return best ?? sampleJoint(good, random);
}
