/**
 * Tree-structured Parzen Estimator search, following Optuna's univariate `TPESampler`
 * (Bergstra et al. 2011; Watanabe 2023):
 * 1. the first `nStartupTrials` finished trials are drawn from the prior;
 * 2. finished trials are split into the best `min(ceil(gamma·n), 25)` ("below", l) and the rest
 *    ("above", g), gamma = 0.1 unless the sweep sets it (Optuna's default); pruned trials rank
 *    after completed ones, deeper first;
 * 3. per parameter, l and g are Parzen mixtures: one truncated-normal kernel per observation
 *    (log space for log parameters, cell masses for integers) plus a wide prior kernel, with
 *    Optuna's bandwidth rule (distance to the farther neighbour, "magic clip" lower bound);
 *    categorical parameters use smoothed counts;
 * 4. `nEiCandidates` values are drawn from l and the one maximising l(x)/g(x) — which
 *    maximises expected improvement — is suggested.
 * Trials still running are counted in g ("constant liar"), so a batch of parallel
 * suggestions spreads out instead of piling onto the same point.
 * Finished trials of earlier sweeps (`priors`, ./warm-start.ts) are observations like this sweep's finished
 * ones in steps 1 and 2: they count toward the startup trials and are ranked into l and g.
 * With `startupDesign: 'latin-hypercube'` the startup trials are the rows of one Latin hypercube instead of
 * independent draws (see {@link latinHypercubeRow}); an opt-in measured by the sweep benchmark.
 */
import type { JsonValue } from '../spec/plan-types';
import { RandomSource, seedRandomState, type RandomState } from './random-source';
import type { Goal, ObservedStatus, Searcher, SearcherStateBase, SuggestedTrial, TrialObservation } from './searcher';
import {
  categoricalEstimator,
  categoricalProbability,
  numericEstimator,
  numericTransform,
  sampleCategorical,
  sampleNumeric,
} from './parzen-estimators';
import { sampleDomain, sampleDomainAt, type ParameterDomain, type ParameterValues, type SearchSpace } from './space';
import { suggestJointly } from './tpe-multivariate';

export interface TpeOptions {
  /** Finished trials drawn from the prior before the model is used. Optuna: 10. */
  readonly nStartupTrials: number;
  /** Candidates drawn from l(x) per parameter. Optuna: 24. */
  readonly nEiCandidates: number;
  /** Weight of the prior kernel relative to one observation. Optuna: 1. */
  readonly priorWeight: number;
  /** Count running trials as bad observations when suggesting (see module comment). */
  readonly constantLiar: boolean;
  /**
   * Model the parameters jointly (Optuna's `multivariate=True`; ./tpe-multivariate.ts): each good
   * or bad trial is one kernel over all parameters, so values that worked together are proposed
   * together. Absent in states created before it existed (= false).
   */
  readonly multivariate?: boolean;
  /**
   * Share of the finished trials that form the good group l(x) (at most 25 trials). Absent = 0.1,
   * Optuna's default; absent in states created before it existed, which therefore split as before.
   */
  readonly gamma?: number;
  /**
   * How the startup trials are drawn: `random` (independent draws from the prior, Optuna's way) or
   * `latin-hypercube` (the first {@link MAX_DESIGN_ROWS} startup trials are the rows of one Latin hypercube over the
   * space: each parameter's range cut into as many equal slices as there are startup trials, every slice used
   * once). Absent = random, and absent in states created before it existed.
   */
  readonly startupDesign?: StartupDesign;
}

export const STARTUP_DESIGNS = ['random', 'latin-hypercube'] as const;
export type StartupDesign = (typeof STARTUP_DESIGNS)[number];

/** Rows a Latin hypercube startup design has at most; later startup trials are random draws. */
export const MAX_DESIGN_ROWS = 256;

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
  /**
   * Finished trials of earlier sweeps (./warm-start.ts), ids −n … −1: observations like the finished ones in
   * `trials`, never suggested here. Absent when the sweep has none, and in states created before warm start.
   */
  readonly priors?: readonly TpeTrial[];
  /**
   * Seed of the Latin hypercube the startup trials take their values from (`startupDesign: 'latin-hypercube'`);
   * a stream of its own, so the design does not move the draws TPE makes afterwards. Absent otherwise.
   */
  readonly designSeed?: RandomState;
}

