/**
 * Pure helpers of the `hyperparameterSweep` workflow: translate the `hyperparameter-sweep`
 * stage's inputs (the spec's names, src/spec/stage-types.ts) into the sweep controller's config
 * (src/core/sweep), decide how far each trial segment trains, and read the objective from a
 * trial's epoch metrics. Deterministic, no Node built-ins: workflow code imports it.
 *
 * Spec → controller mapping:
 * - `maxFailedTrials` (failed trials *tolerated*, default 3) → the controller stops launching
 *   after `maxFailedTrials + 1` failures, and the workflow then fails the stage.
 * - `tpe.startupTrials` / `tpe.candidates` / `tpe.multivariate` / `tpe.gamma` → `nStartupTrials` /
 *   `nEiCandidates` / `multivariate` / `gamma` (good group `min(⌈gamma·n⌉, 25)`; without it, Optuna's 0.1).
 * - the trial budget (`epochsPerTrial`) is `earlyStopping.maxEpochs`, else `trial.epochs`, else 10;
 *   ASHA rungs lie below it.
 * - `space` entries `{int: [a, b], step: s}` become `{int: {low: a, high: b, step: s}}`.
 * - `timeBudget` (a duration) → milliseconds.
 * - `gp.startupTrials` / `gp.candidates` → `gp.nStartupTrials` / `gp.nCandidates` (only with `algorithm: gp`).
 * - `warmStart` (`none`, or `{sweeps, maxTrials}` with defaults 5 and 200) → `warmStart`, TPE only.
 * - `trialStage: {uses, with}` makes every trial a stage of that type instead of a fine-tune
 *   (./trial-stage.ts): `model`, `data` and `trial` then have no meaning and are refused, the
 *   objective is read from the trial's outputs, and early stopping needs `earlyStopping.maxEpochs`
 *   (the last step the trial reports) and a stage type that reports steps.
 */
import { InvalidInputError } from '../errors';
import { parseDuration } from '../spec/durations';
import type { JsonObject, JsonValue } from '../spec/plan-types';
import { createSweep, parseSweepConfig, type ParameterValues, type SweepConfig, type SweepState } from './';
import { SWEEP_HISTORY_LIMITS, WARM_START_DEFAULTS, type WarmStartSettings } from './sweep-history';
import { parseTrialStage, spacePath, TRIAL_METRIC_PATTERN, trialStoppingProblem, type TrialStage } from './trial-stage';

/** Objective metrics a trial can report: what the training loop measures every epoch. */
export const OBJECTIVE_METRICS = ['validation.accuracy', 'validation.loss', 'train.accuracy', 'train.loss'] as const;
export type ObjectiveMetric = (typeof OBJECTIVE_METRICS)[number];

export interface SweepPlan {
  readonly config: SweepConfig;
  /** fine-tune inputs shared by every trial; the sampled values are laid over them. Empty with a trialStage. */
  readonly trialSettings: JsonObject;
  /** Set when every trial is a stage of another type (`trialStage`); absent for fine-tune trials. */
  readonly trialStage?: TrialStage;
  /** Stop starting trials this long after the sweep started. */
  readonly timeBudgetMs?: number;
  /** Failed trials the stage tolerates; one more fails it. */
  readonly toleratedFailures: number;
  /** `warmStart`: seed TPE with the trials of earlier sweeps of this pipeline stage (./sweep-history.ts). */
  readonly warmStart?: WarmStartSettings;
}

/**
 * Read the stage's resolved inputs. Throws {@link InvalidInputError} naming the field; the plan
 * was validated before `${{ }}` values existed, so this checks again what the sweep relies on.
 *
 * `promotionByDefault` (the workflow sets it behind a patch marker, so sweeps recorded before keep stopping-based
 * ASHA): fine-tune trials under `earlyStopping: {type: asha}` without `promotion` (and without `auditEvery`, which
 * only stopping-based ASHA has) get promotion-based ASHA, the default since it needed fewer epochs on all three
 * sweep-benchmark objectives (docs/sweep-benchmark.md). `trialStage` trials run whole and cannot pause.
 */
