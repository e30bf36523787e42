/**
 * A DyHPO-style scheduler (Wistuba, Kadra & Grabocka, NeurIPS 2022), as a COMPARISON METHOD of the sweep
 * benchmark (`--methods fineflow-dyhpo`), not a product algorithm: measured against the default TPE+ASHA on
 * development seeds and then on seeds 1…20 (docs/sweep-benchmark.md, "DyHPO-style scheduler"), neither setting
 * won on every objective, so it has no place in the sweep stage yet.
 *
 * Instead of a sampler plus a pruner, it decides one epoch at a time which trial to advance: every trial
 * pauses after each epoch, and each action either trains a paused trial one more epoch (as a Fineflow trial
 * can, resuming exactly from its checkpoint) or starts a new configuration. The surrogate is the GP of the
 * `gp` searcher (src/core/sweep/gaussian-process.ts) over (encoded configuration, epoch, the trial's value at
 * the previous epoch), a deterministic stand-in for DyHPO's deep kernel over the partial curve; the
 * acquisition is DyHPO's multi-fidelity expected improvement: of the value at the candidate's next epoch
 * over the best value any trial has reached at that epoch.
 *
 * Pure and deterministic (every draw from a seeded {@link RandomSource}, no clock), with bounded cost per
 * decision (at most `maxObservations` points in the GP), as workflow code would need.
 */
import {
  conditionGp,
  defaultHyperparameters,
  fitHyperparameters,
  type GpHyperparameters,
} from '../../src/core/sweep/gaussian-process';
import { encodeSpace, type SpaceEncoding } from '../../src/core/sweep/gp-encoding';
import { logExpectedImprovement } from '../../src/core/sweep/normal-math';
import { RandomSource, seedRandomState, type RandomState } from '../../src/core/sweep/random-source';
import { sampleFromPrior, type ParameterValues, type SearchSpace } from '../../src/core/sweep/space';
import { createTpeSearch, tpeSearch, type TpeSearchState } from '../../src/core/sweep/tpe';

export interface DyhpoOptions {
  /** Trials started from the prior (random search's first draws) before the surrogate decides. */
  readonly startupTrials: number;
  /** Points the GP sees at most (bounds the O(n³) fit). */
  readonly maxObservations: number;
  /** iRprop⁻ steps per start of the hyperparameter fit (one fit per decision round). */
  readonly fitIterations: number;
  /** New configurations drawn from the prior per round. */
  readonly priorCandidates: number;
  /** New configurations perturbed from the best trials per round, and from how many trials. */
  readonly localCandidates: number;
  readonly localCentres: number;
  /** Step of a perturbation on the encoded [0, 1] scale. */
  readonly localScale: number;
  /**
   * Where new configurations come from: `gp` (variant A) the candidates above, scored by the surrogate at epoch 1;
   * `tpe` (variant B, chosen after A's results) one pending proposal of the default TPE searcher, which sees every
   * trial as stopped at its deepest epoch (completed at the budget), scored by the surrogate like a paused trial.
   */
  readonly proposals: 'gp' | 'tpe';
}

/** Variant A, fixed before the first development-seed run (/work/notes/dyhpo.md). */
export const DEFAULT_DYHPO_OPTIONS: DyhpoOptions = {
  startupTrials: 10,
  maxObservations: 64,
  fitIterations: 10,
  priorCandidates: 48,
  localCandidates: 16,
  localCentres: 2,
  localScale: 0.1,
  proposals: 'gp',
};

/** A trial and its learning curve so far (`values[e - 1]` = value after epoch e). */
export interface CurveTrial {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly values: readonly number[];
}

export interface DyhpoState {
  readonly space: SearchSpace;
  readonly epochsPerTrial: number;
  readonly options: DyhpoOptions;
  readonly trials: readonly CurveTrial[];
  /** The startup draws' stream: seeded like random search, so the first trials are its configurations. */
  readonly startup: RandomState;
  /** Candidate draws: a stream of its own, so the startup draws do not depend on how many candidates there were. */
  readonly candidates: RandomState;
  readonly fitted?: GpHyperparameters;
  /** `proposals: tpe`: the TPE searcher (its trial ids are this scheduler's) and its proposal not started yet. */
  readonly tpe?: TpeSearchState;
  readonly pending?: ParameterValues;
}

/** One epoch of work: train trial `trialId` to `epoch` (epoch 1 = the trial starts). */
export interface DyhpoAction {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly epoch: number;
}

