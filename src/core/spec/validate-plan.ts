/**
 * Re-validation of a Plan JSON: the `pipelineRun` workflow calls this as its first step, so a
 * plan edited by hand or produced by an older CLI fails fast with diagnostics instead of
 * half-way through a run.
 *
 * PURE and workflow-safe: no `yaml`, no Node built-ins, no stage-type registry (the worker
 * checks the stage type when it runs the activity). Checks structure, ids, dependencies,
 * levels, expressions and policies.
 */
import type { Diagnostic } from '../../spec/diagnostics';
import { findCycles } from './dag';
import {
  collectConditionReferences,
  collectReferences,
  parseCondition,
  parseTemplate,
  type ExpressionReference,
} from './expressions';
import { MAX_FAN_OUT_ITEMS, MAX_PIPELINE_PARALLELISM } from './pipeline-schema';
import { RESOURCE_BOUNDS } from './resources';
import { MAX_OUTAGE_BUDGET_MS, type JsonValue, type Plan } from './plan-types';

const STAGE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/**
 * The shape every registered stage type name has (registerStageType in src/spec/stage-types.ts
 * enforces it; so does the worker for stage modules). The worker's other activities — the stage
 * cache, data watchers, sweep trial segments — are camelCase, so a hand-made plan whose `uses:`
 * names one of them is refused here, before the workflow could schedule it as a "stage" with
 * author-controlled input (test/unit/spec/stage-type-names.test.ts keeps the two sets apart).
 */
export const STAGE_TYPE_NAME = /^[a-z][a-z0-9-]*$/;
const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** Strings with a malformed `${{ … }}` inside a value, with their paths. */
function malformedExpressions(value: JsonValue, path: string, out: { path: string; message: string }[]): void {
  if (typeof value === 'string') {
    if (!value.includes('${{')) return;
    try {
      parseTemplate(value);
    } catch (error) {
      out.push({ path, message: error instanceof Error ? error.message : String(error) });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item: JsonValue, i) => malformedExpressions(item, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) malformedExpressions(v, `${path}.${k}`, out);
  }
}

/** The shape of a stage's `fanOut` (src/core/run/fan-out.ts reads it). */
function checkPlannedFanOut(
  fanOut: unknown,
  path: string,
  line: number | undefined,
  add: (code: string, path: string, message: string, line?: number) => void,
): void {
  if (!isObject(fanOut)) return add('plan-wrong-type', path, 'fanOut must be an object', line);
  if ((fanOut.forEach === undefined) === (fanOut.matrix === undefined))
    add('plan-wrong-type', path, 'fanOut needs exactly one of forEach and matrix', line);
  if (fanOut.matrix !== undefined && !isObject(fanOut.matrix))
    add('plan-wrong-type', `${path}.matrix`, 'matrix must be an object of lists', line);
  const parallelism = fanOut.parallelism;
  if (
    parallelism !== undefined &&
    (typeof parallelism !== 'number' ||
      !Number.isInteger(parallelism) ||
      parallelism < 1 ||
      parallelism > MAX_FAN_OUT_ITEMS)
  )
    add(
      'plan-wrong-type',
      `${path}.parallelism`,
      `parallelism must be an integer from 1 to ${MAX_FAN_OUT_ITEMS}`,
      line,
    );
  if (typeof fanOut.failFast !== 'boolean')
    add('plan-wrong-type', `${path}.failFast`, 'failFast must be a boolean', line);
  const ratio = fanOut.minSuccessRatio;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))
    add('plan-wrong-type', `${path}.minSuccessRatio`, 'minSuccessRatio must be a number from 0 to 1', line);
  const bad: { path: string; message: string }[] = [];
  malformedExpressions(fanOut as JsonValue, path, bad);
  for (const b of bad) add('bad-expression', b.path, `bad expression: ${b.message}`, line);
}