export function planSweep(inputs: JsonObject, options: { readonly promotionByDefault?: boolean } = {}): SweepPlan {
  const stage = inputs.trialStage === undefined || inputs.trialStage === null ? undefined : inputs.trialStage;
  if (stage !== undefined) return planStageSweep(inputs, parseTrialStage(stage));
  const model = inputs.model;
  const data = inputs.data;
  const trial = inputs.trial === undefined || inputs.trial === null ? {} : asObject(inputs.trial, 'trial');
  // Trials train `trial.architecture` from random weights instead of fine-tuning `model`: one of the two.
  const fromScratch = trial.architecture !== undefined && trial.architecture !== null;
  if (fromScratch ? model !== undefined && model !== null : typeof model !== 'string' || model === '')
    throw invalid(
      'model',
      fromScratch
        ? 'must be left out when trial.architecture trains every trial from scratch'
        : 'must be the URI of the base model every trial fine-tunes',
      fromScratch ? undefined : 'missing-input',
    );
  if (typeof data !== 'string' || data === '')
    throw invalid('data', 'must be the URI of a prepared dataset', 'missing-input');
  const objective = asObject(inputs.objective, 'objective');
  if (!(OBJECTIVE_METRICS as readonly JsonValue[]).includes(objective.metric ?? null)) {
    throw invalid(
      'objective.metric',
      `must be one of ${OBJECTIVE_METRICS.join(', ')} (what a fine-tune trial measures every epoch), got ${JSON.stringify(objective.metric)}`,
    );
  }
  // `type` defaults to none, as the stage type's schema declares (the plan carries inputs as written).
  const written: JsonObject =
    inputs.earlyStopping === undefined || inputs.earlyStopping === null
      ? { type: 'none' }
      : { type: 'none', ...asObject(inputs.earlyStopping, 'earlyStopping') };
  const stopping = options.promotionByDefault ? withDefaultPromotion(written) : written;
  const epochsPerTrial = stopping.maxEpochs ?? trial.epochs ?? 10;
  const space = asObject(inputs.space, 'space');
  if ('epochs' in space)
    throw invalid(
      'space.epochs',
      'the trial budget cannot be searched; set trial.epochs (or earlyStopping.maxEpochs) and let early stopping shorten weak trials',
    );
  const settings = sweepSettings(inputs, objective, stopping, epochsPerTrial, space);
  const { epochs: _epochs, checkpoint: trialCheckpoint, ...trialRest } = trial;
  // The trial's own retention (the segment checks its bounds); absent, the segment keeps fine-tune's default.
  const keepLast =
    trialCheckpoint === undefined || trialCheckpoint === null
      ? undefined
      : asObject(trialCheckpoint, 'trial.checkpoint').keepLast;
  return {
    ...settings,
    // Every segment ends on a checkpoint: the next segment (or a retry) resumes from it.
    trialSettings: {
      ...trialRest,
      ...(fromScratch ? {} : { model }),
      data,
      epochs: settings.config.epochsPerTrial,
      checkpoint: { everyEpochs: 1, ...(keepLast !== undefined ? { keepLast } : {}) },
    },
  };
}

/** True when {@link planSweep}'s `promotionByDefault` would change this sweep (the workflow asks before patching). */
export function promotionDefaultApplies(inputs: JsonObject): boolean {
  if (inputs.trialStage !== undefined && inputs.trialStage !== null) return false;
  const stopping = inputs.earlyStopping;
  if (typeof stopping !== 'object' || stopping === null || Array.isArray(stopping)) return false;
  const object = stopping as JsonObject;
  return withDefaultPromotion(object) !== object;
}

/** ASHA's `promotion` when not written (and `auditEvery` absent): true. The sweep benchmark applies it too. */
export function withDefaultPromotion(stopping: JsonObject): JsonObject {
  const unset = (value: JsonValue | undefined) => value === undefined || value === null;
  if (stopping.type !== 'asha' || !unset(stopping.promotion) || !unset(stopping.auditEvery)) return stopping;
  return { ...stopping, promotion: true };
}

