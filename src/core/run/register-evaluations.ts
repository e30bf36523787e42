/**
 * What a register-model stage records of the evaluation that let its model in: for each evaluate stage that scored
 * the model it registers, the stage, the split, the gate's verdict, the gate's reasons (each names the metric and the
 * value it judged) and the stage's headline numbers. The run hands these to the register stage, which writes them on
 * the model card, so the verdict outlives the run's history (retention, deletion) and the model page reads it from
 * the card instead of one history read per version.
 *
 * Bundled into the pipeline workflow, so: pure, no Node built-ins. Evaluate outputs pass through pipeline code and
 * the cache (both in pipeline authors' hands), so everything kept is bounded here.
 */
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

const STAGE_REFERENCE = /stages\.([A-Za-z0-9_-]+)\.outputs/g;

function referencedStages(value: JsonValue | undefined): string[] {
  return [...JSON.stringify(value ?? null).matchAll(STAGE_REFERENCE)].map((m) => m[1] as string);
}

/**
 * The evaluate stages whose numbers are a register stage's: those its inputs reference, else those that evaluated the
 * same model it registers (the same `model:` expression); none when the stage is not a register-model stage.
 */
export function evaluateStagesFor(stages: readonly PlannedStage[], registerStage: string): PlannedStage[] {
  const register = stages.find((s) => s.id === registerStage);
  // Only a register-model stage's inputs say which model it registered (a fine-tune stage's `model` is its base).
  if (register?.uses !== 'register-model') return [];
  const evaluates = stages.filter((s) => s.uses === 'evaluate');
  const referenced = new Set(referencedStages(register.with));
  const named = evaluates.filter((s) => referenced.has(s.id));
  if (named.length > 0) return named;
  const model = JSON.stringify(register.with.model ?? null);
  return evaluates.filter((s) => JSON.stringify(s.with.model ?? null) === model);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function boundedText(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}

/** The gate's reasons from an evaluate stage's `comparison.gate`, bounded. */
function gateReasons(outputs: JsonObject): string[] {
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
  for (const planned of evaluateStagesFor(stages, registerStage)) {
    const outputs = outputsOf(planned.id);
    if (!outputs || typeof outputs.passed !== 'boolean') continue;
    recorded.push({
      stage: planned.id,
      split: typeof planned.with.split === 'string' ? planned.with.split : 'test',
      passed: outputs.passed,
      reasons: gateReasons(outputs),
      metrics: headlineNumbers(outputs.metrics),
    });
    if (recorded.length === MAX_RECORDED_EVALUATIONS) break;
  }
  return recorded;
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
