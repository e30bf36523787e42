/**
 * Sweeps whose trial is any stage type (`trialStage: {uses, with}`), not only a fine-tune:
 * where a sampled value goes in the trial's inputs, where the objective comes from in its
 * outputs, and which intermediate reports early stopping needs. Pure and deterministic: the
 * `hyperparameterSweep` workflow and validate (src/spec/stage-types.ts) both import it.
 *
 * - A `space` name is a dotted path into `trialStage.with`: `params.C` sets `with.params.C`
 *   (a `command` trial's program reads it from $FINEFLOW_PARAMS), `metrics` would set a whole input.
 * - The objective `metric` names a value of the trial's outputs: `outputs.metrics.<metric>` first
 *   (what a `command` writes to its results file or reports on `::fineflow::` lines), else the
 *   dotted path `outputs.<metric>` (e.g. `values.score`).
 * - Early stopping judges values a trial reports while it runs, at a `step` (a `command`'s
 *   `::fineflow:: {"step": 3, "metrics": {...}}`); only stage types listed in
 *   {@link STEP_REPORTING_TRIAL_TYPES} report them, so only those may use `earlyStopping`.
 */
import { InvalidInputError } from '../errors';
import type { JsonObject, JsonValue } from '../spec/plan-types';
import type { SweepState } from './sweep-state';

/** The trial of a generic sweep: a stage type and its inputs (sampled values are laid over them). */
export interface TrialStage {
  readonly uses: string;
  readonly with: JsonObject;
}

/** Stage types whose runs report intermediate objective values at steps (so ASHA / the median rule can judge them). */
export const STEP_REPORTING_TRIAL_TYPES: readonly string[] = ['command'];

/** Stage types that cannot be a `trialStage`: a sweep (no nesting), and fine-tune (written as `trial:`, it resumes between rungs). */
export const NOT_TRIAL_STAGE_TYPES: readonly string[] = ['hyperparameter-sweep', 'fine-tune'];

/** One segment of a space path: an input or mapping key. */
const PATH_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** An objective name: a metric name or a dotted path into the outputs. */
export const TRIAL_METRIC_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Reports the median rule asks a trial for at most; steps are spread evenly over the budget beyond it. */
const MAX_MEDIAN_REPORTS = 100;

