/**
 * Sub-pipelines at validate time: a `pipeline` stage (./pipeline-stage-type.ts) names a child file,
 * which is read through a {@link PipelineFileSource} (the CLI's reads files next to the pipeline,
 * ./pipeline-files.ts), validated like any pipeline (its diagnostics name its own file and lines),
 * and turned into the stage's own type: `params` become the child's declared params (types,
 * required ones, and — through param flow — the ranges of the inputs they reach), and `outputs` the
 * child's stage ids. Cycles, depth, bytes read and the stages of the whole tree are bounded.
 * No I/O here: the source does the reading.
 */
import type { Diagnostic } from './diagnostics';
import { entry, type LocatedMap, type LocatedNode, type Span } from './located';
import type { ParsedPipeline } from './parse';
import { checkParamFlow, PARAM_VALUE_SCHEMAS, paramFlowHint } from './param-flow';
import { PIPELINE_STAGE_TYPE, SUB_PIPELINE_LIMITS } from './pipeline-stage-type';
import type { InputSchema, ObjectSchema } from './schema-language';
import type { StageInputProblem, StageTypeDefinition } from './stage-type-definition';
import type { ValidatedPipeline, ValidatedSubPipeline, ValidationResult } from './validated-types';

export type { ValidatedSubPipeline } from './validated-types';
import { hasExpression, joinPath } from '../core/spec/expressions';
import type { JsonObject, JsonValue } from '../core/spec/plan-types';
import { MAX_STAGES, MAX_STAGES_HINT, MAX_SUB_PIPELINE_DEPTH } from '../core/spec/validate-plan';

/** What reading a child file gave: the parsed file, or why it cannot be read. */
export type PipelineFileRead =
  | {
      readonly ok: true;
      /** The file as diagnostics and plans name it (e.g. `pipelines/parts/train.yaml`). */
      readonly file: string;
      /** Identity of the file (its real path), for cycles. */
      readonly key: string;
      readonly bytes: number;
      readonly parsed: ParsedPipeline;
    }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly hint: string };

/** Reads the files `pipeline` stages name. */
export interface PipelineFileSource {
  /** Identity of the top-level file, so a child that includes it is a cycle. */
  readonly rootKey: string;
  /**
   * Read `written` (the stage's `with.file`) relative to `fromFile` (a `file` this source returned, or the top-level
   * one).
   */
  read(written: string, fromFile: string): PipelineFileRead;
}

/** Where one validation sits in the tree of included files; shared budgets are mutated as files are read. */
export interface SubPipelineNesting {
  /** The files from the top-level one down to the one being validated (`key` as the source gives it). */
  readonly chain: readonly { readonly key: string; readonly file: string }[];
  readonly budget: { stages: number; bytes: number };
}

export interface ResolvedSubPipeline {
  /** The stage's own type: the child's params and stage ids; the generic type when the child is unusable. */
  readonly type: StageTypeDefinition;
  readonly child?: ValidatedSubPipeline;
}

type Report = (
  severity: Diagnostic['severity'],
  code: string,
  path: string,
  span: Span,
  message: string,
  hint?: string,
) => void;

type Validate = (parsed: ParsedPipeline, nesting: SubPipelineNesting) => ValidationResult;

/** Every stage of a validated pipeline, its sub-pipelines' included. */
export function totalStages(pipeline: ValidatedPipeline): number {
  return pipeline.stages.reduce((sum, s) => sum + 1 + (s.subPipeline ? totalStages(s.subPipeline.pipeline) : 0), 0);
}

/** The `file` scalar of a stage's `with`, when written as a string. */
function fileNode(stage: LocatedMap): (LocatedNode & { kind: 'scalar' }) | undefined {
  const withNode = entry(stage, 'with')?.value;
  const node = withNode?.kind === 'map' ? entry(withNode, 'file')?.value : undefined;
  return node?.kind === 'scalar' && typeof node.value === 'string' ? node : undefined;
}

