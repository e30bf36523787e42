/**
 * Validate's side of sweeps over any stage type (`trialStage`, src/core/sweep/trial-stage.ts):
 * every value the search space can hand a trial, laid over `trialStage.with` as the sweep lays it,
 * must pass the trial stage type's own input check (schema plus its `checkInputs`), or every
 * trial drawing it fails on the worker. The worker's check is the same pair (activities'
 * `checkStageInputs`), so validate and the run agree (test/unit/spec/validate-runtime-agreement.test.ts).
 */
import { InvalidInputError } from '../core/errors';
import type { JsonObject, JsonValue } from '../core/spec/plan-types';
import { unknownNameHint } from '../core/spec/suggest';
import {
  layOver,
  NOT_TRIAL_STAGE_TYPES,
  parseTrialStage,
  spacePath,
  trialStoppingProblem,
  type TrialStage,
} from '../core/sweep/trial-stage';
import { fromJson } from './located';
import { checkValue, type InputSchema } from './schema-language';
import type { StageInputProblem, StageTypeDefinition } from './stage-type-definition';

/** A fractional point inside a continuous range: what a sampler almost surely draws, besides the ends. */
export const CONTINUOUS_PROBE = 0.3183;

function ownObject(value: JsonValue | undefined): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

function isLiteral(value: JsonValue | undefined): boolean {
  return value === undefined || !JSON.stringify(value).includes('${{');
}

/** Every value a space entry can hand a trial that decides its validity: range ends, choices, the fixed value. */
export function spaceCandidates(entry: JsonValue): { value: JsonValue; where: string }[] | { continuous: string } {
  const e = ownObject(entry);
  if (!e) return [{ value: entry, where: '' }];
  for (const key of ['uniform', 'logUniform'] as const) {
    const range = e[key];
    if (Array.isArray(range)) return { continuous: key };
  }
  if (Array.isArray(e.int) && e.int.length === 2) {
    const [low, high] = e.int as [JsonValue, JsonValue];
    const step = typeof e.step === 'number' && e.step >= 1 ? e.step : 1;
    if (typeof low !== 'number' || typeof high !== 'number' || low > high) return [];
    return [
      { value: low, where: '.int[0]' },
      { value: low + Math.floor((high - low) / step) * step, where: '.int[1]' },
    ];
  }
  if (Array.isArray(e.choice)) return e.choice.map((value, i) => ({ value, where: `.choice[${i}]` }));
  if ('fixed' in e) return [{ value: e.fixed as JsonValue, where: '.fixed' }];
  return [{ value: entry, where: '' }];
}

/** Values of a continuous entry checked against the trial: both ends and a fractional point inside. */
function continuousCandidates(entry: JsonObject, key: string): { value: JsonValue; where: string }[] {
  const [low, high] = entry[key] as JsonValue[];
  if (typeof low !== 'number' || typeof high !== 'number') return [];
  return [
    { value: low, where: `.${key}[0]` },
    { value: high, where: `.${key}[1]` },
    { value: low + (high - low) * CONTINUOUS_PROBE, where: `.${key} (a fractional value inside)` },
  ];
}

/** The first reason the trial stage type refuses these inputs, or undefined. */
function trialRefusal(definition: StageTypeDefinition, inputs: JsonObject): string | undefined {
  const issues = checkValue(fromJson(inputs), definition.inputs, '').filter((i) => i.code !== 'secret-literal');
  if (issues.length > 0) return issues[0]?.message;
  return definition.checkInputs?.(inputs)[0]?.message;
}

/** The trial stage's type, or a problem naming the types that can be trials. */
function trialType(
  stage: TrialStage,
  lookup: (name: string) => StageTypeDefinition | undefined,
  names: readonly string[],
): StageTypeDefinition | StageInputProblem {
  const definition = lookup(stage.uses);
  if (definition) return definition;
  const allowed = names.filter((name) => !NOT_TRIAL_STAGE_TYPES.includes(name));
  return {
    path: 'trialStage.uses',
    message: `trialStage.uses: unknown stage type ${JSON.stringify(stage.uses)}`,
    hint: unknownNameHint(stage.uses, allowed, 'stage types'),
  };
}

