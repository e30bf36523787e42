/**
 * Validated pipeline → Plan: params with `--set` overrides (type-checked), stage settings
 * merged with `defaults` and built-in defaults, stage-type defaults filled into `with`,
 * durations in milliseconds, dependencies and topological levels. Expressions in `with` and
 * `when` stay verbatim: the run resolves them.
 */
import { errorCount, LineIndex, sortDiagnostics, type Diagnostic } from './diagnostics';
import { checkParamFlow, paramFlowHint } from './param-flow';
import { topologicalLevels } from '../core/spec/dag';
import { parseDuration } from '../core/spec/durations';
import { resolveStageInputs } from '../core/spec/expressions';
import { API_VERSION, STAGE_DEFAULTS } from '../core/spec/pipeline-schema';
import type {
  JsonObject,
  JsonValue,
  Plan,
  PlannedCache,
  PlannedParam,
  PlannedRetry,
  PlannedFanOut,
  PlannedStage,
} from '../core/spec/plan-types';
import { applyDefaults } from './schema-language';
import type { StageTypeDefinition } from './stage-types';
import { closest } from '../core/spec/suggest';
import { validatePipeline, type ValidatedPipeline, type ValidatedStage, type ValidationResult } from './validate';
import type { ParsedPipeline } from './parse';
import type { PipelineFileSource, ValidatedSubPipeline } from './sub-pipelines';
import { validatePlan } from '../core/spec/validate-plan';
import { isReservedKey, RESERVED_KEY_HINT } from '../core/spec/reserved';
import { parseMemory, type PlannedResources } from '../core/spec/resources';
import { malformedSetPair, paramFromText, shownSetPair, splitSetPair, wrongParamType } from '../core/spec/param-text';

export interface CompileOptions {
  /** Param overrides: `['name=value', …]` as given on the command line, or a name → raw value map. */
  readonly set?: Readonly<Record<string, string>> | readonly string[];
  /** Stage types to validate against in addition to the global registry. */
  readonly stageTypes?: readonly StageTypeDefinition[];
  /** Reads the files of `pipeline` stages (src/spec/pipeline-files.ts); see ValidateOptions. */
  readonly pipelineFiles?: PipelineFileSource;
}

export interface CompileResult {
  /** Present only when there are no errors. */
  readonly plan?: Plan;
  /** Sorted; warnings may accompany a plan. */
  readonly diagnostics: Diagnostic[];
  /** The validation underneath (source text, checked pipeline), for tools such as `fineflow plan`. */
  readonly validation: ValidationResult;
}

function setDiagnostic(code: string, arg: string, message: string, hint: string): Diagnostic {
  return { severity: 'error', code, path: `--set ${arg}`, line: 0, column: 0, message, hint, file: '--set' };
}

type ParamDeclaration = ValidatedPipeline['params'][number];

/** `--set` values as [name, raw value, the argument as messages show it]; a malformed argument is a diagnostic. */
function setEntries(set: CompileOptions['set'], diagnostics: Diagnostic[]): [string, string, string][] {
  const entries: [string, string, string][] = [];
  if (Array.isArray(set)) {
    for (const arg of set as readonly string[]) {
      const pair = splitSetPair(arg);
      if (!pair) {
        const { message, hint } = malformedSetPair(arg);
        diagnostics.push(setDiagnostic('set-syntax', shownSetPair(arg), message, hint));
        continue;
      }
      entries.push([pair.name, pair.raw, shownSetPair(arg)]);
    }
  } else if (set) {
    for (const [name, raw] of Object.entries(set as Readonly<Record<string, string>>))
      entries.push([name, raw, shownSetPair(`${name}=${raw}`)]);
  }
  return entries;
}

/** The `--set` values that name a declared param, by name; the others are diagnostics. */
function setOverrides(
  pipeline: ValidatedPipeline,
  entries: readonly [string, string, string][],
  diagnostics: Diagnostic[],
): Map<string, { raw: string; arg: string }> {
  const overrides = new Map<string, { raw: string; arg: string }>();
  const declared = new Map(pipeline.params.map((p) => [p.name, p]));
  for (const [name, raw, arg] of entries) {
    if (isReservedKey(name)) {
      const message = `--set ${arg}: \`${name}\` is a reserved name, never a param`;
      diagnostics.push(setDiagnostic('reserved-key', arg, message, RESERVED_KEY_HINT));
      continue;
    }
    if (!declared.has(name)) {
      const near = closest(name, declared.keys());
      diagnostics.push(
        setDiagnostic(
          'set-unknown-param',
          arg,
          `--set ${arg}: the pipeline has no param \`${name}\``,
          near
            ? `did you mean \`${near}\`?`
            : declared.size
              ? `params are: ${[...declared.keys()].join(', ')}`
              : 'the pipeline declares no params',
        ),
      );
      continue;
    }
    overrides.set(name, { raw, arg });
  }
  return overrides;
}

