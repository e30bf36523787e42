/**
 * Pipelines in TypeScript: `pipeline({…})` builds the same document a YAML file holds, with the
 * compiler checking every stage's `with:` against its stage type (src/sdk/stage-io.generated.ts)
 * and every reference against the type of the param or output it names. `compilePipeline` then
 * runs the very validator and compiler the YAML goes through, so the plans are identical.
 *
 *   const prepare = stage('prepare', 'prepare-data');
 *   const train = stage('finetune', 'fine-tune');
 *   const p = params({ dataset: 's3://datasets/defects/', epochs: 20 });
 *   export default pipeline({
 *     metadata: { name: 'defects' },
 *     params: p,
 *     stages: [
 *       prepare.run({ with: { source: p.ref.dataset, format: 'image-folder' } }),
 *       train.run({ with: { model: 'registry://base@1', data: prepare.outputs.dataset, epochs: p.ref.epochs } }),
 *     ],
 *   });
 *
 * Stage handles exist before stages are configured, so a stage may reference one listed after it;
 * the order of `stages` is the order of the YAML file.
 */
import { stringify } from 'yaml';
import type { JsonObject, JsonValue, Plan } from '../core/spec/plan-types';
import { InvalidInputError } from '../core/errors';
import { compilePlan, type CompileOptions } from '../spec/compile';
import { pipelineFileSource } from '../spec/pipeline-files';
import { API_VERSION } from '../core/spec/pipeline-schema';
import { Ref, type In } from './refs';
import type { BuiltinStageType, StageInputs, StageOutputs } from './stage-io.generated';

/** Retry policy of a stage (durations as in YAML: `5s`, `10m`). */
export interface RetrySpec {
  readonly maxAttempts?: number;
  readonly initialInterval?: string;
  readonly backoffCoefficient?: number;
  readonly maximumInterval?: string;
  readonly outageBudget?: string;
}

/** What `defaults:` and a stage share. */
export interface ExecutionSpec {
  readonly pool?: string;
  readonly timeout?: string;
  readonly heartbeatTimeout?: string;
  readonly retry?: RetrySpec;
  readonly onFailure?: 'pause' | 'fail';
  readonly cache?: boolean | { readonly enabled?: boolean; readonly maxAge?: string };
  /** What one attempt needs on its worker: cores, memory with a unit (`4Gi`), whole GPUs. */
  readonly resources?: { readonly cpu?: number; readonly memory?: string; readonly gpu?: number };
}

export interface StageSpec<Inputs> extends ExecutionSpec {
  readonly description?: string;
  readonly with: Inputs;
  readonly needs?: readonly (StageHandle<string> | string)[];
  /** Condition: the stage is skipped when it is false, e.g. `evaluate.outputs.passed`. */
  readonly when?: In<boolean>;
  /** Fan-out: one instance per item of the list (`item` in expressions), e.g. `split.outputs.value`. */
  readonly forEach?: In<readonly JsonValue[]>;
  /** Fan-out over the cartesian product of several lists (`item.<key>`). */
  readonly matrix?: { readonly [key: string]: In<readonly JsonValue[]> };
  readonly parallelism?: number;
  readonly failFast?: boolean;
  readonly minSuccessRatio?: number;
}

type OutputRefs<T> = { readonly [K in keyof T]: Ref<T[K]> };
type InputsOf<T extends string> = T extends BuiltinStageType ? StageInputs[T] : JsonObject;
type OutputsOf<T extends string> = T extends BuiltinStageType
  ? OutputRefs<StageOutputs[T]>
  : Record<string, Ref<never>>;

/** A stage, configured: one entry of `stages:`. */
export interface StageEntry {
  readonly id: string;
  readonly document: JsonObject;
  /** Where `run()` was called (file:line of the TypeScript pipeline), for the plan's stage `line`. */
  readonly line?: number;
}

