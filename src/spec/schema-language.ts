/**
 * The small schema language stage types declare their inputs in. One definition drives three
 * things: validation of `with:` (precise, positioned issues), the defaults a plan fills in,
 * and the JSON Schema editors use. Any value may instead be a `${{ … }}` expression; the
 * checker hands those to a callback so the caller can check references and types.
 */
import { DURATION_HINT, parseDuration } from '../core/spec/durations';
import { describeNode, type LocatedNode, type Span } from './located';
import type { JsonObject, JsonValue } from '../core/spec/plan-types';
import { joinPath } from '../core/spec/expressions';
import { isReservedKey, ownValue, RESERVED_KEY_HINT } from '../core/spec/reserved';
import { unknownNameHint } from '../core/spec/suggest';

interface SchemaCommon {
  /** Shown in editors and in `fineflow plan`. */
  readonly description?: string;
  /** Filled into the plan when the key is absent. */
  readonly default?: JsonValue;
  readonly examples?: readonly JsonValue[];
  /**
   * The value is a credential (docs/security.md, item 2): it must be written as
   * `${{ secrets.NAME }}`, never as a literal, and only such inputs may use secrets. The plan and
   * the workflow carry the reference; the stage runner resolves it on the worker.
   */
  readonly secret?: boolean;
}

export type InputSchema =
  | (SchemaCommon & {
      readonly type: 'string';
      readonly pattern?: string;
      readonly minLength?: number;
      readonly maxLength?: number;
    })
  | (SchemaCommon & {
      readonly type: 'number' | 'integer';
      readonly minimum?: number;
      readonly maximum?: number;
      readonly exclusiveMinimum?: number;
      readonly exclusiveMaximum?: number;
    })
  | (SchemaCommon & { readonly type: 'boolean' })
  | (SchemaCommon & {
      readonly type: 'enum';
      readonly values: readonly (string | number | boolean)[];
      /** Other tools' names for a value (Keras' `val_loss`): a refused value named here gets the one to write. */
      readonly valueAliases?: { readonly [otherName: string]: string };
    })
  | (SchemaCommon & {
      readonly type: 'array';
      readonly items: InputSchema;
      readonly minItems?: number;
      readonly maxItems?: number;
    })
  | ObjectSchema
  | (SchemaCommon & {
      readonly type: 'uri';
      /** Allowed schemes without `://`, e.g. `['registry', 's3']`; absent = any. */
      readonly schemes?: readonly string[];
    })
  | (SchemaCommon & { readonly type: 'duration' })
  | (SchemaCommon & { readonly type: 'any' })
  | (SchemaCommon & { readonly type: 'oneOf'; readonly variants: readonly InputSchema[] });

export interface ObjectSchema extends SchemaCommon {
  readonly type: 'object';
  readonly properties?: { readonly [name: string]: InputSchema };
  readonly required?: readonly string[];
  /** false (default when `properties` is given): unknown keys are errors; a schema: the type of every other key. */
  readonly additionalProperties?: boolean | InputSchema;
  readonly minProperties?: number;
  /**
   * Other tools' names for a property (`{type: 'uses'}`): an unknown key named here gets the rename as its fix, and
   * the property it stands for is not also reported missing. A dotted target (`{name: 'metadata.name'}`) is a key
   * that belongs one level down: the fix is to move it there. Hints only; the key stays an error.
   */
  readonly aliases?: { readonly [otherName: string]: string };
  /**
   * Keys that are not allowed here but that a user may well try (a fine-tune input in a sweep's `trial`): the hint
   * their unknown-key error carries, saying what to do instead. Hints only; the key stays an error.
   */
  readonly keyHints?: { readonly [key: string]: string };
}

/** Declared type of a stage output, used to check expressions that reference it. */
export type OutputType = 'string' | 'number' | 'integer' | 'boolean' | 'uri' | 'object' | 'array' | 'any';
export const OUTPUT_TYPES: readonly OutputType[] = [
  'string',
  'number',
  'integer',
  'boolean',
  'uri',
  'object',
  'array',
  'any',
];

export const SCHEMA_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'enum',
  'array',
  'object',
  'uri',
  'duration',
  'any',
  'oneOf',
] as const;