/** A sweep whose trials are stages of another type (`trialStage`); see ./trial-stage.ts. */
function planStageSweep(inputs: JsonObject, trialStage: TrialStage): SweepPlan {
  for (const key of ['model', 'data', 'trial'] as const)
    if (inputs[key] !== undefined && inputs[key] !== null)
      throw invalid(
        key,
        `belongs to fine-tune trials; this sweep's trials are ${trialStage.uses} stages`,
        undefined,
        `remove ${key} and pass what the trial needs in trialStage.with`,
      );
  const objective = asObject(inputs.objective, 'objective');
  if (typeof objective.metric !== 'string' || !TRIAL_METRIC_PATTERN.test(objective.metric))
    throw invalid(
      'objective.metric',
      `must name a value of the trial's outputs (a key of outputs.metrics, or a dotted path such as values.score), got ${JSON.stringify(objective.metric)}`,
    );
  const stopping: JsonObject =
    inputs.earlyStopping === undefined || inputs.earlyStopping === null
      ? { type: 'none' }
      : { type: 'none', ...asObject(inputs.earlyStopping, 'earlyStopping') };
  const refused = trialStoppingProblem(trialStage.uses, stopping);
  if (refused) throw invalid(refused.path, refused.problem, undefined, refused.hint);
  const space = asObject(inputs.space, 'space');
  for (const name of Object.keys(space)) spacePath(name);
  const epochsPerTrial = stopping.maxEpochs ?? 1;
  return { ...sweepSettings(inputs, objective, stopping, epochsPerTrial, space), trialSettings: {}, trialStage };
}

/** What every sweep shares, whatever its trials are: the controller's config, tolerated failures, time budget. */
function sweepSettings(
  inputs: JsonObject,
  objective: JsonObject,
  stopping: JsonObject,
  epochsPerTrial: JsonValue,
  space: JsonObject,
): Pick<SweepPlan, 'config' | 'toleratedFailures' | 'timeBudgetMs' | 'warmStart'> {
  const tolerated = inputs.maxFailedTrials ?? 3;
  if (typeof tolerated !== 'number' || !Number.isInteger(tolerated) || tolerated < 0)
    throw invalid('maxFailedTrials', `must be an integer ≥ 0, got ${JSON.stringify(tolerated)}`);
  const tpe = inputs.tpe === undefined || inputs.tpe === null ? {} : asObject(inputs.tpe, 'tpe');
  const gp = inputs.gp === undefined || inputs.gp === null ? {} : asObject(inputs.gp, 'gp');
  const { maxEpochs: _maxEpochs, ...stoppingRest } = stopping;
  const config = parseSweepConfig({
    algorithm: inputs.algorithm ?? 'tpe',
    space: normaliseSpace(space),
    objective: {
      metric: objective.metric,
      goal: objective.goal ?? 'maximize',
      ...(objective.target !== undefined ? { target: objective.target } : {}),
    },
    ...(inputs.maxTrials !== undefined ? { maxTrials: inputs.maxTrials } : {}),
    ...(inputs.minTrials !== undefined ? { minTrials: inputs.minTrials } : {}),
    maxFailedTrials: tolerated + 1,
    ...(inputs.parallelism !== undefined ? { parallelism: inputs.parallelism } : {}),
    epochsPerTrial,
    earlyStopping: stoppingRest,
    ...(inputs.seed !== undefined ? { seed: inputs.seed } : {}),
    tpe: {
      ...(tpe.startupTrials !== undefined ? { nStartupTrials: tpe.startupTrials } : {}),
      ...(tpe.candidates !== undefined ? { nEiCandidates: tpe.candidates } : {}),
      ...(tpe.multivariate !== undefined ? { multivariate: tpe.multivariate } : {}),
      ...(tpe.gamma !== undefined ? { gamma: tpe.gamma } : {}),
    },
    gp: {
      ...(gp.startupTrials !== undefined ? { nStartupTrials: gp.startupTrials } : {}),
      ...(gp.candidates !== undefined ? { nCandidates: gp.candidates } : {}),
    },
  });
  createSweep(config); // surfaces inconsistencies (e.g. minEpochs above the budget) now, naming the field
  let timeBudgetMs: number | undefined;
  if (inputs.timeBudget !== undefined && inputs.timeBudget !== null) {
    timeBudgetMs = typeof inputs.timeBudget === 'string' ? parseDuration(inputs.timeBudget) : undefined;
    if (timeBudgetMs === undefined || timeBudgetMs <= 0)
      throw invalid(
        'timeBudget',
        `must be a positive duration such as 30m or 2h, got ${JSON.stringify(inputs.timeBudget)}`,
      );
  }
  const warmStart = warmStartSettings(inputs.warmStart, config.algorithm);
  return {
    config,
    toleratedFailures: tolerated,
    ...(timeBudgetMs !== undefined ? { timeBudgetMs } : {}),
    ...(warmStart !== undefined ? { warmStart } : {}),
  };
}

