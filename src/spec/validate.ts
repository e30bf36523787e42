/**
 * Pipeline validation: a list of small named checks over the located YAML tree, each adding
 * diagnostics; every problem is reported at once. The result also carries the checked
 * pipeline as plain data for the plan compiler.
 */
import { checkScheduleBlock } from '../schedules/schedule-block';
import { errorCount, sortDiagnostics, type Diagnostic } from './diagnostics';
import { dependentsOf, downstreamOf, findCycles } from '../core/spec/dag';
import { parseDuration } from '../core/spec/durations';
import {
  ExpressionSyntaxError,
  EXPRESSION_FUNCTIONS,
  classifyReference,
  hasExpression,
  joinPath,
  parseCondition,
  parseTemplate,
  referenceNodes,
  wholeExpression,
  type ClassifiedReference,
  type ExpressionNode,
  type TemplatePart,
} from '../core/spec/expressions';
import {
  describeNode,
  entry,
  toJson,
  type LocatedEntry,
  type LocatedMap,
  type LocatedNode,
  type Span,
} from './located';
import { parsePipeline, type ParsedPipeline } from './parse';
import { checkParamFlow, PARAM_VALUE_SCHEMAS, paramFlowHint } from './param-flow';
import {
  PARAM_NAME_PATTERN,
  PARAM_TYPES,
  PIPELINE_SCHEMA,
  SECRET_NAME_PATTERN,
  STAGE_DEFAULTS,
  STAGE_ID_PATTERN,
  MAX_FAN_OUT_ITEMS,
} from '../core/spec/pipeline-schema';
import { MAX_OUTAGE_BUDGET_MS, type JsonObject, type JsonValue, type SecretReference } from '../core/spec/plan-types';
import {
  acceptsOutputType,
  checkValue,
  describeSchema,
  outputTypeOf,
  SECRET_HINT,
  type InputSchema,
  type OutputType,
  type SchemaIssue,
} from './schema-language';
import { stageTypeLookup, type StageTypeDefinition } from './stage-types';
import {
  defaultGuardedReferences,
  finallyReferenceProblem,
  runReferenceProblem,
  type StageSection,
} from './validate-finally';
import { MAX_STAGES, MAX_STAGES_HINT } from '../core/spec/validate-plan';
import { PIPELINE_STAGE_TYPE, PIPELINE_STAGE_TYPE_NAME } from './pipeline-stage-type';
import {
  childDiagnostics,
  resolveSubPipeline,
  totalStages,
  type PipelineFileSource,
  type ResolvedSubPipeline,
  type SubPipelineNesting,
} from './sub-pipelines';
import type {
  ParamType,
  ValidatedParam,
  ValidatedPipeline,
  ValidatedStage,
  ValidatedSubPipeline,
  ValidationResult,
} from './validated-types';
import { formatMemory, parseMemory, RESOURCE_BOUNDS } from '../core/spec/resources';
import { isReservedKey, RESERVED_KEY_HINT } from '../core/spec/reserved';
import { closest, unknownNameHint } from '../core/spec/suggest';
import { confusableNote } from '../core/spec/confusables';

export type { ParamType, ValidatedParam, ValidatedPipeline, ValidatedStage, ValidationResult } from './validated-types';

export interface ValidateOptions {
  /** Stage types to validate against in addition to the global registry. */
  readonly stageTypes?: readonly StageTypeDefinition[];
  /**
   * Reads the files of `pipeline` stages (src/spec/pipeline-files.ts for files on disk); without it a
   * `pipeline` stage is an error (`sub-pipeline-unavailable`).
   */
  readonly pipelineFiles?: PipelineFileSource;
  /** Set when validating a sub-pipeline: where it sits in the tree of included files. */
  readonly nesting?: SubPipelineNesting;
}

const STAGE_SETTING_KEYS = ['pool', 'timeout', 'heartbeatTimeout', 'retry', 'onFailure', 'cache', 'resources'];

/** What the checks share: the source, the diagnostics so far, and lookups. */
class Checker {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly parsed: ParsedPipeline) {}

  report(
    severity: Diagnostic['severity'],
    code: string,
    path: string,
    span: Span,
    message: string,
    hint?: string,
  ): void {
    const at = this.parsed.lines.position(span.offset);
    const length = Math.max(1, span.end - span.offset);
    this.diagnostics.push({
      severity,
      code,
      path,
      line: at.line,
      column: at.column,
      length,
      message,
      ...(hint ? { hint } : {}),
      file: this.parsed.file,
    });
  }

  error(code: string, path: string, span: Span, message: string, hint?: string): void {
    this.report('error', code, path, span, message, hint);
  }

  issue(issue: SchemaIssue, codes: Partial<Record<SchemaIssue['code'], string>> = {}): void {
    this.error(codes[issue.code] ?? issue.code, issue.path, issue.span, issue.message, issue.hint);
  }

  /** Source offset of character `index` of a scalar's value (exact for plain and simply quoted scalars). */
  charOffset(node: LocatedNode & { kind: 'scalar' }, index: number): number {
    const raw = this.parsed.text.slice(node.span.offset, node.span.end);
    const value = String(node.value);
    if (raw === value) return node.span.offset + index;
    if (raw.length === value.length + 2 && raw.slice(1, -1) === value) return node.span.offset + 1 + index;
    return node.span.offset;
  }
}

function mapAt(node: LocatedNode | undefined): LocatedMap | undefined {
  return node?.kind === 'map' ? node : undefined;
}

function stringAt(node: LocatedNode | undefined): string | undefined {
  return node?.kind === 'scalar' && typeof node.value === 'string' ? node.value : undefined;
}

/**
 * Span of the node at a dotted path (`split.train`, `candidates[0]`) below `node`; the closest existing parent's key
 * when absent.
 */
function spanAtPath(node: LocatedNode, path: string): Span {
  let current = node;
  const closestSpan = (n: LocatedNode): Span => (n.kind === 'map' && n.keySpan ? n.keySpan : n.span);
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '')) {
    if (current.kind === 'map') {
      const found = entry(current, part);
      if (!found) return closestSpan(current);
      current = found.value;
    } else if (current.kind === 'seq' && /^\d+$/.test(part)) {
      const item = current.items[Number(part)];
      if (!item) return current.span;
      current = item;
    } else return current.span;
  }
  return current.span;
}

interface StageContext {
  readonly id: string;
  /** `stages` or `finally` (src/core/run/finally.ts): the section the stage is written in. */
  readonly section: StageSection;
  readonly node: LocatedMap;
  readonly keySpan: Span;
  readonly type?: StageTypeDefinition;
  readonly explicitNeeds: { readonly id: string; readonly span: Span }[];
  readonly withRefs: { readonly stage: string; readonly span: Span }[];
  readonly whenRefs: { readonly stage: string; readonly span: Span }[];
  /** `forEach` stage: 'list'; `matrix` stage: its keys (what `item.<key>` may name). */
  readonly fanOut?: 'list' | readonly string[];
  /** A `pipeline` stage's child, when it could be read and validated (./sub-pipelines.ts). */
  readonly subPipeline?: ValidatedSubPipeline;
}

/** Everything known about the pipeline that expression checks need. */
interface Scope {
  readonly params: ReadonlyMap<string, ValidatedParam>;
  readonly stages: ReadonlyMap<string, StageContext>;
  readonly usedParams: Set<string>;
  readonly secrets: ReadonlyMap<string, { readonly reference: SecretReference; readonly span: Span }>;
  readonly usedSecrets: Set<string>;
}

type ExpressionPlace = 'with' | 'when' | 'trigger' | 'fan-out';

/** Check the references of one parsed expression; returns the stages it references. */
function checkReferences(
  checker: Checker,
  scope: Scope,
  node: ExpressionNode,
  scalar: LocatedNode & { kind: 'scalar' },
  exprOffset: number,
  path: string,
  place: ExpressionPlace,
  ownStage: string | undefined,
): { stage: string; span: Span }[] {
  const stages: { stage: string; span: Span }[] = [];
  const guarded = defaultGuardedReferences(node);
  for (const ref of referenceNodes(node)) {
    const span = {
      offset: checker.charOffset(scalar, exprOffset + ref.offset),
      end: checker.charOffset(scalar, exprOffset + ref.end),
    };
    const stage = checkReference(checker, scope, ref, { path, place, ownStage, span, guarded });
    if (stage !== undefined) stages.push({ stage, span });
  }
  return stages;
}

