/**
 * Tree-structured Parzen Estimator search, following Optuna's univariate `TPESampler`
 * (Bergstra et al. 2011; Watanabe 2023):
 * 1. the first `nStartupTrials` finished trials are drawn from the prior;
 * 2. finished trials are split into the best `gamma(n) = min(ceil(0.1·n), 25)` ("below", l)
 *    and the rest ("above", g); pruned trials rank after completed ones, deeper first;
 * 3. per parameter, l and g are Parzen mixtures: one truncated-normal kernel per observation
 *    (log space for log parameters, cell masses for integers) plus a wide prior kernel, with
 *    Optuna's bandwidth rule (distance to the farther neighbour, "magic clip" lower bound);
 *    categorical parameters use smoothed counts;
 * 4. `nEiCandidates` values are drawn from l and the one maximising l(x)/g(x) — which
 *    maximises expected improvement — is suggested.
 * Trials still running are counted in g ("constant liar"), so a batch of parallel
 * suggestions spreads out instead of piling onto the same point.
 */
import type { JsonValue } from '../spec/plan-types';
import { logStandardNormalDensity, logSumExp, standardNormalMass } from './normal-math';
import { RandomSource, seedRandomState, type RandomState } from './random-source';
import type { Goal, ObservedStatus, Searcher, SearcherStateBase, SuggestedTrial } from './searcher';
import { clamp, sampleDomain, type ParameterDomain, type ParameterValues, type SearchSpace } from './space';

export interface TpeOptions {
  /** Finished trials drawn from the prior before the model is used. Optuna: 10. */
  readonly nStartupTrials: number;
  /** Candidates drawn from l(x) per parameter. Optuna: 24. */
  readonly nEiCandidates: number;
  /** Weight of the prior kernel relative to one observation. Optuna: 1. */
  readonly priorWeight: number;
  /** Count running trials as bad observations when suggesting (see module comment). */
  readonly constantLiar: boolean;
}

export const DEFAULT_TPE_OPTIONS: TpeOptions = {
  nStartupTrials: 10,
  nEiCandidates: 24,
  priorWeight: 1,
  constantLiar: true,
};

export interface TpeTrial {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly status: 'running' | ObservedStatus;
  readonly value?: number;
  readonly epoch?: number;
}

export interface TpeSearchState extends SearcherStateBase {
  readonly algorithm: 'tpe';
  readonly options: TpeOptions;
  readonly random: RandomState;
  /** Every suggested trial, in id order. */
  readonly trials: readonly TpeTrial[];
}

export function createTpeSearch(
  space: SearchSpace,
  goal: Goal,
  seed: number,
  options: Partial<TpeOptions> = {},
): TpeSearchState {
  return {
    algorithm: 'tpe',
    space,
    goal,
    nextTrialId: 0,
    options: { ...DEFAULT_TPE_OPTIONS, ...options },
    random: seedRandomState(seed),
    trials: [],
  };
}

/** Optuna's default gamma: size of the "good" group for n finished trials. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default kernel weights: flat for the newest 25, linearly decaying for older ones. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const rampLength = n - 25;
  const ramp = Array.from({ length: rampLength }, (_, i) =>
    rampLength === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (rampLength - 1),
  );
  return [...ramp, ...Array.from({ length: 25 }, () => 1)];
}

export const tpeSearch: Searcher<TpeSearchState> = {
  suggest(state, count) {
    const random = new RandomSource(state.random);
    let trials = state.trials;
    const suggested: SuggestedTrial[] = [];
    for (let i = 0; i < count; i++) {
      const trialId = state.nextTrialId + i;
      const params = suggestOne(state, trials, random);
      suggested.push({ trialId, params });
      trials = [...trials, { trialId, params, status: 'running' }];
    }
    return {
      trials: suggested,
      state: { ...state, trials, nextTrialId: state.nextTrialId + count, random: random.snapshot() },
    };
  },
  observe(state, observation) {
    const trials = state.trials.map((trial): TpeTrial => {
      if (trial.trialId !== observation.trialId) return trial;
      const finite = observation.value !== undefined && Number.isFinite(observation.value);
      // A completed trial without a usable value cannot be ranked: treat it as failed.
      const status = observation.status === 'completed' && !finite ? 'failed' : observation.status;
      return {
        trialId: trial.trialId,
        params: trial.params,
        status,
        ...(finite && status !== 'failed' ? { value: observation.value } : {}),
        ...(observation.epoch !== undefined ? { epoch: observation.epoch } : {}),
      };
    });
    return { ...state, trials };
  },
  remaining() {
    return Infinity;
  },
};

function suggestOne(state: TpeSearchState, trials: readonly TpeTrial[], random: RandomSource): ParameterValues {
  const finished = trials.filter((trial) => trial.status === 'completed' || trial.status === 'pruned');
  const values: Record<string, JsonValue> = {};
  if (finished.length < state.options.nStartupTrials) {
    for (const { name, domain } of state.space.parameters) values[name] = sampleDomain(domain, random);
    return values;
  }
  const { below, above } = splitTrials(finished, state.goal);
  if (state.options.constantLiar) above.push(...trials.filter((trial) => trial.status === 'running'));
  const byId = (a: TpeTrial, b: TpeTrial): number => a.trialId - b.trialId;
  below.sort(byId);
  above.sort(byId);
  for (const { name, domain } of state.space.parameters) {
    values[name] = suggestParameter(
      domain,
      below.map((trial) => trial.params[name] ?? null),
      above.map((trial) => trial.params[name] ?? null),
      state.options,
      random,
    );
  }
  return values;
}

/** Best `gamma(n)` trials, then the rest. Completed trials rank first, then pruned ones by depth. */
export function splitTrials(finished: readonly TpeTrial[], goal: Goal): { below: TpeTrial[]; above: TpeTrial[] } {
  const loss = (trial: TpeTrial): number => {
    if (trial.value === undefined) return Infinity;
    return goal === 'maximize' ? -trial.value : trial.value;
  };
  const completed = finished
    .filter((trial) => trial.status === 'completed')
    .sort((a, b) => loss(a) - loss(b) || a.trialId - b.trialId);
  const pruned = finished
    .filter((trial) => trial.status === 'pruned')
    .sort((a, b) => (b.epoch ?? -1) - (a.epoch ?? -1) || compareLoss(loss(a), loss(b)) || a.trialId - b.trialId);
  const ranked = [...completed, ...pruned];
  const nBelow = defaultGamma(ranked.length);
  return { below: ranked.slice(0, nBelow), above: ranked.slice(nBelow) };
}

