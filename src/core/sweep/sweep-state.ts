/**
 * The sweep controller: a pure reducer the `hyperparameterSweep` workflow drives.
 *
 *   let state = createSweep(parseSweepConfig(stage.with));
 *   loop:
 *     ({state, trials} = nextTrials(state));           // start these (≤ parallelism running)
 *     on a trial's epoch report: ({state, stop} = recordIntermediate(state, id, epoch, value));
 *                                 if (stop) cancel / tell the trial to stop
 *     on a trial's end:           state = recordResult(state, id, result)
 *   until isDone(state); output best(state) and resultsTable(state)
 *
 * Everything here is plain JSON and deterministic: the same config and the same sequence of
 * calls give the same suggestions, and `JSON.parse(JSON.stringify(state))` continues exactly
 * like `state` (for continue-as-new). No clock: durations come in with the results.
 */
import { InvalidInputError } from '../errors';
import {
  ASHA_LOSS_AT_RUNGS,
  AUDIT_EVERY_LIMITS,
  ashaMarkPromoted,
  ashaNextPromotion,
  ashaRecordRungs,
  ashaShouldStop,
  createAsha,
  type AshaLossAtRungs,
  type AshaSecondChance,
  type AshaState,
} from './asha';
import { createMedianStopping, medianShouldStop, type MedianState } from './median';
import { bestCompletedTrial, type Goal, type TrialObservation } from './searcher';
import {
  createSearcher,
  observeTrial,
  remainingSuggestions,
  SEARCH_ALGORITHMS,
  suggestTrials,
  type SearchAlgorithm,
  type SearcherState,
} from './searchers';
import { DEFAULT_GRID_POINTS, gridSize, parseSearchSpace, type ParameterValues, type SearchSpace } from './space';
import { DEFAULT_GP_OPTIONS, GP_LIMITS, type GpOptions } from './gp';
import { DEFAULT_TPE_OPTIONS, STARTUP_DESIGNS, tpeScore, type StartupDesign, type TpeOptions } from './tpe';
import { priorObservations, type PriorTrial } from './warm-start';

export type EarlyStoppingConfig =
  | { readonly type: 'none' }
  | {
      /** Asynchronous successive halving; see asha.ts. */
      readonly type: 'asha';
      /** η, default 3. */
      readonly reductionFactor: number;
      /** First rung, default 1. */
      readonly minEpochs: number;
      /**
       * A parameter of the space whose value is the trial's warm-up in epochs (e.g. `warmupEpochs`): rungs at
       * or below it do not judge the trial, so a trial whose learning rate is still ramping up is not stopped
       * for its slow start. Absent = every trial is judged at every rung (Optuna's pruners). Opt-in: on the
       * sweep benchmark's CNN it was no better than no grace (docs/sweep-benchmark.md), so it is not a default.
       */
      readonly graceParameter?: string;
      /**
       * Rung audit (asha.ts): every N-th trial a rung would stop goes on to the next rung instead (counting only
       * trials after the searcher's random startup trials), and a rung whose stopped trials pass the next rung too
       * often (≥ 1/(2η) of at least 3) stops nobody until they no longer do.
       * Absent = off (Optuna's pruner). Opt-in: see docs/sweep-benchmark.md for what it was measured to do.
       */
      readonly auditEvery?: number;
      /**
       * Promotion-based ASHA (asha.ts): a trial that reaches a rung pauses (status `paused`, its checkpoint kept)
       * and is resumed when it ranks in the top 1/η of the trials that reached that rung; a free slot resumes
       * such a trial before it starts a new one. Absent here = stopping-based ASHA (Optuna's pruner); a sweep
       * stage of fine-tune trials sets it by default (sweep-plan.ts `planSweep`). Not with `auditEvery`, nor with
       * `trialStage` trials (they run whole and cannot pause).
       */
      readonly promotion?: boolean;
      /**
       * Asynchronous Hyperband brackets over promotion-based ASHA (asha.ts): bracket b's trials are first judged
       * at rung b, the last bracket's never, and each rung ranks one bracket's trials apart. Needs `promotion`.
       * Absent = one bracket. A bench method (docs/sweep-benchmark.md), not a stage option.
       */
      readonly brackets?: boolean;
      /**
       * Promotion's second chance (asha.ts `AshaSecondChance`): a rung with no paused trial in its value's top 1/η
       * promotes the paused trial TPE rates highest (tpe.ts `tpeScore`, l/g of its configuration without its own
       * result) among the rung's top 1/η² by that score. Needs `promotion` and `algorithm: tpe`; not with
       * `brackets`. Absent = promotion by rung value alone. A bench method, not a stage option: pre-registered and
       * not adopted (docs/sweep-benchmark.md).
       */
      readonly promoteByTpeScore?: boolean;
      /**
       * Adaptive first rung (asha.ts `FIRST_RUNG_CHECK`): once 6 trials have values at the first two rungs, a rank
       * correlation between them below 0.3 makes later trials skip the first rung (first judged at the second).
       * Needs `promotion`; not with `brackets` or `promoteByTpeScore`. A bench method, not a stage option:
       * pre-registered and not adopted (docs/sweep-benchmark.md).
       */
      readonly adaptiveFirstRung?: boolean;
      /**
       * Validation loss at promotion's rungs (asha.ts `AshaLossAtRungs`): `tie-break` ranks trials with equal values
       * by lower loss, `rank` ranks by loss. Needs `promotion`. A bench method, not a stage option.
       */
      readonly lossAtRungs?: AshaLossAtRungs;
    }
  | {
      /** Median stopping rule; see median.ts. */
      readonly type: 'median';
      readonly warmupEpochs: number;
      readonly minTrials: number;
    };