export function createTpeSearch(
  space: SearchSpace,
  goal: Goal,
  seed: number,
  options: Partial<TpeOptions> = {},
  priors: readonly TpeTrial[] = [],
): TpeSearchState {
  return {
    algorithm: 'tpe',
    space,
    goal,
    nextTrialId: 0,
    options: { ...DEFAULT_TPE_OPTIONS, ...options },
    random: seedRandomState(seed),
    trials: [],
    // Only present when there are priors, so a sweep without them has exactly the state it had before.
    ...(priors.length > 0 ? { priors } : {}),
    ...(options.startupDesign === 'latin-hypercube' ? { designSeed: designSeedFor(seed) } : {}),
  };
}

/** A generator state for the startup design, unrelated to the stream `seedRandomState(seed)` starts. */
function designSeedFor(seed: number): RandomState {
  const word = new RandomSource(seedRandomState(seed)).nextUint32();
  return seedRandomState((word ^ 0x4c48_5344) >>> 0);
}

/**
 * Row `row` of the Latin hypercube `designSeed` names, with `rows` rows over `space`: per parameter, a random
 * permutation assigns row r the slice [p(r), p(r) + 1) / rows of the unit interval and a uniform draw places it
 * inside that slice; {@link sampleDomainAt} maps it into the domain (log scale for log domains, equal shares of
 * the choices for a categorical). Every row is computed from the seed alone, so a sweep resumed from its state
 * (or replayed) proposes the same rows. O(rows · parameters) per call; rows ≤ {@link MAX_DESIGN_ROWS}.
 */
export function latinHypercubeRow(
  space: SearchSpace,
  designSeed: RandomState,
  rows: number,
  row: number,
): ParameterValues {
  const random = new RandomSource(designSeed);
  const values: Record<string, JsonValue> = {};
  for (const { name, domain } of space.parameters) {
    const slices = Array.from({ length: rows }, (_, i) => i);
    for (let i = rows - 1; i > 0; i--) {
      const j = random.index(i + 1);
      [slices[i], slices[j]] = [slices[j] as number, slices[i] as number];
    }
    const offsets = Array.from({ length: rows }, () => random.uniform());
    values[name] = sampleDomainAt(domain, ((slices[row] as number) + (offsets[row] as number)) / rows);
  }
  return values;
}

export { defaultWeights } from './parzen-estimators';

/** Share of finished trials in the good group when the sweep does not set `gamma` (Optuna's default). */
export const DEFAULT_GAMMA = 0.1;

/** Size of the "good" group for n finished trials: ⌈gamma·n⌉, at most 25 (Optuna's cap). */
export function goodGroupSize(n: number, gamma: number): number {
  return Math.min(Math.ceil(gamma * n), 25);
}

/** Optuna's default gamma: size of the "good" group for n finished trials. */
export function defaultGamma(n: number): number {
  return goodGroupSize(n, DEFAULT_GAMMA);
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
    return { ...state, trials: recordObservation(state.trials, observation) };
  },
  remaining() {
    return Infinity;
  },
};

