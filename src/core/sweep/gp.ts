/**
 * Gaussian-process Bayesian optimisation: a different model class from TPE for the same sweep
 * controller (same trials, same ASHA). Each suggestion, after `nStartupTrials` finished trials drawn
 * from the prior:
 * 1. targets: the finished trials are ranked as TPE ranks them (completed by value, then stopped ones
 *    deeper first, then by value; ./tpe.ts `rankTrials`), at most `maxObservations` best kept, and rank
 *    r of n becomes the normal score Φ⁻¹(1 − (r + ½)/n) (a Gaussian-copula transform, as HEBO does),
 *    so a trial ASHA stopped early still says "worse than the completed ones" and outliers cannot
 *    dominate the fit;
 * 2. model: a GP with a Matérn-5/2 ARD kernel on the encoded space (./gp-encoding.ts), hyperparameters
 *    fitted by maximising the log marginal likelihood (./gaussian-process.ts) from the default and from
 *    the previous fit, which the state carries (a few numbers);
 * 3. running trials are added at the worst score (a constant liar), so trials suggested while others
 *    run are pushed away from them instead of repeating them;
 * 4. acquisition: log expected improvement over the best posterior mean, maximised over
 *    `nCandidates` draws from the prior plus local perturbations of the best three trials.
 * Deterministic from the seed: every draw comes from the state's {@link RandomSource}.
 */
import { conditionGp, defaultHyperparameters, fitHyperparameters, type GpHyperparameters } from './gaussian-process';
import { encodeSpace, type SpaceEncoding } from './gp-encoding';
import { logExpectedImprovement, standardNormalQuantile } from './normal-math';
import { RandomSource, seedRandomState, type RandomState } from './random-source';
import type { Goal, Searcher, SearcherStateBase, SuggestedTrial } from './searcher';
import { sampleFromPrior, type ParameterValues, type SearchSpace } from './space';
import { rankTrials, recordObservation, type TpeTrial } from './tpe';

export interface GpOptions {
  /** Finished trials drawn from the prior before the model is used. */
  readonly nStartupTrials: number;
  /** Candidates drawn from the prior per suggestion (local perturbations come on top). */
  readonly nCandidates: number;
  /** Finished trials the model sees at most: the best by the ranking. Bounds the O(n³) fit. */
  readonly maxObservations: number;
  /** iRprop⁻ steps per start of the hyperparameter fit. */
  readonly fitIterations: number;
}

export const DEFAULT_GP_OPTIONS: GpOptions = {
  nStartupTrials: 10,
  nCandidates: 256,
  maxObservations: 64,
  fitIterations: 20,
};

/** Upper bounds of the settings a sweep may choose (`parseSweepConfig`): they bound a suggestion's cost. */
export const GP_LIMITS = { nCandidates: 4096, maxObservations: 200, fitIterations: 50 } as const;

/** Best finished trials whose neighbourhoods are searched, and perturbations of each. */
const LOCAL_CENTRES = 3;
const LOCAL_CANDIDATES = 32;

export interface GpSearchState extends SearcherStateBase {
  readonly algorithm: 'gp';
  readonly options: GpOptions;
  readonly random: RandomState;
  /** Every suggested trial, in id order. */
  readonly trials: readonly TpeTrial[];
  /** Hyperparameters of the last fit: the next fit starts from them too. Absent before the first fit. */
  readonly fitted?: GpHyperparameters;
}

export function createGpSearch(
  space: SearchSpace,
  goal: Goal,
  seed: number,
  options: Partial<GpOptions> = {},
): GpSearchState {
  return {
    algorithm: 'gp',
    space,
    goal,
    nextTrialId: 0,
    options: { ...DEFAULT_GP_OPTIONS, ...options },
    random: seedRandomState(seed),
    trials: [],
  };
}

export const gpSearch: Searcher<GpSearchState> = {
  suggest(state, count) {
    const random = new RandomSource(state.random);
    const encoding = encodeSpace(state.space);
    const finished = state.trials.filter((trial) => trial.status === 'completed' || trial.status === 'pruned');
    const model =
      finished.length >= state.options.nStartupTrials && encoding.dims > 0
        ? fitModel(state, encoding, finished)
        : undefined;
    let trials = state.trials;
    const suggested: SuggestedTrial[] = [];
    for (let i = 0; i < count; i++) {
      const trialId = state.nextTrialId + i;
      const running = trials.filter((trial) => trial.status === 'running');
      const params = model ? suggestFromModel(model, encoding, running, state.options, random) : undefined;
      suggested.push({ trialId, params: params ?? sampleFromPrior(state.space, random) });
      trials = [...trials, { trialId, params: suggested[i]!.params, status: 'running' }];
    }
    return {
      trials: suggested,
      state: {
        ...state,
        trials,
        nextTrialId: state.nextTrialId + count,
        random: random.snapshot(),
        ...(model ? { fitted: model.hyperparameters } : {}),
      },
    };
  },
  observe(state, observation) {
    return { ...state, trials: recordObservation(state.trials, observation) };
  },
  remaining() {
    return Infinity;
  },
};