/** The schema at a dotted path of inputs, or undefined where it cannot be known (a oneOf, a closed mapping). */
function schemaAt(schema: InputSchema, segments: readonly string[]): InputSchema | undefined {
  let current: InputSchema | undefined = schema;
  for (const segment of segments) {
    if (!current || current.type === 'any') return current;
    if (current.type !== 'object') return undefined;
    const extra: boolean | InputSchema | undefined = current.additionalProperties;
    current = current.properties?.[segment] ?? (typeof extra === 'object' ? extra : undefined);
  }
  return current;
}

/**
 * With `${{ }}` values still in `trialStage.with`, the whole trial cannot be checked before the run;
 * the value at its own path can: it must fit the input it sets.
 */
function valueRefusal(inputs: InputSchema, name: string, value: JsonValue): string | undefined {
  const target = schemaAt(inputs, spacePath(name));
  if (!target) return undefined;
  return checkValue(fromJson(value), target, name).filter((i) => i.code !== 'secret-literal')[0]?.message;
}

/** What planSweep refuses of a trialStage sweep, said before the run even when other inputs are expressions. */
function sweepShapeProblems(inputs: JsonObject, stage: TrialStage): StageInputProblem[] {
  const problems: StageInputProblem[] = [];
  for (const key of ['model', 'data', 'trial'] as const)
    if (inputs[key] !== undefined)
      problems.push({
        path: key,
        message: `${key} belongs to fine-tune trials; this sweep's trials are ${stage.uses} stages`,
        hint: `remove ${key} and pass what the trial needs in trialStage.with`,
      });
  const stopping = ownObject(inputs.earlyStopping);
  const refused = stopping && isLiteral(stopping) ? trialStoppingProblem(stage.uses, stopping) : undefined;
  if (refused) problems.push({ path: refused.path, message: `${refused.path} ${refused.problem}`, hint: refused.hint });
  return problems;
}

/**
 * Problems of a sweep with a `trialStage`: the trial itself, then every space value laid over it.
 * Inputs that are not literal yet (`${{ }}`) are left to the run.
 */
export function checkTrialStageSweep(
  inputs: JsonObject,
  lookup: (name: string) => StageTypeDefinition | undefined,
  names: readonly string[],
): StageInputProblem[] {
  let stage: TrialStage;
  try {
    stage = parseTrialStage(inputs.trialStage ?? null);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const hint = error.details.hint;
    return [
      {
        path: String(error.details.field ?? 'trialStage'),
        message: error.message,
        ...(typeof hint === 'string' ? { hint } : {}),
      },
    ];
  }
  const problems = sweepShapeProblems(inputs, stage);
  const definition = trialType(stage, lookup, names);
  if (!('inputs' in definition)) return [...problems, definition];
  const space = ownObject(inputs.space) ?? {};
  for (const [name, entry] of Object.entries(space)) {
    if (!isLiteral(entry)) continue;
    const found = spaceCandidates(entry);
    const candidates = 'continuous' in found ? continuousCandidates(entry as JsonObject, found.continuous) : found;
    for (const { value, where } of candidates) {
      let refusal: string | undefined;
      try {
        refusal = isLiteral(stage.with)
          ? trialRefusal(definition, layOver(stage.with, name, value))
          : valueRefusal(definition.inputs, name, value);
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        refusal = error.message;
      }
      if (refusal === undefined) continue;
      problems.push({
        path: `space.${name}`,
        message: `space.${name}${where}: a ${stage.uses} trial given ${JSON.stringify(value)} fails: ${refusal}`,
        hint:
          `change space.${name} so every value it can take is a valid ${name} of ${stage.uses} (see its inputs ` +
          `in docs/pipeline-reference.md)`,
      });
      break;
    }
  }
  return problems;
}