function setWrongType(p: ParamDeclaration, override: { raw: string; arg: string }): Diagnostic {
  const { message, hint } = wrongParamType({ name: p.name, type: p.type, current: p.default }, override.raw);
  return setDiagnostic('set-wrong-type', override.arg, `--set ${override.arg}: ${message}`, hint);
}

function applySet(
  pipeline: ValidatedPipeline,
  set: CompileOptions['set'],
  diagnostics: Diagnostic[],
  file: string,
  lines: LineIndex,
): Record<string, PlannedParam> {
  const params: Record<string, PlannedParam> = {};
  const overrides = setOverrides(pipeline, setEntries(set, diagnostics), diagnostics);
  for (const p of pipeline.params) {
    const override = overrides.get(p.name);
    let value = p.default;
    if (override) {
      const coerced = paramFromText(override.raw, p.type);
      if (coerced === undefined) {
        diagnostics.push(setWrongType(p, override));
        continue;
      }
      value = coerced;
    }
    if (value === undefined) {
      const at = lines.position(p.span.offset);
      diagnostics.push({
        severity: 'error',
        code: 'missing-param-value',
        path: `params.${p.name}`,
        line: at.line,
        column: at.column,
        length: Math.max(1, p.span.end - p.span.offset),
        message: `param \`${p.name}\` has no default and was not set`,
        hint: `pass --set ${p.name}=<${p.type}>`,
        file,
      });
      continue;
    }
    params[p.name] = { type: p.type, value, ...(p.description ? { description: p.description } : {}) };
  }
  checkSetValues(pipeline, params, overrides, diagnostics);
  return params;
}

/** Defaults were checked by validate; a --set value is checked against the inputs it flows into here. */
function checkSetValues(
  pipeline: ValidatedPipeline,
  params: Readonly<Record<string, PlannedParam>>,
  overrides: ReadonlyMap<string, { raw: string; arg: string }>,
  diagnostics: Diagnostic[],
): void {
  const values = Object.fromEntries(Object.entries(params).map(([name, p]) => [name, p.value]));
  const overridden = new Set([...overrides.keys()].filter((name) => name in params));
  for (const problem of overridden.size > 0 ? checkParamFlow(pipeline.stages, values, overridden) : []) {
    for (const name of problem.params) {
      const arg = overrides.get(name)?.arg ?? name;
      diagnostics.push(
        setDiagnostic(
          'param-value-invalid',
          arg,
          `--set ${arg} flows into ${problem.path}: ${problem.message}`,
          paramFlowHint(problem.hint, `pass a --set ${name}=… value that fits`),
        ),
      );
    }
  }
}

function durationMs(value: JsonValue | undefined, fallback: string): number {
  return parseDuration(typeof value === 'string' ? value : fallback) ?? (parseDuration(fallback) as number);
}

function plannedRetry(stage: JsonObject | undefined, defaults: JsonObject | undefined): PlannedRetry {
  const pick = (key: string): JsonValue | undefined => stage?.[key] ?? defaults?.[key];
  const initialIntervalMs = durationMs(pick('initialInterval'), STAGE_DEFAULTS.retry.initialInterval);
  const maximum = pick('maximumInterval');
  return {
    maxAttempts:
      typeof pick('maxAttempts') === 'number' ? (pick('maxAttempts') as number) : STAGE_DEFAULTS.retry.maxAttempts,
    initialIntervalMs,
    backoffCoefficient:
      typeof pick('backoffCoefficient') === 'number'
        ? (pick('backoffCoefficient') as number)
        : STAGE_DEFAULTS.retry.backoffCoefficient,
    maximumIntervalMs:
      typeof maximum === 'string'
        ? (parseDuration(maximum) ?? initialIntervalMs * STAGE_DEFAULTS.maximumIntervalFactor)
        : initialIntervalMs * STAGE_DEFAULTS.maximumIntervalFactor,
    outageBudgetMs: durationMs(pick('outageBudget'), STAGE_DEFAULTS.retry.outageBudget),
  };
}

function plannedCache(value: JsonValue | undefined): PlannedCache {
  if (typeof value === 'boolean') return { enabled: value };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as JsonObject;
    const maxAgeMs = typeof v.maxAge === 'string' ? parseDuration(v.maxAge) : undefined;
    return { enabled: v.enabled !== false, ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) };
  }
  return { enabled: STAGE_DEFAULTS.cache };
}

