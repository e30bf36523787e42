/**
 * The `${{ … }}` expression language: references to `params.*` and
 * `stages.<id>.outputs.*`, literals, comparisons and and/or/not. A small hand-written
 * tokenizer and recursive-descent parser; nothing is ever `eval`ed.
 *
 * PURE and workflow-safe: the `pipelineRun` workflow resolves stage inputs and `when`
 * conditions with these functions, so this module imports nothing but pure types and the
 * error classes.
 *
 * Grammar (lowest precedence first):
 *
 *     expr       := or
 *     or         := and (("or" | "||") and)*
 *     and        := not (("and" | "&&") not)*
 *     not        := ("not" | "!") not | comparison
 *     comparison := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
 *     primary    := literal | reference | "(" expr ")"
 *     reference  := name ("." name | "[" (string | integer) "]")*
 *     literal    := number | 'string' | "string" | true | false | null
 */
import { InvalidInputError } from '../errors';
import type { JsonObject, JsonValue, SecretReference } from './plan-types';

/** What an expression can see at run time. */
export interface ExpressionContext {
  readonly params: Readonly<Record<string, JsonValue>>;
  readonly stages: Readonly<Record<string, { readonly outputs: JsonObject; readonly status?: string }>>;
  /** The plan's secret references (never values): `${{ secrets.X }}` resolves to a {@link SealedSecret}. */
  readonly secrets?: Readonly<Record<string, SecretReference>>;
}

/**
 * What `${{ secrets.X }}` becomes in a stage's resolved inputs: the reference, never the value.
 * It crosses Temporal and enters the cache key as is; the stage runner swaps in the value on the
 * worker (src/security/secrets.ts).
 */
export interface SealedSecret {
  readonly $secret: string;
  readonly reference: SecretReference;
}

export function isSealedSecret(value: unknown): value is SealedSecret {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as { $secret?: unknown }).$secret === 'string'
  );
}

/** One property step of a reference: a key (`.name`, `['name']`) or an index (`[0]`). */
export type PathSegment = string | number;

export type ComparisonOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** Parsed expression tree. `offset`/`end` are character offsets inside the expression source. */
export type ExpressionNode =
  | { readonly kind: 'literal'; readonly value: JsonValue; readonly offset: number; readonly end: number }
  | {
      readonly kind: 'reference';
      readonly segments: readonly PathSegment[];
      readonly text: string;
      readonly offset: number;
      readonly end: number;
    }
  | { readonly kind: 'not'; readonly operand: ExpressionNode; readonly offset: number; readonly end: number }
  | {
      readonly kind: 'logical';
      readonly operator: 'and' | 'or';
      readonly left: ExpressionNode;
      readonly right: ExpressionNode;
      readonly offset: number;
      readonly end: number;
    }
  | {
      readonly kind: 'compare';
      readonly operator: ComparisonOperator;
      readonly left: ExpressionNode;
      readonly right: ExpressionNode;
      readonly offset: number;
      readonly end: number;
    };

/** A reference found in a value, as used by validation and by the DAG. */
export interface ExpressionReference {
  readonly kind: 'param' | 'stage-output' | 'secret';
  /** The param name, or for a stage output the stage id (same as `stage`). */
  readonly name: string;
  /** Stage id, for `stage-output`. */
  readonly stage?: string;
  /** Output name, for `stage-output`. */
  readonly output?: string;
  /** Property path inside the param / output value, e.g. `['learningRate']`; empty for the whole value. */
  readonly subpath: readonly PathSegment[];
  /** The reference as written, e.g. `stages.select.outputs.model`. */
  readonly text: string;
  /** Where in the scanned value the string holding the reference sits, e.g. `gate.min`, `candidates[0]` (empty for the root). */
  readonly path: string;
  /** True when the string is exactly this one reference, so it resolves to the referenced value with its type. */
  readonly whole: boolean;
}