const patternCache = new Map<string, RegExp>();
function compiledPattern(pattern: string): RegExp {
  let compiled = patternCache.get(pattern);
  if (!compiled) {
    compiled = new RegExp(pattern);
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

/** A problem found by {@link checkValue}; `depth` is 0 for keys of the checked object itself. */
export interface SchemaIssue {
  readonly code:
    | 'wrong-type'
    | 'out-of-range'
    | 'bad-value'
    | 'bad-uri'
    | 'bad-duration'
    | 'unknown-key'
    | 'missing-key'
    | 'secret-literal';
  readonly path: string;
  readonly span: Span;
  readonly message: string;
  readonly hint?: string;
  readonly depth: number;
}

export const SECRET_HINT =
  'declare the secret under `secrets:` (e.g. `secrets: {modelToken: {env: MODEL_TOKEN}}`) and write `${{ ' +
  'secrets.modelToken }}`';

/** Called for every string containing `${{`; the checker does not look at it further. */
export type ExpressionCallback = (node: LocatedNode & { kind: 'scalar' }, schema: InputSchema, path: string) => void;

const URI = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/;
const REGISTRY_URI = /^[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9._-]+)?$/;
const S3_URI = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

/** Why a URI is malformed for the given schemes, or undefined when it is fine. */
export function checkUri(text: string, schemes?: readonly string[]): { message: string; hint: string } | undefined {
  const match = URI.exec(text);
  const allowed = schemes?.map((s) => `${s}://`).join(', ');
  if (!match)
    return {
      message: `${JSON.stringify(text)} is not a URI`,
      hint: `write a URI${allowed ? ` starting with ${allowed}` : ''}, e.g. s3://datasets/path/`,
    };
  const [, scheme, rest] = match as unknown as [string, string, string];
  if (schemes && !schemes.includes(scheme))
    return { message: `scheme \`${scheme}://\` is not allowed here`, hint: `use one of ${allowed}` };
  if (scheme === 'registry' && !REGISTRY_URI.test(rest)) {
    return {
      message: `${JSON.stringify(text)} is not a registry URI`,
      hint: 'write registry://NAME@ALIAS or registry://NAME@VERSION, e.g. registry://digits-cnn@latest',
    };
  }
  if (scheme === 's3' && !S3_URI.test(rest))
    return {
      message: `${JSON.stringify(text)} has no valid bucket name`,
      hint: 'write s3://bucket/key, e.g. s3://datasets/defects/',
    };
  if ((scheme === 'http' || scheme === 'https' || scheme === 'file') && rest === '')
    return { message: `${JSON.stringify(text)} has no path`, hint: `write ${scheme}://…/model.json` };
  return undefined;
}

/** `an integer ≥ 1`, `one of adam, sgd`, … for messages. */
export function describeSchema(schema: InputSchema): string {
  if (schema.secret) return 'a secret: ${{ secrets.NAME }}';
  switch (schema.type) {
    case 'string':
      return 'a string';
    case 'number':
    case 'integer': {
      const bounds: string[] = [];
      if (schema.minimum !== undefined) bounds.push(`≥ ${schema.minimum}`);
      if (schema.exclusiveMinimum !== undefined) bounds.push(`> ${schema.exclusiveMinimum}`);
      if (schema.maximum !== undefined) bounds.push(`≤ ${schema.maximum}`);
      if (schema.exclusiveMaximum !== undefined) bounds.push(`< ${schema.exclusiveMaximum}`);
      return `${schema.type === 'integer' ? 'an integer' : 'a number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${schema.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'array': {
      const items = schema.items;
      if (items.type === 'enum')
        return `a list of values from ${items.values.map((v) => JSON.stringify(v)).join(', ')}`;
      if (items.type === 'uri' || items.type === 'oneOf' || items.type === 'number' || items.type === 'integer')
        return `a list, each ${describeSchema(items)}`;
      return `a list of ${describeSchema(items).replace(/^an? /, '')}s`;
    }
    case 'object':
      return 'a mapping';
    case 'uri':
      return schema.schemes ? `a URI (${schema.schemes.map((s) => `${s}://`).join(', ')})` : 'a URI';
    case 'duration':
      return 'a duration such as 30s, 5m or 2h';
    case 'any':
      return 'any value';
    case 'oneOf':
      return schema.variants.map(describeSchema).join(', or ');
  }
}

function kindMatches(schema: InputSchema, node: LocatedNode): boolean {
  switch (schema.type) {
    case 'object':
      return node.kind === 'map';
    case 'array':
      return node.kind === 'seq';
    case 'any':
      return true;
    case 'oneOf':
      return schema.variants.some((v) => kindMatches(v, node));
    case 'number':
      return node.kind === 'scalar' && typeof node.value === 'number';
    case 'integer':
      return node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value);
    case 'boolean':
      return node.kind === 'scalar' && typeof node.value === 'boolean';
    case 'enum':
      return node.kind === 'scalar' && schema.values.some((v) => typeof v === typeof node.value);
    case 'string':
    case 'uri':
    case 'duration':
      return node.kind === 'scalar' && typeof node.value === 'string';
  }
}

/** For a mapping checked against several object variants: how well its keys fit one. */
function objectFit(schema: InputSchema, node: LocatedNode): number {
  if (schema.type !== 'object' || node.kind !== 'map') return -1;
  const props = schema.properties ?? {};
  let fit = 0;
  for (const e of node.entries) if (Object.prototype.hasOwnProperty.call(props, e.key)) fit += 2;
  for (const name of schema.required ?? []) if (!node.entries.some((e) => e.key === name)) fit -= 1;
  return fit;
}

/** Where a value is checked: its node, path, nesting depth and what to do with expressions. */
interface CheckContext {
  readonly node: LocatedNode;
  readonly path: string;
  readonly onExpression: ExpressionCallback | undefined;
  readonly depth: number;
}

type SchemaOf<T extends InputSchema['type']> = Extract<InputSchema, { readonly type: T }>;

function issueAt(context: CheckContext, code: SchemaIssue['code'], message: string, hint?: string): SchemaIssue {
  return { code, path: context.path, span: context.node.span, depth: context.depth, message, hint };
}

function wrongTypeIssue(schema: InputSchema, context: CheckContext): SchemaIssue {
  const { node, path } = context;
  const message = `${path || 'value'} must be ${describeSchema(schema)}, not ${describeNode(node)}`;
  return issueAt(context, 'wrong-type', message, typeHint(schema, node));
}

/**
 * Check a value against a schema; returns every issue. Strings holding `${{ … }}` are passed
 * to `onExpression` instead of being checked.
 */
export function checkValue(
  node: LocatedNode,
  schema: InputSchema,
  path: string,
  onExpression?: ExpressionCallback,
  depth = 0,
): SchemaIssue[] {
  const context: CheckContext = { node, path, onExpression, depth };
  if (node.kind === 'scalar' && typeof node.value === 'string' && node.value.includes('${{')) {
    onExpression?.(node, schema, path);
    return [];
  }
  if (schema.secret) {
    // A literal credential would be recorded in the plan, the history and the cache key.
    const message = `${path} is a secret input: it takes a \`\${{ secrets.NAME }}\` reference, never the value itself`;
    return [issueAt(context, 'secret-literal', message, SECRET_HINT)];
  }
  switch (schema.type) {
    case 'any':
      return checkAnyValue(schema, context);
    case 'string':
      return checkString(schema, context);
    case 'number':
    case 'integer':
      return checkNumber(schema, context);
    case 'boolean':
      return kindMatches(schema, node) ? [] : [wrongTypeIssue(schema, context)];
    case 'enum':
      return checkEnum(schema, context);
    case 'uri':
      return checkUriValue(schema, context);
    case 'duration':
      return checkDurationValue(context);
    case 'array':
      return checkArray(schema, context);
    case 'object':
      if (node.kind !== 'map') return [wrongTypeIssue(schema, context)];
      return checkObject(node, schema, path, onExpression, depth);
    case 'oneOf':
      return checkOneOf(schema, context);
  }
}

/** `any`: every nested value is still checked for expressions (and secrets). */
function checkAnyValue(schema: SchemaOf<'any'>, context: CheckContext): SchemaIssue[] {
  const { node, path, onExpression, depth } = context;
  const issues: SchemaIssue[] = [];
  if (node.kind === 'map')
    for (const e of node.entries)
      issues.push(...checkValue(e.value, schema, joinPath(path, e.key), onExpression, depth + 1));
  if (node.kind === 'seq')
    node.items.forEach((item, i) =>
      issues.push(...checkValue(item, schema, joinPath(path, i), onExpression, depth + 1)),
    );
  return issues;
}

function checkString(schema: SchemaOf<'string'>, context: CheckContext): SchemaIssue[] {
  const { node, path } = context;
  if (!kindMatches(schema, node)) return [wrongTypeIssue(schema, context)];
  const issues: SchemaIssue[] = [];
  const text = (node as { value: string }).value;
  if (schema.minLength !== undefined && text.length < schema.minLength) {
    const hint = text === '' ? 'write a value, or remove the key' : `write at least ${schema.minLength} characters`;
    issues.push(issueAt(context, 'bad-value', `${path} must have at least ${schema.minLength} character(s)`, hint));
  }
  if (schema.maxLength !== undefined && text.length > schema.maxLength) {
    const message = `${path} must have at most ${schema.maxLength} characters, has ${text.length}`;
    issues.push(issueAt(context, 'bad-value', message, `shorten it to ${schema.maxLength} characters or fewer`));
  }
  if (schema.pattern !== undefined && !compiledPattern(schema.pattern).test(text)) {
    const message = `${path}: ${JSON.stringify(text)} does not match ${schema.pattern}`;
    issues.push(issueAt(context, 'bad-value', message, schema.description));
  }
  return issues;
}

function checkNumber(schema: SchemaOf<'number' | 'integer'>, context: CheckContext): SchemaIssue[] {
  const { node, path } = context;
  if (!kindMatches(schema, node)) return [wrongTypeIssue(schema, context)];
  const value = (node as { value: number }).value;
  const below =
    (schema.minimum !== undefined && value < schema.minimum) ||
    (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum);
  const above =
    (schema.maximum !== undefined && value > schema.maximum) ||
    (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum);
  if (!below && !above) return [];
  // Every numeric input is bounded (pipeline authors are untrusted): the hint names the allowed range.
  const allowed = describeSchema(schema);
  const hint = `allowed: ${allowed}${schema.description ? ` (${schema.description})` : ''}`;
  return [issueAt(context, 'out-of-range', `${path} is ${value}; it must be ${allowed}`, hint)];
}

function checkEnum(schema: SchemaOf<'enum'>, context: CheckContext): SchemaIssue[] {
  const { node, path } = context;
  const value = node.kind === 'scalar' ? node.value : undefined;
  if (node.kind === 'scalar' && schema.values.some((v) => v === value)) return [];
  const alias = typeof value === 'string' ? ownHint(schema.valueAliases, value) : undefined;
  const near =
    alias !== undefined
      ? `write \`${alias}\` (Fineflow's name for \`${String(value)}\`)`
      : typeof value === 'string'
        ? unknownNameHint(value, schema.values.map(String), 'allowed values')
        : `allowed values: ${schema.values.map((v) => JSON.stringify(v)).join(', ')}`;
  const message = `${path} must be ${describeSchema(schema)}, not ${describeNode(node)}`;
  return [issueAt(context, 'bad-value', message, near)];
}

function checkUriValue(schema: SchemaOf<'uri'>, context: CheckContext): SchemaIssue[] {
  if (!kindMatches(schema, context.node)) return [wrongTypeIssue(schema, context)];
  const problem = checkUri((context.node as { value: string }).value, schema.schemes);
  return problem ? [issueAt(context, 'bad-uri', `${context.path}: ${problem.message}`, problem.hint)] : [];
}

function checkDurationValue(context: CheckContext): SchemaIssue[] {
  const { node, path } = context;
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    return [issueAt(context, 'bad-duration', `${path} must be a duration, not ${describeNode(node)}`, DURATION_HINT)];
  }
  if (parseDuration(node.value) !== undefined) return [];
  const message = `${path}: ${JSON.stringify(node.value)} is not a duration`;
  return [issueAt(context, 'bad-duration', message, DURATION_HINT)];
}

function checkArray(schema: SchemaOf<'array'>, context: CheckContext): SchemaIssue[] {
  const { node, path, onExpression, depth } = context;
  if (node.kind !== 'seq') return [wrongTypeIssue(schema, context)];
  const issues: SchemaIssue[] = [];
  const count = node.items.length;
  if (schema.minItems !== undefined && count < schema.minItems) {
    const hint = count === 0 ? 'add an item, or remove the key' : `add items up to ${schema.minItems}`;
    issues.push(
      issueAt(context, 'out-of-range', `${path} needs at least ${schema.minItems} item(s), has ${count}`, hint),
    );
  }
  if (schema.maxItems !== undefined && count > schema.maxItems) {
    const hint = `remove ${count - schema.maxItems} item(s), or split the work into several stages`;
    issues.push(
      issueAt(context, 'out-of-range', `${path} allows at most ${schema.maxItems} item(s), has ${count}`, hint),
    );
  }
  node.items.forEach((item, i) =>
    issues.push(...checkValue(item, schema.items, joinPath(path, i), onExpression, depth + 1)),
  );
  return issues;
}

/**
 * A mapping none of whose keys belongs to any of several object variants (`{choise: [16, 32]}` for a sweep's space
 * entry): each key is unknown, with the keys of every variant as the fix. Checked against the first variant alone, it
 * was "missing required key `uniform`" and "allowed keys: `uniform`", though `choice` was what it meant.
 */
function keysOfNoVariant(
  node: LocatedNode & { kind: 'map' },
  candidates: readonly InputSchema[],
  context: CheckContext,
): SchemaIssue[] | undefined {
  const objects = candidates.filter((v): v is ObjectSchema => v.type === 'object');
  const known = [...new Set(objects.flatMap((v) => Object.keys(v.properties ?? {})))];
  if (objects.length < 2 || node.entries.length === 0 || node.entries.some((e) => known.includes(e.key)))
    return undefined;
  return node.entries.map((e) => ({
    code: 'unknown-key' as const,
    path: joinPath(context.path, e.key),
    span: e.keySpan,
    depth: context.depth,
    message: `unknown key \`${e.key}\` in ${context.path || 'the mapping'}`,
    hint: unknownNameHint(e.key, known, 'allowed keys'),
  }));
}

/** The variant the value fits best decides the issues: by keys for a mapping, else the first it passes. */
function checkOneOf(schema: SchemaOf<'oneOf'>, context: CheckContext): SchemaIssue[] {
  const { node, path, onExpression, depth } = context;
  const candidates = schema.variants.filter((v) => kindMatches(v, node));
  if (candidates.length === 0) return [wrongTypeIssue(schema, context)];
  let best = candidates[0] as InputSchema;
  if (node.kind === 'map' && candidates.length > 1) {
    const unfitting = keysOfNoVariant(node, candidates, context);
    if (unfitting) return unfitting;
    best = candidates.reduce((a, b) => (objectFit(b, node) > objectFit(a, node) ? b : a));
  } else if (candidates.length > 1) {
    for (const candidate of candidates) {
      if (checkValue(node, candidate, path, undefined, depth).length === 0) {
        best = candidate;
        break;
      }
    }
  }
  return checkValue(node, best, path, onExpression, depth);
}

function checkObject(
  node: LocatedNode & { kind: 'map' },
  schema: ObjectSchema,
  path: string,
  onExpression: ExpressionCallback | undefined,
  depth: number,
): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const props = schema.properties ?? {};
  const extra = schema.additionalProperties ?? (schema.properties ? false : true);
  for (const e of node.entries) {
    const childPath = joinPath(path, e.key);
    const propSchema = Object.prototype.hasOwnProperty.call(props, e.key) ? props[e.key] : undefined;
    if (propSchema) issues.push(...checkValue(e.value, propSchema, childPath, onExpression, depth + 1));
    else if (extra === false) {
      issues.push({
        code: 'unknown-key',
        path: childPath,
        span: e.keySpan,
        depth,
        message: `unknown key \`${e.key}\` in ${path || 'the mapping'}`,
        hint:
          keyWithoutSpace(e.key, props) ??
          aliasHint(e.key, schema, node) ??
          ownHint(schema.keyHints, e.key) ??
          unknownNameHint(e.key, Object.keys(props), 'allowed keys'),
      });
    } else if (extra !== true) issues.push(...checkValue(e.value, extra, childPath, onExpression, depth + 1));
  }
  for (const name of schema.required ?? []) {
    // `{source:s3://x}` is one key `source:s3://x`, reported above with the fix; do not also call `source` missing.
    // `type: fine-tune` for `uses:` is reported above as the rename; do not also call `uses` missing.
    const given = (key: string): boolean =>
      key === name || key.startsWith(`${name}:`) || aliasOf(schema, key)?.split('.')[0] === name;
    if (!node.entries.some((e) => given(e.key))) {
      const prop = props[name];
      issues.push({
        code: 'missing-key',
        path: joinPath(path, name),
        span: node.keySpan ?? { offset: node.span.offset, end: node.span.offset + 1 },
        depth,
        message: `${path || 'the mapping'} is missing required key \`${name}\``,
        hint: `add \`${name}:\`${prop ? ` (${describeSchema(prop)}${prop.description ? `: ${prop.description}` : ''})` : ''}`,
      });
    }
  }
  if (schema.minProperties !== undefined && node.entries.length < schema.minProperties) {
    issues.push({
      code: 'out-of-range',
      path,
      span: node.span,
      depth,
      message: `${path} needs at least ${schema.minProperties} key(s)`,
      hint: `add ${Object.keys(schema.properties ?? {}).length > 0 ? `one of ${Object.keys(schema.properties ?? {}).join(', ')}` : 'a key'}, or remove \`${path.split('.').pop() ?? path}\``,
    });
  }
  return issues;
}