/** The trials with `observation` applied to its trial (TPE's and the GP searcher's bookkeeping). */
export function recordObservation(trials: readonly TpeTrial[], observation: TrialObservation): TpeTrial[] {
  return trials.map((trial): TpeTrial => {
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
}

function suggestOne(state: TpeSearchState, trials: readonly TpeTrial[], random: RandomSource): ParameterValues {
  const finished = [
    ...(state.priors ?? []),
    ...trials.filter((trial) => trial.status === 'completed' || trial.status === 'pruned'),
  ];
  const values: Record<string, JsonValue> = {};
  if (finished.length < state.options.nStartupTrials) {
    const rows = Math.min(state.options.nStartupTrials, MAX_DESIGN_ROWS);
    // This sweep's k-th trial takes row k; trials past the design (many running at once) are random draws.
    if (state.designSeed !== undefined && trials.length < rows)
      return latinHypercubeRow(state.space, state.designSeed, rows, trials.length);
    for (const { name, domain } of state.space.parameters) values[name] = sampleDomain(domain, random);
    return values;
  }
  const { below, above } = splitTrials(finished, state.goal, state.options.gamma);
  if (state.options.constantLiar) above.push(...trials.filter((trial) => trial.status === 'running'));
  const byId = (a: TpeTrial, b: TpeTrial): number => a.trialId - b.trialId;
  below.sort(byId);
  above.sort(byId);
  if (state.options.multivariate) return suggestJointly(state.space, below, above, state.options, random);
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

/** Best `⌈gamma·n⌉` (≤ 25) trials, then the rest. Completed trials rank first, then pruned ones by depth. */
export function splitTrials(
  finished: readonly TpeTrial[],
  goal: Goal,
  gamma = DEFAULT_GAMMA,
): { below: TpeTrial[]; above: TpeTrial[] } {
  const ranked = rankTrials(finished, goal);
  const nBelow = goodGroupSize(ranked.length, gamma);
  return { below: ranked.slice(0, nBelow), above: ranked.slice(nBelow) };
}

/** Finished trials best first: completed ones by value, then pruned ones by depth, then by value; ties by id. */
export function rankTrials(finished: readonly TpeTrial[], goal: Goal): TpeTrial[] {
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
  return [...completed, ...pruned];
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

/**
 * TPE's own score of trial `trialId`'s configuration: Σ over the parameters of log l(x) − log g(x), with l and g the
 * univariate Parzen estimators {@link suggestParameter} draws from, fit on the finished trials (and warm-start
 * priors) other than this one, so a trial's own result does not vouch for it. Running trials are not counted.
 * Undefined while fewer than `nStartupTrials` such trials exist (the model is not in use yet) or for an unknown id.
 * Promotion-based ASHA's second chance reads it (`promoteByTpeScore`, sweep-state.ts): a configuration the model
 * rates highly may be promoted from below its rung's top by value.
 */
export function tpeScore(state: TpeSearchState, trialId: number): number | undefined {
  const trial = state.trials.find((candidate) => candidate.trialId === trialId);
  if (trial === undefined) return undefined;
  const others = [
    ...(state.priors ?? []),
    ...state.trials.filter(
      (other) => other.trialId !== trialId && (other.status === 'completed' || other.status === 'pruned'),
    ),
  ];
  if (others.length === 0 || others.length < state.options.nStartupTrials) return undefined;
  const { below, above } = splitTrials(others, state.goal, state.options.gamma);
  let score = 0;
  for (const { name, domain } of state.space.parameters) {
    score += parameterLogRatio(
      domain,
      below.map((other) => other.params[name] ?? null),
      above.map((other) => other.params[name] ?? null),
      trial.params[name] ?? null,
      state.options.priorWeight,
    );
  }
  return score;
}

/** log l(value) − log g(value) for one parameter, with the estimators {@link suggestParameter} uses. */
function parameterLogRatio(
  domain: ParameterDomain,
  below: readonly JsonValue[],
  above: readonly JsonValue[],
  value: JsonValue,
  priorWeight: number,
): number {
  switch (domain.kind) {
    case 'fixed':
      return 0;
    case 'choice': {
      const indexOf = (choice: JsonValue): number =>
        domain.values.findIndex((candidate) => JSON.stringify(candidate) === JSON.stringify(choice));
      const index = indexOf(value);
      if (index < 0) return 0;
      const good = categoricalEstimator(below.map(indexOf), domain.values.length, priorWeight);
      const bad = categoricalEstimator(above.map(indexOf), domain.values.length, priorWeight);
      return Math.log(categoricalProbability(good, index)) - Math.log(categoricalProbability(bad, index));
    }
    case 'uniform':
    case 'logUniform':
    case 'int': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 0;
      const numeric = numericTransform(domain);
      const toInternal = (observed: JsonValue): number =>
        numeric.forward(typeof observed === 'number' ? observed : NaN);
      const good = numericEstimator(
        below.map(toInternal).filter(Number.isFinite),
        numeric.low,
        numeric.high,
        priorWeight,
      );
      const bad = numericEstimator(
        above.map(toInternal).filter(Number.isFinite),
        numeric.low,
        numeric.high,
        priorWeight,
      );
      return numeric.logMass(good, value) - numeric.logMass(bad, value);
    }
  }
}