function planStage(stage: ValidatedStage, defaults: JsonObject): PlannedStage {
  const s = stage.settings;
  const get = (key: string): JsonValue | undefined => s[key] ?? defaults[key];
  const heartbeat = get('heartbeatTimeout');
  const type = stage.type as StageTypeDefinition;
  return {
    id: stage.id,
    uses: stage.uses,
    typeVersion: type.version,
    with: applyDefaults(stage.with, type.inputs) as JsonObject,
    needs: stage.dependsOn,
    ...(stage.when !== undefined ? { when: stage.when } : {}),
    pool: typeof get('pool') === 'string' ? (get('pool') as string) : STAGE_DEFAULTS.pool,
    timeoutMs: durationMs(get('timeout'), STAGE_DEFAULTS.timeout),
    ...(typeof heartbeat === 'string' && parseDuration(heartbeat) !== undefined
      ? { heartbeatTimeoutMs: parseDuration(heartbeat) as number }
      : {}),
    retry: plannedRetry(s.retry as JsonObject | undefined, defaults.retry as JsonObject | undefined),
    ...finallySettings(stage, get),
    line: stage.line,
    ...plannedResources(s.resources, defaults.resources),
    ...(stage.fanOut ? { fanOut: plannedFanOut(stage.fanOut) } : {}),
    ...(stage.subPipeline ? subPipelineSettings(stage.subPipeline, stage.with.params) : {}),
  };
}

/**
 * A `pipeline` stage carries its child's plan. The stage itself is never cached (the child's stages
 * are, by their own settings); the child's stages fail rather than pause, so a failure reaches the
 * parent stage, whose `onFailure` decides; a schedule or triggers of the child do not apply.
 */
function subPipelineSettings(
  child: ValidatedSubPipeline,
  given: JsonValue | undefined,
): Pick<PlannedStage, 'cache' | 'subPipeline'> {
  const written = given !== null && typeof given === 'object' && !Array.isArray(given) ? (given as JsonObject) : {};
  const params: Record<string, PlannedParam> = {};
  for (const p of child.pipeline.params) {
    const value = Object.prototype.hasOwnProperty.call(written, p.name) ? written[p.name] : p.default;
    // A value from an expression is known only at run time (until then, the default or null).
    const known = value !== undefined && !JSON.stringify(value).includes('${{') ? value : (p.default ?? null);
    params[p.name] = { type: p.type, value: known, ...(p.description ? { description: p.description } : {}) };
  }
  const { schedule: _schedule, ...plan } = buildPlan({ ...child.pipeline, triggers: [] }, params, child.file);
  return {
    cache: { enabled: false },
    subPipeline: { file: child.file, plan: { ...plan, stages: plan.stages.map((s) => ({ ...s, onFailure: 'fail' })) } },
  };
}

/**
 * A finally stage always fails rather than pauses (the run is over when it runs) and is not cached
 * unless it says so itself (a notification should go out on every run; `defaults.cache` does not apply).
 */
function finallySettings(
  stage: ValidatedStage,
  get: (key: string) => JsonValue | undefined,
): Pick<PlannedStage, 'onFailure' | 'cache' | 'finally'> {
  if (stage.finally) return { finally: true, onFailure: 'fail', cache: plannedCache(stage.settings.cache ?? false) };
  const onFailure = get('onFailure');
  return {
    onFailure: onFailure === 'pause' ? 'pause' : onFailure === 'fail' ? 'fail' : STAGE_DEFAULTS.onFailure,
    cache: plannedCache(get('cache')),
  };
}

/** The stage's `resources:` over `defaults.resources`, key by key; nothing when neither sets any. */
function plannedResources(
  stage: JsonValue | undefined,
  defaults: JsonValue | undefined,
): { resources?: PlannedResources } {
  const merged = { ...asObject(defaults), ...asObject(stage) };
  const memoryMb = typeof merged.memory === 'string' ? parseMemory(merged.memory) : undefined;
  const resources: PlannedResources = {
    ...(typeof merged.cpu === 'number' ? { cpu: merged.cpu } : {}),
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(typeof merged.gpu === 'number' ? { gpu: merged.gpu } : {}),
  };
  return Object.keys(resources).length > 0 ? { resources } : {};
}