/** A stage's `resources`: every key optional, each a number within RESOURCE_BOUNDS. */
function checkPlannedResources(
  resources: unknown,
  path: string,
  line: number | undefined,
  add: (code: string, path: string, message: string, line?: number) => void,
): void {
  if (!isObject(resources)) return add('plan-wrong-type', path, 'resources must be an object', line);
  for (const [key, value] of Object.entries(resources)) {
    const bounds = RESOURCE_BOUNDS[key as keyof typeof RESOURCE_BOUNDS] as { min: number; max: number } | undefined;
    if (!bounds) add('plan-wrong-type', `${path}.${key}`, `unknown resource ${key} (cpu, memoryMb, gpu)`, line);
    else if (typeof value !== 'number' || !(value >= bounds.min && value <= bounds.max))
      add('out-of-range', `${path}.${key}`, `${key} must be a number from ${bounds.min} to ${bounds.max}`, line);
    else if (key === 'gpu' && !Number.isInteger(value))
      add('out-of-range', `${path}.${key}`, 'gpu must be a whole number', line);
  }
}

/**
 * Most stages one pipeline may have. Each stage costs workflow history events, activities and a
 * row in every status table; a generated pipeline with thousands of stages is refused up front
 * (checked by validatePipeline and again by validatePlan in the workflow).
 */
export const MAX_STAGES = 1000;
export const MAX_STAGES_HINT =
  `split the pipeline (at most ${MAX_STAGES} stages), ` +
  'or sweep over values with hyperparameter-sweep instead of one stage per value';

/** Pipelines inside pipelines (`pipeline` stages): the top-level plan is depth 0, its children's plans 1, … */
export const MAX_SUB_PIPELINE_DEPTH = 4;

/** Stages of a plan and of the plans of its `pipeline` stages, as far as they nest within the depth limit. */
function nestedStageCount(plan: Record<string, unknown>, depth: number): number {
  if (!Array.isArray(plan.stages)) return 0;
  let count = plan.stages.length;
  if (depth >= MAX_SUB_PIPELINE_DEPTH) return count;
  for (const stage of plan.stages as unknown[])
    if (isObject(stage) && isObject(stage.subPipeline) && isObject(stage.subPipeline.plan))
      count += nestedStageCount(stage.subPipeline.plan, depth + 1);
  return count;
}

/** A `pipeline` stage's embedded child plan: present exactly on those stages, and itself a valid plan. */
function checkPlannedSubPipeline(
  raw: Record<string, unknown>,
  path: string,
  depth: number,
  add: (code: string, path: string, message: string, line?: number, hint?: string) => void,
  out: Diagnostic[],
): void {
  const line = typeof raw.line === 'number' ? raw.line : undefined;
  const sub = raw.subPipeline;
  if (sub === undefined) {
    if (raw.uses === 'pipeline')
      add('plan-wrong-type', `${path}.subPipeline`, 'a pipeline stage carries its child plan', line);
    return;
  }
  if (!isObject(sub) || typeof sub.file !== 'string' || !isObject(sub.plan)) {
    add('plan-wrong-type', `${path}.subPipeline`, 'subPipeline must be {file, plan}', line);
    return;
  }
  if (depth + 1 > MAX_SUB_PIPELINE_DEPTH) {
    add('sub-pipeline-too-deep', `${path}.subPipeline`, `sub-pipelines nest more than ${MAX_SUB_PIPELINE_DEPTH} deep`);
    return;
  }
  for (const d of validatePlan(sub.plan as unknown as Plan, depth + 1))
    out.push({ ...d, path: `${path}.subPipeline.plan${d.path ? `.${d.path}` : ''}` });
}

/** Adds one diagnostic of the plan being checked. */
type AddDiagnostic = (code: string, path: string, message: string, line?: number, hint?: string) => void;

/** The stages' ids, dependencies and places in the list, as the per-stage checks found them. */
interface PlannedGraph {
  readonly ids: Set<string>;
  readonly deps: Map<string, string[]>;
  readonly position: Map<string, number>;
}

/**
 * Every problem with a plan; empty when it can run. Never throws, whatever the input.
 * `depth`: of a sub-pipeline's plan.
 */