type ReferenceNode = Extract<ExpressionNode, { kind: 'reference' }>;
type StageReference = Extract<ClassifiedReference, { kind: 'stage-output' | 'stage-status' }>;

/** Where one reference stands: its expression's path and place, the stage it is in, its span. */
interface ReferenceSite {
  readonly path: string;
  readonly place: ExpressionPlace;
  readonly ownStage: string | undefined;
  readonly span: Span;
  /** References inside `default(…)`'s first argument. */
  readonly guarded: ReadonlySet<ReferenceNode>;
}

/** Checks one reference; returns the stage it makes the expression depend on, if any. */
function checkReference(checker: Checker, scope: Scope, ref: ReferenceNode, site: ReferenceSite): string | undefined {
  const { path, place, ownStage, span } = site;
  const classified = classifyReference(ref.segments);
  if (!classified.ok) {
    checker.error('bad-expression', path, span, `\`${ref.text}\`: ${classified.message}`, classified.hint);
    return undefined;
  }
  switch (classified.kind) {
    case 'item':
      checkItemReference(checker, place === 'with' ? scope.stages.get(ownStage ?? '') : undefined, ref, span, path);
      return undefined;
    case 'run': {
      const problem = runReferenceProblem(classified.name, place, scope.stages.get(ownStage ?? '')?.section);
      if (problem) checker.error(problem.code, path, span, `\`${ref.text}\`: ${problem.message}`, problem.hint);
      return undefined;
    }
    case 'secret':
      checkSecretReference(checker, scope, ref, classified.name, site);
      return undefined;
    case 'param':
      checkParamReference(checker, scope, ref, classified.name, site);
      return undefined;
  }
  if (place === 'trigger') {
    checker.error(
      'expression-not-allowed',
      path,
      span,
      `\`${ref.text}\`: triggers run before any stage, so they can only reference params`,
      'use `${{ params.<name> }}`',
    );
    return undefined;
  }
  return checkStageReference(checker, scope, ref, classified, site);
}

function checkSecretReference(
  checker: Checker,
  scope: Scope,
  ref: ReferenceNode,
  name: string,
  { path, place, span }: ReferenceSite,
): void {
  if (place !== 'with') {
    checker.error(
      'secret-not-allowed',
      path,
      span,
      `\`${ref.text}\`: secrets can only be used in stage inputs that the stage type marks as secret`,
      'pass the secret through a secret input such as `auth`',
    );
  } else if (!scope.secrets.has(name)) {
    const near = closest(name, scope.secrets.keys());
    checker.error(
      'unknown-secret',
      path,
      span,
      `\`${ref.text}\` refers to secret \`${name}\`, which is not declared`,
      near ? `did you mean \`secrets.${near}\`?` : SECRET_HINT,
    );
  } else scope.usedSecrets.add(name);
}

function checkParamReference(
  checker: Checker,
  scope: Scope,
  ref: ReferenceNode,
  name: string,
  { path, span }: ReferenceSite,
): void {
  if (scope.params.has(name)) {
    scope.usedParams.add(name);
    return;
  }
  const near = closest(name, scope.params.keys());
  checker.error(
    'unknown-reference',
    path,
    span,
    `\`${ref.text}\` refers to param \`${name}\`, which is not declared`,
    near ? `did you mean \`params.${near}\`?` : `declare it under \`params:\``,
  );
}

/** A reference to another stage's outputs or status: it must exist, be upstream, and have that output. */
function checkStageReference(
  checker: Checker,
  scope: Scope,
  ref: ReferenceNode,
  classified: StageReference,
  site: ReferenceSite,
): string | undefined {
  const { path, place, ownStage, span } = site;
  const target = scope.stages.get(classified.stage);
  if (!target) {
    const tail = classified.kind === 'stage-status' ? 'status' : `outputs.${classified.output}`;
    const near = closest(classified.stage, scope.stages.keys());
    checker.error(
      'unknown-reference',
      path,
      span,
      `\`${ref.text}\` refers to stage \`${classified.stage}\`, which does not exist`,
      near
        ? `did you mean \`stages.${near}.${tail}\`?`
        : `write one of the stages: ${[...scope.stages.keys()].join(', ')}`,
    );
    return undefined;
  }
  const ownSection = scope.stages.get(ownStage ?? '')?.section;
  const across = finallyReferenceProblem(ownSection, target.section, classified, ref, site.guarded);
  if (across) {
    checker.error(across.code, path, span, `\`${ref.text}\`: ${across.message}`, across.hint);
    return undefined;
  }
  if (classified.stage === ownStage) {
    if (place === 'when') {
      const message = `\`${ref.text}\`: a stage's condition cannot depend on its own outputs`;
      checker.error('when-reference-not-upstream', path, span, message, 'reference an upstream stage');
    } else {
      const message = `\`${ref.text}\`: a stage cannot use its own outputs as inputs`;
      checker.error('self-reference', path, span, message, 'reference an upstream stage');
    }
    return undefined;
  }
  if (classified.kind === 'stage-status') return classified.stage;
  if (
    target.type &&
    // A `pipeline` stage whose child could not be read has unknown outputs (its file was reported).
    target.type !== PIPELINE_STAGE_TYPE &&
    !Object.prototype.hasOwnProperty.call(target.type.outputs, classified.output) &&
    !(target.fanOut && classified.output === 'items')
  ) {
    checker.error(
      'unknown-output',
      path,
      span,
      `stage \`${classified.stage}\` (${target.type.name}) has no output \`${classified.output}\``,
      unknownNameHint(classified.output, Object.keys(target.type.outputs), `outputs of ${target.type.name}`),
    );
    return undefined;
  }
  return classified.stage;
}

/** Type of what a whole-string expression evaluates to, when it can be known statically. */
function expressionType(
  node: ExpressionNode,
  scope: Scope,
): { type: OutputType; what: string; param?: ValidatedParam } {
  if (node.kind === 'literal')
    return { type: outputTypeOf(node.value), what: `the literal ${JSON.stringify(node.value)}` };
  if (node.kind === 'call') return { type: EXPRESSION_FUNCTIONS[node.name].returns, what: `\`${node.name}(…)\`` };
  if (node.kind === 'array') return { type: 'array', what: 'a list' };
  if (node.kind === 'member') return { type: 'any', what: 'an element' };
  if (node.kind !== 'reference') return { type: 'boolean', what: 'a condition' };
  const classified = classifyReference(node.segments);
  if (!classified.ok) return { type: 'any', what: node.text };
  if (classified.kind === 'stage-status') return { type: 'string', what: `\`${node.text}\`` };
  if (classified.subpath.length > 0) return { type: 'any', what: node.text };
  if (classified.kind === 'run')
    return { type: classified.name.endsWith('Stages') ? 'array' : 'string', what: `\`${node.text}\`` };
  if (classified.kind === 'param') {
    const param = scope.params.get(classified.name);
    return param ? { type: param.type, what: `\`${node.text}\``, param } : { type: 'any', what: `\`${node.text}\`` };
  }
  if (classified.kind === 'secret') return { type: 'string', what: `\`${node.text}\`` };
  if (classified.kind === 'item') return { type: 'any', what: `\`${node.text}\`` };
  // A fan-out stage's outputs are the lists of its instances' outputs.
  if (scope.stages.get(classified.stage)?.fanOut) return { type: 'array', what: `\`${node.text}\` (a fan-out's list)` };
  const output = scope.stages.get(classified.stage)?.type?.outputs[classified.output];
  return { type: output ? output.type : 'any', what: `\`${node.text}\`` };
}