export interface SweepConfig {
  readonly algorithm: SearchAlgorithm;
  readonly space: SearchSpace;
  /**
   * Metric the trials report (e.g. `validation.accuracy`), whether to maximise it, and an optional
   * `target`: once a completed trial reaches it (and `minTrials` trials completed), no new trial starts.
   */
  readonly objective: { readonly metric: string; readonly goal: Goal; readonly target?: number };
  /** Completed trials before reaching `objective.target` may end the sweep. Default 1 (absent in older states). */
  readonly minTrials?: number;
  /**
   * Trials started in total, ≥ 1. Default: the grid size for `grid`, 10 otherwise. A grid
   * smaller than this ends the sweep earlier.
   */
  readonly maxTrials: number;
  /** No new trial starts once this many have failed; default = maxTrials (never). */
  readonly maxFailedTrials: number;
  /** Trials running at once, ≥ 1. Default 1. */
  readonly parallelism: number;
  /** Epoch budget of every trial; the last ASHA rung lies below it. */
  readonly epochsPerTrial: number;
  readonly earlyStopping: EarlyStoppingConfig;
  /** Seed of random and TPE search. Default 0. */
  readonly seed: number;
  /** Grid values per continuous parameter. Default 5. */
  readonly gridPointsPerParameter: number;
  /** TPE tuning (Optuna's defaults). */
  readonly tpe: TpeOptions;
  /** GP search settings (./gp.ts); present only when `algorithm` is `gp`, so other sweeps' states are unchanged. */
  readonly gp?: GpOptions;
}

/** `paused`: promotion-based ASHA only; the trial waits at a rung for a promotion and holds no slot. */
export type SweepTrialStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface EpochValue {
  readonly epoch: number;
  readonly value: number;
}

export interface SweepTrial {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly status: SweepTrialStatus;
  /** Objective value after each reported epoch, ascending epochs. */
  readonly reports: readonly EpochValue[];
  /** Set when early stopping decided the trial should end; it keeps its slot until its result arrives. */
  readonly stopRequested?: { readonly epoch: number; readonly reason: string };
  /** completed: final objective value; stopped and paused: last reported value. */
  readonly value?: number;
  /** Epochs the trial trained. */
  readonly epochs?: number;
  readonly durationMs?: number;
  readonly error?: string;
}

export type StopperState = { readonly type: 'none' } | AshaState | MedianState;

export interface SweepState {
  readonly version: 1;
  readonly config: SweepConfig;
  readonly searcher: SearcherState;
  readonly stopper: StopperState;
  /** Every started trial, in id order. */
  readonly trials: readonly SweepTrial[];
  /** Set by {@link stopLaunching} (time budget, cancellation): no new trials. */
  readonly closedReason?: string;
}

/** How a trial ended, as the workflow learns it. */
export type TrialResult =
  | { readonly status: 'completed'; readonly value: number; readonly epochs?: number; readonly durationMs?: number }
  /** The trial ended because early stopping asked it to (or was cancelled for it). */
  | { readonly status: 'stopped'; readonly epochs?: number; readonly durationMs?: number }
  | { readonly status: 'failed'; readonly error: string; readonly durationMs?: number };

export interface StartedTrial {
  readonly trialId: number;
  readonly params: ParameterValues;
}

/** A paused trial promoted to its next rung: it resumes from the checkpoint of epoch `fromEpoch`. */
export interface ResumedTrial {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly fromEpoch: number;
  /** Why it was promoted, for the sweep's log. */
  readonly reason: string;
}

/**
 * Validate and normalise the sweep part of a stage's inputs (plain JSON), applying defaults.
 * Keys it does not know (model, data, …) are ignored: they belong to the stage.
 * Throws {@link InvalidInputError} naming the field.
 */