/** Line of the caller of `run()`, so messages at run time point into the TypeScript file, not the generated YAML. */
function callerLine(): number | undefined {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const outside = frames.find((frame) => !frame.includes(`${__dirname}`) && /:\d+:\d+\)?$/.test(frame));
  const match = outside ? /:(\d+):\d+\)?$/.exec(outside) : null;
  return match ? Number(match[1]) : undefined;
}

/** A named stage of some type; its `outputs` are typed references, usable before the stage is configured. */
export interface StageHandle<T extends string> {
  readonly id: string;
  readonly uses: T;
  readonly outputs: OutputsOf<T>;
  /** `stages.<id>.status`: succeeded, cached, skipped, failed, cancelled … (for `when` and `finally` stages). */
  readonly status: Ref<string>;
  /** Configure the stage: its `with:` is checked against the stage type's inputs. */
  run(spec: StageSpec<InputsOf<T>>): StageEntry;
}

/** A handle on stage `id` of type `uses` (a built-in type is typed; a custom one takes any JSON inputs). */
export function stage<T extends BuiltinStageType>(id: string, uses: T): StageHandle<T>;
export function stage(id: string, uses: string): StageHandle<string>;
export function stage(id: string, uses: string): StageHandle<string> {
  const outputs = new Proxy({} as Record<string, Ref<never>>, {
    get: (_target, name) => (typeof name === 'string' ? new Ref<never>(`stages.${id}.outputs.${name}`) : undefined),
  });
  return {
    id,
    uses,
    outputs,
    status: new Ref<string>(`stages.${id}.status`),
    run: (spec) => {
      const line = callerLine();
      return { id, document: stageDocument(uses, spec), ...(line !== undefined ? { line } : {}) };
    },
  };
}

type ParamValue = string | number | boolean | readonly JsonValue[] | JsonObject;

/** Params with typed references to each (`p.ref.epochs` is a `Ref<number>`). */
export interface Params<P extends { readonly [name: string]: ParamValue }> {
  readonly values: P;
  readonly ref: { readonly [K in keyof P]: Ref<ParamType<P[K]>> };
}

/**
 * The value type of a param: its literal's type, or the `type:` of a declared param (`{type: integer, default: 12}`).
 */
export type ParamType<V> = V extends string
  ? string
  : V extends number
    ? number
    : V extends boolean
      ? boolean
      : V extends { readonly type: 'integer' | 'number' }
        ? number
        : V extends { readonly type: 'string' }
          ? string
          : V extends { readonly type: 'boolean' }
            ? boolean
            : V;

export function params<const P extends { readonly [name: string]: ParamValue }>(values: P): Params<P> {
  const ref = Object.fromEntries(Object.keys(values).map((name) => [name, new Ref(`params.${name}`)]));
  return { values, ref: ref as Params<P>['ref'] };
}

export interface PipelineSpec {
  readonly metadata: {
    readonly name: string;
    readonly description?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly params?: Params<{ readonly [name: string]: ParamValue }>;
  readonly defaults?: ExecutionSpec;
  /** Most stages of one run running at once. */
  readonly parallelism?: number;
  readonly secrets?: Readonly<Record<string, { readonly env: string } | { readonly file: string }>>;
  /** As in YAML (cron/every/calendar, overlap, catchupWindow, timezone, jitter …). */
  readonly schedule?: JsonObject;
  /** As in YAML, e.g. `[{ newData: { path: p.ref.dataset, debounce: '10m' } }]`. */
  readonly triggers?: readonly { readonly [kind: string]: { readonly [key: string]: In<JsonValue> } }[];
  readonly stages: readonly StageEntry[];
  /** `finally:` stages: they run after all `stages`, whatever happened (read {@link run}`.status`). */
  readonly finally?: readonly StageEntry[];
}

/** `${{ run.* }}`: the run's id and pipeline; in `finally` stages also how it ended. */
export const run = {
  id: new Ref<string>('run.id'),
  pipeline: new Ref<string>('run.pipeline'),
  status: new Ref<string>('run.status'),
  failedStages: new Ref<readonly string[]>('run.failedStages'),
  cancelledStages: new Ref<readonly string[]>('run.cancelledStages'),
} as const;

/** A pipeline written in TypeScript: the YAML document it stands for, ready to compile. */
export interface PipelineDefinition {
  readonly name: string;
  /** The document, exactly as a YAML file would hold it (references as `${{ … }}` strings). */
  readonly document: JsonObject;
  /** Stage id → line of its `run()` call in the TypeScript file. */
  readonly lines: Readonly<Record<string, number>>;
}

/** JSON of a spec value: references become their `${{ … }}` text, handles in `needs` their ids. */
function toJson(value: unknown): JsonValue {
  if (value instanceof Ref) return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    if ('uses' in value && 'id' in value && 'run' in value) return (value as StageHandle<string>).id;
    const out: Record<string, JsonValue> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = toJson(inner);
    return out;
  }
  return value as JsonValue;
}