function typeArticle(type: OutputType): string {
  return type === 'uri'
    ? 'a URI'
    : type === 'integer' || type === 'object' || type === 'array' || type === 'any'
      ? `an ${type}`
      : `a ${type}`;
}

/** Check a string holding `${{ … }}` found at `path`; returns the parsed parts or undefined on a syntax error. */
function parseExpressionString(
  checker: Checker,
  scalar: LocatedNode & { kind: 'scalar' },
  path: string,
): TemplatePart[] | undefined {
  try {
    return parseTemplate(String(scalar.value));
  } catch (error) {
    if (!(error instanceof ExpressionSyntaxError)) throw error;
    const offset = checker.charOffset(scalar, error.offset);
    checker.error(
      'bad-expression',
      path,
      { offset, end: offset + 1 },
      `bad expression: ${error.message}`,
      error.hint ?? 'expressions look like ${{ params.name }} or ${{ stages.<id>.outputs.<name> }}',
    );
    return undefined;
  }
}

/** Whether a reference node names a secret. */
function isSecretReference(node: ExpressionNode): boolean {
  if (node.kind !== 'reference') return false;
  const classified = classifyReference(node.segments);
  return classified.ok && classified.kind === 'secret';
}

/**
 * A secret input takes exactly `${{ secrets.NAME }}`; any other input takes no secret at all
 * (it would be recorded in outputs, logs or cards). Returns false when the value was reported.
 */
function checkSecretUse(
  checker: Checker,
  scalar: LocatedNode & { kind: 'scalar' },
  parts: readonly TemplatePart[],
  schema: InputSchema,
  path: string,
  type: StageTypeDefinition,
): boolean {
  const whole = wholeExpression(parts);
  if (schema.secret) {
    if (whole && isSecretReference(whole.node)) return true;
    checker.error(
      'secret-literal',
      path,
      scalar.span,
      `${path} is a secret input: it takes exactly one \`\${{ secrets.NAME }}\` reference`,
      SECRET_HINT,
    );
    return false;
  }
  const usesSecret = parts.some(
    (part) => part.kind === 'expression' && referenceNodes(part.node).some(isSecretReference),
  );
  if (!usesSecret) return true;
  const secretInputs = secretInputNames(type.inputs, '');
  checker.error(
    'secret-in-non-secret-input',
    path,
    scalar.span,
    `${path} is not a secret input of ${type.name}: a secret used here would be recorded in plain text`,
    secretInputs.length > 0
      ? `pass the secret through a secret input of ${type.name} (${secretInputs.join(', ')}) instead`
      : `remove the secret: ${type.name} has no secret input`,
  );
  return false;
}

function secretInputNames(schema: InputSchema, prefix: string): string[] {
  if (schema.secret) return [prefix];
  if (schema.type !== 'object' || !schema.properties) return [];
  return Object.entries(schema.properties).flatMap(([key, value]) =>
    secretInputNames(value, prefix ? `${prefix}.${key}` : key),
  );
}

// ---------------------------------------------------------------------------------------
// Checks

/** Every mapping key of the file, at any depth: reserved names are refused wherever they appear. */
function checkReservedKeys(checker: Checker, node: LocatedNode, path: string): void {
  if (node.kind === 'seq') node.items.forEach((item, i) => checkReservedKeys(checker, item, joinPath(path, i)));
  if (node.kind !== 'map') return;
  for (const e of node.entries) {
    const childPath = joinPath(path, e.key);
    if (isReservedKey(e.key))
      checker.error(
        'reserved-key',
        childPath,
        e.keySpan,
        `\`${e.key}\` cannot be used as a key, stage id, param, secret or input name`,
        RESERVED_KEY_HINT,
      );
    checkReservedKeys(checker, e.value, childPath);
  }
}

/** The `secrets:` block: names are identifiers, each reference names exactly one of env and file. */
function checkSecrets(checker: Checker, root: LocatedMap): Map<string, { reference: SecretReference; span: Span }> {
  const secrets = new Map<string, { reference: SecretReference; span: Span }>();
  const node = mapAt(entry(root, 'secrets')?.value);
  for (const e of node?.entries ?? []) {
    const path = joinPath('secrets', e.key);
    if (!new RegExp(SECRET_NAME_PATTERN).test(e.key)) {
      checker.error(
        'bad-secret-name',
        path,
        e.keySpan,
        `secret name \`${e.key}\` is not an identifier`,
        'use letters, digits and _, starting with a letter (expressions read it as secrets.NAME)',
      );
      continue;
    }
    if (e.value.kind !== 'map') continue; // reported by the schema check
    const env = stringAt(entry(e.value, 'env')?.value);
    const file = stringAt(entry(e.value, 'file')?.value);
    if ((env === undefined) === (file === undefined)) {
      checker.error(
        'bad-secret-reference',
        path,
        e.value.span,
        `secret \`${e.key}\` must name exactly one of \`env\` and \`file\``,
        'write e.g. {env: MODEL_TOKEN} or {file: /run/secrets/model-token}',
      );
      continue;
    }
    secrets.set(e.key, { reference: env !== undefined ? { env } : { file: file as string }, span: e.keySpan });
  }
  return secrets;
}

function checkParams(checker: Checker, root: LocatedMap): ValidatedParam[] {
  const params: ValidatedParam[] = [];
  const paramsNode = mapAt(entry(root, 'params')?.value);
  if (!paramsNode) return params;
  for (const e of paramsNode.entries) {
    const path = joinPath('params', e.key);
    if (!new RegExp(PARAM_NAME_PATTERN).test(e.key)) {
      checker.error(
        'bad-param-name',
        path,
        e.keySpan,
        `param name \`${e.key}\` is not an identifier`,
        'use letters, digits and _, starting with a letter (expressions read it as params.NAME)',
      );
    }
    const node = e.value;
    if (node.kind === 'map') {
      params.push(declaredParam(checker, e, node, path));
    } else if (node.kind === 'scalar' && node.value === null) {
      checker.error(
        'wrong-type',
        path,
        e.keySpan,
        `param \`${e.key}\` has no value`,
        'write a default value, or `{type: string}` to require --set',
      );
    } else {
      const value = toJson(node);
      const inferred = outputTypeOf(value);
      params.push({
        name: e.key,
        type: inferred === 'integer' ? 'number' : (inferred as ParamType),
        default: value,
        span: e.keySpan,
      });
    }
  }
  return params;
}

/** A param written as a mapping (`{type, default, description}`): its type is declared or inferred from the default. */
function declaredParam(checker: Checker, e: LocatedEntry, node: LocatedMap, path: string): ValidatedParam {
  const typeName = stringAt(entry(node, 'type')?.value);
  const defaultNode = entry(node, 'default')?.value;
  const description = stringAt(entry(node, 'description')?.value);
  const declared = PARAM_TYPES.includes(typeName as ParamType) ? (typeName as ParamType) : undefined;
  const inferred = defaultNode ? (outputTypeOf(toJson(defaultNode)) as ParamType | 'any' | 'uri') : undefined;
  const type: ParamType =
    declared ??
    (inferred === 'integer' ? 'number' : inferred && inferred !== 'any' && inferred !== 'uri' ? inferred : 'string');
  if (!typeName && !defaultNode) {
    checker.error(
      'missing-key',
      path,
      e.keySpan,
      `param \`${e.key}\` needs a \`type\` or a \`default\``,
      'add `type: string` (set it with --set) or `default: <value>`',
    );
  }
  if (defaultNode && declared) {
    if (defaultNode.kind === 'scalar' && defaultNode.value === null) {
      checker.error(
        'wrong-type',
        joinPath(path, 'default'),
        defaultNode.span,
        `default of param \`${e.key}\` is empty`,
        'write a value, or remove `default` to require --set',
      );
    } else {
      for (const issue of checkValue(defaultNode, PARAM_VALUE_SCHEMAS[declared], joinPath(path, 'default')))
        checker.issue(issue);
    }
  }
  return {
    name: e.key,
    type,
    ...(defaultNode ? { default: toJson(defaultNode) } : {}),
    ...(description ? { description } : {}),
    span: e.keySpan,
  };
}

