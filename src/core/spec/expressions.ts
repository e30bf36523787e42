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
 *     comparison := postfix (("==" | "!=" | "<" | "<=" | ">" | ">=") postfix)?
 *     postfix    := primary (("." | "?.") name | "?."? "[" expr "]")*
 *     primary    := literal | call | reference | "[" (expr ("," expr)*)? "]" | "(" expr ")"
 *     call       := function "(" (expr ("," expr)*)? ")"        see EXPRESSION_FUNCTIONS
 *     reference  := name ("." name | "[" (string | integer) "]")*
 *     literal    := number | 'string' | "string" | true | false | null
 *
 * Null-safe access: from the first `?.` of a chain on, a missing property, element, output or
 * param yields `null` instead of an error (`stages.a.outputs?.score` is null when `a` was skipped).
 */
import { InvalidInputError } from '../errors';
import type { JsonObject, JsonValue, SecretReference } from './plan-types';

/** What an expression can see at run time. */
export interface ExpressionContext {
  readonly params: Readonly<Record<string, JsonValue>>;
  readonly stages: Readonly<Record<string, { readonly outputs: JsonObject; readonly status?: string }>>;
  /** The plan's secret references (never values): `${{ secrets.X }}` resolves to a {@link SealedSecret}. */
  readonly secrets?: Readonly<Record<string, SecretReference>>;
  /** In an instance of a `forEach`/`matrix` stage: its item, read as `${{ item }}` / `${{ item.key }}`. */
  readonly item?: JsonValue;
  /**
   * `${{ run.* }}`: the run's id and pipeline everywhere; in a `finally:` stage also the status the
   * run ended with and the stages that failed (src/core/run/finally.ts).
   */
  readonly run?: Readonly<Record<string, JsonValue>>;
}