/** A syntax error in an expression; `offset` is inside the string that was parsed. */
export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ExpressionSyntaxError';
  }
}

/** A piece of a template string: literal text or an embedded `${{ … }}` expression. */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | {
      readonly kind: 'expression';
      /** Source between `${{` and `}}`. */
      readonly source: string;
      /** Offset of the expression source within the template string. */
      readonly offset: number;
      readonly node: ExpressionNode;
    };

const OPEN = '${{';
const CLOSE = '}}';

/** True when the string contains `${{`, i.e. is meant as a template. */
export function hasExpression(text: string): boolean {
  return text.includes(OPEN);
}

/**
 * Split a string into literal text and parsed expressions. Throws ExpressionSyntaxError
 * (offset relative to `text`) for an unterminated `${{` or a malformed expression.
 */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let cursor = 0;
  while (cursor < text.length) {
    const open = text.indexOf(OPEN, cursor);
    if (open < 0) {
      parts.push({ kind: 'text', text: text.slice(cursor) });
      break;
    }
    if (open > cursor) parts.push({ kind: 'text', text: text.slice(cursor, open) });
    const start = open + OPEN.length;
    const close = findClose(text, start);
    if (close < 0) throw new ExpressionSyntaxError('`${{` is never closed', open, 'close the expression with `}}`');
    const source = text.slice(start, close);
    let node: ExpressionNode;
    try {
      node = parseExpression(source);
    } catch (error) {
      if (error instanceof ExpressionSyntaxError)
        throw new ExpressionSyntaxError(error.message, start + error.offset, error.hint);
      throw error;
    }
    parts.push({ kind: 'expression', source, offset: start, node });
    cursor = close + CLOSE.length;
  }
  return parts;
}

/** Index of the `}}` closing an expression that starts at `from`, skipping quoted strings. */
function findClose(text: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '}' && text[i + 1] === '}') {
      return i;
    }
  }
  return -1;
}

/** The expression of a string that is exactly one `${{ … }}` (surrounding whitespace allowed), else undefined. */
export function wholeExpression(
  parts: readonly TemplatePart[],
): Extract<TemplatePart, { kind: 'expression' }> | undefined {
  const meaningful = parts.filter((p) => p.kind === 'expression' || p.text.trim() !== '');
  const only = meaningful[0];
  return meaningful.length === 1 && only?.kind === 'expression' ? only : undefined;
}

// ---------------------------------------------------------------------------------------
// Tokenizer and parser

type Token =
  | { readonly type: 'number'; readonly value: number; readonly offset: number; readonly end: number }
  | { readonly type: 'string'; readonly value: string; readonly offset: number; readonly end: number }
  | { readonly type: 'name'; readonly value: string; readonly offset: number; readonly end: number }
  | { readonly type: 'op'; readonly value: string; readonly offset: number; readonly end: number }
  | { readonly type: 'eof'; readonly value: ''; readonly offset: number; readonly end: number };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.'];
const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_-]/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/;
const MAX_EXPRESSION_LENGTH = 4096;