export function validatePlan(plan: Plan, depth = 0): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const file = isObject(plan) && typeof plan.source === 'string' ? plan.source : '<plan>';
  const add: AddDiagnostic = (code, path, message, line, hint) => {
    diagnostics.push({
      severity: 'error',
      code,
      path,
      line: line ?? 0,
      column: 0,
      message,
      ...(hint ? { hint } : {}),
      file,
    });
  };
  if (!isObject(plan)) {
    add('plan-wrong-type', '', 'the plan is not an object', undefined, 'pass the output of `fineflow plan --json`');
    return diagnostics;
  }
  const p = plan as unknown as Record<string, unknown>;
  const { params, secrets } = checkPlanHeader(p, add);
  if (!Array.isArray(p.stages) || !Array.isArray(p.levels)) {
    add('plan-wrong-type', 'stages', 'stages and levels must be lists');
    return diagnostics;
  }
  if (p.stages.length === 0) add('plan-wrong-type', 'stages', 'the plan has no stages');
  const stageCount = depth === 0 ? nestedStageCount(p, 0) : p.stages.length;
  if (stageCount > MAX_STAGES) {
    add(
      'too-many-stages',
      'stages',
      `the plan has ${stageCount} stages (its sub-pipelines' included); at most ${MAX_STAGES} are allowed`,
      undefined,
      MAX_STAGES_HINT,
    );
    return diagnostics;
  }
  const graph: PlannedGraph = { ids: new Set(), deps: new Map(), position: new Map() };
  p.stages.forEach((raw: unknown, index: number) => checkPlannedStage(raw, index, depth, graph, add, diagnostics));
  checkPlannedReferences(p.stages as unknown[], graph, { params, secrets }, add);
  for (const cycle of findCycles([...graph.ids], graph.deps))
    add('dependency-cycle', `stages.${cycle[0]}`, `dependency cycle: ${cycle.join(' -> ')}`);
  checkPlannedLevels(p.levels as unknown[], graph, add);
  return diagnostics;
}

/** The plan's top-level keys; returns its params and secrets when they are objects. */
function checkPlanHeader(
  p: Record<string, unknown>,
  add: AddDiagnostic,
): { readonly params?: Record<string, unknown>; readonly secrets?: Record<string, unknown> } {
  if (p.apiVersion !== 'fineflow/v1')
    add(
      'plan-api-version',
      'apiVersion',
      `unsupported plan apiVersion ${JSON.stringify(p.apiVersion)}`,
      undefined,
      'compile the pipeline again with this version of fineflow',
    );
  if (!isObject(p.pipeline) || typeof p.pipeline.name !== 'string' || p.pipeline.name === '')
    add('plan-wrong-type', 'pipeline.name', 'the plan has no pipeline name');
  const params = isObject(p.params) ? p.params : undefined;
  if (!params) add('plan-wrong-type', 'params', 'params must be an object');
  const parallelism = p.parallelism;
  if (
    parallelism !== undefined &&
    (typeof parallelism !== 'number' ||
      !Number.isInteger(parallelism) ||
      parallelism < 1 ||
      parallelism > MAX_PIPELINE_PARALLELISM)
  )
    add('plan-wrong-type', 'parallelism', `parallelism must be an integer from 1 to ${MAX_PIPELINE_PARALLELISM}`);
  const secrets = p.secrets === undefined ? {} : isObject(p.secrets) ? p.secrets : undefined;
  if (!secrets) add('plan-wrong-type', 'secrets', 'secrets must be an object');
  for (const [name, reference] of Object.entries(secrets ?? {})) {
    const keys = isObject(reference) ? Object.keys(reference) : [];
    const value = isObject(reference) ? reference[keys[0] ?? ''] : undefined;
    if (keys.length !== 1 || !['env', 'file'].includes(keys[0] ?? '') || typeof value !== 'string') {
      add('plan-wrong-type', `secrets.${name}`, `secret \`${name}\` must be {env: VARIABLE} or {file: /path}`);
    }
  }
  for (const [name, param] of Object.entries(params ?? {})) {
    if (!isObject(param) || !PARAM_TYPES.includes(param.type as string) || !('value' in param))
      add('plan-wrong-type', `params.${name}`, `param \`${name}\` must be {type, value}`);
  }
  if (!Array.isArray(p.triggers)) add('plan-wrong-type', 'triggers', 'triggers must be a list');
  if (p.schedule !== undefined && !isObject(p.schedule))
    add('plan-wrong-type', 'schedule', 'schedule must be an object');
  return { ...(params ? { params } : {}), ...(secrets ? { secrets } : {}) };
}

