/**
 * What a register-model stage records of the evaluation that let its model in: for each evaluate stage that scored the
 * model it registers (in the run, or inside one of its sub-pipelines: `train.evaluate`), the stage, the split, the
 * gate's verdict, the gate's reasons (each names the metric and the value it judged) and the stage's headline numbers.
 * The run hands these to the register stage, which writes them on the model card, so the verdict outlives the run's
 * history (retention, deletion) and the model page reads it from the card instead of one history read per version.
 *
 * Bundled into the pipeline workflow, so: pure, no Node built-ins. Evaluate outputs pass through pipeline code and the
 * cache (both in pipeline authors' hands), so everything kept is bounded here.
 */
import { collectConditionReferences, collectReferences } from '../spec/expressions';
import type { JsonObject, JsonValue, PlannedStage } from '../spec/plan-types';

/** One evaluate stage's judgement of the registered model, as the card keeps it. */
export interface RecordedEvaluation {
  /** The evaluate stage of the registering run. */
  readonly stage: string;
  /** The split it scored (`test` unless the stage said otherwise). */
  readonly split: string;
  /** The gate's verdict (an evaluate stage without `gate:` passes). */
  readonly passed: boolean;
  /** Why, in the gate's words: "accuracy 0.9312 >= min 0.9" (none without `gate:`). */
  readonly reasons: readonly string[];
  /** The stage's numbers the gate chose among (accuracy, f1, count, …): its `metrics` output's top-level numbers. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** Evaluate stages recorded per registration (a pipeline scores one model on a few splits at most). */
export const MAX_RECORDED_EVALUATIONS = 4;
/** Gate reasons kept per evaluation (one per bound and baseline). */
export const MAX_GATE_REASONS = 8;
/** Characters kept of each reason (longer ones end in "…"). */
export const MAX_REASON_CHARS = 300;
/** Numbers kept per evaluation. */
export const MAX_RECORDED_METRICS = 32;
const MAX_METRIC_NAME = 64;

/** Sub-pipelines looked into for evaluate stages (a pipeline stage's child may hold pipeline stages itself). */
const MAX_SUB_PIPELINE_DEPTH = 4;

/**
 * An evaluate stage a register stage may rest on: at the top level (`path` = [its id]) or inside a sub-pipeline
 * (`path` = [pipeline stage, …, its id], whose outputs are `stages.<pipeline stage>.outputs.<…>.<its id>`).
 */
export interface EvaluateCandidate {
  readonly path: readonly string[];
  readonly planned: PlannedStage;
}

/** Each stage-output reference as a path into the run's outputs: `stages.t.outputs.e.passed` → t, e, passed. */
function referencePaths(register: PlannedStage): string[][] {
  const references = [
    ...collectReferences(register.with),
    ...(register.when !== undefined ? collectConditionReferences(register.when) : []),
  ];
  return references
    .filter((r) => r.kind === 'stage-output' && r.stage !== undefined && r.output !== undefined)
    .map((r) => [r.stage as string, r.output as string, ...r.subpath.map(String)]);
}

/** `stages.X.outputs.` of a stage inside the sub-pipeline at `prefix`, in the top-level run's words. */
function inTopLevelTerms(expression: string, prefix: readonly string[]): string {
  const [first, ...rest] = prefix;
  if (first === undefined) return expression;
  return expression.replace(
    /stages\.([A-Za-z0-9_-]+)\.outputs\./g,
    (_whole, id: string) => `stages.${first}.outputs.${[...rest, id].join('.')}.`,
  );
}

/** Every evaluate stage of a plan and of its sub-pipelines, top-level ones first, with its model in top-level terms. */
function evaluateCandidates(
  stages: readonly PlannedStage[],
  prefix: readonly string[] = [],
): (EvaluateCandidate & { readonly model: string })[] {
  const here = stages
    .filter((s) => s.uses === 'evaluate')
    .map((s) => ({
      path: [...prefix, s.id],
      planned: s,
      model: inTopLevelTerms(JSON.stringify(s.with.model ?? null), prefix),
    }));
  if (prefix.length >= MAX_SUB_PIPELINE_DEPTH) return here;
  const nested = stages.flatMap((s) =>
    s.subPipeline ? evaluateCandidates(s.subPipeline.plan.stages, [...prefix, s.id]) : [],
  );
  return [...here, ...nested];
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

/**
 * The evaluate stages whose numbers are a register stage's, in its run or in a sub-pipeline of it: those its inputs
 * or its `when` reference, else those that evaluated the same model it registers (the same `model:` expression); none
 * when the stage is not a register-model stage.
 */
export function evaluateCandidatesFor(stages: readonly PlannedStage[], registerStage: string): EvaluateCandidate[] {
  const register = stages.find((s) => s.id === registerStage);
  // Only a register-model stage's inputs say which model it registered (a fine-tune stage's `model` is its base).
  if (register?.uses !== 'register-model') return [];
  const candidates = evaluateCandidates(stages);
  const references = referencePaths(register);
  const named = candidates.filter((c) => references.some((r) => startsWith(r, c.path)));
  const model = JSON.stringify(register.with.model ?? null);
  const chosen = named.length > 0 ? named : candidates.filter((c) => c.model === model);
  return chosen.map(({ path, planned }) => ({ path, planned }));
}

/** The top-level evaluate stages of {@link evaluateCandidatesFor}: those whose outputs the run's own stages hold. */
export function evaluateStagesFor(stages: readonly PlannedStage[], registerStage: string): PlannedStage[] {
  return evaluateCandidatesFor(stages, registerStage)
    .filter((c) => c.path.length === 1)
    .map((c) => c.planned);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function boundedText(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}

/** The gate's reasons from an evaluate stage's `comparison.gate`, bounded. */
export function gateReasons(outputs: JsonObject): string[] {
  const comparison = outputs.comparison;
  const gate = isObject(comparison) ? comparison.gate : undefined;
  const reasons = isObject(gate) ? gate.reasons : undefined;
  if (!Array.isArray(reasons)) return [];
  return reasons
    .filter((r): r is string => typeof r === 'string')
    .slice(0, MAX_GATE_REASONS)
    .map(boundedText);
}

/** The top-level finite numbers of a `metrics` output (per-class tables and matrices are the card's metrics' job). */
function headlineNumbers(metrics: JsonValue | undefined): Record<string, number> {
  if (!isObject(metrics)) return {};
  const numbers = Object.entries(metrics).filter(
    (entry): entry is [string, number] =>
      typeof entry[1] === 'number' && Number.isFinite(entry[1]) && entry[0].length <= MAX_METRIC_NAME,
  );
  return Object.fromEntries(numbers.slice(0, MAX_RECORDED_METRICS));
}

/**
 * The evaluations a register stage records: each evaluate stage that scored its model and has a boolean `passed`
 * output (it ran, or the cache answered it), bounded. `outputsOf` reads a stage's outputs in this run.
 */
export function recordedEvaluations(
  stages: readonly PlannedStage[],
  registerStage: string,
  outputsOf: (stageId: string) => JsonObject | undefined,
): RecordedEvaluation[] {
  const recorded: RecordedEvaluation[] = [];
  for (const { path, planned } of evaluateCandidatesFor(stages, registerStage)) {
    const outputs = outputsAt(outputsOf, path);
    if (!outputs || typeof outputs.passed !== 'boolean') continue;
    recorded.push({
      stage: path.join('.'),
      split: typeof planned.with.split === 'string' ? planned.with.split : 'test',
      passed: outputs.passed,
      reasons: gateReasons(outputs),
      metrics: headlineNumbers(outputs.metrics),
    });
    if (recorded.length === MAX_RECORDED_EVALUATIONS) break;
  }
  return recorded;
}

/** The outputs of the stage at `path`: a top-level stage's, or a sub-pipeline's stage's inside its pipeline stage's. */
function outputsAt(
  outputsOf: (stageId: string) => JsonObject | undefined,
  path: readonly string[],
): JsonObject | undefined {
  const [first, ...rest] = path;
  let current: JsonValue | undefined = first === undefined ? undefined : outputsOf(first);
  for (const segment of rest) current = isObject(current) ? current[segment] : undefined;
  return isObject(current) ? current : undefined;
}

/**
 * `value` as recorded evaluations when it has their shape (a card is read back from the store, where anything may
 * have been written), bounded again; undefined when it is not a list.
 */
export function parseRecordedEvaluations(value: unknown): RecordedEvaluation[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const parsed: RecordedEvaluation[] = [];
  for (const item of value.slice(0, MAX_RECORDED_EVALUATIONS) as unknown[]) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
    const o = item as Record<string, unknown>;
    if (typeof o.stage !== 'string' || typeof o.passed !== 'boolean') continue;
    parsed.push({
      stage: o.stage.slice(0, MAX_METRIC_NAME),
      split: typeof o.split === 'string' ? o.split.slice(0, MAX_METRIC_NAME) : 'test',
      passed: o.passed,
      reasons: Array.isArray(o.reasons)
        ? gateReasons({ comparison: { gate: { reasons: o.reasons as JsonValue } } })
        : [],
      metrics: headlineNumbers(o.metrics as JsonValue),
    });
  }
  return parsed;
}