export function parseSweepConfig(input: unknown): SweepConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('sweep', 'must be an object');
  const raw = input as Record<string, unknown>;
  const algorithm = raw.algorithm ?? 'tpe';
  if (typeof algorithm !== 'string' || !(SEARCH_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw invalid('algorithm', `must be one of ${SEARCH_ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`);
  }
  const space = parseSearchSpace(raw.space, 'space');
  const objective = raw.objective;
  if (typeof objective !== 'object' || objective === null || Array.isArray(objective))
    throw invalid('objective', 'must be {metric, goal}');
  const { metric, goal = 'maximize' } = objective as Record<string, unknown>;
  if (typeof metric !== 'string' || metric === '') throw invalid('objective.metric', 'must be a non-empty string');
  if (goal !== 'maximize' && goal !== 'minimize')
    throw invalid('objective.goal', `must be maximize or minimize, got ${JSON.stringify(goal)}`);
  const { target } = objective as Record<string, unknown>;
  if (target !== undefined && (typeof target !== 'number' || !Number.isFinite(target)))
    throw invalid('objective.target', `must be a finite number, got ${JSON.stringify(target)}`);
  const gridPointsPerParameter = integer(raw.gridPointsPerParameter, 'gridPointsPerParameter', 1, DEFAULT_GRID_POINTS);
  // A grid without maxTrials means "the whole grid"; other algorithms need a budget.
  const maxTrials = integer(
    raw.maxTrials,
    'maxTrials',
    1,
    algorithm === 'grid' ? gridSize(space, gridPointsPerParameter) : 10,
  );
  const maxFailedTrials = integer(raw.maxFailedTrials, 'maxFailedTrials', 1, maxTrials);
  const parallelism = integer(raw.parallelism, 'parallelism', 1, 1);
  const minTrials = integer(raw.minTrials, 'minTrials', 1, 1);
  if (minTrials > maxTrials) throw invalid('minTrials', `(${minTrials}) must not exceed maxTrials (${maxTrials})`);
  const epochsPerTrial = integer(raw.epochsPerTrial, 'epochsPerTrial', 1, 10);
  const seed = integer(raw.seed, 'seed', -(2 ** 52), 0);
  const tpeRaw = (raw.tpe ?? {}) as Record<string, unknown>;
  if (typeof tpeRaw !== 'object' || Array.isArray(tpeRaw)) throw invalid('tpe', 'must be an object');
  const tpe: TpeOptions = {
    nStartupTrials: integer(tpeRaw.nStartupTrials, 'tpe.nStartupTrials', 0, DEFAULT_TPE_OPTIONS.nStartupTrials),
    nEiCandidates: integer(tpeRaw.nEiCandidates, 'tpe.nEiCandidates', 1, DEFAULT_TPE_OPTIONS.nEiCandidates),
    priorWeight: number(tpeRaw.priorWeight, 'tpe.priorWeight', 0, DEFAULT_TPE_OPTIONS.priorWeight),
    constantLiar: boolean(tpeRaw.constantLiar, 'tpe.constantLiar', DEFAULT_TPE_OPTIONS.constantLiar),
    // Only present when asked for, so states (and recorded histories) of earlier sweeps are unchanged.
    ...(tpeRaw.multivariate !== undefined && tpeRaw.multivariate !== null
      ? { multivariate: boolean(tpeRaw.multivariate, 'tpe.multivariate', false) }
      : {}),
    ...(tpeRaw.gamma !== undefined && tpeRaw.gamma !== null ? { gamma: fraction(tpeRaw.gamma, 'tpe.gamma') } : {}),
    ...(tpeRaw.startupDesign !== undefined && tpeRaw.startupDesign !== null
      ? { startupDesign: startupDesign(tpeRaw.startupDesign) }
      : {}),
  };
  return {
    algorithm: algorithm as SearchAlgorithm,
    space,
    objective: { metric, goal, ...(target !== undefined ? { target } : {}) },
    maxTrials,
    minTrials,
    maxFailedTrials,
    parallelism,
    epochsPerTrial,
    earlyStopping: parseEarlyStopping(raw.earlyStopping, space, algorithm),
    seed,
    gridPointsPerParameter,
    tpe,
    ...(algorithm === 'gp' ? { gp: parseGpOptions(raw.gp) } : {}),
  };
}

/** `gp` settings with their bounds: each bounds the time a suggestion takes inside a workflow task. */
function parseGpOptions(input: unknown): GpOptions {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input)))
    throw invalid('gp', 'must be an object');
  const raw = (input ?? {}) as Record<string, unknown>;
  const bounded = (key: keyof GpOptions, min: number, max: number): number => {
    const value = integer(raw[key], `gp.${key}`, min, DEFAULT_GP_OPTIONS[key]);
    if (value > max) throw invalid(`gp.${key}`, `must be at most ${max}, got ${value}`);
    return value;
  };
  return {
    nStartupTrials: bounded('nStartupTrials', 1, 10_000),
    nCandidates: bounded('nCandidates', 1, GP_LIMITS.nCandidates),
    maxObservations: bounded('maxObservations', 2, GP_LIMITS.maxObservations),
    fitIterations: bounded('fitIterations', 1, GP_LIMITS.fitIterations),
  };
}

function parseEarlyStopping(input: unknown, space: SearchSpace, algorithm: string): EarlyStoppingConfig {
  if (input === undefined || input === null || input === 'none') return { type: 'none' };
  if (typeof input !== 'object' || Array.isArray(input))
    throw invalid('earlyStopping', 'must be {type: asha|median|none, …}');
  const raw = input as Record<string, unknown>;
  switch (raw.type) {
    case 'none':
      return { type: 'none' };
    case 'asha':
      return {
        type: 'asha',
        reductionFactor: integer(raw.reductionFactor, 'earlyStopping.reductionFactor', 2, 3),
        minEpochs: integer(raw.minEpochs, 'earlyStopping.minEpochs', 1, 1),
        ...graceParameter(raw.graceParameter, space),
        ...auditEvery(raw.auditEvery),
        ...promotion(raw.promotion, raw.auditEvery),
        ...brackets(raw.brackets, raw.promotion),
        ...promoteByTpeScore(raw.promoteByTpeScore, raw.promotion, raw.brackets, algorithm),
        ...adaptiveFirstRung(raw.adaptiveFirstRung, raw.promotion, raw.brackets, raw.promoteByTpeScore),
        ...lossAtRungs(raw.lossAtRungs, raw.promotion),
      };
    case 'median':
      return {
        type: 'median',
        warmupEpochs: integer(raw.warmupEpochs, 'earlyStopping.warmupEpochs', 0, 1),
        minTrials: integer(raw.minTrials, 'earlyStopping.minTrials', 1, 5),
      };
    default:
      throw invalid('earlyStopping.type', `must be asha, median or none, got ${JSON.stringify(raw.type)}`);
  }
}

/** `{graceParameter}`: the named parameter of the space; absent when not given or `none`. */
function graceParameter(value: unknown, space: SearchSpace): { graceParameter?: string } {
  if (value === undefined || value === null || value === 'none') return {};
  const names = space.parameters.map((parameter) => parameter.name);
  if (typeof value !== 'string' || !names.includes(value))
    throw invalid(
      'earlyStopping.graceParameter',
      `must name a parameter of the space (${names.join(', ')}) or be none; got ${JSON.stringify(value)}`,
    );
  return { graceParameter: value };
}