function tokenize(source: string): Token[] {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionSyntaxError(`expression is longer than ${MAX_EXPRESSION_LENGTH} characters`, 0);
  }
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let value = '';
      let j = i + 1;
      for (; j < source.length && source[j] !== ch; j++) {
        if (source[j] === '\\' && j + 1 < source.length) {
          j++;
          const escaped = source[j] as string;
          value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
        } else {
          value += source[j];
        }
      }
      if (j >= source.length)
        throw new ExpressionSyntaxError('string literal is never closed', i, `close it with ${ch}`);
      tokens.push({ type: 'string', value, offset: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    const previous = tokens[tokens.length - 1];
    const minusStartsNumber =
      ch === '-' && (!previous || (previous.type === 'op' && previous.value !== ')' && previous.value !== ']'));
    if (
      /\d/.test(ch) ||
      (ch === '.' &&
        /\d/.test(source[i + 1] ?? '') &&
        previous?.type !== 'name' &&
        !(previous?.type === 'op' && previous.value === ']')) ||
      minusStartsNumber
    ) {
      const match = NUMBER.exec(source.slice(i));
      if (!match) throw new ExpressionSyntaxError(`unexpected \`${ch}\``, i);
      tokens.push({ type: 'number', value: Number(match[0]), offset: i, end: i + match[0].length });
      i += match[0].length;
      continue;
    }
    if (NAME_START.test(ch)) {
      let j = i + 1;
      while (j < source.length && NAME_PART.test(source[j] as string)) j++;
      tokens.push({ type: 'name', value: source.slice(i, j), offset: i, end: j });
      i = j;
      continue;
    }
    const op = OPERATORS.find((candidate) => source.startsWith(candidate, i));
    if (!op) {
      const hint =
        ch === '='
          ? 'compare with `==`'
          : ch === '&'
            ? 'use `&&` or `and`'
            : ch === '|'
              ? 'use `||` or `or`'
              : undefined;
      throw new ExpressionSyntaxError(`unexpected \`${ch}\``, i, hint);
    }
    tokens.push({ type: 'op', value: op, offset: i, end: i + op.length });
    i += op.length;
  }
  tokens.push({ type: 'eof', value: '', offset: source.length, end: source.length });
  return tokens;
}

const COMPARISONS: readonly string[] = ['==', '!=', '<', '<=', '>', '>='];
const MAX_DEPTH = 64;