export function createDyhpo(
  space: SearchSpace,
  seed: number,
  epochsPerTrial: number,
  options: Partial<DyhpoOptions> = {},
): DyhpoState {
  const chosen = { ...DEFAULT_DYHPO_OPTIONS, ...options };
  return {
    space,
    epochsPerTrial,
    options: chosen,
    // TPE's own startup draws come from the same seeded stream as random search's: A's startup configurations.
    ...(chosen.proposals === 'tpe'
      ? { tpe: createTpeSearch(space, 'maximize', seed, { nStartupTrials: chosen.startupTrials }) }
      : {}),
    trials: [],
    startup: seedRandomState(seed),
    // Any fixed transform of the seed gives an unrelated stream (seedRandomState mixes it).
    candidates: seedRandomState(seed * 7919 + 104729),
  };
}

/** The trial's value after `epoch`, recorded (epochs arrive in order, one at a time). */
export function recordEpoch(state: DyhpoState, trialId: number, epoch: number, value: number): DyhpoState {
  return {
    ...state,
    trials: state.trials.map((trial) => {
      if (trial.trialId !== trialId) return trial;
      if (trial.values.length !== epoch - 1)
        throw new RangeError(`trial ${trialId}: epoch ${epoch} after ${trial.values.length} epochs`);
      return { ...trial, values: [...trial.values, value] };
    }),
    ...(state.tpe
      ? {
          tpe: tpeSearch.observe(state.tpe, {
            trialId,
            status: epoch >= state.epochsPerTrial ? 'completed' : 'pruned',
            value,
            epoch,
          }),
        }
      : {}),
  };
}

interface Candidate {
  /** Undefined for a new configuration. */
  readonly trialId?: number;
  readonly params: ParameterValues;
  /** The epoch the action would train to. */
  readonly epoch: number;
  /** The trial's value at epoch − 1 (0 for a new configuration). */
  readonly previous: number;
}

/**
 * The next `count` actions (distinct trials), and the state with any new trials added. Startup: the next
 * prior draws. Then: the `count` candidates with the highest expected improvement at their next epoch.
 */
export function chooseActions(state: DyhpoState, count: number): { actions: DyhpoAction[]; state: DyhpoState } {
  const actions: DyhpoAction[] = [];
  const trials = [...state.trials];
  const startup = new RandomSource(state.startup);
  let tpe = state.tpe;
  let pending = state.pending;
  const start = (params: ParameterValues): void => {
    const trialId = trials.length;
    trials.push({ trialId, params, values: [] });
    actions.push({ trialId, params, epoch: 1 });
  };
  /** The TPE proposal to start next (its trial id is the next trial's). */
  const proposal = (): ParameterValues => {
    if (pending) return pending;
    const suggestion = tpeSearch.suggest(tpe as TpeSearchState, 1);
    tpe = suggestion.state;
    pending = suggestion.trials[0]?.params as ParameterValues;
    return pending;
  };
  const startProposal = (): void => {
    start(proposal());
    pending = undefined;
  };
  while (actions.length < count && trials.length < state.options.startupTrials)
    if (tpe) startProposal();
    else start(sampleFromPrior(state.space, startup));
  let fitted = state.fitted;
  let candidatesState = state.candidates;
  if (actions.length < count) {
    const encoding = encodeSpace(state.space);
    const random = new RandomSource(state.candidates);
    const model = fitSurrogate(state, encoding);
    fitted = model.hyperparameters;
    const pool = tpe
      ? [...pausedTrials(state), { params: proposal(), epoch: 1, previous: 0 }]
      : candidatePool(state, encoding, random);
    candidatesState = random.snapshot();
    const scored = pool.map((candidate, index) => ({ candidate, index, score: model.score(candidate) }));
    scored.sort((a, b) => b.score - a.score || a.index - b.index);
    for (const { candidate } of scored) {
      if (actions.length >= count) break;
      if (candidate.trialId === undefined) {
        if (tpe) startProposal();
        else start(candidate.params);
      } else if (!actions.some((action) => action.trialId === candidate.trialId))
        actions.push({ trialId: candidate.trialId, params: candidate.params, epoch: candidate.epoch });
    }
    // With TPE proposals the pool holds one new configuration: fill the round with more when nothing else is left.
    while (tpe && actions.length < count) startProposal();
  }
  return {
    actions,
    state: {
      ...state,
      trials,
      startup: startup.snapshot(),
      candidates: candidatesState,
      ...(fitted ? { fitted } : {}),
      ...(tpe ? { tpe } : {}),
      pending,
    },
  };
}