/** A param's default must fit every stage input it flows into (`--set` values are checked by the compiler). */
function checkParamDefaults(
  checker: Checker,
  params: readonly ValidatedParam[],
  stages: readonly ValidatedStage[],
): void {
  const byName = new Map(params.filter((p) => p.default !== undefined).map((p) => [p.name, p]));
  const values = Object.fromEntries([...byName].map(([name, p]) => [name, p.default as JsonValue]));
  for (const problem of checkParamFlow(stages, values)) {
    for (const name of problem.params) {
      const param = byName.get(name);
      if (!param) continue;
      checker.error(
        'param-value-invalid',
        `params.${name}`,
        param.span,
        `param \`${name}\` defaults to ${JSON.stringify(param.default)}, which flows into ${problem.path}: ` +
          `${problem.message}`,
        paramFlowHint(problem.hint, `change the default of \`${name}\``),
      );
    }
  }
}

function checkRetry(checker: Checker, node: LocatedNode | undefined, path: string): void {
  const retry = mapAt(node);
  if (!retry) return;
  const num = (key: string): { value: number; span: Span } | undefined => {
    const n = entry(retry, key)?.value;
    return n?.kind === 'scalar' && typeof n.value === 'number' ? { value: n.value, span: n.span } : undefined;
  };
  const dur = (key: string): { value: number; span: Span } | undefined => {
    const n = entry(retry, key)?.value;
    const ms = n?.kind === 'scalar' && typeof n.value === 'string' ? parseDuration(n.value) : undefined;
    return n && ms !== undefined ? { value: ms, span: n.span } : undefined;
  };
  const attempts = num('maxAttempts');
  if (attempts && (attempts.value < 1 || attempts.value > 100)) {
    checker.error(
      'retry-bounds',
      joinPath(path, 'maxAttempts'),
      attempts.span,
      `maxAttempts is ${attempts.value}; it must be between 1 (no retry) and 100`,
      'use 1 to disable retries; pause a failing stage with onFailure: pause instead of retrying forever',
    );
  }
  const backoff = num('backoffCoefficient');
  if (backoff && (backoff.value < 1 || backoff.value > 100)) {
    checker.error(
      'retry-bounds',
      joinPath(path, 'backoffCoefficient'),
      backoff.span,
      `backoffCoefficient is ${backoff.value}; it must be between 1 and 100`,
      'use 1 for a constant interval, 2 to double it after each attempt',
    );
  }
  const initial = dur('initialInterval');
  const maximum = dur('maximumInterval');
  if (initial && initial.value <= 0)
    checker.error(
      'retry-bounds',
      joinPath(path, 'initialInterval'),
      initial.span,
      'initialInterval must be longer than 0',
      'write e.g. 5s',
    );
  const outage = dur('outageBudget');
  if (outage && outage.value > MAX_OUTAGE_BUDGET_MS) {
    checker.error(
      'retry-bounds',
      joinPath(path, 'outageBudget'),
      outage.span,
      'outageBudget is longer than 24h',
      'an outage longer than a day needs an operator: use onFailure: pause and `fineflow retry`',
    );
  }
  if (initial && maximum && maximum.value < initial.value) {
    checker.error(
      'retry-bounds',
      joinPath(path, 'maximumInterval'),
      maximum.span,
      'maximumInterval is shorter than initialInterval',
      'make maximumInterval ≥ initialInterval',
    );
  }
}

/** The schema checks the memory quantity's shape; its size is bounded here (the pattern cannot). */
function checkResources(checker: Checker, node: LocatedNode | undefined, path: string): void {
  const memory = mapAt(node) ? entry(mapAt(node) as LocatedMap, 'memory')?.value : undefined;
  if (memory?.kind !== 'scalar' || typeof memory.value !== 'string') return;
  const mb = parseMemory(memory.value);
  if (mb !== undefined && mb > RESOURCE_BOUNDS.memoryMb.max)
    checker.error(
      'out-of-range',
      joinPath(path, 'memory'),
      memory.span,
      `memory ${memory.value} is more than ${formatMemory(RESOURCE_BOUNDS.memoryMb.max)}`,
      'ask for what one attempt needs on one worker, e.g. memory: 16Gi',
    );
}

function checkSettings(checker: Checker, node: LocatedMap, path: string, inherited: LocatedMap | undefined): void {
  checkRetry(checker, entry(node, 'retry')?.value, joinPath(path, 'retry'));
  checkResources(checker, entry(node, 'resources')?.value, joinPath(path, 'resources'));
  const duration = (key: string): { ms: number; span: Span } | undefined => {
    const n = entry(node, key)?.value ?? (inherited ? entry(inherited, key)?.value : undefined);
    const ms = n?.kind === 'scalar' && typeof n.value === 'string' ? parseDuration(n.value) : undefined;
    return n && ms !== undefined ? { ms, span: n.span } : undefined;
  };
  for (const key of ['timeout', 'heartbeatTimeout']) {
    const own = entry(node, key);
    const d = duration(key);
    if (own && d && d.ms <= 0)
      checker.error('bad-duration', joinPath(path, key), d.span, `${key} must be longer than 0`, 'write e.g. 30m');
  }
  const timeout = duration('timeout');
  const heartbeat = duration('heartbeatTimeout');
  if (timeout && heartbeat && heartbeat.ms >= timeout.ms && entry(node, 'heartbeatTimeout')) {
    checker.report(
      'warning',
      'heartbeat-exceeds-timeout',
      joinPath(path, 'heartbeatTimeout'),
      heartbeat.span,
      'heartbeatTimeout is not shorter than timeout, so it can never fire',
      'make heartbeatTimeout shorter than timeout (e.g. 2m against 2h)',
    );
  }
}

/**
 * The `schedule:` block, by the same function `schedule apply` uses (src/schedules/schedule-block.ts), so
 * validate refuses exactly what Temporal would, at the field's position. A field the schema check already
 * reported (a wrong type) is not reported twice.
 */
function checkSchedule(checker: Checker, root: LocatedMap): void {
  const scheduleEntry = entry(root, 'schedule');
  const schedule = mapAt(scheduleEntry?.value);
  if (!schedule || !scheduleEntry) return;
  const reported = checker.diagnostics.filter((d) => d.path.startsWith('schedule')).map((d) => d.path);
  for (const problem of checkScheduleBlock(toJson(schedule) as JsonObject).problems) {
    if (reported.some((path) => problem.path === path || problem.path.startsWith(`${path}.`))) continue;
    const inside = problem.path.replace(/^schedule\.?/, '');
    const span = inside ? spanAtPath(schedule, inside) : scheduleEntry.keySpan;
    checker.error(problem.code, problem.path, span, `${problem.path}: ${problem.problem}`, problem.hint);
  }
}

/**
 * A name spelled with a lookalike letter (Cyrillic `а`) fails to match while looking right: say which letter it is.
 */
function withConfusableNote(diagnostic: Diagnostic): Diagnostic {
  const note = confusableNote(diagnostic.message);
  return note ? { ...diagnostic, hint: diagnostic.hint ? `${note}; ${diagnostic.hint}` : note } : diagnostic;
}