/** `{auditEvery}` when given (absent otherwise, so states and recorded histories of other sweeps are unchanged). */
function auditEvery(value: unknown): { auditEvery?: number } {
  if (value === undefined || value === null) return {};
  const { min, max } = AUDIT_EVERY_LIMITS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalid(
      'earlyStopping.auditEvery',
      `must be an integer from ${min} to ${max} (e.g. 3: every third trial a rung would stop goes on to the next rung, to check the rung), got ${JSON.stringify(value)}`,
    );
  return { auditEvery: value };
}

/** `{promotion: true}` when asked for (absent otherwise: states and recorded histories of other sweeps unchanged). */
function promotion(value: unknown, audit: unknown): { promotion?: true } {
  if (value === undefined || value === null || value === false) return {};
  if (value !== true)
    throw invalid(
      'earlyStopping.promotion',
      'must be true or false (true: a trial pauses at each rung and resumes when it ranks in the rung’s top ' +
        `1/reductionFactor), got ${JSON.stringify(value)}`,
    );
  if (audit !== undefined && audit !== null)
    throw invalid(
      'earlyStopping.promotion',
      'cannot be combined with auditEvery: a promotion sweep stops no trial at a rung, so there is nothing to ' +
        'audit; remove one of them',
    );
  return { promotion: true };
}

/** `{brackets: true}` when asked for (absent otherwise, so states and recorded histories of other sweeps are unchanged). */
function brackets(value: unknown, promotionValue: unknown): { brackets?: true } {
  if (value === undefined || value === null || value === false) return {};
  if (value !== true)
    throw invalid(
      'earlyStopping.brackets',
      `must be true or false (true: Hyperband brackets over promotion-based ASHA), got ${JSON.stringify(value)}`,
    );
  if (promotionValue !== true)
    throw invalid(
      'earlyStopping.brackets',
      'needs promotion: true (brackets run over promotion-based ASHA); set promotion: true or remove brackets',
    );
  return { brackets: true };
}

/** `{promoteByTpeScore: true}` when asked for (absent otherwise, so states and recorded histories are unchanged). */
function promoteByTpeScore(
  value: unknown,
  promotionValue: unknown,
  bracketsValue: unknown,
  algorithm: string,
): { promoteByTpeScore?: true } {
  const path = 'earlyStopping.promoteByTpeScore';
  if (value === undefined || value === null || value === false) return {};
  if (value !== true)
    throw invalid(
      path,
      `must be true or false (true: a paused trial TPE rates highly may be promoted), got ${JSON.stringify(value)}`,
    );
  if (promotionValue !== true)
    throw invalid(path, 'needs promotion: true (a second way to be promoted); set promotion: true or remove it');
  if (algorithm !== 'tpe')
    throw invalid(path, `needs algorithm: tpe (the score is TPE's), got algorithm ${algorithm}; remove it or use tpe`);
  if (bracketsValue === true) throw invalid(path, 'cannot be combined with brackets; remove one of them');
  return { promoteByTpeScore: true };
}

/** `{adaptiveFirstRung: true}` when asked for (absent otherwise, so states and recorded histories are unchanged). */
function adaptiveFirstRung(
  value: unknown,
  promotionValue: unknown,
  bracketsValue: unknown,
  tpeScoreValue: unknown,
): { adaptiveFirstRung?: true } {
  const path = 'earlyStopping.adaptiveFirstRung';
  if (value === undefined || value === null || value === false) return {};
  if (value !== true)
    throw invalid(
      path,
      'must be true or false (true: the first rung stops judging when it ranks unlike the second), ' +
        `got ${JSON.stringify(value)}`,
    );
  if (promotionValue !== true)
    throw invalid(
      path,
      'needs promotion: true (it changes which rungs pause a trial); set promotion: true or remove it',
    );
  if (bracketsValue === true || tpeScoreValue === true)
    throw invalid(path, 'cannot be combined with brackets or promoteByTpeScore; remove one of them');
  return { adaptiveFirstRung: true };
}

/** `{lossAtRungs}` when asked for (absent otherwise, so states and recorded histories are unchanged). */
function lossAtRungs(value: unknown, promotionValue: unknown): { lossAtRungs?: AshaLossAtRungs } {
  const path = 'earlyStopping.lossAtRungs';
  if (value === undefined || value === null) return {};
  if (!ASHA_LOSS_AT_RUNGS.includes(value as AshaLossAtRungs))
    throw invalid(
      path,
      `must be one of ${ASHA_LOSS_AT_RUNGS.join(', ')} (tie-break: equal values rank by lower validation loss), ` +
        `got ${JSON.stringify(value)}`,
    );
  if (promotionValue !== true)
    throw invalid(
      path,
      'needs promotion: true (it orders the rungs promotion reads); set promotion: true or remove it',
    );
  return { lossAtRungs: value as AshaLossAtRungs };
}

/**
 * Trials the searcher draws at random before its model is used (their ids are below this): the rung audit skips
 * them, since a first rung misranks the model's proposals far more than random draws (docs/sweep-benchmark.md).
 */
function startupTrials(config: SweepConfig): number {
  if (config.algorithm === 'tpe') return config.tpe.nStartupTrials;
  if (config.algorithm === 'gp') return config.gp?.nStartupTrials ?? 0;
  return 0;
}