function asObject(value: JsonValue | undefined): JsonObject {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

function plannedFanOut(written: JsonObject): PlannedFanOut {
  const { forEach, matrix, parallelism, failFast, minSuccessRatio } = written;
  return {
    ...(forEach !== undefined ? { forEach } : {}),
    ...(matrix !== undefined ? { matrix: matrix as JsonObject } : {}),
    ...(typeof parallelism === 'number' ? { parallelism } : {}),
    failFast: failFast !== false,
    minSuccessRatio: typeof minSuccessRatio === 'number' ? minSuccessRatio : 1,
  };
}

/** Resolve `${{ params.* }}` in schedule and triggers now: they act before any run exists. */
function resolveParams(value: JsonObject, params: Record<string, PlannedParam>): JsonObject {
  const ctx = { params: Object.fromEntries(Object.entries(params).map(([k, p]) => [k, p.value])), stages: {} };
  return resolveStageInputs(value, ctx);
}

/** Topological order and levels: the normal stages, then the `finally:` stages (ordered among themselves). */
function stageOrder(stages: readonly ValidatedStage[]): {
  order: readonly string[];
  levels: readonly (readonly string[])[];
} {
  // topologicalLevels ignores edges to ids outside the part (a finally stage's needs on normal stages).
  const part = (finallyPart: boolean): ReturnType<typeof topologicalLevels> => {
    const own = stages.filter((s) => (s.finally === true) === finallyPart);
    return topologicalLevels(
      own.map((s) => s.id),
      new Map(own.map((s) => [s.id, s.dependsOn])),
    );
  };
  const main = part(false);
  const last = part(true);
  return { order: [...main.order, ...last.order], levels: [...main.levels, ...last.levels] };
}

/** Build the plan from an already validated pipeline (no errors). */
export function buildPlan(pipeline: ValidatedPipeline, params: Record<string, PlannedParam>, source?: string): Plan {
  const byId = new Map(pipeline.stages.map((s) => [s.id, s]));
  const topo = stageOrder(pipeline.stages);
  const schedule = pipeline.schedule ? { ...pipeline.schedule } : undefined;
  if (schedule && typeof schedule.cron === 'string') schedule.cron = [schedule.cron];
  return {
    apiVersion: API_VERSION,
    pipeline: {
      name: pipeline.name,
      ...(pipeline.description ? { description: pipeline.description } : {}),
      ...(pipeline.labels ? { labels: pipeline.labels } : {}),
    },
    ...(source !== undefined ? { source } : {}),
    params,
    stages: topo.order.map((id) => planStage(byId.get(id) as ValidatedStage, pipeline.defaults)),
    levels: topo.levels,
    ...(schedule ? { schedule: resolveParams(schedule, params) } : {}),
    triggers: pipeline.triggers.map((t) => resolveParams(t, params)),
    ...(Object.keys(pipeline.secrets).length > 0 ? { secrets: pipeline.secrets } : {}),
    ...(pipeline.parallelism !== undefined ? { parallelism: pipeline.parallelism } : {}),
  };
}

/**
 * Validate a pipeline and compile it to the plan a run executes. The plan is returned only
 * when there are no errors; `--set` values are type-checked against the params.
 */
export function compilePlan(
  source: string | Uint8Array | ParsedPipeline,
  file = '<input>',
  options: CompileOptions = {},
): CompileResult {
  const validation = validatePipeline(source, file, {
    ...(options.stageTypes ? { stageTypes: options.stageTypes } : {}),
    ...(options.pipelineFiles ? { pipelineFiles: options.pipelineFiles } : {}),
  });
  const diagnostics = [...validation.diagnostics];
  if (!validation.pipeline || !validation.valid) {
    return { diagnostics: sortDiagnostics(diagnostics), validation };
  }
  const params = applySet(
    validation.pipeline,
    options.set,
    diagnostics,
    validation.file,
    new LineIndex(validation.text),
  );
  if (errorCount(diagnostics) > 0) return { diagnostics: sortDiagnostics(diagnostics), validation };
  let plan: Plan;
  try {
    plan = buildPlan(validation.pipeline, params, validation.file);
  } catch (error) {
    diagnostics.push({
      severity: 'error',
      code: 'set-wrong-type',
      path: 'triggers',
      line: 0,
      column: 0,
      message: `cannot resolve params in schedule/triggers: ${error instanceof Error ? error.message : String(error)}`,
      file: validation.file,
    });
    return { diagnostics: sortDiagnostics(diagnostics), validation };
  }
  // The plan must pass the same check the workflow runs first; a failure here is a compiler bug.
  const recheck = validatePlan(plan);
  diagnostics.push(...recheck);
  if (errorCount(recheck) > 0) return { diagnostics: sortDiagnostics(diagnostics), validation };
  return { plan, diagnostics: sortDiagnostics(diagnostics), validation };
}