/** The property an alias stands for (own keys only: a key named `__proto__` or `toString` is no alias). */
function ownHint(hints: ObjectSchema['keyHints'], key: string): string | undefined {
  return hints && Object.prototype.hasOwnProperty.call(hints, key) ? hints[key] : undefined;
}

function aliasOf(schema: ObjectSchema, key: string): string | undefined {
  const aliases = schema.aliases;
  return aliases && Object.prototype.hasOwnProperty.call(aliases, key) ? aliases[key] : undefined;
}

/**
 * `type:` where Fineflow says `uses:`: the rename, or, when both are given, that the alias is redundant; a top-level
 * `name:` (dotted target `metadata.name`): move it under `metadata:`.
 */
function aliasHint(key: string, schema: ObjectSchema, node: LocatedNode & { kind: 'map' }): string | undefined {
  const target = aliasOf(schema, key);
  if (target === undefined) return undefined;
  const dot = target.indexOf('.');
  if (dot > 0) {
    const parent = target.slice(0, dot);
    return `move \`${key}:\` under \`${parent}:\` (write \`${parent}: {${target.slice(dot + 1)}: …}\`)`;
  }
  if (node.entries.some((e) => e.key === target)) return `remove \`${key}:\`: \`${target}:\` is already given`;
  return `rename \`${key}:\` to \`${target}:\` (Fineflow's name for it)`;
}