/** One stage of the plan: its id (recorded in `graph`), settings, expressions and nested parts. */
function checkPlannedStage(
  raw: unknown,
  index: number,
  depth: number,
  graph: PlannedGraph,
  add: AddDiagnostic,
  diagnostics: Diagnostic[],
): void {
  if (!isObject(raw)) {
    add('plan-wrong-type', `stages[${index}]`, 'a stage must be an object');
    return;
  }
  const id = raw.id;
  const line = typeof raw.line === 'number' ? raw.line : undefined;
  if (typeof id !== 'string' || !STAGE_ID.test(id)) {
    add('bad-stage-id', `stages[${index}].id`, `stage id ${JSON.stringify(id)} is not an identifier`, line);
    return;
  }
  const path = `stages.${id}`;
  if (graph.ids.has(id)) add('duplicate-stage', path, `stage \`${id}\` appears twice`, line);
  graph.ids.add(id);
  graph.position.set(id, index);
  checkPlannedStageSettings(raw, path, line, add);
  checkPlannedRetry(raw.retry, `${path}.retry`, line, add);
  const cache = raw.cache;
  if (
    !isObject(cache) ||
    typeof cache.enabled !== 'boolean' ||
    (cache.maxAgeMs !== undefined && !isPositiveNumber(cache.maxAgeMs)) ||
    (cache.refresh !== undefined && typeof cache.refresh !== 'boolean')
  ) {
    add('plan-wrong-type', `${path}.cache`, 'cache must be {enabled, maxAgeMs?, refresh?}', line);
  }
  if (!isObject(raw.with)) add('plan-wrong-type', `${path}.with`, 'with must be an object', line);
  if (!Array.isArray(raw.needs) || !raw.needs.every((n) => typeof n === 'string')) {
    add('plan-wrong-type', `${path}.needs`, 'needs must be a list of stage ids', line);
    graph.deps.set(id, []);
  } else graph.deps.set(id, raw.needs as string[]);
  if (raw.when !== undefined) checkPlannedWhen(raw.when, `${path}.when`, line, add);
  if (raw.fanOut !== undefined) checkPlannedFanOut(raw.fanOut, `${path}.fanOut`, line, add);
  checkPlannedSubPipeline(raw, path, depth, add, diagnostics);
  if (raw.finally !== undefined && raw.finally !== true)
    add('plan-wrong-type', `${path}.finally`, 'finally must be true when present', line);
  if (raw.finally === true && raw.onFailure !== 'fail')
    add(
      'plan-wrong-type',
      `${path}.onFailure`,
      'a finally stage has onFailure fail: nothing waits for its retry',
      line,
    );
  if (raw.resources !== undefined) checkPlannedResources(raw.resources, `${path}.resources`, line, add);
  if (isObject(raw.with)) {
    const bad: { path: string; message: string }[] = [];
    malformedExpressions(raw.with as JsonValue, `${path}.with`, bad);
    for (const b of bad) add('bad-expression', b.path, `bad expression: ${b.message}`, line);
  }
}