/** Epochs of warm-up the trial's `graceParameter` gives it (0 without one or when it is not a number). */
function graceEpochsOf(config: SweepConfig, trial: SweepTrial): number {
  const name = config.earlyStopping.type === 'asha' ? config.earlyStopping.graceParameter : undefined;
  const value = name === undefined ? undefined : trial.params[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * A fresh sweep. Throws {@link InvalidInputError} when the config is inconsistent.
 *
 * `priorTrials` (warm start, ./warm-start.ts): finished trials of earlier sweeps of the same stage. TPE
 * observes the best 100 of them (`MAX_PRIOR_TRIALS`) from its first suggestion; random and grid search ignore
 * them. They are kept in the searcher only: not in `trials`, the results table, ids, counts or `maxTrials`,
 * and never in ASHA's or the median rule's rungs, because values of an earlier sweep on other data must not
 * prune this sweep's trials (a retrain on harder data would see every trial stopped at the first rung).
 */
export function createSweep(
  config: SweepConfig,
  options?: { readonly priorTrials?: readonly PriorTrial[] },
): SweepState {
  const goal = config.objective.goal;
  let stopper: StopperState;
  switch (config.earlyStopping.type) {
    case 'none':
      stopper = { type: 'none' };
      break;
    case 'asha':
      stopper = createAsha(
        {
          reductionFactor: config.earlyStopping.reductionFactor,
          minEpochs: config.earlyStopping.minEpochs,
          maxEpochs: config.epochsPerTrial,
          ...(config.earlyStopping.auditEvery !== undefined
            ? { auditEvery: config.earlyStopping.auditEvery, auditFromTrial: startupTrials(config) }
            : {}),
          ...(config.earlyStopping.promotion === true ? { promotion: true } : {}),
          ...(config.earlyStopping.brackets === true ? { brackets: true } : {}),
          ...(config.earlyStopping.adaptiveFirstRung === true ? { adaptiveFirstRung: true } : {}),
          ...(config.earlyStopping.lossAtRungs !== undefined ? { lossAtRungs: config.earlyStopping.lossAtRungs } : {}),
        },
        goal,
      );
      break;
    case 'median':
      stopper = createMedianStopping(
        { warmupEpochs: config.earlyStopping.warmupEpochs, minTrials: config.earlyStopping.minTrials },
        goal,
      );
      break;
  }
  const searcher = createSearcher(config.algorithm, config.space, goal, {
    seed: config.seed,
    gridPointsPerParameter: config.gridPointsPerParameter,
    tpe: config.tpe,
    ...(config.gp ? { gp: config.gp } : {}),
    ...(config.algorithm === 'tpe' && options?.priorTrials?.length
      ? { tpePriors: priorObservations(config.space, goal, options.priorTrials) }
      : {}),
  });
  return { version: 1, config, searcher, stopper, trials: [] };
}

/** Trials currently holding a worker slot (including those asked to stop that have not ended yet). */
export function runningTrials(state: SweepState): readonly SweepTrial[] {
  return state.trials.filter((trial) => trial.status === 'running');
}

/** Why no further trial will start, or undefined while trials may still start. */
export function launchBlockedReason(state: SweepState): string | undefined {
  const ended = sweepEndedReason(state);
  if (ended !== undefined) return ended;
  if (state.trials.length >= state.config.maxTrials) return `all ${state.config.maxTrials} trials started (maxTrials)`;
  if (remainingSuggestions(state.searcher) <= 0) return 'the search space is exhausted';
  return undefined;
}

/** Why nothing more will train, not even a paused trial (closed, too many failures, target reached). */
function sweepEndedReason(state: SweepState): string | undefined {
  if (state.closedReason !== undefined) return state.closedReason;
  const failed = state.trials.filter((trial) => trial.status === 'failed').length;
  if (failed >= state.config.maxFailedTrials)
    return `${failed} trials failed (maxFailedTrials ${state.config.maxFailedTrials})`;
  return targetReachedReason(state);
}

/** True for a sweep with promotion-based ASHA (trials pause at rungs). */
export function promotesTrials(state: SweepState): boolean {
  return state.stopper.type === 'asha' && state.stopper.config.promotion === true;
}

/**
 * Promotion: the paused trial a free slot resumes next (asha.ts `ashaNextPromotion`), or undefined. When no new
 * trial may start (maxTrials, an exhausted space), nothing runs and no trial completed, the best paused trial of
 * the highest rung is resumed even outside its rung's top 1/η: otherwise a small sweep could end with no result.
 */
function nextPromotion(
  state: SweepState,
  running: number,
  finishAfterClose = false,
): { readonly trialId: number; readonly rung: number; readonly reason: string } | undefined {
  if (state.stopper.type !== 'asha' || !promotesTrials(state)) return undefined;
  const paused = (trialId: number): boolean => state.trials[trialId]?.status === 'paused';
  const noResultYet = running === 0 && !state.trials.some((trial) => trial.status === 'completed');
  if (sweepEndedReason(state) !== undefined) {
    // Closed (time budget) with nothing running and no result: the best paused trial finishes, as trials running
    // when launching stopped do; failures and a reached target still end the sweep.
    const endedOtherwise = sweepEndedReason({ ...state, closedReason: undefined });
    if (!finishAfterClose || state.closedReason === undefined || endedOtherwise !== undefined || !noResultYet)
      return undefined;
    const promotion = ashaNextPromotion(state.stopper, paused, true);
    return promotion && { ...promotion, reason: `${promotion.reason} (${state.closedReason ?? ''})` };
  }
  const promotion = ashaNextPromotion(state.stopper, paused, false, secondChanceOf(state));
  if (promotion !== undefined) return promotion;
  const lastResort = noResultYet && launchBlockedReason(state) !== undefined;
  return lastResort ? ashaNextPromotion(state.stopper, paused, true) : undefined;
}

/** `promoteByTpeScore`: TPE's score of each trial's configuration, computed once per trial per call. */
function secondChanceOf(state: SweepState): AshaSecondChance | undefined {
  const { earlyStopping } = state.config;
  if (earlyStopping.type !== 'asha' || earlyStopping.promoteByTpeScore !== true) return undefined;
  const searcher = state.searcher;
  if (searcher.algorithm !== 'tpe') return undefined;
  const scores = new Map<number, number | undefined>();
  return {
    label: 'TPE score (log l/g)',
    score: (trialId) => {
      if (!scores.has(trialId)) scores.set(trialId, tpeScore(searcher, trialId));
      return scores.get(trialId);
    },
  };
}

/**
 * Whether {@link nextTrials} with `finishAfterClose` would resume a paused trial where it resumes none without: the
 * sweep was closed (time budget), nothing runs, no trial completed and one is paused. The workflow asks it before
 * marking the change with `patched()`, so only such histories carry the marker.
 */
export function finishesPausedAfterClose(state: SweepState): boolean {
  const running = runningTrials(state).length;
  return nextPromotion(state, running) === undefined && nextPromotion(state, running, true) !== undefined;
}

/** Why the objective's target ends the sweep: a completed trial reached it, after at least `minTrials` completed. */
export function targetReachedReason(state: SweepState): string | undefined {
  const { target, goal, metric } = state.config.objective;
  if (target === undefined) return undefined;
  const completed = state.trials.filter((trial) => trial.status === 'completed').length;
  if (completed < (state.config.minTrials ?? 1)) return undefined;
  const leader = best(state);
  if (!leader || (goal === 'maximize' ? leader.value < target : leader.value > target)) return undefined;
  return `objective ${metric} reached its target ${target} (trial ${leader.trialId}: ${leader.value}) after ${completed} completed trials`;
}

/**
 * Fill the free slots (at most `parallelism` running): first by resuming paused trials the promotion rule
 * promotes (promotion-based ASHA only; `resumed`, recorded as running again), then with new suggestions, at most
 * `maxTrials` in total, none after `maxFailedTrials` failures or {@link stopLaunching}.
 * The returned trials are recorded as running.
 */
export function nextTrials(
  state: SweepState,
  options: {
    /** Resume the best paused trial when the sweep was closed with none running or completed (see below). */
    readonly finishAfterClose?: boolean;
  } = {},
): {
  readonly state: SweepState;
  readonly trials: readonly StartedTrial[];
  readonly resumed: readonly ResumedTrial[];
} {
  const promoted = resumePromoted(state, options.finishAfterClose ?? false);
  state = promoted.state;
  const resumed = promoted.resumed;
  if (launchBlockedReason(state) !== undefined) return { state, trials: [], resumed };
  const free = state.config.parallelism - runningTrials(state).length;
  const budget = state.config.maxTrials - state.trials.length;
  const count = Math.max(0, Math.min(free, budget, remainingSuggestions(state.searcher)));
  if (count === 0) return { state, trials: [], resumed };
  const suggestion = suggestTrials(state.searcher, count);
  const started = suggestion.trials.map((trial): SweepTrial => ({
    trialId: trial.trialId,
    params: trial.params,
    status: 'running',
    reports: [],
  }));
  return {
    state: { ...state, searcher: suggestion.state, trials: [...state.trials, ...started] },
    trials: suggestion.trials.map(({ trialId, params }) => ({ trialId, params })),
    resumed,
  };
}

/** Promotion: resumes promoted paused trials into the free slots (nothing without promotion). */
function resumePromoted(
  initial: SweepState,
  finishAfterClose: boolean,
): { readonly state: SweepState; readonly resumed: ResumedTrial[] } {
  let state = initial;
  const resumed: ResumedTrial[] = [];
  for (;;) {
    const running = runningTrials(state).length;
    if (running >= state.config.parallelism || state.stopper.type !== 'asha') break;
    const promotion = nextPromotion(state, running, finishAfterClose);
    if (promotion === undefined) break;
    const trial = findTrial(state, promotion.trialId);
    // Running again: its value and epochs come with its next rung or its end.
    const { value: _value, epochs, ...rest } = trial;
    state = {
      ...state,
      stopper: ashaMarkPromoted(state.stopper, promotion.trialId, promotion.rung),
      trials: replaceTrial(state.trials, { ...rest, status: 'running' }),
    };
    resumed.push({ trialId: trial.trialId, params: trial.params, fromEpoch: epochs ?? 0, reason: promotion.reason });
  }
  return { state, resumed };
}

/**
 * Record a trial's objective value after `epoch` (1-based) and ask early stopping whether it
 * should end. Idempotent: a repeated or older epoch changes nothing (heartbeats can repeat),
 * and a trial already asked to stop keeps getting `stop: true`.
 */
export function recordIntermediate(
  state: SweepState,
  trialId: number,
  epoch: number,
  value: number,
  /** The epoch's validation loss; read only by ASHA's `lossAtRungs`. */
  loss?: number,
): {
  readonly state: SweepState;
  readonly stop: boolean;
  readonly reason: string;
  readonly paused?: true;
  /** The trial was below a rung's cut and goes on as a rung audit (`auditEvery`). */
  readonly audited?: true;
} {
  const trial = findTrial(state, trialId);
  if (trial.status !== 'running') return { state, stop: true, reason: `trial ${trialId} already ${trial.status}` };
  if (trial.stopRequested) return { state, stop: true, reason: trial.stopRequested.reason };
  const last = trial.reports[trial.reports.length - 1];
  if (last !== undefined && epoch <= last.epoch)
    return { state, stop: false, reason: `epoch ${epoch} already recorded` };
  let stopper = state.stopper;
  let decision: { readonly stop: boolean; readonly reason: string; readonly audited?: true } = {
    stop: false,
    reason: 'no early stopping',
  };
  if (stopper.type === 'asha' && stopper.config.promotion === true && Number.isFinite(value)) {
    const recorded = ashaRecordRungs(stopper, trialId, epoch, value, graceEpochsOf(state.config, trial), loss);
    const reports = [...trial.reports, { epoch, value }];
    // Closed (time budget, cancellation): nothing will be promoted any more, so a running trial finishes instead of
    // pausing for good, as running trials do when launching stops; otherwise the sweep could end with no result.
    const closed = state.closedReason !== undefined;
    if (recorded.rung < 0 || closed)
      return {
        state: { ...state, stopper: recorded.state, trials: replaceTrial(state.trials, { ...trial, reports }) },
        stop: false,
        reason:
          closed && recorded.rung >= 0
            ? `continues past rung ${recorded.rung}: the sweep starts nothing new`
            : 'before the next rung',
      };
    return {
      state: pauseTrial({ ...state, stopper: recorded.state }, { ...trial, reports }),
      stop: true,
      paused: true,
      reason:
        `paused at rung ${recorded.rung} (epoch ${epoch}) ` +
        `until it ranks in the rung's top 1/${stopper.config.reductionFactor}`,
    };
  }
  if (stopper.type === 'asha') {
    const result = ashaShouldStop(stopper, trialId, epoch, value, graceEpochsOf(state.config, trial));
    stopper = result.state;
    decision = result;
  } else if (stopper.type === 'median') {
    const result = medianShouldStop(stopper, trialId, epoch, value);
    stopper = result.state;
    decision = result;
  }
  const updated: SweepTrial = {
    ...trial,
    reports: [...trial.reports, { epoch, value }],
    ...(decision.stop ? { stopRequested: { epoch, reason: decision.reason } } : {}),
  };
  return {
    state: { ...state, stopper, trials: replaceTrial(state.trials, updated) },
    stop: decision.stop,
    reason: decision.reason,
    ...(decision.audited ? { audited: true as const } : {}),
  };
}

/** The trial waits at `rung` without a slot; the searcher ranks it by that rung, like a trial stopped there. */
function pauseTrial(state: SweepState, trial: SweepTrial): SweepState {
  const last = trial.reports[trial.reports.length - 1] as EpochValue;
  const paused: SweepTrial = { ...trial, status: 'paused', value: last.value, epochs: last.epoch };
  const observation: TrialObservation = {
    trialId: trial.trialId,
    status: 'pruned',
    value: last.value,
    epoch: last.epoch,
  };
  return { ...state, searcher: observeTrial(state.searcher, observation), trials: replaceTrial(state.trials, paused) };
}

/**
 * The sweep ended: trials still paused at a rung are recorded as stopped there (what the results table, the UI and
 * later warm starts expect of a finished sweep). Nothing changes without promotion.
 */
export function closePausedTrials(state: SweepState): SweepState {
  if (!state.trials.some((trial) => trial.status === 'paused')) return state;
  const trials = state.trials.map((trial): SweepTrial => {
    if (trial.status !== 'paused') return trial;
    const last = trial.reports[trial.reports.length - 1];
    const epoch = last?.epoch ?? 0;
    return {
      ...trial,
      status: 'stopped',
      stopRequested: { epoch, reason: closedWhilePausedReason(epoch) },
    };
  });
  return { ...state, trials };
}

/** The `stopReason` of a trial {@link closePausedTrials} stopped: results.json's only mark of it. */
function closedWhilePausedReason(epoch: number): string {
  return `paused at epoch ${epoch} and not promoted before the sweep ended`;
}

/**
 * True for a trial the sweep ended while it was paused at a rung (from its `stopReason`): early stopping never judged
 * it, so the log, `fineflow status` and the UI count it as `stopped-while-paused`, not `pruned`.
 */
export function wasClosedWhilePaused(stopReason: string | undefined): boolean {
  return stopReason !== undefined && /^paused at epoch \d+ and not promoted before the sweep ended$/.test(stopReason);
}

/**
 * Record how a trial ended and tell the searcher. A trial that had been asked to stop is
 * `stopped` even if it reports `completed` (it may have finished its last epoch meanwhile).
 * A completed trial without a finite value counts as failed. Repeated results are ignored.
 */
export function recordResult(state: SweepState, trialId: number, result: TrialResult): SweepState {
  const trial = findTrial(state, trialId);
  if (trial.status !== 'running') return state;
  const lastReport = trial.reports[trial.reports.length - 1];
  const common = {
    trialId: trial.trialId,
    params: trial.params,
    reports: trial.reports,
    ...(trial.stopRequested ? { stopRequested: trial.stopRequested } : {}),
    ...(result.durationMs !== undefined ? { durationMs: result.durationMs } : {}),
  };
  const epochs = result.status === 'failed' ? lastReport?.epoch : (result.epochs ?? lastReport?.epoch);
  let ended: SweepTrial;
  let observation: TrialObservation;
  if (
    result.status === 'failed' ||
    (result.status === 'completed' && !Number.isFinite(result.value) && !trial.stopRequested)
  ) {
    const error =
      result.status === 'failed'
        ? result.error
        : `objective ${state.config.objective.metric} is not a finite number: ${result.value}`;
    ended = { ...common, status: 'failed', error, ...(epochs !== undefined ? { epochs } : {}) };
    observation = { trialId, status: 'failed' };
  } else if (result.status === 'stopped' || trial.stopRequested) {
    ended = {
      ...common,
      status: 'stopped',
      ...(lastReport ? { value: lastReport.value } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
    };
    observation = {
      trialId,
      status: 'pruned',
      ...(lastReport ? { value: lastReport.value, epoch: lastReport.epoch } : {}),
    };
  } else {
    ended = { ...common, status: 'completed', value: result.value, ...(epochs !== undefined ? { epochs } : {}) };
    observation = { trialId, status: 'completed', value: result.value };
  }
  return { ...state, searcher: observeTrial(state.searcher, observation), trials: replaceTrial(state.trials, ended) };
}

/** Start no new trials (time budget spent, cancellation); running ones finish normally. */
export function stopLaunching(state: SweepState, reason: string): SweepState {
  return state.closedReason !== undefined ? state : { ...state, closedReason: reason };
}

/** True when no trial runs and none will start. */
export function isDone(state: SweepState): boolean {
  return (
    runningTrials(state).length === 0 &&
    launchBlockedReason(state) !== undefined &&
    nextPromotion(state, 0) === undefined
  );
}

export interface BestTrial {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly value: number;
}

/** Best completed trial (stopped and failed trials are not candidates); ties go to the earlier trial. */
export function best(state: SweepState): BestTrial | undefined {
  const winner = bestCompletedTrial(state.trials, state.config.objective.goal);
  return winner && { trialId: winner.trialId, params: winner.params, value: winner.value };
}

export interface ResultsRow {
  readonly trialId: number;
  readonly params: ParameterValues;
  readonly status: SweepTrialStatus;
  /** completed: final value; stopped: last reported value. */
  readonly value?: number;
  /** Objective at each ASHA rung epoch the trial reached, plus its last epoch; every epoch without ASHA. */
  readonly metricByEpoch: readonly EpochValue[];
  readonly epochs?: number;
  readonly durationMs?: number;
  readonly stopReason?: string;
  readonly error?: string;
}

export interface ResultsTable {
  readonly metric: string;
  readonly goal: Goal;
  readonly algorithm: SearchAlgorithm;
  readonly earlyStopping: EarlyStoppingConfig['type'];
  /** ASHA rung epochs (empty otherwise). */
  readonly rungEpochs: readonly number[];
  readonly bestTrialId?: number;
  readonly rows: readonly ResultsRow[];
}

/** The results table the stage writes to the store (plain JSON). */
export function resultsTable(state: SweepState): ResultsTable {
  const rungEpochs = state.stopper.type === 'asha' ? state.stopper.rungEpochs : [];
  const winner = best(state);
  return {
    metric: state.config.objective.metric,
    goal: state.config.objective.goal,
    algorithm: state.config.algorithm,
    earlyStopping: state.config.earlyStopping.type,
    rungEpochs,
    ...(winner ? { bestTrialId: winner.trialId } : {}),
    rows: state.trials.map((trial): ResultsRow => {
      const last = trial.reports[trial.reports.length - 1];
      const metricByEpoch =
        rungEpochs.length === 0
          ? trial.reports
          : trial.reports.filter((report) => rungEpochs.includes(report.epoch) || report === last);
      return {
        trialId: trial.trialId,
        params: trial.params,
        status: trial.status,
        ...(trial.value !== undefined ? { value: trial.value } : {}),
        metricByEpoch,
        ...(trial.epochs !== undefined ? { epochs: trial.epochs } : {}),
        ...(trial.durationMs !== undefined ? { durationMs: trial.durationMs } : {}),
        ...(trial.stopRequested ? { stopReason: trial.stopRequested.reason } : {}),
        ...(trial.error !== undefined ? { error: trial.error } : {}),
      };
    }),
  };
}

export interface SweepProgress {
  readonly started: number;
  readonly running: number;
  readonly completed: number;
  readonly stopped: number;
  readonly failed: number;
  /** Trials waiting at a rung (promotion-based ASHA only; absent otherwise). */
  readonly paused?: number;
  readonly maxTrials: number;
  readonly bestValue?: number;
  readonly bestTrialId?: number;
}

/** Counts for `fineflow status` and heartbeats. */
export function sweepProgress(state: SweepState): SweepProgress {
  const count = (status: SweepTrialStatus): number => state.trials.filter((trial) => trial.status === status).length;
  const winner = best(state);
  return {
    started: state.trials.length,
    running: count('running'),
    completed: count('completed'),
    stopped: count('stopped'),
    failed: count('failed'),
    ...(promotesTrials(state) ? { paused: count('paused') } : {}),
    maxTrials: state.config.maxTrials,
    ...(winner ? { bestValue: winner.value, bestTrialId: winner.trialId } : {}),
  };
}

function findTrial(state: SweepState, trialId: number): SweepTrial {
  const trial = state.trials.find((candidate) => candidate.trialId === trialId);
  if (!trial)
    throw new InvalidInputError(`sweep has no trial ${trialId} (started: ${state.trials.length})`, { trialId });
  return trial;
}

function replaceTrial(trials: readonly SweepTrial[], updated: SweepTrial): SweepTrial[] {
  return trials.map((trial) => (trial.trialId === updated.trialId ? updated : trial));
}

function integer(value: unknown, path: string, min: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw invalid(path, `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function number(value: unknown, path: string, min: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
    throw invalid(path, `must be a number ≥ ${min}, got ${JSON.stringify(value)}`);
  return value;
}

/** A number strictly between 0 and 1. */
function startupDesign(value: unknown): StartupDesign {
  if (typeof value === 'string' && (STARTUP_DESIGNS as readonly string[]).includes(value))
    return value as StartupDesign;
  throw invalid('tpe.startupDesign', `must be one of ${STARTUP_DESIGNS.join(', ')}, got ${JSON.stringify(value)}`);
}

function fraction(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 1)
    throw invalid(path, `must be a number > 0 and < 1 (e.g. 0.1 or 0.25), got ${JSON.stringify(value)}`);
  return value;
}

function boolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalid(path, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function invalid(path: string, problem: string): InvalidInputError {
  return new InvalidInputError(`${path}: ${problem}`, { path });
}