/** `source:s3://x` read as one key because YAML needs a space after `:`; the fix when `source` is a known key. */
function keyWithoutSpace(key: string, props: { readonly [name: string]: InputSchema }): string | undefined {
  const match = /^([A-Za-z_][\w-]*):(\S.*)$/.exec(key);
  if (!match || !Object.prototype.hasOwnProperty.call(props, match[1] as string)) return undefined;
  return `write \`${match[1]}: ${match[2]}\`: YAML needs a space after the colon of a key`;
}

/** YAML 1.1 booleans, which YAML 1.2 (this parser) reads as strings. */
const YAML11_BOOLEANS: Readonly<Record<string, boolean>> = Object.assign(Object.create(null) as object, {
  yes: true,
  Yes: true,
  YES: true,
  on: true,
  On: true,
  ON: true,
  y: true,
  Y: true,
  no: false,
  No: false,
  NO: false,
  off: false,
  Off: false,
  OFF: false,
  n: false,
  N: false,
});

function typeHint(schema: InputSchema, node: LocatedNode): string {
  if (
    node.kind === 'scalar' &&
    typeof node.value === 'string' &&
    (schema.type === 'number' || schema.type === 'integer') &&
    node.value.trim() !== '' &&
    !Number.isNaN(Number(node.value))
  ) {
    return 'remove the quotes to write a number';
  }
  if (node.kind === 'scalar' && typeof node.value === 'number' && schema.type === 'integer')
    return 'write a whole number';
  const yaml11 = node.kind === 'scalar' && typeof node.value === 'string' ? YAML11_BOOLEANS[node.value] : undefined;
  if (yaml11 !== undefined && acceptsOutputType(schema, 'boolean'))
    return (
      `write \`${String(yaml11)}\` instead of \`${String((node as { value: string }).value)}\` (YAML 1.2 reads ` +
      `it as a string)`
    );
  if (node.kind === 'scalar' && node.value === null) return 'the value is empty; write one or remove the key';
  if (schema.type === 'array' && node.kind !== 'seq') return 'write a list, e.g. [a, b] or one `- item` per line';
  return `write ${describeSchema(schema)}, e.g. ${exampleValue(schema)}`;
}