function invalid(path: string, problem: string, hint?: string): InvalidInputError {
  return new InvalidInputError(`hyperparameter-sweep ${path}: ${problem}`, {
    field: path,
    ...(hint !== undefined ? { hint } : {}),
  });
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/** `trialStage` as written, checked for what the sweep relies on. */
export function parseTrialStage(value: JsonValue): TrialStage {
  if (!isObject(value)) throw invalid('trialStage', `must be a mapping {uses, with}, got ${JSON.stringify(value)}`);
  const uses = value.uses;
  if (typeof uses !== 'string' || uses === '')
    throw invalid('trialStage.uses', 'must name the stage type every trial runs, e.g. command');
  if (uses === 'fine-tune')
    throw invalid(
      'trialStage.uses',
      'a fine-tune trial is written with model, data and trial (it resumes from checkpoints between rungs)',
      'remove trialStage and write model:, data: and trial: {…fine-tune settings}',
    );
  if (NOT_TRIAL_STAGE_TYPES.includes(uses))
    throw invalid('trialStage.uses', `a ${uses} stage cannot be a trial`, 'use another stage type, e.g. command');
  const inputs = value.with ?? {};
  if (!isObject(inputs)) throw invalid('trialStage.with', `must be a mapping of ${uses} inputs`);
  return { uses, with: inputs };
}

/**
 * Why this trial stage cannot have this early stopping, or undefined: the stopper needs reports
 * at steps (only {@link STEP_REPORTING_TRIAL_TYPES} make them) and a last step (`maxEpochs`).
 */
export function trialStoppingProblem(
  uses: string,
  stopping: JsonObject,
): { readonly path: string; readonly problem: string; readonly hint: string } | undefined {
  if (stopping.type === undefined || stopping.type === 'none') return undefined;
  if (!STEP_REPORTING_TRIAL_TYPES.includes(uses))
    return {
      path: 'earlyStopping.type',
      problem: `${uses} stages report no intermediate values, so early stopping cannot judge them`,
      hint: `remove earlyStopping (or write earlyStopping: {type: none}); only ${STEP_REPORTING_TRIAL_TYPES.join(', ')} trials report steps`,
    };
  if (stopping.promotion === true)
    return {
      path: 'earlyStopping.promotion',
      problem: `needs trials that can pause at a rung and resume from a checkpoint; a ${uses} trial runs whole`,
      hint: 'remove earlyStopping.promotion (stopping-based ASHA judges a trial at each rung as it reports)',
    };
  if (stopping.maxEpochs === undefined)
    return {
      path: 'earlyStopping.maxEpochs',
      problem: `is required with a ${uses} trial: the last step its program reports`,
      hint: 'write earlyStopping.maxEpochs: N, where N is the step of the program’s last `::fineflow::` report',
    };
  return undefined;
}

/** The segments of a space name used as a path into the trial's inputs; throws naming the entry. */
export function spacePath(name: string): string[] {
  const segments = name.split('.');
  if (segments.length > 8 || segments.some((segment) => !PATH_SEGMENT.test(segment)))
    throw invalid(
      `space.${name}`,
      'a space name is a dotted path of input names into trialStage.with (letters, digits, _ -)',
      'write e.g. params.learningRate for a command trial',
    );
  return segments;
}

/** The trial's inputs with `value` at the dotted `name`; intermediate mappings are created. */
export function layOver(inputs: JsonObject, name: string, value: JsonValue): JsonObject {
  const [head, ...rest] = spacePath(name);
  return setAt(inputs, head as string, rest, value, name);
}

function setAt(target: JsonObject, key: string, rest: readonly string[], value: JsonValue, name: string): JsonObject {
  if (rest.length === 0) return { ...target, [key]: value };
  const inner = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
  if (inner !== undefined && !isObject(inner))
    throw invalid(`space.${name}`, `trialStage.with.${key} is not a mapping, so ${name} cannot be set inside it`);
  return { ...target, [key]: setAt(inner ?? {}, rest[0] as string, rest.slice(1), value, name) };
}

/** The inputs of one trial: `trialStage.with` with every sampled value laid over it. */
export function trialStageInputs(stage: TrialStage, params: Readonly<Record<string, JsonValue>>): JsonObject {
  let inputs = stage.with;
  for (const [name, value] of Object.entries(params)) inputs = layOver(inputs, name, value);
  return inputs;
}

/** The objective in a trial's outputs (see the module comment); undefined when absent or not a finite number. */
export function objectiveFromOutputs(outputs: JsonObject, metric: string): number | undefined {
  const metrics = outputs.metrics;
  if (isObject(metrics) && Object.prototype.hasOwnProperty.call(metrics, metric)) return finite(metrics[metric]);
  let current: JsonValue | undefined = outputs;
  for (const segment of metric.split('.')) {
    if (!isObject(current) || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = current[segment];
  }
  return finite(current);
}

function finite(value: JsonValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Steps at which a running trial's report matters to the stopper: the ASHA rungs, or for the
 * median rule every step after the warm-up (spread evenly past {@link MAX_MEDIAN_REPORTS}). Empty
 * without early stopping: the trial then reports nothing to the workflow.
 */
export function reportSteps(state: SweepState): number[] {
  const stopper = state.stopper;
  if (stopper.type === 'asha') return [...stopper.rungEpochs];
  if (stopper.type !== 'median') return [];
  const first = stopper.config.warmupEpochs + 1;
  const budget = state.config.epochsPerTrial;
  const count = Math.max(0, budget - first + 1);
  const stride = Math.max(1, Math.ceil(count / MAX_MEDIAN_REPORTS));
  const steps: number[] = [];
  for (let step = first; step <= budget; step += stride) steps.push(step);
  return steps;
}