/** Run every check; `source` may be text, bytes or an already parsed file. */
export function validatePipeline(
  source: string | Uint8Array | ParsedPipeline,
  file = '<input>',
  options: ValidateOptions = {},
): ValidationResult {
  const parsed = typeof source === 'string' || source instanceof Uint8Array ? parsePipeline(source, file) : source;
  const checker = new Checker(parsed);
  checker.diagnostics.push(...parsed.diagnostics);
  // Validations of the sub-pipelines this file includes (./sub-pipelines.ts).
  const childResults: ValidationResult[] = [];
  const finish = (pipeline?: ValidatedPipeline): ValidationResult =>
    validationResult(parsed, checker, childResults, pipeline);
  const root = parsed.root;
  if (!root) return finish();
  if (root.kind !== 'map') {
    checker.error(
      'wrong-type',
      '',
      root.span,
      `a pipeline is a mapping of keys, not ${describeNode(root)}`,
      'start with `apiVersion: fineflow/v1` (see pipelines/quickstart.yaml)',
    );
    return finish();
  }
  const types = stageTypeLookup(options.stageTypes);
  checkReservedKeys(checker, root, '');
  const pendingOutside = checkStructure(checker, root);
  const params = checkParams(checker, root);
  const defaultsNode = mapAt(entry(root, 'defaults')?.value);
  if (defaultsNode) checkSettings(checker, defaultsNode, 'defaults', undefined);
  checkSchedule(checker, root);

  // Pass 1: stage ids and types (of `stages:` and `finally:`), so references can be checked in any order.
  const sections = stageSections(checker, root);
  // Bounded work: nothing more is checked per stage for a pipeline that can never run.
  if (!sections) return finish();
  const nesting: SubPipelineNesting = options.nesting ?? {
    chain: [{ key: options.pipelineFiles?.rootKey ?? parsed.file, file: parsed.file }],
    budget: { stages: 0, bytes: 0 },
  };
  nesting.budget.stages += sections.reduce((sum, { node }) => sum + (node?.entries.length ?? 0), 0);
  const resolveChild = subPipelineResolver(parsed, checker, options, nesting, childResults);
  const stageContexts = collectStageContexts(checker, sections, types, resolveChild);
  const scope: Scope = {
    params: new Map(params.map((p) => [p.name, p])),
    stages: stageContexts,
    usedParams: new Set(),
    secrets: checkSecrets(checker, root),
    usedSecrets: new Set(),
  };
  checkExpressionsOutsideStages(checker, scope, pendingOutside);

  // Pass 2: each stage's inputs, needs, condition and settings.
  const stages = [...stageContexts.values()].map((ctx) =>
    validateStage(checker, scope, ctx, defaultsNode, parsed.lines.position(ctx.keySpan.offset).line),
  );
  const deps = stageGraph(checker, stageContexts);
  checkUnusedNames(checker, params, scope);
  checkParamDefaults(checker, params, stages);
  checker.diagnostics.push(...childDiagnostics(childResults));
  if (options.nesting === undefined) checkTotalStages(checker, root, stages);
  return finish(validatedPipeline(root, { params, defaultsNode, stages, deps, scope }));
}

/** The result of one file's validation: its diagnostics sorted, and the texts of the sub-pipelines it included. */
function validationResult(
  parsed: ParsedPipeline,
  checker: Checker,
  childResults: readonly ValidationResult[],
  pipeline: ValidatedPipeline | undefined,
): ValidationResult {
  const diagnostics = sortDiagnostics(checker.diagnostics.map(withConfusableNote));
  const texts = Object.assign({}, ...childResults.map((r) => ({ ...r.texts, [r.file]: r.text }))) as {
    [file: string]: string;
  };
  return {
    file: parsed.file,
    text: parsed.text,
    diagnostics,
    valid: errorCount(diagnostics) === 0,
    ...(pipeline ? { pipeline } : {}),
    ...(childResults.length > 0 ? { texts } : {}),
  };
}

/** A scalar outside `with` that holds an expression, checked once the scope is known. */
interface PendingExpression {
  readonly scalar: LocatedNode & { kind: 'scalar' };
  readonly path: string;
}

/**
 * Structure of every key except stage inputs, against the pipeline schema. Returns the scalars outside `with` that
 * hold expressions: they are checked once the scope (params, stages, secrets) is known.
 */
function checkStructure(checker: Checker, root: LocatedMap): PendingExpression[] {
  const pendingOutside: PendingExpression[] = [];
  for (const issue of checkValue(root, PIPELINE_SCHEMA, '', (scalar, _schema, path) =>
    pendingOutside.push({ scalar, path }),
  )) {
    checker.issue(
      issue,
      issue.path.includes('.retry.') && issue.code === 'out-of-range' ? { 'out-of-range': 'retry-bounds' } : {},
    );
  }
  return pendingOutside;
}

/** Reads and validates the sub-pipeline of a `pipeline` stage, within the nesting and its budget. */
function subPipelineResolver(
  parsed: ParsedPipeline,
  checker: Checker,
  options: ValidateOptions,
  nesting: SubPipelineNesting,
  childResults: ValidationResult[],
): (stage: LocatedMap, path: string) => ResolvedSubPipeline {
  return (stage, path) =>
    resolveSubPipeline({
      stage,
      path,
      fromFile: parsed.file,
      source: options.pipelineFiles,
      nesting,
      report: (...report) => checker.report(...report),
      validate: (child, childNesting) => {
        const result = validatePipeline(child, child.file, { ...options, nesting: childNesting });
        childResults.push(result);
        return result;
      },
    });
}

/** The 1,000-stage limit counts the stages of every sub-pipeline (reported at `stages`). */
function checkTotalStages(checker: Checker, root: LocatedMap, stages: readonly ValidatedStage[]): void {
  const own = stages.length;
  const included = stages.reduce((sum, s) => sum + (s.subPipeline ? totalStages(s.subPipeline.pipeline) : 0), 0);
  if (own + included <= MAX_STAGES) return;
  checker.error(
    'too-many-stages',
    'stages',
    entry(root, 'stages')?.keySpan ?? root.span,
    `the pipeline has ${own + included} stages counting its sub-pipelines' (${included}); at most ${MAX_STAGES} are allowed`,
    MAX_STAGES_HINT,
  );
}

/** `stages:` and `finally:`, or undefined (reported) when together they hold more than MAX_STAGES stages. */
function stageSections(
  checker: Checker,
  root: LocatedMap,
): { readonly section: StageSection; readonly node: LocatedMap | undefined }[] | undefined {
  const sections = (['stages', 'finally'] as const).map((section) => ({
    section,
    node: mapAt(entry(root, section)?.value),
  }));
  const stageCount = sections.reduce((sum, { node }) => sum + (node?.entries.length ?? 0), 0);
  if (stageCount <= MAX_STAGES) return sections;
  checker.error(
    'too-many-stages',
    'stages',
    entry(root, 'stages')?.keySpan ?? root.span,
    `the pipeline has ${stageCount} stages; at most ${MAX_STAGES} are allowed`,
    MAX_STAGES_HINT,
  );
  return undefined;
}

/** Pass 1 of {@link validatePipeline}: every stage's id, section and type, so references resolve in any order. */
function collectStageContexts(
  checker: Checker,
  sections: readonly { readonly section: StageSection; readonly node: LocatedMap | undefined }[],
  types: ReturnType<typeof stageTypeLookup>,
  resolveChild: (stage: LocatedMap, path: string) => ResolvedSubPipeline,
): Map<string, StageContext> {
  const stageContexts = new Map<string, StageContext>();
  for (const { section, node: sectionNode } of sections)
    for (const e of sectionNode?.entries ?? []) {
      const path = joinPath(section, e.key);
      if (!new RegExp(STAGE_ID_PATTERN).test(e.key)) {
        checker.error(
          'bad-stage-id',
          path,
          e.keySpan,
          `stage id \`${e.key}\` is not an identifier`,
          'use letters, digits, _ and -, starting with a letter',
        );
      }
      if (stageContexts.has(e.key)) {
        checker.error(
          'duplicate-stage-id',
          path,
          e.keySpan,
          `stage id \`${e.key}\` is used under \`stages:\` and under \`finally:\``,
          `rename one of them: references name stages by id alone (e.g. \`${e.key}-finally\`)`,
        );
        continue;
      }
      if (e.value.kind !== 'map') continue;
      const usesEntry = entry(e.value, 'uses');
      const uses = stringAt(usesEntry?.value);
      let type: StageTypeDefinition | undefined;
      if (uses !== undefined && usesEntry) {
        type = types.lookup(uses);
        if (!type)
          checker.error(
            'unknown-stage-type',
            joinPath(path, 'uses'),
            usesEntry.value.span,
            `unknown stage type \`${uses}\``,
            unknownNameHint(uses, types.names(), 'stage types'),
          );
      }
      // A `pipeline` stage's type is its child's: its params and its stage ids as outputs.
      let subPipeline: ValidatedSubPipeline | undefined;
      if (type?.name === PIPELINE_STAGE_TYPE_NAME) {
        const resolved = resolveChild(e.value, path);
        type = resolved.type;
        subPipeline = resolved.child;
      }
      stageContexts.set(e.key, {
        id: e.key,
        section,
        node: e.value,
        keySpan: e.keySpan,
        ...(type ? { type } : {}),
        explicitNeeds: [],
        withRefs: [],
        whenRefs: [],
        ...fanOutShape(e.value),
        ...(subPipeline ? { subPipeline } : {}),
      });
    }
  return stageContexts;
}