/** A value of the schema as YAML flow text, for hints that show what to write. */
export function exampleValue(schema: InputSchema, depth = 0): string {
  if (schema.secret) return '${{ secrets.NAME }}';
  switch (schema.type) {
    case 'string':
      return schema.pattern ? JSON.stringify(schema.description ?? 'text') : 'text';
    case 'number':
    case 'integer': {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
      const high = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : undefined);
      const value = low !== undefined && high !== undefined ? (low + high) / 2 : (low ?? high ?? 1);
      return String(schema.type === 'integer' ? Math.round(value) : value);
    }
    case 'boolean':
      return 'true';
    case 'enum':
      return String(schema.values[0]);
    case 'uri':
      return `${schema.schemes?.[0] ?? 's3'}://bucket/path`;
    case 'duration':
      return '30s';
    case 'any':
      return 'value';
    case 'oneOf':
      return exampleValue(schema.variants[0] as InputSchema, depth);
    case 'array':
      return depth > 2 ? '[]' : `[${exampleValue(schema.items, depth + 1)}]`;
    case 'object': {
      const first = schema.required?.[0] ?? Object.keys(schema.properties ?? {})[0];
      const prop = first ? schema.properties?.[first] : undefined;
      return first && prop && depth <= 2 ? `{${first}: ${exampleValue(prop, depth + 1)}}` : '{key: value}';
    }
  }
}