/** `warmStart`: absent or `none` = a cold start; `{sweeps, maxTrials}` within the history's caps, TPE only. */
function warmStartSettings(value: JsonValue | undefined, algorithm: string): WarmStartSettings | undefined {
  if (value === undefined || value === null || value === 'none') return undefined;
  const raw = asObject(value, 'warmStart');
  if (algorithm !== 'tpe')
    throw invalid('warmStart', `seeds TPE search, but algorithm is ${algorithm}`, undefined, 'set algorithm: tpe');
  const bounded = (key: 'sweeps' | 'maxTrials', max: number): number => {
    const given = raw[key] ?? WARM_START_DEFAULTS[key];
    if (typeof given !== 'number' || !Number.isInteger(given) || given < 1 || given > max)
      throw invalid(`warmStart.${key}`, `must be an integer from 1 to ${max}, got ${JSON.stringify(given)}`);
    return given;
  };
  return {
    sweeps: bounded('sweeps', SWEEP_HISTORY_LIMITS.sweeps),
    maxTrials: bounded('maxTrials', SWEEP_HISTORY_LIMITS.trials),
  };
}

/** The fine-tune inputs of one trial: the shared settings with its sampled values laid over them. */
export function trialSettings(
  plan: Pick<SweepPlan, 'trialSettings'>,
  params: ParameterValues,
  baseModel?: string,
): JsonObject {
  return { ...plan.trialSettings, ...params, ...(baseModel !== undefined ? { model: baseModel } : {}) };
}

/**
 * The epoch the next segment of a trial trains through: the next ASHA rung above `epochsDone`,
 * the next epoch the median rule judges, or the whole budget without early stopping.
 */
export function nextSegmentEnd(state: SweepState, epochsDone: number): number {
  const budget = state.config.epochsPerTrial;
  const stopper = state.stopper;
  if (stopper.type === 'asha') return stopper.rungEpochs.find((epoch) => epoch > epochsDone) ?? budget;
  if (stopper.type === 'median') return Math.min(budget, Math.max(epochsDone + 1, stopper.config.warmupEpochs + 1));
  return budget;
}

/** The objective's value in one epoch's metrics; undefined when the epoch did not measure it (no validation split). */
export function objectiveValue(
  metric: string,
  metrics: {
    readonly trainLoss: number;
    readonly trainAccuracy: number;
    readonly validationLoss?: number;
    readonly validationAccuracy?: number;
  },
): number | undefined {
  switch (metric as ObjectiveMetric) {
    case 'validation.accuracy':
      return metrics.validationAccuracy;
    case 'validation.loss':
      return metrics.validationLoss;
    case 'train.accuracy':
      return metrics.trainAccuracy;
    case 'train.loss':
      return metrics.trainLoss;
    default:
      throw invalid(
        'objective.metric',
        `must be one of ${OBJECTIVE_METRICS.join(', ')}, got ${JSON.stringify(metric)}`,
      );
  }
}

/** `<outputPrefix>trials/trial-0007/`: everything one trial writes (checkpoints, model). */
export function trialPrefix(outputPrefix: string, trialId: number): string {
  if (!Number.isInteger(trialId) || trialId < 0) throw invalid('trialId', `must be an integer ≥ 0, got ${trialId}`);
  const base = outputPrefix.endsWith('/') ? outputPrefix : `${outputPrefix}/`;
  return `${base}trials/trial-${String(trialId).padStart(4, '0')}/`;
}

function normaliseSpace(space: JsonObject): JsonObject {
  const out: { [name: string]: JsonValue } = {};
  for (const [name, entry] of Object.entries(space)) {
    const domain =
      entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? (entry as JsonObject) : undefined;
    if (domain && Array.isArray(domain.int)) {
      const [low, high] = domain.int as readonly JsonValue[];
      const { int: _int, step, ...rest } = domain;
      // Any other key stays beside `int`, so the domain parser names it.
      out[name] = { int: { low: low ?? null, high: high ?? null, ...(step !== undefined ? { step } : {}) }, ...rest };
    } else {
      out[name] = entry;
    }
  }
  return out;
}

function asObject(value: JsonValue | undefined, path: string): JsonObject {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value))
    throw invalid(path, `must be an object, got ${JSON.stringify(value ?? null)}`);
  return value as JsonObject;
}

function invalid(path: string, problem: string, code?: string, hint?: string): InvalidInputError {
  return new InvalidInputError(`hyperparameter-sweep ${path}: ${problem}`, {
    field: path,
    ...(code !== undefined ? { code } : {}),
    ...(hint !== undefined ? { hint } : {}),
  });
}