function compareLoss(a: number, b: number): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function suggestParameter(
  domain: ParameterDomain,
  below: readonly JsonValue[],
  above: readonly JsonValue[],
  options: TpeOptions,
  random: RandomSource,
): JsonValue {
  switch (domain.kind) {
    case 'fixed':
      return domain.value;
    case 'choice': {
      const indexOf = (value: JsonValue): number =>
        domain.values.findIndex((choice) => JSON.stringify(choice) === JSON.stringify(value));
      const good = categoricalEstimator(below.map(indexOf), domain.values.length, options.priorWeight);
      const bad = categoricalEstimator(above.map(indexOf), domain.values.length, options.priorWeight);
      let bestIndex = 0;
      let bestScore = -Infinity;
      for (let i = 0; i < options.nEiCandidates; i++) {
        const candidate = sampleCategorical(good, random);
        const score =
          Math.log(categoricalProbability(good, candidate)) - Math.log(categoricalProbability(bad, candidate));
        if (score > bestScore) [bestIndex, bestScore] = [candidate, score];
      }
      return domain.values[bestIndex] ?? null;
    }
    case 'uniform':
    case 'logUniform':
    case 'int': {
      const numeric = numericTransform(domain);
      const toInternal = (value: JsonValue): number => numeric.forward(typeof value === 'number' ? value : NaN);
      const good = numericEstimator(
        below.map(toInternal).filter(Number.isFinite),
        numeric.low,
        numeric.high,
        options.priorWeight,
      );
      const bad = numericEstimator(
        above.map(toInternal).filter(Number.isFinite),
        numeric.low,
        numeric.high,
        options.priorWeight,
      );
      let best = NaN;
      let bestScore = -Infinity;
      for (let i = 0; i < options.nEiCandidates; i++) {
        const candidate = numeric.snap(sampleNumeric(good, random));
        const score = numeric.logMass(good, candidate) - numeric.logMass(bad, candidate);
        if (score > bestScore || Number.isNaN(best)) [best, bestScore] = [candidate, score];
      }
      return best;
    }
  }
}

/** A numeric domain seen in the space where kernels live: log for log domains, widened by half a step for integers. */
interface NumericTransform {
  readonly low: number;
  readonly high: number;
  forward(value: number): number;
  /** Map a point of the internal space to a valid parameter value. */
  snap(internal: number): number;
  /** log density (continuous) or log probability (integer) of a parameter value under a mixture. */
  logMass(estimator: NumericEstimator, value: number): number;
}

function numericTransform(
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

interface NumericEstimator {
  readonly weights: readonly number[];
  readonly mus: readonly number[];
  readonly sigmas: readonly number[];
  readonly low: number;
  readonly high: number;
}

/** Parzen mixture over [low, high] with Optuna's bandwidths and a prior kernel at the centre. */
function numericEstimator(
  observations: readonly number[],
  low: number,
  high: number,
  priorWeight: number,
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
  const sigmas = observations.map((_, i) => clamp(sigmaOf[i] as number, minSigma, range));
  return {
    weights: weights.map((weight) => weight / total),
    mus: [...observations, priorMu],
    sigmas: [...sigmas, range],
    low,
    high,
  };
}

function sampleNumeric(estimator: NumericEstimator, random: RandomSource): number {
  const k = random.weightedIndex(estimator.weights);
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
  return logSumExp(
    estimator.weights.map((weight, k) => {
      const mu = estimator.mus[k] as number;
      const sigma = estimator.sigmas[k] as number;
      const inside = standardNormalMass((estimator.low - mu) / sigma, (estimator.high - mu) / sigma);
      return Math.log(weight) + logStandardNormalDensity((x - mu) / sigma) - Math.log(sigma) - Math.log(inside);
    }),
  );
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

interface CategoricalEstimator {
  readonly weights: readonly number[];
  /** One probability row per kernel. */
  readonly rows: readonly (readonly number[])[];
}

/** Smoothed counts: each observation is a kernel putting 1 + prior share on its category. */
function categoricalEstimator(observed: readonly number[], choices: number, priorWeight: number): CategoricalEstimator {
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

function sampleCategorical(estimator: CategoricalEstimator, random: RandomSource): number {
  const row = estimator.rows[random.weightedIndex(estimator.weights)] as readonly number[];
  return random.weightedIndex(row);
}

function categoricalProbability(estimator: CategoricalEstimator, index: number): number {
  let p = 0;
  estimator.weights.forEach((weight, k) => (p += weight * ((estimator.rows[k] as readonly number[])[index] ?? 0)));
  return Math.max(p, 1e-300);
}