/** `${{ }}` outside stage inputs: fan-out lists and trigger paths may have them; everywhere else is an error. */
function checkExpressionsOutsideStages(
  checker: Checker,
  scope: Scope,
  pending: readonly { readonly scalar: LocatedNode & { kind: 'scalar' }; readonly path: string }[],
): void {
  const stageContexts = scope.stages;
  // `when` is handled per stage; triggers may use params.
  for (const { scalar, path } of pending) {
    if (/^(?:stages|finally)\.[^.]+\.when$/.test(path) || /^(?:stages|finally)\["[^"]*"\]\.when$/.test(path)) continue;
    const parts = parseExpressionString(checker, scalar, path);
    if (!parts) continue;
    const fanOutStage = fanOutExpressionStage(path, stageContexts);
    if (fanOutStage) {
      checkFanOutExpression(checker, scope, fanOutStage, scalar, parts, path);
      continue;
    }
    if (/^triggers\[\d+\]\.newData\.path$/.test(path)) {
      for (const part of parts)
        if (part.kind === 'expression')
          checkReferences(checker, scope, part.node, scalar, part.offset, path, 'trigger', undefined);
      continue;
    }
    checker.error(
      'expression-not-allowed',
      path,
      scalar.span,
      `${path} cannot use \${{ }} expressions`,
      'write a literal here: expressions are allowed only in stage `with`, `when` and trigger paths',
    );
  }
}

/** A stage's `with:` against its type's schema, collecting the stages its expressions reference. */
function checkStageWith(checker: Checker, scope: Scope, ctx: StageContext, path: string): void {
  const withEntry = entry(ctx.node, 'with');
  const withNode = withEntry?.value;
  if (ctx.type) {
    const type = ctx.type;
    const target =
      withNode?.kind === 'map'
        ? withNode
        : withNode === undefined || (withNode.kind === 'scalar' && withNode.value === null)
          ? ({ kind: 'map', entries: [], span: ctx.keySpan } as LocatedMap)
          : undefined;
    if (!target) return;
    const issues = checkValue(target, type.inputs, joinPath(path, 'with'), (scalar, schema, valuePath) =>
      checkWithExpression(checker, scope, ctx, type, { scalar, schema, path: valuePath }),
    );
    const missingTarget = withEntry ? undefined : ctx.keySpan;
    for (const issue of issues) {
      const codes = issue.depth === 0 ? { 'unknown-key': 'unknown-input', 'missing-key': 'missing-input' } : {};
      checker.issue(
        missingTarget && issue.code === 'missing-key'
          ? {
              ...issue,
              span: missingTarget,
              hint: `${issue.hint ?? ''}${issue.hint ? ' ' : ''}under \`with:\``.trim(),
            }
          : issue,
        codes,
      );
    }
    if (issues.length === 0) checkCrossInputProblems(checker, type, target, path);
  } else if (withNode?.kind === 'map') {
    // Unknown type: still collect references so the graph and unused-param checks are right.
    checkValue(withNode, { type: 'any' }, joinPath(path, 'with'), (scalar, _schema, valuePath) => {
      const parts = parseExpressionString(checker, scalar, valuePath);
      for (const part of parts ?? [])
        if (part.kind === 'expression')
          ctx.withRefs.push(
            ...checkReferences(checker, scope, part.node, scalar, part.offset, valuePath, 'with', ctx.id),
          );
    });
  }
}

/** One `${{ }}` value in `with:`: its references, secret use, and that its type fits the input's schema. */
function checkWithExpression(
  checker: Checker,
  scope: Scope,
  ctx: StageContext,
  type: StageTypeDefinition,
  value: { readonly scalar: LocatedNode & { kind: 'scalar' }; readonly schema: InputSchema; readonly path: string },
): void {
  const { scalar, schema, path: valuePath } = value;
  const parts = parseExpressionString(checker, scalar, valuePath);
  if (!parts) return;
  for (const part of parts) {
    if (part.kind === 'expression')
      ctx.withRefs.push(...checkReferences(checker, scope, part.node, scalar, part.offset, valuePath, 'with', ctx.id));
  }
  const whole = wholeExpression(parts);
  if (!checkSecretUse(checker, scalar, parts, schema, valuePath, type)) return;
  const produced = whole
    ? expressionType(whole.node, scope)
    : { type: 'string' as OutputType, what: 'an interpolated string' };
  if (!acceptsOutputType(schema, produced.type)) {
    checker.error(
      'wrong-type',
      valuePath,
      scalar.span,
      `${valuePath} must be ${describeSchema(schema)}, but ${produced.what} is ${typeArticle(produced.type)}`,
      !whole
        ? 'use a single ${{ }} expression as the whole value to keep its type'
        : produced.param
          ? paramTypeHint(produced.param, schema)
          : 'reference a value of the right type',
    );
  }
}

/** Param types in the order a hint offers them. */
const PARAM_TYPES_BY_PREFERENCE = ['string', 'number', 'integer', 'boolean', 'array', 'object'] as const;

/**
 * The fix for a param whose type an input does not take: the param's type comes from its default (or its `type:`), so
 * say which to give it; a number written where text is wanted is the common case (`rate: 0.5` into a command's `run`).
 */
function paramTypeHint(param: ValidatedParam, schema: InputSchema): string {
  const wanted = describeSchema(schema);
  const own = PARAM_TYPES_BY_PREFERENCE.find((candidate) => candidate === schema.type);
  const type = own ?? PARAM_TYPES_BY_PREFERENCE.find((candidate) => acceptsOutputType(schema, candidate));
  if (type === undefined) return `reference a value that is ${wanted}`;
  const declare = `declare \`${param.name}: {type: ${type}, default: …}\``;
  const quoted =
    type === 'string' && typeof param.default === 'number'
      ? `give param \`${param.name}\` a string default (\`${param.name}: "${param.default}"\`) or `
      : '';
  return `${quoted || `make param \`${param.name}\` ${wanted}: `}${declare}, or reference a value that is ${wanted}`;
}

/** The stage type's own checks across several inputs (`checkInputs`), once the schema check passed. */
function checkCrossInputProblems(checker: Checker, type: StageTypeDefinition, target: LocatedMap, path: string): void {
  if (!type.checkInputs) return;
  let problems: ReturnType<NonNullable<StageTypeDefinition['checkInputs']>> = [];
  try {
    problems = type.checkInputs(toJson(target) as JsonObject);
  } catch (error) {
    checker.error(
      'invalid-input',
      joinPath(path, 'with'),
      target.span,
      `stage type ${type.name} failed to check its inputs: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  for (const problem of problems) {
    checker.error(
      problem.code ?? 'invalid-input',
      // problem.path is already a dotted path inside `with` (split.train, space.lr.choice[0]).
      problem.path
        ? `${joinPath(path, 'with')}${problem.path.startsWith('[') ? '' : '.'}${problem.path}`
        : joinPath(path, 'with'),
      spanAtPath(target, problem.path),
      problem.message,
      problem.hint,
    );
  }
}