/** Parse an expression (the text between `${{` and `}}`, or a bare `when` condition). */
export function parseExpression(source: string): ExpressionNode {
  const tokens = tokenize(source);
  let position = 0;
  let depth = 0;
  const peek = (): Token => tokens[position] as Token;
  const next = (): Token => tokens[position++] as Token;
  const isOp = (value: string): boolean => peek().type === 'op' && peek().value === value;
  const isWord = (value: string): boolean => peek().type === 'name' && peek().value === value;

  const describe = (token: Token): string =>
    token.type === 'eof' ? 'the end of the expression' : `\`${source.slice(token.offset, token.end)}\``;

  function parseOr(): ExpressionNode {
    let left = parseAnd();
    while (isOp('||') || isWord('or')) {
      next();
      const right = parseAnd();
      left = { kind: 'logical', operator: 'or', left, right, offset: left.offset, end: right.end };
    }
    return left;
  }
  function parseAnd(): ExpressionNode {
    let left = parseNot();
    while (isOp('&&') || isWord('and')) {
      next();
      const right = parseNot();
      left = { kind: 'logical', operator: 'and', left, right, offset: left.offset, end: right.end };
    }
    return left;
  }
  function parseNot(): ExpressionNode {
    if (isOp('!') || isWord('not')) {
      const token = next();
      if (++depth > MAX_DEPTH) throw new ExpressionSyntaxError('expression is nested too deeply', token.offset);
      const operand = parseNot();
      depth--;
      return { kind: 'not', operand, offset: token.offset, end: operand.end };
    }
    return parseComparison();
  }
  function parseComparison(): ExpressionNode {
    const left = parsePrimary();
    const token = peek();
    if (token.type === 'op' && COMPARISONS.includes(token.value)) {
      next();
      const right = parsePrimary();
      const after = peek();
      if (after.type === 'op' && COMPARISONS.includes(after.value)) {
        throw new ExpressionSyntaxError(
          `comparisons cannot be chained at ${describe(after)}`,
          after.offset,
          'combine comparisons with `and`',
        );
      }
      return {
        kind: 'compare',
        operator: token.value as ComparisonOperator,
        left,
        right,
        offset: left.offset,
        end: right.end,
      };
    }
    return left;
  }
  function parsePrimary(): ExpressionNode {
    const token = next();
    switch (token.type) {
      case 'number':
        return { kind: 'literal', value: token.value, offset: token.offset, end: token.end };
      case 'string':
        return { kind: 'literal', value: token.value, offset: token.offset, end: token.end };
      case 'name':
        if (token.value === 'true' || token.value === 'false')
          return { kind: 'literal', value: token.value === 'true', offset: token.offset, end: token.end };
        if (token.value === 'null') return { kind: 'literal', value: null, offset: token.offset, end: token.end };
        if (token.value === 'and' || token.value === 'or' || token.value === 'not') {
          throw new ExpressionSyntaxError(`expected a value, found \`${token.value}\``, token.offset);
        }
        return parseReference(token);
      case 'op':
        if (token.value === '(') {
          if (++depth > MAX_DEPTH) throw new ExpressionSyntaxError('expression is nested too deeply', token.offset);
          const inner = parseOr();
          depth--;
          const close = next();
          if (close.type !== 'op' || close.value !== ')')
            throw new ExpressionSyntaxError(
              `expected \`)\`, found ${describe(close)}`,
              close.offset,
              'balance the parentheses',
            );
          return inner;
        }
        throw new ExpressionSyntaxError(`expected a value, found ${describe(token)}`, token.offset);
      case 'eof':
        throw new ExpressionSyntaxError(
          source.trim() === '' ? 'empty expression' : 'expected a value, found the end of the expression',
          token.offset,
          source.trim() === '' ? 'write a reference such as `params.name` or `stages.<id>.outputs.<name>`' : undefined,
        );
    }
  }
  function parseReference(first: Token & { type: 'name' }): ExpressionNode {
    const segments: PathSegment[] = [first.value];
    let end = first.end;
    for (;;) {
      if (isOp('.')) {
        next();
        const name = next();
        if (name.type !== 'name')
          throw new ExpressionSyntaxError(`expected a property name after \`.\`, found ${describe(name)}`, name.offset);
        segments.push(name.value);
        end = name.end;
      } else if (isOp('[')) {
        next();
        const key = next();
        if (key.type === 'string') segments.push(key.value);
        else if (key.type === 'number' && Number.isInteger(key.value) && key.value >= 0) segments.push(key.value);
        else
          throw new ExpressionSyntaxError(
            `expected a quoted key or an index inside \`[ ]\`, found ${describe(key)}`,
            key.offset,
          );
        const close = next();
        if (close.type !== 'op' || close.value !== ']')
          throw new ExpressionSyntaxError(`expected \`]\`, found ${describe(close)}`, close.offset);
        end = close.end;
      } else {
        break;
      }
    }
    return { kind: 'reference', segments, text: source.slice(first.offset, end), offset: first.offset, end };
  }

  const node = parseOr();
  const rest = peek();
  if (rest.type !== 'eof') {
    const hint = rest.type === 'op' && rest.value === '=' ? 'compare with `==`' : 'join conditions with `and` / `or`';
    throw new ExpressionSyntaxError(`unexpected ${describe(rest)} after a complete expression`, rest.offset, hint);
  }
  return node;
}

// ---------------------------------------------------------------------------------------
// References

/** What a reference points at, or why it is malformed. */
export type ClassifiedReference =
  | { readonly ok: true; readonly kind: 'param'; readonly name: string; readonly subpath: readonly PathSegment[] }
  | {
      readonly ok: true;
      readonly kind: 'stage-output';
      readonly stage: string;
      readonly output: string;
      readonly subpath: readonly PathSegment[];
    }
  | { readonly ok: true; readonly kind: 'secret'; readonly name: string; readonly subpath: readonly PathSegment[] }
  | { readonly ok: false; readonly message: string; readonly hint: string };