/** Why a written path may not be read at all, before asking the source. */
function pathProblem(written: string): { message: string; hint: string } | undefined {
  if (hasExpression(written))
    return {
      message:
        'the sub-pipeline file must be a literal path: it is read and validated with this pipeline, before any run',
      hint: 'write the path, e.g. `file: parts/train.yaml`; pass run-time values to the child through `params`',
    };
  if (/^([/\\]|[A-Za-z]:)/.test(written) || /^[a-z][a-z0-9+.-]*:\/\//i.test(written))
    return {
      message: `\`${written}\` is not a relative path`,
      hint: "write the child's path relative to this pipeline's file, inside its directory",
    };
  if (written.split(/[/\\]/).includes('..'))
    return {
      message: `\`${written}\` leaves this pipeline's directory`,
      hint: 'keep sub-pipelines in the directory of the top-level pipeline or below it (no `..`)',
    };
  if (!/\.ya?ml$/.test(written))
    return { message: `\`${written}\` is not a YAML file`, hint: 'write the path of a pipeline file ending in .yaml' };
  return undefined;
}

/** What resolveSubPipeline is given: the stage, where it sits, and how to read and validate its child. */
interface SubPipelineArgs {
  readonly stage: LocatedMap;
  /** `stages.<id>` (or `finally.<id>`). */
  readonly path: string;
  readonly fromFile: string;
  readonly source: PipelineFileSource | undefined;
  readonly nesting: SubPipelineNesting;
  readonly report: Report;
  readonly validate: Validate;
}

/**
 * Read and validate the child of one `pipeline` stage; problems are reported at its `with.file`, the
 * child's own diagnostics as they are (naming the child file). Returns the stage's type.
 */
export function resolveSubPipeline(args: SubPipelineArgs): ResolvedSubPipeline {
  const generic = { type: PIPELINE_STAGE_TYPE };
  const node = fileNode(args.stage);
  if (!node) return generic; // the schema check reports a missing or non-string `file`
  const path = joinPath(joinPath(args.path, 'with'), 'file');
  const read = readChildFile(args, node.value as string);
  if (!read.ok) {
    args.report('error', read.code, path, node.span, read.message, read.hint);
    return generic;
  }
  const result = args.validate(read.parsed, {
    chain: [...args.nesting.chain, { key: read.key, file: read.file }],
    budget: args.nesting.budget,
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 0)
    args.report(
      'error',
      'sub-pipeline-invalid',
      path,
      node.span,
      `sub-pipeline ${read.file} has ${errors} error${errors === 1 ? '' : 's'} (reported at ${read.file})`,
      `fix them in ${read.file}; \`fineflow validate ${read.file}\` checks it alone`,
    );
  if (!result.pipeline || errors > 0) return generic;
  const child = { file: read.file, pipeline: result.pipeline };
  if (result.pipeline.schedule || result.pipeline.triggers.length > 0)
    args.report(
      'warning',
      'sub-pipeline-schedule-ignored',
      path,
      node.span,
      `${read.file} has a schedule or triggers; they do not apply when it runs as a sub-pipeline`,
      'remove them from the child if it only runs as a sub-pipeline; schedule the parent pipeline instead',
    );
  return { type: subPipelineType(child), child };
}

/**
 * The child file `written` names, read within the nesting's limits (depth, stages, bytes) and refused when it would
 * close a cycle; the read counts its bytes against the shared budget.
 */
function readChildFile(args: SubPipelineArgs, written: string): PipelineFileRead {
  const refused = (code: string, message: string, hint: string): PipelineFileRead => ({
    ok: false,
    code,
    message,
    hint,
  });
  const problem = pathProblem(written);
  if (problem) return refused('sub-pipeline-path', problem.message, problem.hint);
  if (!args.source)
    return refused(
      'sub-pipeline-unavailable',
      `cannot read sub-pipeline \`${written}\` here: this pipeline was given as text, without its directory`,
      'pass the pipeline as a file to the fineflow CLI (`fineflow validate FILE`), which reads the files next to it',
    );
  if (args.nesting.chain.length > MAX_SUB_PIPELINE_DEPTH)
    return refused(
      'sub-pipeline-too-deep',
      `sub-pipelines nest more than ${MAX_SUB_PIPELINE_DEPTH} levels deep here`,
      'flatten the innermost pipelines into their parents',
    );
  if (args.nesting.budget.stages > MAX_STAGES)
    return refused(
      'too-many-stages',
      `the pipeline and its sub-pipelines have more than ${MAX_STAGES} stages before \`${written}\``,
      MAX_STAGES_HINT,
    );
  const read = args.source.read(written, args.fromFile);
  if (!read.ok) return read;
  const at = args.nesting.chain.findIndex((link) => link.key === read.key);
  if (at >= 0)
    return refused(
      'sub-pipeline-cycle',
      `sub-pipeline cycle: ${[...args.nesting.chain.slice(at).map((link) => link.file), read.file].join(' -> ')}`,
      'remove one of the `pipeline` stages of the cycle: a pipeline cannot run itself, directly or through another',
    );
  args.nesting.budget.bytes += read.bytes;
  if (args.nesting.budget.bytes > SUB_PIPELINE_LIMITS.totalBytes)
    return refused(
      'sub-pipeline-too-large',
      `the pipeline and its sub-pipelines are over ${SUB_PIPELINE_LIMITS.totalBytes / 1024 / 1024} MiB of YAML`,
      'keep data out of pipelines (reference it by URI) and include fewer files',
    );
  return read;
}

/** Diagnostics of a child's validation, for the parent's list (each once, though a child may be included twice). */
export function childDiagnostics(results: readonly ValidationResult[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of results.flatMap((r) => r.diagnostics)) {
    const key = `${d.file}\u0000${d.line}\u0000${d.column}\u0000${d.code}\u0000${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function paramsSchema(child: ValidatedSubPipeline): ObjectSchema {
  const properties: Record<string, InputSchema> = {};
  for (const p of child.pipeline.params)
    properties[p.name] = {
      ...PARAM_VALUE_SCHEMAS[p.type],
      description: p.description ?? `param ${p.name} of ${child.file}`,
    };
  const required = child.pipeline.params.filter((p) => p.default === undefined).map((p) => p.name);
  return {
    type: 'object',
    description: `params of ${child.file}`,
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

/** The literal values of `params` (expressions are resolved only by the run). */
function literalParams(value: JsonValue | undefined): Record<string, JsonValue> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, JsonValue> = {};
  for (const [name, v] of Object.entries(value as JsonObject))
    if (!(typeof v === 'string' && hasExpression(v)) && !JSON.stringify(v).includes('${{')) out[name] = v;
  return out;
}

/** Literal params that make an input of the child invalid, as problems at `params.<name>`. */
export function childParamProblems(child: ValidatedSubPipeline, params: JsonValue | undefined): StageInputProblem[] {
  const given = literalParams(params);
  const values: Record<string, JsonValue> = {};
  for (const p of child.pipeline.params) {
    const value = Object.prototype.hasOwnProperty.call(given, p.name) ? given[p.name] : p.default;
    if (value !== undefined) values[p.name] = value;
  }
  return checkParamFlow(child.pipeline.stages, values, new Set(Object.keys(given))).flatMap((problem) =>
    problem.params.map((name) => ({
      path: `params.${name}`,
      code: 'param-value-invalid',
      message:
        `params.${name} = ${JSON.stringify(given[name])} flows into ${problem.path} of ${child.file}: ` +
        `${problem.message}`,
      hint: paramFlowHint(problem.hint, `pass a value of \`${name}\` that fits`),
    })),
  );
}

/** The type of a `pipeline` stage whose child is known: its params and its stage ids as outputs. */
export function subPipelineType(child: ValidatedSubPipeline): StageTypeDefinition {
  const outputs: Record<string, StageTypeDefinition['outputs'][string]> = {};
  for (const stage of child.pipeline.stages)
    outputs[stage.id] = {
      type: 'object',
      description: `outputs of stage ${stage.id} (${stage.uses}) of ${child.file}`,
    };
  return {
    ...PIPELINE_STAGE_TYPE,
    inputs: {
      ...PIPELINE_STAGE_TYPE.inputs,
      properties: { ...PIPELINE_STAGE_TYPE.inputs.properties, params: paramsSchema(child) },
      // Without `params` the child runs with its defaults; a param without one must be given.
      required: child.pipeline.params.some((p) => p.default === undefined) ? ['file', 'params'] : ['file'],
    },
    outputs,
    checkInputs: (inputs) => childParamProblems(child, inputs.params),
  };
}