/** Whether a value of the given output type may be used where the schema is expected. */
export function acceptsOutputType(schema: InputSchema, type: OutputType): boolean {
  if (type === 'any') return true;
  switch (schema.type) {
    case 'any':
      return true;
    case 'oneOf':
      return schema.variants.some((v) => acceptsOutputType(v, type));
    case 'string':
      return type === 'string' || type === 'uri';
    case 'uri':
      return type === 'uri' || type === 'string';
    case 'duration':
      return type === 'string';
    case 'enum':
      return schema.values.some((v) =>
        typeof v === 'number'
          ? type === 'number' || type === 'integer'
          : typeof v === 'boolean'
            ? type === 'boolean'
            : type === 'string',
      );
    case 'number':
      return type === 'number' || type === 'integer';
    case 'integer':
      return type === 'integer' || type === 'number';
    case 'boolean':
      return type === 'boolean';
    case 'array':
      return type === 'array';
    case 'object':
      return type === 'object';
  }
}

/** The output type of a JSON value (for params). */
export function outputTypeOf(value: JsonValue): OutputType {
  if (value === null) return 'any';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'string';
}

/** The value with every absent property that has a schema default filled in (recursively). */
export function applyDefaults(value: JsonValue, schema: InputSchema): JsonValue {
  if (typeof value === 'string' && value.includes('${{')) return value;
  if (schema.type === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, JsonValue> = {};
    const props = schema.properties ?? {};
    for (const [key, item] of Object.entries(value as JsonObject)) {
      const prop =
        ownValue(props, key) ??
        (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      out[key] = prop ? applyDefaults(item, prop) : item;
    }
    for (const [key, prop] of Object.entries(props)) {
      if (!(key in out) && prop.default !== undefined) out[key] = applyDefaults(prop.default, prop);
    }
    return out;
  }
  if (schema.type === 'array' && Array.isArray(value))
    return value.map((item: JsonValue) => applyDefaults(item, schema.items));
  if (schema.type === 'oneOf') {
    const node = value;
    const fits = schema.variants.filter((v) => jsonKindMatches(v, node));
    const objectVariant = fits.find((v) => v.type === 'object');
    if (fits.length === 1) return applyDefaults(value, fits[0] as InputSchema);
    if (objectVariant && value !== null && typeof value === 'object' && !Array.isArray(value))
      return applyDefaults(value, objectVariant);
  }
  return value;
}

function jsonKindMatches(schema: InputSchema, value: JsonValue): boolean {
  if (schema.type === 'object') return value !== null && typeof value === 'object' && !Array.isArray(value);
  if (schema.type === 'array') return Array.isArray(value);
  return false;
}

/** Check a schema definition itself (for stage types a team loads). Returns problems as text. */
export function checkSchemaDefinition(schema: unknown, path: string): string[] {
  const problems: string[] = [];
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    return [`${path} must be a schema object`];
  const s = schema as Record<string, unknown>;
  if (!SCHEMA_TYPES.includes(s.type as (typeof SCHEMA_TYPES)[number])) {
    return [`${path}.type must be one of ${SCHEMA_TYPES.join(', ')}, not ${JSON.stringify(s.type)}`];
  }
  if (s.description !== undefined && typeof s.description !== 'string')
    problems.push(`${path}.description must be a string`);
  if (s.secret !== undefined && (s.secret !== true || s.type !== 'string'))
    problems.push(`${path}.secret must be true, on a string input`);
  switch (s.type) {
    case 'enum':
      if (
        !Array.isArray(s.values) ||
        s.values.length === 0 ||
        !s.values.every((v) => ['string', 'number', 'boolean'].includes(typeof v))
      ) {
        problems.push(`${path}.values must be a non-empty list of strings, numbers or booleans`);
      }
      break;
    case 'array':
      problems.push(...checkSchemaDefinition(s.items, `${path}.items`));
      break;
    case 'object':
      if (s.properties !== undefined) {
        if (s.properties === null || typeof s.properties !== 'object' || Array.isArray(s.properties))
          problems.push(`${path}.properties must be a mapping`);
        else {
          for (const [k, v] of Object.entries(s.properties)) {
            if (isReservedKey(k))
              problems.push(`${path}.properties.${k}: \`${k}\` is a reserved name; ${RESERVED_KEY_HINT}`);
            problems.push(...checkSchemaDefinition(v, `${path}.properties.${k}`));
          }
        }
      }
      if (s.required !== undefined) {
        if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === 'string'))
          problems.push(`${path}.required must be a list of names`);
        else {
          const props = (s.properties ?? {}) as Record<string, unknown>;
          for (const r of s.required as string[])
            if (!(r in props)) problems.push(`${path}.required names \`${r}\`, which is not in properties`);
        }
      }
      if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean')
        problems.push(...checkSchemaDefinition(s.additionalProperties, `${path}.additionalProperties`));
      break;
    case 'oneOf':
      if (!Array.isArray(s.variants) || s.variants.length === 0)
        problems.push(`${path}.variants must be a non-empty list`);
      else s.variants.forEach((v, i) => problems.push(...checkSchemaDefinition(v, `${path}.variants[${i}]`)));
      break;
    case 'uri':
      if (s.schemes !== undefined && (!Array.isArray(s.schemes) || !s.schemes.every((x) => typeof x === 'string')))
        problems.push(`${path}.schemes must be a list of strings`);
      break;
    default:
      break;
  }
  if (problems.length === 0 && s.default !== undefined) {
    const issues = checkValue(fromJsonForDefault(s.default as JsonValue), schema as InputSchema, `${path}.default`);
    for (const issue of issues) problems.push(`default does not fit its own schema: ${issue.message}`);
  }
  return problems;
}