/** Paused trials below the budget, at their next epoch. */
function pausedTrials(state: DyhpoState): Candidate[] {
  return state.trials
    .filter((trial) => trial.values.length > 0 && trial.values.length < state.epochsPerTrial)
    .map((trial) => ({
      trialId: trial.trialId,
      params: trial.params,
      epoch: trial.values.length + 1,
      previous: trial.values.at(-1) as number,
    }));
}

/** Paused trials below the budget, then new configurations: prior draws and perturbations of the best trials. */
function candidatePool(state: DyhpoState, encoding: SpaceEncoding, random: RandomSource): Candidate[] {
  const pool = pausedTrials(state);
  const { options } = state;
  const best = [...state.trials]
    .filter((trial) => trial.values.length > 0)
    .sort((a, b) => Math.max(...b.values) - Math.max(...a.values) || a.trialId - b.trialId)
    .slice(0, options.localCentres);
  const scales = new Array<number>(encoding.dims).fill(options.localScale);
  for (const centre of best)
    for (let i = 0; i < Math.ceil(options.localCandidates / best.length); i++)
      pool.push({ params: encoding.perturb(centre.params, scales, random), epoch: 1, previous: 0 });
  for (let i = 0; i < options.priorCandidates; i++)
    pool.push({ params: sampleFromPrior(state.space, random), epoch: 1, previous: 0 });
  return pool;
}

/**
 * The GP over (configuration, epoch, previous value) and the acquisition. At most `maxObservations` points:
 * every trial's deepest point first (newest trials first), then the other points newest first.
 */
function fitSurrogate(
  state: DyhpoState,
  encoding: SpaceEncoding,
): { hyperparameters: GpHyperparameters; score: (candidate: Candidate) => number } {
  const epochScale = Math.max(1, state.epochsPerTrial - 1);
  const input = (params: ParameterValues, epoch: number, previous: number): number[] => [
    ...encoding.encode(params),
    (epoch - 1) / epochScale,
    previous,
  ];
  const points: { trial: CurveTrial; epoch: number }[] = [];
  const newestFirst = [...state.trials].filter((trial) => trial.values.length > 0).reverse();
  for (const trial of newestFirst) points.push({ trial, epoch: trial.values.length });
  for (const trial of newestFirst)
    for (let epoch = trial.values.length - 1; epoch >= 1; epoch--) points.push({ trial, epoch });
  const used = points.slice(0, state.options.maxObservations);
  const raw = used.map(({ trial, epoch }) => trial.values[epoch - 1] as number);
  const mean = raw.reduce((sum, value) => sum + value, 0) / raw.length;
  const sd = Math.sqrt(raw.reduce((sum, value) => sum + (value - mean) ** 2, 0) / raw.length) || 1;
  const x = used.map(({ trial, epoch }) =>
    input(trial.params, epoch, epoch > 1 ? (trial.values[epoch - 2] as number) : 0),
  );
  const y = raw.map((value) => (value - mean) / sd);
  const starts = [defaultHyperparameters(encoding.dims + 2)];
  if (state.fitted?.logLengthScales.length === encoding.dims + 2) starts.push(state.fitted);
  const { hyperparameters } = fitHyperparameters({ x, y }, starts, state.options.fitIterations);
  const posterior = conditionGp({ x, y }, hyperparameters);
  // DyHPO's incumbent: the best value reached at the candidate's epoch; the best anywhere when none reached it.
  const bestAt = new Map<number, number>();
  let bestAnywhere = -Infinity;
  for (const trial of state.trials)
    trial.values.forEach((value, index) => {
      bestAt.set(index + 1, Math.max(bestAt.get(index + 1) ?? -Infinity, value));
      bestAnywhere = Math.max(bestAnywhere, value);
    });
  return {
    hyperparameters,
    score(candidate) {
      const incumbent = ((bestAt.get(candidate.epoch) ?? bestAnywhere) - mean) / sd;
      const { mean: mu, variance } = posterior.predict(input(candidate.params, candidate.epoch, candidate.previous));
      const deviation = Math.sqrt(variance);
      return Math.log(deviation) + logExpectedImprovement((mu - incumbent) / deviation);
    },
  };
}