function stageDocument(uses: string, spec: StageSpec<unknown>): JsonObject {
  return toJson({ uses, ...spec }) as JsonObject;
}

function stageMap(entries: readonly StageEntry[], section: string, seen: Set<string>): Record<string, JsonValue> {
  const stages: Record<string, JsonValue> = {};
  for (const entry of entries) {
    if (seen.has(entry.id)) {
      throw new InvalidInputError(`stage '${entry.id}' is listed twice in ${section}; give each stage its own id`, {
        stage: entry.id,
      });
    }
    seen.add(entry.id);
    stages[entry.id] = entry.document;
  }
  return stages;
}

export function pipeline(spec: PipelineSpec): PipelineDefinition {
  const seen = new Set<string>();
  const stages = stageMap(spec.stages, 'stages', seen);
  const finallyStages = spec.finally ? stageMap(spec.finally, 'stages and finally', seen) : undefined;
  const document = toJson({
    apiVersion: API_VERSION,
    kind: 'Pipeline',
    metadata: spec.metadata,
    params: spec.params?.values,
    defaults: spec.defaults,
    parallelism: spec.parallelism,
    secrets: spec.secrets,
    schedule: spec.schedule,
    triggers: spec.triggers,
  }) as Record<string, JsonValue>;
  document.stages = stages;
  if (finallyStages) document.finally = finallyStages;
  const lines = Object.fromEntries(
    [...spec.stages, ...(spec.finally ?? [])].flatMap((entry) => (entry.line ? [[entry.id, entry.line]] : [])),
  );
  return { name: spec.metadata.name, document, lines };
}

/** The YAML text of a TypeScript pipeline (what `fineflow plan` would read). */
export function pipelineYaml(definition: PipelineDefinition): string {
  return stringify(definition.document, { lineWidth: 0 });
}

/**
 * The plan of a TypeScript pipeline, through the same validation and compilation as a YAML file.
 * Problems are thrown as one InvalidInputError listing each diagnostic's path, message and fix.
 */
export function compilePipeline(
  definition: PipelineDefinition,
  options: CompileOptions & {
    /** Name recorded as the plan's `source` (default `<name>.pipeline.ts`). */
    readonly file?: string;
  } = {},
): Plan {
  const file = options.file ?? `${definition.name}.pipeline.ts`;
  // `pipeline` stages name files relative to `file` (as the CLI reads them next to a YAML pipeline).
  const result = compilePlan(pipelineYaml(definition), file, {
    ...options,
    pipelineFiles: options.pipelineFiles ?? pipelineFileSource(file),
  });
  if (result.plan) {
    // Stage lines of the generated YAML mean nothing to the author: use the TypeScript call sites.
    const stages = result.plan.stages.map(({ line: _generated, ...rest }) => {
      const line = definition.lines[rest.id];
      return line === undefined ? rest : { ...rest, line };
    });
    return { ...result.plan, stages };
  }
  const problems = result.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.path}: ${d.message} [${d.code}]${d.hint ? ` (${d.hint})` : ''}`);
  throw new InvalidInputError(`pipeline ${definition.name} is invalid:\n  ${problems.join('\n  ')}`, {
    pipeline: definition.name,
    diagnostics: result.diagnostics.map((d) => ({ code: d.code, path: d.path, message: d.message })),
  });
}