/** Decide whether a reference names a param or a stage output. */
export function classifyReference(segments: readonly PathSegment[]): ClassifiedReference {
  const [root, second, third, fourth, ...rest] = segments;
  if (root === 'params') {
    if (typeof second !== 'string')
      return { ok: false, message: '`params` must be followed by a param name', hint: 'write `params.<name>`' };
    return { ok: true, kind: 'param', name: second, subpath: segments.slice(2) };
  }
  if (root === 'stages') {
    if (typeof second !== 'string')
      return {
        ok: false,
        message: '`stages` must be followed by a stage id',
        hint: 'write `stages.<id>.outputs.<name>`',
      };
    if (third !== 'outputs') {
      return {
        ok: false,
        message: `\`stages.${second}\` must be followed by \`.outputs.<name>\``,
        hint: `write \`stages.${second}.outputs.<name>\``,
      };
    }
    if (typeof fourth !== 'string')
      return {
        ok: false,
        message: `\`stages.${second}.outputs\` must be followed by an output name`,
        hint: `write \`stages.${second}.outputs.<name>\``,
      };
    return { ok: true, kind: 'stage-output', stage: second, output: fourth, subpath: rest };
  }
  if (root === 'secrets') {
    if (typeof second !== 'string' || segments.length > 2)
      return {
        ok: false,
        message: '`secrets` must be followed by exactly one secret name',
        hint: 'write `secrets.<name>`',
      };
    return { ok: true, kind: 'secret', name: second, subpath: [] };
  }
  const hint =
    root === 'param'
      ? 'did you mean `params`?'
      : root === 'stage' || root === 'steps'
        ? 'did you mean `stages`?'
        : root === 'secret'
          ? 'did you mean `secrets`?'
          : 'references start with `params.`, `stages.` or `secrets.`';
  return { ok: false, message: `unknown reference root \`${String(root)}\``, hint };
}

/** Every reference node of an expression, in source order. */
export function referenceNodes(node: ExpressionNode): Extract<ExpressionNode, { kind: 'reference' }>[] {
  switch (node.kind) {
    case 'literal':
      return [];
    case 'reference':
      return [node];
    case 'not':
      return referenceNodes(node.operand);
    case 'logical':
    case 'compare':
      return [...referenceNodes(node.left), ...referenceNodes(node.right)];
  }
}

/** Append a key or index to a display path such as `gate.min` or `candidates[0]`. */
export function joinPath(base: string, segment: PathSegment): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment);
  if (!plain) return `${base}[${JSON.stringify(segment)}]`;
  return base === '' ? segment : `${base}.${segment}`;
}

/**
 * Every well-formed `params.*` / `stages.*.outputs.*` reference in the strings of a value.
 * Never throws: malformed expressions and references are skipped here (validation reports
 * them as `bad-expression`).
 */
export function collectReferences(value: JsonValue, basePath = ''): ExpressionReference[] {
  const found: ExpressionReference[] = [];
  const visit = (current: JsonValue, path: string): void => {
    if (typeof current === 'string') {
      if (!hasExpression(current)) return;
      let parts: TemplatePart[];
      try {
        parts = parseTemplate(current);
      } catch {
        return;
      }
      const whole = wholeExpression(parts);
      for (const part of parts) {
        if (part.kind !== 'expression') continue;
        const isWhole = whole === part && part.node.kind === 'reference';
        for (const ref of referenceNodes(part.node)) {
          const classified = classifyReference(ref.segments);
          if (!classified.ok) continue;
          if (classified.kind === 'param' || classified.kind === 'secret') {
            found.push({
              kind: classified.kind,
              name: classified.name,
              subpath: classified.subpath,
              text: ref.text,
              path,
              whole: isWhole,
            });
          } else {
            found.push({
              kind: 'stage-output',
              name: classified.stage,
              stage: classified.stage,
              output: classified.output,
              subpath: classified.subpath,
              text: ref.text,
              path,
              whole: isWhole,
            });
          }
        }
      }
    } else if (Array.isArray(current)) {
      current.forEach((item: JsonValue, index) => visit(item, joinPath(path, index)));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current as JsonObject)) visit(item, joinPath(path, key));
    }
  };
  visit(value, basePath);
  return found;
}

/**
 * The expression of a `when:` condition: either one `${{ … }}` or a bare expression
 * (`stages.evaluate.outputs.passed == true`). Throws ExpressionSyntaxError.
 */
