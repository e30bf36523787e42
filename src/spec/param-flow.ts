/**
 * Params are known at plan time (their defaults, or `--set` values), so a stage input built from
 * params alone — `${{ params.lr }}`, or `s3://${{ params.bucket }}/data/` — can be checked against
 * the stage's schema and its own input check before any stage runs. This is what turns "a negative
 * learning rate fails fine-tune after prepare spent an hour" into a diagnostic at the param.
 * Inputs that also reference stage outputs stay unresolved: only the run knows them.
 */
import {
  classifyReference,
  parseTemplate,
  referenceNodes,
  resolveStageInputs,
  joinPath,
} from '../core/spec/expressions';
import type { JsonObject, JsonValue, PlannedParam } from '../core/spec/plan-types';
import { fromJson } from './located';
import { checkValue, type InputSchema } from './schema-language';
import type { StageTypeDefinition } from './stage-type-definition';

/** What a value of each param type must be (a default, a `--set` value, a sub-pipeline's `params` entry). */
export const PARAM_VALUE_SCHEMAS: Readonly<Record<PlannedParam['type'], InputSchema>> = {
  string: { type: 'string' },
  number: { type: 'number' },
  integer: { type: 'integer' },
  boolean: { type: 'boolean' },
  array: { type: 'array', items: { type: 'any' } },
  object: { type: 'object', additionalProperties: true },
};

/** A stage input that a param's value makes invalid. */
export interface ParamFlowProblem {
  /** The params whose values flow into the input. */
  readonly params: readonly string[];
  /** Full path of the input, e.g. `stages.finetune.with.learningRate`. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

interface FlowStage {
  readonly id: string;
  readonly type?: StageTypeDefinition;
  readonly with: JsonObject;
}

/** Params a string's expressions reference, or undefined when it references anything else (or does not parse). */
function paramsOnly(text: string): string[] | undefined {
  try {
    const names: string[] = [];
    for (const part of parseTemplate(text)) {
      if (part.kind !== 'expression') continue;
      for (const ref of referenceNodes(part.node)) {
        const classified = classifyReference(ref.segments);
        if (!classified.ok || classified.kind !== 'param') return undefined;
        names.push(classified.name);
      }
    }
    return names;
  } catch {
    return undefined;
  }
}

/** `with` with every param-only expression resolved; `used` maps each resolved path to its params. */
function resolveParamInputs(
  value: JsonObject,
  params: Readonly<Record<string, JsonValue>>,
): { resolved: JsonObject; used: Map<string, string[]> } {
  const used = new Map<string, string[]>();
  const visit = (item: JsonValue, path: string): JsonValue => {
    if (typeof item === 'string' && item.includes('${{')) {
      const names = paramsOnly(item);
      if (!names || names.length === 0 || !names.every((n) => Object.prototype.hasOwnProperty.call(params, n)))
        return item;
      try {
        const out = resolveStageInputs({ v: item }, { params, stages: {} }).v as JsonValue;
        used.set(path, names);
        return out;
      } catch {
        return item; // e.g. a member access the param's value lacks: the expression check reports it
      }
    }
    if (Array.isArray(item)) return item.map((v: JsonValue, i) => visit(v, joinPath(path, i)));
    if (item !== null && typeof item === 'object')
      return Object.fromEntries(Object.entries(item as JsonObject).map(([k, v]) => [k, visit(v, joinPath(path, k))]));
    return item;
  };
  return { resolved: visit(value, '') as JsonObject, used };
}

interface InputProblem {
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
  readonly code?: string;
}

function inputProblems(type: StageTypeDefinition, value: JsonObject): InputProblem[] {
  const issues = checkValue(fromJson(value), type.inputs, '').filter((i) => i.code !== 'secret-literal');
  if (issues.length > 0)
    return issues.map((i) => ({ path: i.path, message: i.message, code: i.code, ...(i.hint ? { hint: i.hint } : {}) }));
  try {
    return [...(type.checkInputs?.(value) ?? [])];
  } catch {
    return [];
  }
}

/** Whether input path `a` lies inside or around resolved path `b` (`split` vs `split.train`). */
function related(a: string, b: string): boolean {
  const within = (inner: string, outer: string): boolean =>
    outer === '' || inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return within(a, b) || within(b, a);
}

/**
 * Every stage input that the given param values make invalid: problems the stage's check finds with
 * the params resolved that it does not find without them. `only`: report just these params.
 */
export function checkParamFlow(
  stages: readonly FlowStage[],
  params: Readonly<Record<string, JsonValue>>,
  only?: ReadonlySet<string>,
): ParamFlowProblem[] {
  const out: ParamFlowProblem[] = [];
  for (const stage of stages) {
    if (!stage.type) continue;
    const { resolved, used } = resolveParamInputs(stage.with, params);
    if (used.size === 0) continue;
    const before = new Set(inputProblems(stage.type, stage.with).map((p) => `${p.path}\u0000${p.message}`));
    for (const problem of inputProblems(stage.type, resolved)) {
      if (before.has(`${problem.path}\u0000${problem.message}`)) continue;
      // A whole `${{ params.x }}` of the wrong type is validate's expression typing to report (wrong-type).
      if (problem.code === 'wrong-type' && used.has(problem.path)) continue;
      const sources = [...used].filter(([path]) => related(problem.path, path)).flatMap(([, names]) => names);
      const names = [...new Set(sources.length > 0 ? sources : [...used.values()].flat())].filter(
        (n) => !only || only.has(n),
      );
      if (names.length === 0) continue;
      const withPath = joinPath(joinPath('stages', stage.id), 'with');
      out.push({
        params: names,
        path: problem.path ? `${withPath}${problem.path.startsWith('[') ? '' : '.'}${problem.path}` : withPath,
        message: problem.message,
        ...(problem.hint ? { hint: problem.hint } : {}),
      });
    }
  }
  return out;
}

/** The input's own hint (the allowed range, the allowed values) and what to change. */
export function paramFlowHint(inputHint: string | undefined, change: string): string {
  return inputHint ? `${inputHint}; ${change}` : change;
}