function fromJsonForDefault(value: JsonValue): LocatedNode {
  const at = { offset: 0, end: 0 };
  if (Array.isArray(value)) return { kind: 'seq', items: value.map(fromJsonForDefault), span: at };
  if (value !== null && typeof value === 'object')
    return {
      kind: 'map',
      entries: Object.entries(value).map(([key, v]) => ({ key, keySpan: at, value: fromJsonForDefault(v) })),
      span: at,
    };
  return { kind: 'scalar', value, span: at };
}

// ---------------------------------------------------------------------------------------
// JSON Schema

/** Matches a string that is one `${{ … }}` expression (editors accept it for any type). */
export const EXPRESSION_PATTERN = '^\\s*\\$\\{\\{.*\\}\\}\\s*$';
/** Matches `${{ secrets.NAME }}`: the only value a secret input takes. */
export const SECRET_EXPRESSION_PATTERN = '^\\s*\\$\\{\\{\\s*secrets\\.[A-Za-z_][A-Za-z0-9_]*\\s*\\}\\}\\s*$';
const EXPRESSION_JSON_SCHEMA = { type: 'string', pattern: EXPRESSION_PATTERN, description: 'a ${{ … }} expression' };

/**
 * JSON Schema (draft 2020-12) for a schema of this language. `allowExpressions`: this value
 * may be a `${{ }}` string instead; `nested`: the same for the values inside it.
 */