export function parseCondition(source: string): ExpressionNode {
  if (!hasExpression(source)) return parseExpression(source);
  const parts = parseTemplate(source);
  const whole = wholeExpression(parts);
  if (!whole) {
    throw new ExpressionSyntaxError(
      'a condition must be one `${{ … }}` expression, not text with embedded expressions',
      0,
      'write the whole condition inside one `${{ … }}`',
    );
  }
  return whole.node;
}

/** References of a `when:` condition; never throws (malformed conditions yield none). */
export function collectConditionReferences(source: string): ExpressionReference[] {
  let node: ExpressionNode;
  try {
    node = parseCondition(source);
  } catch {
    return [];
  }
  const found: ExpressionReference[] = [];
  for (const ref of referenceNodes(node)) {
    const classified = classifyReference(ref.segments);
    if (!classified.ok) continue;
    if (classified.kind === 'param' || classified.kind === 'secret')
      found.push({
        kind: classified.kind,
        name: classified.name,
        subpath: classified.subpath,
        text: ref.text,
        path: '',
        whole: false,
      });
    else
      found.push({
        kind: 'stage-output',
        name: classified.stage,
        stage: classified.stage,
        output: classified.output,
        subpath: classified.subpath,
        text: ref.text,
        path: '',
        whole: false,
      });
  }
  return found;
}

// ---------------------------------------------------------------------------------------
// Evaluation

function lookup(value: JsonValue, subpath: readonly PathSegment[], text: string): JsonValue {
  let current = value;
  for (const segment of subpath) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length) {
        throw new InvalidInputError(`\`${text}\`: no element [${segment}]`, { expression: text });
      }
      current = current[segment] as JsonValue;
    } else {
      if (
        current === null ||
        typeof current !== 'object' ||
        Array.isArray(current) ||
        !Object.prototype.hasOwnProperty.call(current, segment)
      ) {
        throw new InvalidInputError(`\`${text}\`: no property \`${segment}\``, { expression: text });
      }
      current = (current as JsonObject)[segment] as JsonValue;
    }
  }
  return current;
}

function resolveReference(node: Extract<ExpressionNode, { kind: 'reference' }>, ctx: ExpressionContext): JsonValue {
  const classified = classifyReference(node.segments);
  if (!classified.ok) throw new InvalidInputError(`\`${node.text}\`: ${classified.message}`, { expression: node.text });
  if (classified.kind === 'param') {
    if (!Object.prototype.hasOwnProperty.call(ctx.params, classified.name)) {
      throw new InvalidInputError(`\`${node.text}\`: no param \`${classified.name}\``, { expression: node.text });
    }
    return lookup(ctx.params[classified.name] as JsonValue, classified.subpath, node.text);
  }
  if (classified.kind === 'secret') {
    const reference =
      ctx.secrets && Object.prototype.hasOwnProperty.call(ctx.secrets, classified.name)
        ? ctx.secrets[classified.name]
        : undefined;
    if (!reference)
      throw new InvalidInputError(`\`${node.text}\`: no secret \`${classified.name}\` in the plan's \`secrets:\``, {
        expression: node.text,
      });
    return { $secret: classified.name, reference: { ...reference } } satisfies SealedSecret as unknown as JsonValue;
  }
  const stage = Object.prototype.hasOwnProperty.call(ctx.stages, classified.stage)
    ? ctx.stages[classified.stage]
    : undefined;
  if (!stage)
    throw new InvalidInputError(`\`${node.text}\`: stage \`${classified.stage}\` has no outputs (it has not run)`, {
      expression: node.text,
    });
  if (!Object.prototype.hasOwnProperty.call(stage.outputs, classified.output)) {
    const status = stage.status ? ` (status ${stage.status})` : '';
    throw new InvalidInputError(
      `\`${node.text}\`: stage \`${classified.stage}\` produced no output \`${classified.output}\`${status}`,
      { expression: node.text },
    );
  }
  return lookup(stage.outputs[classified.output] as JsonValue, classified.subpath, node.text);
}