/** A stage's `needs:`: known stages, no repeats, no self-need, no `finally:` stage from `stages:`. */
function checkNeeds(
  checker: Checker,
  ctx: StageContext,
  path: string,
  stageContexts: ReadonlyMap<string, StageContext>,
): void {
  const needsNode = entry(ctx.node, 'needs')?.value;
  const needsItems =
    needsNode?.kind === 'seq'
      ? needsNode.items.map((item, i) => ({ item, path: `${path}.needs[${i}]` }))
      : needsNode
        ? [{ item: needsNode, path: `${path}.needs` }]
        : [];
  const seenNeeds = new Set<string>();
  for (const { item, path: needPath } of needsItems) {
    const target = stringAt(item);
    if (target === undefined) continue;
    if (seenNeeds.has(target)) {
      checker.report(
        'warning',
        'duplicate-needs',
        needPath,
        item.span,
        `\`${target}\` is listed twice in needs`,
        'remove the repetition',
      );
      continue;
    }
    seenNeeds.add(target);
    if (target === ctx.id) {
      checker.error(
        'dependency-cycle',
        needPath,
        item.span,
        `dependency cycle: ${ctx.id} -> ${ctx.id}`,
        'a stage cannot wait for itself; remove it from `needs`',
      );
    } else if (!stageContexts.has(target)) {
      const near = closest(target, stageContexts.keys());
      checker.error(
        'unknown-needs',
        needPath,
        item.span,
        `needs \`${target}\`, which is not a stage`,
        near ? `did you mean \`${near}\`?` : `write one of the stages: ${[...stageContexts.keys()].join(', ')}`,
      );
    } else if (ctx.section === 'stages' && stageContexts.get(target)?.section === 'finally') {
      checker.error(
        'finally-stage-referenced',
        needPath,
        item.span,
        `needs \`${target}\`, a \`finally:\` stage, which runs only after every other stage`,
        `move \`${ctx.id}\` under \`finally:\` too, or remove \`${target}\` from its needs`,
      );
    } else ctx.explicitNeeds.push({ id: target, span: item.span });
  }
}

/** A stage's `when:` condition (its references checked); the condition text, or undefined without one. */
function checkWhen(checker: Checker, scope: Scope, ctx: StageContext, path: string): string | undefined {
  const whenNode = entry(ctx.node, 'when')?.value;
  let when: string | undefined;
  if (whenNode?.kind === 'scalar' && typeof whenNode.value === 'string') {
    when = whenNode.value;
    try {
      const node = parseCondition(whenNode.value);
      const wholeOffset = hasExpression(whenNode.value) ? whenNode.value.indexOf('${{') + 3 : 0;
      ctx.whenRefs.push(
        ...checkReferences(checker, scope, node, whenNode, wholeOffset, `${path}.when`, 'when', ctx.id),
      );
    } catch (error) {
      if (!(error instanceof ExpressionSyntaxError)) throw error;
      const offset = checker.charOffset(whenNode, error.offset);
      checker.error(
        'bad-expression',
        `${path}.when`,
        { offset, end: offset + 1 },
        `bad condition: ${error.message}`,
        error.hint ?? 'write e.g. ${{ stages.evaluate.outputs.passed }} or ${{ params.x > 1 and stages.a.outputs.ok }}',
      );
    }
  } else if (whenNode?.kind === 'scalar' && typeof whenNode.value === 'boolean') {
    when = String(whenNode.value);
  }
  return when;
}

/** Pass 2 of {@link validatePipeline} for one stage: inputs, needs, condition and settings. */
function validateStage(
  checker: Checker,
  scope: Scope,
  ctx: StageContext,
  defaultsNode: LocatedMap | undefined,
  line: number,
): ValidatedStage {
  const path = joinPath(ctx.section, ctx.id);
  const withNode = entry(ctx.node, 'with')?.value;
  checkStageWith(checker, scope, ctx, path);
  checkNeeds(checker, ctx, path, scope.stages);
  const when = checkWhen(checker, scope, ctx, path);
  checkSettings(checker, ctx.node, path, defaultsNode);

  const settings: Record<string, JsonValue> = {};
  for (const key of STAGE_SETTING_KEYS) {
    const node = entry(ctx.node, key)?.value;
    if (node) settings[key] = toJson(node);
  }
  const description = stringAt(entry(ctx.node, 'description')?.value);
  const fanOut = checkFanOutSettings(checker, ctx, path);
  const onFailure = entry(ctx.node, 'onFailure');
  if (ctx.section === 'finally' && onFailure && stringAt(onFailure.value) === 'pause')
    checker.error(
      'finally-on-failure-pause',
      `${path}.onFailure`,
      onFailure.value.span,
      'a `finally:` stage cannot pause for `fineflow retry`: the run is over when it runs',
      'remove `onFailure` (a failed finally stage fails the run), or retry it with `retry: {maxAttempts: …}`',
    );
  return {
    id: ctx.id,
    ...(ctx.section === 'finally' ? { finally: true as const } : {}),
    uses: stringAt(entry(ctx.node, 'uses')?.value) ?? '',
    ...(ctx.type ? { type: ctx.type } : {}),
    with: withNode?.kind === 'map' ? (toJson(withNode) as JsonObject) : {},
    dependsOn: [],
    ...(when !== undefined ? { when } : {}),
    settings,
    ...(fanOut ? { fanOut } : {}),
    ...(description ? { description } : {}),
    ...(ctx.subPipeline ? { subPipeline: ctx.subPipeline } : {}),
    span: ctx.keySpan,
    line,
  };
}

/**
 * The graph: explicit needs and input references form the edges; a `when` may only look upstream.
 * Reports cycles; returns each stage's dependencies.
 */
function stageGraph(checker: Checker, stageContexts: ReadonlyMap<string, StageContext>): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  const edgeSpans = new Map<string, Span>();
  for (const ctx of stageContexts.values()) {
    const own = new Set<string>();
    for (const need of ctx.explicitNeeds) {
      own.add(need.id);
      if (!edgeSpans.has(`${ctx.id}\u0000${need.id}`)) edgeSpans.set(`${ctx.id}\u0000${need.id}`, need.span);
    }
    for (const ref of ctx.withRefs) {
      own.add(ref.stage);
      if (!edgeSpans.has(`${ctx.id}\u0000${ref.stage}`)) edgeSpans.set(`${ctx.id}\u0000${ref.stage}`, ref.span);
    }
    deps.set(ctx.id, [...own]);
  }
  // Judge `when` references against the graph without `when` edges, so their order does not matter.
  const dependents = dependentsOf(deps);
  for (const ctx of stageContexts.values()) {
    if (ctx.whenRefs.length === 0) continue;
    const downstream = downstreamOf(ctx.id, deps, dependents);
    const own = deps.get(ctx.id) as string[];
    for (const ref of ctx.whenRefs) {
      if (downstream.has(ref.stage)) {
        checker.error(
          'when-reference-not-upstream',
          `${ctx.section}.${ctx.id}.when`,
          ref.span,
          `the condition of \`${ctx.id}\` references \`${ref.stage}\`, which runs after \`${ctx.id}\` (it depends on it)`,
          `reference only stages upstream of \`${ctx.id}\` in its condition, or remove the condition`,
        );
      } else if (!own.includes(ref.stage)) {
        own.push(ref.stage);
      }
    }
  }
  for (const cycle of findCycles([...stageContexts.keys()], deps)) {
    if (cycle.length === 2) continue; // a self-need is reported where it is written
    const [from, to] = cycle as [string, string];
    const span = edgeSpans.get(`${from}\u0000${to}`) ?? stageContexts.get(from)?.keySpan ?? { offset: 0, end: 0 };
    checker.error(
      'dependency-cycle',
      `${stageContexts.get(from)?.section ?? 'stages'}.${from}`,
      span,
      `dependency cycle: ${cycle.join(' -> ')}`,
      `break the cycle: remove one of these needs or references (${from} waits for ${to})`,
    );
  }
  return deps;
}

/** Params and secrets declared but never used (warnings), counting trigger paths and every reference. */
function checkUnusedNames(checker: Checker, params: readonly ValidatedParam[], scope: Scope): void {
  for (const p of params) {
    if (!scope.usedParams.has(p.name)) {
      checker.report(
        'warning',
        'unused-param',
        `params.${p.name}`,
        p.span,
        `param \`${p.name}\` is never used`,
        `reference it as \${{ params.${p.name} }} or remove it`,
      );
    }
  }

  for (const [name, secret] of scope.secrets) {
    if (!scope.usedSecrets.has(name))
      checker.report(
        'warning',
        'unused-secret',
        `secrets.${name}`,
        secret.span,
        `secret \`${name}\` is never used`,
        `use it as \${{ secrets.${name} }} in a secret input, or remove it`,
      );
  }
}