/** A stage's type, pool, timeouts and failure policy. */
function checkPlannedStageSettings(
  raw: Record<string, unknown>,
  path: string,
  line: number | undefined,
  add: AddDiagnostic,
): void {
  if (typeof raw.uses !== 'string' || raw.uses === '')
    add('plan-wrong-type', `${path}.uses`, 'uses must name a stage type', line);
  else if (!STAGE_TYPE_NAME.test(raw.uses)) {
    add(
      'plan-unknown-stage-type',
      `${path}.uses`,
      `\`${raw.uses.slice(0, 64)}\` is not a registered stage type`,
      line,
      'stage types are lower-case names such as fine-tune; `fineflow validate` lists the known ones',
    );
  }
  if (typeof raw.typeVersion !== 'string')
    add('plan-wrong-type', `${path}.typeVersion`, 'typeVersion must be a string', line);
  if (typeof raw.pool !== 'string' || raw.pool === '')
    add('plan-wrong-type', `${path}.pool`, 'pool must be a non-empty string', line);
  if (!isPositiveNumber(raw.timeoutMs))
    add('bad-duration', `${path}.timeoutMs`, 'timeoutMs must be a positive number', line);
  if (raw.heartbeatTimeoutMs !== undefined && !isPositiveNumber(raw.heartbeatTimeoutMs))
    add('bad-duration', `${path}.heartbeatTimeoutMs`, 'heartbeatTimeoutMs must be a positive number', line);
  if (raw.onFailure !== 'pause' && raw.onFailure !== 'fail')
    add('plan-wrong-type', `${path}.onFailure`, 'onFailure must be pause or fail', line);
}

function checkPlannedRetry(retry: unknown, path: string, line: number | undefined, add: AddDiagnostic): void {
  if (!isObject(retry)) {
    add('plan-wrong-type', path, 'retry must be an object', line);
    return;
  }
  const attempts = retry.maxAttempts;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > 100)
    add('retry-bounds', `${path}.maxAttempts`, 'maxAttempts must be an integer from 1 to 100', line);
  if (!isPositiveNumber(retry.initialIntervalMs))
    add('retry-bounds', `${path}.initialIntervalMs`, 'initialIntervalMs must be positive', line);
  if (typeof retry.backoffCoefficient !== 'number' || retry.backoffCoefficient < 1 || retry.backoffCoefficient > 100)
    add('retry-bounds', `${path}.backoffCoefficient`, 'backoffCoefficient must be from 1 to 100', line);
  const outage = retry.outageBudgetMs;
  if (outage !== undefined && (typeof outage !== 'number' || outage < 0 || outage > MAX_OUTAGE_BUDGET_MS))
    add('retry-bounds', `${path}.outageBudgetMs`, 'outageBudgetMs must be from 0 to 24 h', line);
  if (
    !isPositiveNumber(retry.maximumIntervalMs) ||
    (isPositiveNumber(retry.initialIntervalMs) && retry.maximumIntervalMs < retry.initialIntervalMs)
  ) {
    const message = 'maximumIntervalMs must be positive and ≥ initialIntervalMs';
    add('retry-bounds', `${path}.maximumIntervalMs`, message, line);
  }
}

function checkPlannedWhen(when: unknown, path: string, line: number | undefined, add: AddDiagnostic): void {
  if (typeof when !== 'string') {
    add('plan-wrong-type', path, 'when must be a string', line);
    return;
  }
  try {
    parseCondition(when);
  } catch (error) {
    add('bad-expression', path, `bad condition: ${error instanceof Error ? error.message : String(error)}`, line);
  }
}

/** References must point at declared params and secrets, and at stages the stage waits for. */
function checkPlannedReferences(
  stages: readonly unknown[],
  graph: PlannedGraph,
  declared: { readonly params?: Record<string, unknown>; readonly secrets?: Record<string, unknown> },
  add: AddDiagnostic,
): void {
  const finallyIds = new Set(
    stages.flatMap((raw) => (isObject(raw) && raw.finally === true ? [raw.id as string] : [])),
  );
  for (const raw of stages) {
    if (!isObject(raw) || typeof raw.id !== 'string' || !graph.ids.has(raw.id)) continue;
    const id = raw.id;
    const line = typeof raw.line === 'number' ? raw.line : undefined;
    const needs = new Set(graph.deps.get(id) ?? []);
    for (const need of needs) {
      if (!graph.ids.has(need))
        add('unknown-needs', `stages.${id}.needs`, `needs \`${need}\`, which is not a stage of the plan`, line);
      else if (raw.finally !== true && finallyIds.has(need))
        add(
          'finally-needed',
          `stages.${id}.needs`,
          `needs \`${need}\`, a finally stage, which runs only after every other stage`,
          line,
        );
    }
    for (const ref of stageReferences(raw, id)) {
      checkPlannedReference(ref, { id, line, needs, ids: graph.ids, ...declared }, add);
    }
  }
}