function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item: JsonValue, i) => jsonEqual(item, b[i] as JsonValue));
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  return (
    keys.length === Object.keys(bo).length &&
    keys.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k] as JsonValue, bo[k] as JsonValue))
  );
}

/** Truthiness for conditions: false, null, 0, NaN and '' are false; everything else true. */
export function isTruthy(value: JsonValue): boolean {
  if (value === null || value === false || value === '' || value === 0) return false;
  if (typeof value === 'number' && Number.isNaN(value)) return false;
  return true;
}

/** Evaluate a parsed expression. `source` is used in error messages only. */
export function evaluateExpression(node: ExpressionNode, ctx: ExpressionContext, source: string): JsonValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'reference':
      return resolveReference(node, ctx);
    case 'not':
      return !isTruthy(evaluateExpression(node.operand, ctx, source));
    case 'logical': {
      const left = isTruthy(evaluateExpression(node.left, ctx, source));
      if (node.operator === 'and' ? !left : left) return left;
      return isTruthy(evaluateExpression(node.right, ctx, source));
    }
    case 'compare': {
      const left = evaluateExpression(node.left, ctx, source);
      const right = evaluateExpression(node.right, ctx, source);
      if (node.operator === '==') return jsonEqual(left, right);
      if (node.operator === '!=') return !jsonEqual(left, right);
      const bothNumbers = typeof left === 'number' && typeof right === 'number';
      const bothStrings = typeof left === 'string' && typeof right === 'string';
      if (!bothNumbers && !bothStrings) {
        throw new InvalidInputError(
          `\`${source.trim()}\`: \`${node.operator}\` compares two numbers or two strings, got ${typeName(left)} and ${typeName(right)}`,
          { expression: source.trim() },
        );
      }
      const l = left as number | string;
      const r = right as number | string;
      switch (node.operator) {
        case '<':
          return l < r;
        case '<=':
          return l <= r;
        case '>':
          return l > r;
        case '>=':
          return l >= r;
      }
    }
  }
}

function typeName(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function interpolate(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function resolveString(text: string, ctx: ExpressionContext, path: string): JsonValue {
  if (!hasExpression(text)) return text;
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(`${path || 'value'}: bad expression in \`${text}\`: ${message}`, {
      expression: text,
      path,
    });
  }
  const whole = wholeExpression(parts);
  if (whole) return evaluateExpression(whole.node, ctx, whole.source);
  return parts
    .map((part) => (part.kind === 'text' ? part.text : interpolate(evaluateExpression(part.node, ctx, part.source))))
    .join('');
}

/**
 * Resolve every `${{ … }}` in a stage's `with` against params and upstream outputs. A string
 * that is exactly one expression becomes the referenced value with its type; a string with
 * embedded expressions is interpolated. Throws InvalidInputError naming the expression when a
 * reference cannot be resolved.
 */
export function resolveStageInputs(withValue: JsonObject, ctx: ExpressionContext): JsonObject {
  const visit = (value: JsonValue, path: string): JsonValue => {
    if (typeof value === 'string') return resolveString(value, ctx, path);
    if (Array.isArray(value)) return value.map((item: JsonValue, index) => visit(item, joinPath(path, index)));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value as JsonObject)) out[key] = visit(item, joinPath(path, key));
      return out;
    }
    return value;
  };
  return visit(withValue, '') as JsonObject;
}

/** Evaluate a `when:` condition (one `${{ … }}` or a bare expression) to a boolean. */
export function evaluateCondition(source: string, ctx: ExpressionContext): boolean {
  let node: ExpressionNode;
  try {
    node = parseCondition(source);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(`bad condition \`${source}\`: ${message}`, { expression: source });
  }
  return isTruthy(evaluateExpression(node, ctx, source));
}