/** The validated pipeline: metadata, params, defaults, stages with their sorted dependencies. */
function validatedPipeline(
  root: LocatedMap,
  parts: {
    readonly params: readonly ValidatedParam[];
    readonly defaultsNode: LocatedMap | undefined;
    readonly stages: readonly ValidatedStage[];
    readonly deps: ReadonlyMap<string, readonly string[]>;
    readonly scope: Scope;
  },
): ValidatedPipeline {
  const { params, defaultsNode, stages, deps, scope } = parts;
  const metadata = mapAt(entry(root, 'metadata')?.value);
  const labelsNode = metadata ? mapAt(entry(metadata, 'labels')?.value) : undefined;
  const description = metadata ? stringAt(entry(metadata, 'description')?.value) : undefined;
  const scheduleNode = mapAt(entry(root, 'schedule')?.value);
  const triggersNode = entry(root, 'triggers')?.value;
  const parallelismNode = entry(root, 'parallelism')?.value;
  const parallelism = parallelismNode?.kind === 'scalar' ? parallelismNode.value : undefined;
  const pipeline: ValidatedPipeline = {
    name: (metadata && stringAt(entry(metadata, 'name')?.value)) ?? '',
    ...(description ? { description } : {}),
    ...(labelsNode ? { labels: toJson(labelsNode) as { [key: string]: string } } : {}),
    params,
    defaults: defaultsNode ? (toJson(defaultsNode) as JsonObject) : {},
    stages: stages.map((s) => ({ ...s, dependsOn: [...(deps.get(s.id) ?? [])].sort() })),
    ...(scheduleNode ? { schedule: toJson(scheduleNode) as JsonObject } : {}),
    triggers:
      triggersNode?.kind === 'seq'
        ? triggersNode.items.filter((i) => i.kind === 'map').map((i) => toJson(i) as JsonObject)
        : [],
    secrets: Object.fromEntries([...scope.secrets].map(([name, secret]) => [name, secret.reference])),
    ...(typeof parallelism === 'number' ? { parallelism } : {}),
  };
  return pipeline;
}

// ---------------------------------------------------------------------------------------
// Fan-out: `forEach` / `matrix` and their settings (runtime: src/core/run/fan-out.ts)

const FAN_OUT_POLICY_KEYS = ['parallelism', 'failFast', 'minSuccessRatio'] as const;

/** What `item` means in a stage: a list item, or a matrix combination with these keys. */
function fanOutShape(node: LocatedMap): { fanOut?: 'list' | readonly string[] } {
  if (entry(node, 'forEach')) return { fanOut: 'list' };
  const matrix = entry(node, 'matrix')?.value;
  if (matrix?.kind === 'map') return { fanOut: matrix.entries.map((e) => e.key) };
  return {};
}

/** The stage whose `forEach` / `matrix.<key>` holds the expression at `path`, if it is one. */
function fanOutExpressionStage(path: string, stages: ReadonlyMap<string, StageContext>): StageContext | undefined {
  const match =
    /^(?:stages|finally)\.([A-Za-z_][A-Za-z0-9_-]*)\.(?:forEach|matrix\.[A-Za-z0-9_-]+|matrix\["[^"]*"\])(\[\d+\])?$/.exec(
      path,
    );
  return match ? stages.get(match[1] as string) : undefined;
}

/** A `forEach` / matrix list given as an expression: one `${{ }}` that can yield a list, read from upstream. */
function checkFanOutExpression(
  checker: Checker,
  scope: Scope,
  ctx: StageContext,
  scalar: LocatedNode & { kind: 'scalar' },
  parts: readonly TemplatePart[],
  path: string,
): void {
  const whole = wholeExpression(parts);
  for (const part of parts)
    if (part.kind === 'expression')
      ctx.withRefs.push(...checkReferences(checker, scope, part.node, scalar, part.offset, path, 'fan-out', ctx.id));
  if (path.endsWith(']')) return; // one item of a literal list: any value
  if (!whole) {
    checker.error(
      'fan-out-not-a-list',
      path,
      scalar.span,
      `${path} must be a list or one \${{ }} expression yielding a list, not text`,
      'write e.g. forEach: ${{ stages.split.outputs.shards }} or forEach: [a, b]',
    );
    return;
  }
  const produced = expressionType(whole.node, scope);
  if (produced.type !== 'array' && produced.type !== 'any')
    checker.error(
      'fan-out-not-a-list',
      path,
      scalar.span,
      `${path} must yield a list, but ${produced.what} is ${typeArticle(produced.type)}`,
      'reference a list: an array param, a list output, or a list literal like [1, 2]',
    );
}

/**
 * `item` is defined only in the inputs of a forEach/matrix stage; `item.<key>` must be a matrix key (`item` alone is
 * the whole combination).
 */
function checkItemReference(
  checker: Checker,
  stage: StageContext | undefined,
  ref: Extract<ExpressionNode, { kind: 'reference' }>,
  span: Span,
  path: string,
): void {
  if (!stage?.fanOut) {
    checker.error(
      'item-outside-fan-out',
      path,
      span,
      `\`${ref.text}\`: \`item\` exists only in the inputs (\`with\`) of a stage with \`forEach\` or \`matrix\``,
      'add `forEach: [...]` to this stage, or reference params/stage outputs instead',
    );
    return;
  }
  const key = ref.segments[1];
  if (Array.isArray(stage.fanOut) && typeof key === 'string' && !stage.fanOut.includes(key))
    checker.error(
      'unknown-matrix-key',
      path,
      span,
      `\`${ref.text}\`: the matrix of \`${stage.id}\` has no key \`${key}\``,
      unknownNameHint(key, stage.fanOut, 'matrix keys'),
    );
}

/** forEach xor matrix; policies only with one of them; a literal matrix's product within bounds. */
function checkFanOutSettings(checker: Checker, ctx: StageContext, path: string): JsonObject | undefined {
  const forEach = entry(ctx.node, 'forEach');
  const matrix = entry(ctx.node, 'matrix');
  if (forEach && matrix)
    checker.error(
      'fan-out-conflict',
      joinPath(path, 'matrix'),
      matrix.keySpan,
      `stage \`${ctx.id}\` has both forEach and matrix`,
      'use forEach for one list, or matrix for combinations of several lists',
    );
  if (!forEach && !matrix) {
    for (const key of FAN_OUT_POLICY_KEYS) {
      const found = entry(ctx.node, key);
      if (found)
        checker.error(
          'fan-out-setting-without-items',
          joinPath(path, key),
          found.keySpan,
          `\`${key}\` applies to the instances of a forEach/matrix stage, and \`${ctx.id}\` has neither`,
          `add \`forEach:\` or \`matrix:\` to \`${ctx.id}\`, or remove \`${key}\``,
        );
    }
    return undefined;
  }
  if (matrix?.value.kind === 'map') {
    const sizes = matrix.value.entries.map((e) => (e.value.kind === 'seq' ? e.value.items.length : 1));
    const product = sizes.reduce((a, b) => a * b, 1);
    if (product > MAX_FAN_OUT_ITEMS)
      checker.error(
        'too-many-items',
        joinPath(path, 'matrix'),
        matrix.keySpan,
        `the matrix of \`${ctx.id}\` has ${product} combinations; a stage fans out to at most ${MAX_FAN_OUT_ITEMS}`,
        'split the stage or shorten the lists',
      );
  }
  const fanOut: Record<string, JsonValue> = {};
  for (const key of ['forEach', 'matrix', ...FAN_OUT_POLICY_KEYS]) {
    const node = entry(ctx.node, key)?.value;
    if (node) fanOut[key] = toJson(node);
  }
  return fanOut;
}

export { STAGE_DEFAULTS };