/** What `${{ run.<name> }}` may name; `status` and `failedStages` only in `finally:` stages. */
export const RUN_REFERENCE_NAMES = ['id', 'pipeline', 'status', 'failedStages', 'cancelledStages'] as const;
export const FINALLY_ONLY_RUN_NAMES: ReadonlySet<string> = new Set(['status', 'failedStages', 'cancelledStages']);

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
      /** Index of the first segment written after `?.`: from there on, missing values yield null. */
      readonly optionalFrom?: number;
      readonly text: string;
      readonly offset: number;
      readonly end: number;
    }
  | {
      readonly kind: 'call';
      readonly name: ExpressionFunctionName;
      readonly args: readonly ExpressionNode[];
      readonly offset: number;
      readonly end: number;
    }
  | { readonly kind: 'array'; readonly items: readonly ExpressionNode[]; readonly offset: number; readonly end: number }
  | {
      /** `target.name`, `target[key]` after something that is not a plain reference (a call, a computed index). */
      readonly kind: 'member';
      readonly target: ExpressionNode;
      readonly key: ExpressionNode;
      /** True from the first `?.` of the chain on: a missing key or a null target yields null. */
      readonly optional: boolean;
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
  /**
   * Where in the scanned value the string holding the reference sits, e.g. `gate.min`, `candidates[0]` (empty for the
   * root).
   */
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

const OPERATORS = ['?.', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ',', '.'];
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

/** A recursive-descent parser over one expression's tokens; each method parses one level of precedence. */
class ExpressionParser {
  private position = 0;
  private depth = 0;
  private readonly tokens: readonly Token[];

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  /** The whole expression; anything after a complete one is an error. */
  parse(): ExpressionNode {
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.type !== 'eof') {
      const hint = rest.type === 'op' && rest.value === '=' ? 'compare with `==`' : 'join conditions with `and` / `or`';
      throw new ExpressionSyntaxError(
        `unexpected ${this.describe(rest)} after a complete expression`,
        rest.offset,
        hint,
      );
    }
    return node;
  }

  private peek(): Token {
    return this.tokens[this.position] as Token;
  }

  private next(): Token {
    return this.tokens[this.position++] as Token;
  }

  private isOp(value: string): boolean {
    return this.peek().type === 'op' && this.peek().value === value;
  }

  private isWord(value: string): boolean {
    return this.peek().type === 'name' && this.peek().value === value;
  }

  private describe(token: Token): string {
    return token.type === 'eof' ? 'the end of the expression' : `\`${this.source.slice(token.offset, token.end)}\``;
  }

  private parseOr(): ExpressionNode {
    let left = this.parseAnd();
    while (this.isOp('||') || this.isWord('or')) {
      this.next();
      const right = this.parseAnd();
      left = { kind: 'logical', operator: 'or', left, right, offset: left.offset, end: right.end };
    }
    return left;
  }
  private parseAnd(): ExpressionNode {
    let left = this.parseNot();
    while (this.isOp('&&') || this.isWord('and')) {
      this.next();
      const right = this.parseNot();
      left = { kind: 'logical', operator: 'and', left, right, offset: left.offset, end: right.end };
    }
    return left;
  }
  private parseNot(): ExpressionNode {
    if (this.isOp('!') || this.isWord('not')) {
      const token = this.next();
      if (++this.depth > MAX_DEPTH) throw new ExpressionSyntaxError('expression is nested too deeply', token.offset);
      const operand = this.parseNot();
      this.depth--;
      return { kind: 'not', operand, offset: token.offset, end: operand.end };
    }
    return this.parseComparison();
  }
  private parseComparison(): ExpressionNode {
    const left = this.parsePostfix();
    const token = this.peek();
    if (token.type === 'op' && COMPARISONS.includes(token.value)) {
      this.next();
      const right = this.parsePostfix();
      const after = this.peek();
      if (after.type === 'op' && COMPARISONS.includes(after.value)) {
        throw new ExpressionSyntaxError(
          `comparisons cannot be chained at ${this.describe(after)}`,
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
  private nested<T>(token: Token, parse: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ExpressionSyntaxError('expression is nested too deeply', token.offset);
    const result = parse();
    this.depth--;
    return result;
  }
  private expectOp(value: string, hint?: string): Token {
    const token = this.next();
    if (token.type !== 'op' || token.value !== value)
      throw new ExpressionSyntaxError(`expected \`${value}\`, found ${this.describe(token)}`, token.offset, hint);
    return token;
  }
  /** Comma-separated expressions up to `close` (the opening token is already consumed). */
  private parseList(close: string, opening: Token): { items: ExpressionNode[]; end: number } {
    return this.nested(opening, () => {
      const items: ExpressionNode[] = [];
      if (!this.isOp(close)) {
        items.push(this.parseOr());
        while (this.isOp(',')) {
          this.next();
          items.push(this.parseOr());
        }
      }
      return { items, end: this.expectOp(close, `separate items with \`,\` and close with \`${close}\``).end };
    });
  }
  /** `.name`, `?.name` and `[expr]` after a call, a list, a parenthesised expression or a computed index. */
  private parsePostfix(): ExpressionNode {
    let node = this.parsePrimary();
    let optional = node.kind === 'reference' && node.optionalFrom !== undefined;
    for (;;) {
      const safe = this.isOp('?.');
      if (!safe && !this.isOp('.') && !this.isOp('[')) return node;
      const opener = this.next();
      optional ||= safe;
      let key: ExpressionNode;
      let end: number;
      if (opener.value === '[' || (safe && this.isOp('['))) {
        const open = opener.value === '[' ? opener : this.next();
        key = this.nested(open, () => this.parseOr());
        end = this.expectOp(']', 'close the index with `]`').end;
      } else {
        const name = this.next();
        if (name.type !== 'name')
          throw new ExpressionSyntaxError(
            `expected a property name after \`.\`, found ${this.describe(name)}`,
            name.offset,
          );
        key = { kind: 'literal', value: name.value, offset: name.offset, end: name.end };
        end = name.end;
      }
      node = { kind: 'member', target: node, key, optional, offset: node.offset, end };
    }
  }
  private parsePrimary(): ExpressionNode {
    const token = this.next();
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
        if (this.isOp('(')) return this.parseCall(token);
        return this.parseReference(token);
      case 'op':
        if (token.value === '(') {
          const inner = this.nested(token, () => this.parseOr());
          this.expectOp(')', 'balance the parentheses');
          return inner;
        }
        if (token.value === '[') {
          const { items, end } = this.parseList(']', token);
          return { kind: 'array', items, offset: token.offset, end };
        }
        throw new ExpressionSyntaxError(`expected a value, found ${this.describe(token)}`, token.offset);
      case 'eof':
        throw new ExpressionSyntaxError(
          this.source.trim() === '' ? 'empty expression' : 'expected a value, found the end of the expression',
          token.offset,
          this.source.trim() === ''
            ? 'write a reference such as `params.name` or `stages.<id>.outputs.<name>`'
            : undefined,
        );
    }
  }
  private parseCall(name: Token & { type: 'name' }): ExpressionNode {
    const fn = functionNamed(name.value);
    if (!fn) {
      const near = FUNCTION_NAMES.find((f) => f.toLowerCase() === name.value.toLowerCase());
      throw new ExpressionSyntaxError(
        `unknown function \`${name.value}\``,
        name.offset,
        near ? `did you mean \`${near}\`?` : `functions are: ${FUNCTION_NAMES.join(', ')}`,
      );
    }
    const { items, end } = this.parseList(')', this.next());
    const [min, max] = EXPRESSION_FUNCTIONS[fn].arity;
    if (items.length < min || items.length > max) {
      const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new ExpressionSyntaxError(
        `\`${fn}\` takes ${wanted} argument(s), got ${items.length}`,
        name.offset,
        `write ${EXPRESSION_FUNCTIONS[fn].usage}`,
      );
    }
    return { kind: 'call', name: fn, args: items, offset: name.offset, end };
  }
  /** Whether the next tokens are `[ <string or index> ]`, a static step of a reference. */
  private staticIndexAhead(from: number): boolean {
    const key = this.tokens[from + 1];
    const close = this.tokens[from + 2];
    const keyOk = key?.type === 'string' || (key?.type === 'number' && Number.isInteger(key.value) && key.value >= 0);
    return keyOk && close?.type === 'op' && close.value === ']';
  }
  private parseReference(first: Token & { type: 'name' }): ExpressionNode {
    const segments: PathSegment[] = [first.value];
    let end = first.end;
    let optionalFrom: number | undefined;
    for (;;) {
      const safe = this.isOp('?.');
      const at = safe ? this.position + 1 : this.position;
      const step = this.tokens[at] as Token;
      if (step.type === 'op' && step.value === '[' && this.staticIndexAhead(at)) {
        this.position = at + 1;
        segments.push((this.next() as Token & { value: string | number }).value);
        end = this.next().end;
      } else if (step.type === 'op' && step.value === '.' && !safe) {
        this.next();
        const name = this.next();
        if (name.type !== 'name')
          throw new ExpressionSyntaxError(
            `expected a property name after \`.\`, found ${this.describe(name)}`,
            name.offset,
          );
        segments.push(name.value);
        end = name.end;
      } else if (safe && this.tokens[at]?.type === 'name') {
        this.position = at;
        const name = this.next();
        segments.push(name.value);
        end = name.end;
      } else {
        break;
      }
      if (safe) optionalFrom ??= segments.length - 1;
    }
    return {
      kind: 'reference',
      segments,
      ...(optionalFrom !== undefined ? { optionalFrom } : {}),
      text: this.source.slice(first.offset, end),
      offset: first.offset,
      end,
    };
  }
}

/** Parse an expression (the text between `${{` and `}}`, or a bare `when` condition). */
export function parseExpression(source: string): ExpressionNode {
  return new ExpressionParser(source).parse();
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
  | { readonly ok: true; readonly kind: 'item'; readonly subpath: readonly PathSegment[] }
  | { readonly ok: true; readonly kind: 'stage-status'; readonly stage: string }
  | { readonly ok: true; readonly kind: 'run'; readonly name: string; readonly subpath: readonly PathSegment[] }
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
    if (third === 'status') {
      if (segments.length > 3)
        return {
          ok: false,
          message: `\`stages.${second}.status\` is a string and has no properties`,
          hint: `compare it: \`stages.${second}.status == 'succeeded'\``,
        };
      return { ok: true, kind: 'stage-status', stage: second };
    }
    if (third !== 'outputs') {
      return {
        ok: false,
        message: `\`stages.${second}\` must be followed by \`.outputs.<name>\` or \`.status\``,
        hint: `write \`stages.${second}.outputs.<name>\` or \`stages.${second}.status\``,
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
  if (root === 'item') return { ok: true, kind: 'item', subpath: segments.slice(1) };
  if (root === 'run') {
    if (typeof second !== 'string' || !(RUN_REFERENCE_NAMES as readonly string[]).includes(second))
      return {
        ok: false,
        message: `\`run\` must be followed by one of ${RUN_REFERENCE_NAMES.map((n) => `\`${n}\``).join(', ')}`,
        hint: `write e.g. \`run.status\` (in a \`finally:\` stage) or \`run.id\``,
      };
    return { ok: true, kind: 'run', name: second, subpath: segments.slice(2) };
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
          : root === 'items'
            ? 'did you mean `item`?'
            : 'references start with `params.`, `stages.`, `secrets.`, `run.` or (in a forEach/matrix stage) `item`';
  return { ok: false, message: `unknown reference root \`${String(root)}\``, hint };
}

/**
 * References that read the run's context rather than a param, secret or stage output (`item`,
 * `run.*`, `stages.X.status`): they add no data dependency, so reference collectors skip them.
 */
function isContextReference(
  classified: Extract<ClassifiedReference, { ok: true }>,
): classified is Extract<ClassifiedReference, { kind: 'item' | 'run' | 'stage-status' }> {
  return classified.kind === 'item' || classified.kind === 'run' || classified.kind === 'stage-status';
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
    case 'call':
      return node.args.flatMap(referenceNodes);
    case 'array':
      return node.items.flatMap(referenceNodes);
    case 'member':
      return [...referenceNodes(node.target), ...referenceNodes(node.key)];
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
          if (!classified.ok || isContextReference(classified)) continue;
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
    if (!classified.ok || isContextReference(classified)) continue;
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
// Functions

/** What a function returns, for validate's type check of a whole-string expression. */
export type FunctionResultType = 'integer' | 'boolean' | 'array' | 'any';

interface ExpressionFunction {
  /** Fewest and most arguments. */
  readonly arity: readonly [number, number];
  readonly usage: string;
  readonly returns: FunctionResultType;
}

/**
 * The functions of the expression language. `default` is evaluated lazily (its first argument may
 * fail to resolve); the others receive evaluated arguments (see applyFunction).
 */
export const EXPRESSION_FUNCTIONS = {
  length: { arity: [1, 1], usage: '`length(list)` (also a string or an object)', returns: 'integer' },
  min: { arity: [1, Infinity], usage: '`min(list)` or `min(a, b, …)`', returns: 'any' },
  max: { arity: [1, Infinity], usage: '`max(list)` or `max(a, b, …)`', returns: 'any' },
  argmax: { arity: [1, 1], usage: '`argmax(list)`: the index of the largest number', returns: 'integer' },
  argmin: { arity: [1, 1], usage: '`argmin(list)`: the index of the smallest number', returns: 'integer' },
  contains: { arity: [2, 2], usage: '`contains(listOrString, value)`', returns: 'boolean' },
  default: { arity: [2, 2], usage: '`default(value, fallback)`', returns: 'any' },
  pluck: {
    arity: [2, 2],
    usage: "`pluck(list, 'key.path')`: that property of each element (null where absent)",
    returns: 'array',
  },
} as const satisfies Record<string, ExpressionFunction>;

export type ExpressionFunctionName = keyof typeof EXPRESSION_FUNCTIONS;
const FUNCTION_NAMES = Object.keys(EXPRESSION_FUNCTIONS) as ExpressionFunctionName[];

function functionNamed(name: string): ExpressionFunctionName | undefined {
  return FUNCTION_NAMES.find((f) => f === name);
}

function fail(source: string, message: string, missing = false): never {
  throw new InvalidInputError(`\`${source.trim()}\`: ${message}`, {
    expression: source.trim(),
    ...(missing ? { missing } : {}),
  });
}

/**
 * The list a min/max/argmax call works on: its one array argument, or its arguments. Nulls are
 * ignored (a failed fan-out instance gives null), so indexes still point into the original list.
 */
function numbersOrStrings(
  name: string,
  args: readonly JsonValue[],
  source: string,
): readonly (number | string | null)[] {
  const only = args[0];
  const list = args.length === 1 && Array.isArray(only) ? (only as readonly JsonValue[]) : args;
  const present = list.filter((v) => v !== null);
  if (present.length === 0) fail(source, `\`${name}\` of an empty list${list.length > 0 ? ' (only nulls)' : ''}`);
  const numbers = present.every((v) => typeof v === 'number');
  const strings = present.every((v) => typeof v === 'string');
  const argmax = name.startsWith('arg');
  if (!numbers && (argmax || !strings))
    fail(
      source,
      `\`${name}\` takes ${argmax ? 'a list of numbers' : 'numbers or strings (not mixed)'}, got ` +
        `${present.map((v) => typeName(v)).join(', ')}`,
    );
  return list as readonly (number | string | null)[];
}

/** Index of the first extreme non-null element (`better(a, b)` when a beats b). */
function extremeIndex(
  list: readonly (number | string | null)[],
  better: (a: number | string, b: number | string) => boolean,
): number {
  let best = -1;
  for (const [i, value] of list.entries()) {
    if (value === null) continue;
    if (best < 0 || better(value, list[best] as number | string)) best = i;
  }
  return best;
}

function applyFunction(
  name: Exclude<ExpressionFunctionName, 'default'>,
  args: readonly JsonValue[],
  source: string,
): JsonValue {
  const [first, second] = args as [JsonValue, JsonValue];
  switch (name) {
    case 'length':
      if (typeof first === 'string' || Array.isArray(first)) return first.length;
      if (first !== null && typeof first === 'object') return Object.keys(first).length;
      return fail(source, `\`length\` takes a list, a string or an object, got ${typeName(first)}`);
    case 'min':
    case 'argmin': {
      const list = numbersOrStrings(name, args, source);
      const index = extremeIndex(list, (a, b) => a < b);
      return name === 'min' ? (list[index] as JsonValue) : index;
    }
    case 'max':
    case 'argmax': {
      const list = numbersOrStrings(name, args, source);
      const index = extremeIndex(list, (a, b) => a > b);
      return name === 'max' ? (list[index] as JsonValue) : index;
    }
    case 'pluck':
      return pluck(first, second, source);
    case 'contains':
      if (typeof first === 'string') {
        if (typeof second !== 'string')
          return fail(source, `\`contains\` on a string looks for a string, got ${typeName(second)}`);
        return first.includes(second);
      }
      if (Array.isArray(first)) return first.some((item: JsonValue) => jsonEqual(item, second));
      if (first !== null && typeof first === 'object')
        return typeof second === 'string' && Object.prototype.hasOwnProperty.call(first, second);
      return fail(source, `\`contains\` looks inside a list, a string or an object, got ${typeName(first)}`);
  }
}

/** `pluck(list, 'a.b')`: element.a.b of each element; null for an element that lacks it (a failed instance). */
function pluck(list: JsonValue, path: JsonValue, source: string): JsonValue {
  if (!Array.isArray(list)) return fail(source, `\`pluck\` takes a list first, got ${typeName(list)}`);
  if (typeof path !== 'string' || path === '')
    return fail(source, `\`pluck\` takes a property path such as 'validation.accuracy', got ${typeName(path)}`);
  const keys = path.split('.');
  return (list as readonly JsonValue[]).map((element) => {
    let current: JsonValue = element;
    for (const key of keys) {
      const isObject = current !== null && typeof current === 'object' && !Array.isArray(current);
      if (!isObject || !Object.prototype.hasOwnProperty.call(current, key)) return null;
      current = (current as JsonObject)[key] as JsonValue;
    }
    return current;
  });
}

/** `default(value, fallback)`: the fallback when the value is null or names something missing. */
function evaluateDefault(
  node: Extract<ExpressionNode, { kind: 'call' }>,
  ctx: ExpressionContext,
  source: string,
): JsonValue {
  const [value, fallback] = node.args as [ExpressionNode, ExpressionNode];
  let resolved: JsonValue;
  try {
    resolved = evaluateExpression(value, ctx, source);
  } catch (error) {
    if (!(error instanceof InvalidInputError) || error.details.missing !== true) throw error;
    resolved = null;
  }
  return resolved === null ? evaluateExpression(fallback, ctx, source) : resolved;
}

function evaluateMember(
  node: Extract<ExpressionNode, { kind: 'member' }>,
  ctx: ExpressionContext,
  source: string,
): JsonValue {
  const target = evaluateExpression(node.target, ctx, source);
  const key = evaluateExpression(node.key, ctx, source);
  if (typeof key === 'number') {
    if (Array.isArray(target) && Number.isInteger(key) && key >= 0 && key < target.length)
      return target[key] as JsonValue;
    if (node.optional && (target === null || Array.isArray(target))) return null;
    return fail(
      source,
      Array.isArray(target)
        ? `no element [${key}] (length ${target.length})`
        : `cannot index ${typeName(target)} with [${key}]`,
      Array.isArray(target),
    );
  }
  if (typeof key !== 'string') return fail(source, `an index must be a number or a string, got ${typeName(key)}`);
  const isObject = target !== null && typeof target === 'object' && !Array.isArray(target);
  if (isObject && Object.prototype.hasOwnProperty.call(target, key)) return (target as JsonObject)[key] as JsonValue;
  if (node.optional && (target === null || isObject)) return null;
  return fail(source, isObject ? `no property \`${key}\`` : `cannot read \`${key}\` of ${typeName(target)}`, isObject);
}

// ---------------------------------------------------------------------------------------
// Evaluation

/** Thrown for a reference to something absent: `default()` and `?.` turn these into null. */
function missing(text: string, message: string): never {
  throw new InvalidInputError(`\`${text}\`: ${message}`, { expression: text, missing: true });
}

/** Walk `subpath` into `value`; steps at index >= `optionalFrom` yield null instead of failing. */
function lookup(value: JsonValue, subpath: readonly PathSegment[], text: string, optionalFrom = Infinity): JsonValue {
  let current = value;
  for (const [index, segment] of subpath.entries()) {
    const lenient = index >= optionalFrom;
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length) {
        if (lenient) return null;
        missing(text, `no element [${segment}]`);
      }
      current = current[segment] as JsonValue;
    } else {
      if (
        current === null ||
        typeof current !== 'object' ||
        Array.isArray(current) ||
        !Object.prototype.hasOwnProperty.call(current, segment)
      ) {
        if (lenient) return null;
        missing(text, `no property \`${segment}\``);
      }
      current = (current as JsonObject)[segment] as JsonValue;
    }
  }
  return current;
}

function resolveReference(node: Extract<ExpressionNode, { kind: 'reference' }>, ctx: ExpressionContext): JsonValue {
  const classified = classifyReference(node.segments);
  if (!classified.ok) throw new InvalidInputError(`\`${node.text}\`: ${classified.message}`, { expression: node.text });
  const optionalFrom = node.optionalFrom ?? Infinity;
  if (classified.kind === 'item') {
    if (ctx.item === undefined)
      throw new InvalidInputError(`\`${node.text}\`: \`item\` exists only in a stage with \`forEach\` or \`matrix\``, {
        expression: node.text,
      });
    return lookup(ctx.item, classified.subpath, node.text, optionalFrom - 1);
  }
  if (classified.kind === 'param') {
    if (!Object.prototype.hasOwnProperty.call(ctx.params, classified.name)) {
      if (optionalFrom <= 1) return null;
      missing(node.text, `no param \`${classified.name}\``);
    }
    return lookup(ctx.params[classified.name] as JsonValue, classified.subpath, node.text, optionalFrom - 2);
  }
  if (classified.kind === 'run') return resolveRunReference(node, classified.name, classified.subpath, ctx);
  if (classified.kind === 'stage-status') {
    const known = Object.prototype.hasOwnProperty.call(ctx.stages, classified.stage)
      ? ctx.stages[classified.stage]?.status
      : undefined;
    // A stage the run has not settled yet (or an old context without statuses) reads as pending.
    return known ?? 'pending';
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
  if (!stage) {
    if (optionalFrom <= 3) return null;
    missing(node.text, `stage \`${classified.stage}\` has no outputs (it has not run)`);
  }
  if (!Object.prototype.hasOwnProperty.call(stage.outputs, classified.output)) {
    if (optionalFrom <= 3) return null;
    const status = stage.status ? ` (status ${stage.status})` : '';
    missing(node.text, `stage \`${classified.stage}\` produced no output \`${classified.output}\`${status}`);
  }
  return lookup(stage.outputs[classified.output] as JsonValue, classified.subpath, node.text, optionalFrom - 4);
}

function resolveRunReference(
  node: Extract<ExpressionNode, { kind: 'reference' }>,
  name: string,
  subpath: readonly PathSegment[],
  ctx: ExpressionContext,
): JsonValue {
  const optionalFrom = node.optionalFrom ?? Infinity;
  const value = ctx.run && Object.prototype.hasOwnProperty.call(ctx.run, name) ? ctx.run[name] : undefined;
  if (value === undefined) {
    if (optionalFrom <= 1) return null;
    missing(
      node.text,
      FINALLY_ONLY_RUN_NAMES.has(name)
        ? `\`run.${name}\` is known only in \`finally:\` stages, once the other stages have settled`
        : `the run has no \`${name}\` here`,
    );
  }
  return lookup(value, subpath, node.text, optionalFrom - 2);
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
    case 'array':
      return node.items.map((item) => evaluateExpression(item, ctx, source));
    case 'member':
      return evaluateMember(node, ctx, source);
    case 'call':
      if (node.name === 'default') return evaluateDefault(node, ctx, source);
      return applyFunction(
        node.name,
        node.args.map((arg) => evaluateExpression(arg, ctx, source)),
        source,
      );
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
          `\`${source.trim()}\`: \`${node.operator}\` compares two numbers or two strings, got ${typeName(left)} ` +
            `and ${typeName(right)}`,
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