/** What one suggestion round knows: the ranked observations, their scores, the fitted hyperparameters. */
export interface FittedModel {
  readonly ranked: readonly TpeTrial[];
  readonly x: readonly number[][];
  readonly y: readonly number[];
  readonly hyperparameters: GpHyperparameters;
  /** Log-posterior evaluations the fit spent: ≤ 2·(fitIterations + 1), each one O(n³) in the observations. */
  readonly evaluations: number;
}

/** The model a suggestion round fits from the finished trials (exported so tests can bound its cost). */
export function fitModel(state: GpSearchState, encoding: SpaceEncoding, finished: readonly TpeTrial[]): FittedModel {
  // Scores come from the ranks among every finished trial; only the best `maxObservations` enter the fit.
  const all = rankTrials(finished, state.goal);
  const ranked = all.slice(0, state.options.maxObservations);
  const x = ranked.map((trial) => encoding.encode(trial.params));
  const y = copulaScores(all).slice(0, ranked.length);
  const starts = [defaultHyperparameters(encoding.dims)];
  if (state.fitted?.logLengthScales.length === encoding.dims) starts.push(state.fitted);
  const fit = fitHyperparameters({ x, y }, starts, state.options.fitIterations);
  return { ranked, x, y, hyperparameters: fit.hyperparameters, evaluations: fit.evaluations };
}

/**
 * Normal scores of trials given best first: rank r of n ↦ Φ⁻¹(1 − (r + ½)/n), higher is better.
 * Trials that tie (same status, depth and value) share the mean of their ranks.
 */
export function copulaScores(ranked: readonly TpeTrial[]): number[] {
  const n = ranked.length;
  const scores = new Array<number>(n);
  const key = (trial: TpeTrial): string =>
    `${trial.status}:${trial.status === 'pruned' ? trial.epoch : ''}:${trial.value}`;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && key(ranked[end]!) === key(ranked[start]!)) end++;
    const rank = (start + end - 1) / 2;
    for (let i = start; i < end; i++) scores[i] = standardNormalQuantile(1 - (rank + 0.5) / n);
    start = end;
  }
  return scores;
}

function suggestFromModel(
  model: FittedModel,
  encoding: SpaceEncoding,
  running: readonly TpeTrial[],
  options: GpOptions,
  random: RandomSource,
): ParameterValues {
  const worst = Math.min(...model.y);
  const posterior = conditionGp(
    {
      x: [...model.x, ...running.map((trial) => encoding.encode(trial.params))],
      y: [...model.y, ...running.map(() => worst)],
    },
    model.hyperparameters,
  );
  const incumbent = Math.max(...posterior.trainingMeans.slice(0, model.y.length));
  let best: ParameterValues | undefined;
  let bestScore = -Infinity;
  for (const candidate of candidates(model, encoding, options, random)) {
    const { mean, variance } = posterior.predict(encoding.encode(candidate));
    const sd = Math.sqrt(variance);
    const score = Math.log(sd) + logExpectedImprovement((mean - incumbent) / sd);
    if (score > bestScore || best === undefined) [best, bestScore] = [candidate, score];
  }
  return best as ParameterValues;
}

/** Draws from the prior, then perturbations of the best trials scaled by the fitted length scales. */
function candidates(
  model: FittedModel,
  encoding: SpaceEncoding,
  options: GpOptions,
  random: RandomSource,
): ParameterValues[] {
  const out: ParameterValues[] = [];
  const scales = model.hyperparameters.logLengthScales.map((log) => Math.min(0.3, Math.max(0.02, 0.5 * Math.exp(log))));
  for (const centre of model.ranked.slice(0, LOCAL_CENTRES))
    for (let i = 0; i < LOCAL_CANDIDATES; i++) out.push(encoding.perturb(centre.params, scales, random));
  for (let i = 0; i < options.nCandidates; i++) out.push(encoding.decode(randomPoint(encoding.dims, random)));
  return out;
}

function randomPoint(dims: number, random: RandomSource): number[] {
  return Array.from({ length: dims }, () => random.uniform());
}