/** Every expression reference in a stage's `with`, `fanOut` and `when`. */
function stageReferences(raw: Record<string, unknown>, id: string): ExpressionReference[] {
  return [
    ...(isObject(raw.with) ? collectReferences(raw.with as JsonValue, `stages.${id}.with`) : []),
    ...(isObject(raw.fanOut) ? collectReferences(raw.fanOut as JsonValue, `stages.${id}.fanOut`) : []),
    ...(typeof raw.when === 'string'
      ? collectConditionReferences(raw.when).map((r) => ({ ...r, path: `stages.${id}.when` }))
      : []),
  ];
}

function checkPlannedReference(
  ref: ExpressionReference,
  stage: {
    readonly id: string;
    readonly line: number | undefined;
    readonly needs: ReadonlySet<string>;
    readonly ids: ReadonlySet<string>;
    readonly params?: Record<string, unknown>;
    readonly secrets?: Record<string, unknown>;
  },
  add: AddDiagnostic,
): void {
  const { id, line, needs, ids, params, secrets } = stage;
  const has = (object: Record<string, unknown>, key: string): boolean =>
    Object.prototype.hasOwnProperty.call(object, key);
  if (ref.kind === 'secret') {
    if (secrets && !has(secrets, ref.name)) {
      const message = `\`${ref.text}\` refers to secret \`${ref.name}\`, which the plan does not have`;
      add('unknown-secret', ref.path, message, line);
    }
  } else if (ref.kind === 'param') {
    if (params && !has(params, ref.name)) {
      const message = `\`${ref.text}\` refers to param \`${ref.name}\`, which the plan does not have`;
      add('unknown-reference', ref.path, message, line);
    }
  } else if (!ids.has(ref.stage as string)) {
    const message = `\`${ref.text}\` refers to stage \`${ref.stage}\`, which the plan does not have`;
    add('unknown-reference', ref.path, message, line);
  } else if (!needs.has(ref.stage as string)) {
    add(
      'reference-not-in-needs',
      ref.path,
      `\`${ref.text}\` refers to stage \`${ref.stage}\`, which is not in needs of \`${id}\``,
      line,
      'compile the pipeline again: needs include every referenced stage',
    );
  }
}

/** Order and levels must agree with the dependencies. */
function checkPlannedLevels(levels: readonly unknown[], graph: PlannedGraph, add: AddDiagnostic): void {
  const { ids, deps, position } = graph;
  const level = new Map<string, number>();
  levels.forEach((raw: unknown, index: number) => {
    if (!Array.isArray(raw)) {
      add('plan-levels', `levels[${index}]`, 'each level must be a list of stage ids');
      return;
    }
    for (const id of raw) {
      if (typeof id !== 'string' || !ids.has(id))
        add('plan-levels', `levels[${index}]`, `level ${index} lists ${JSON.stringify(id)}, which is not a stage`);
      else if (level.has(id)) add('plan-levels', `levels[${index}]`, `stage \`${id}\` appears in more than one level`);
      else level.set(id, index);
    }
  });
  for (const id of ids) {
    const own = level.get(id);
    if (own === undefined) {
      add('plan-levels', 'levels', `stage \`${id}\` is in no level`);
      continue;
    }
    for (const need of deps.get(id) ?? []) {
      const theirs = level.get(need);
      if (theirs !== undefined && theirs >= own)
        add(
          'plan-levels',
          'levels',
          `stage \`${id}\` (level ${own}) needs \`${need}\` (level ${theirs}), which is not in an earlier level`,
        );
      const a = position.get(id);
      const b = position.get(need);
      if (a !== undefined && b !== undefined && b > a)
        add('plan-order', 'stages', `stage \`${id}\` is listed before \`${need}\`, which it needs`);
    }
  }
}