export function toJsonSchema(
  schema: InputSchema,
  allowExpressions = true,
  nested = allowExpressions,
): Record<string, unknown> {
  const common: Record<string, unknown> = {};
  if (schema.description) common.description = schema.description;
  if (schema.secret) return { type: 'string', pattern: SECRET_EXPRESSION_PATTERN, ...common };
  if (schema.default !== undefined) common.default = schema.default;
  if (schema.examples) common.examples = schema.examples;
  let core: Record<string, unknown>;
  switch (schema.type) {
    case 'string':
      core = {
        type: 'string',
        ...(schema.pattern ? { pattern: schema.pattern } : {}),
        ...(schema.minLength !== undefined ? { minLength: schema.minLength } : {}),
        ...(schema.maxLength !== undefined ? { maxLength: schema.maxLength } : {}),
      };
      return { ...core, ...common };
    case 'number':
    case 'integer':
      core = { type: schema.type };
      for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const)
        if (schema[k] !== undefined) core[k] = schema[k];
      break;
    case 'boolean':
      core = { type: 'boolean' };
      break;
    case 'enum':
      core = { enum: [...schema.values] };
      break;
    case 'array':
      core = { type: 'array', items: toJsonSchema(schema.items, nested, nested) };
      if (schema.minItems !== undefined) core.minItems = schema.minItems;
      if (schema.maxItems !== undefined) core.maxItems = schema.maxItems;
      break;
    case 'object': {
      core = { type: 'object' };
      if (schema.properties) {
        core.properties = Object.fromEntries(
          Object.entries(schema.properties).map(([k, v]) => [k, toJsonSchema(v, nested, nested)]),
        );
      }
      if (schema.required?.length) core.required = [...schema.required];
      const extra = schema.additionalProperties ?? (schema.properties ? false : true);
      core.additionalProperties = typeof extra === 'boolean' ? extra : toJsonSchema(extra, nested, nested);
      if (schema.minProperties !== undefined) core.minProperties = schema.minProperties;
      break;
    }
    case 'uri':
      core = {
        type: 'string',
        format: 'uri',
        pattern: schema.schemes ? `^(${schema.schemes.join('|')})://` : '^[a-z][a-z0-9+.-]*://',
      };
      break;
    case 'duration':
      core = { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h|d|w))+$' };
      break;
    case 'any':
      return { ...common };
    case 'oneOf':
      core = { anyOf: schema.variants.map((v) => toJsonSchema(v, false, nested)) };
      break;
  }
  if (!allowExpressions) return { ...core, ...common };
  return { anyOf: [core, EXPRESSION_JSON_SCHEMA], ...common };
}
