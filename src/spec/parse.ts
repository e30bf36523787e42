/**
 * YAML text (or bytes) → a {@link LocatedNode} tree that keeps every key's and value's
 * position, plus diagnostics for input that is not a single, plain YAML document. Bad input
 * (binary, non-UTF-8, huge, alias bombs, deep nesting) is refused before or instead of a full
 * parse, always with a positioned diagnostic and never an exception.
 */
import {
  isAlias,
  isDocument,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type Node as YamlNode,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { LineIndex, type Diagnostic } from './diagnostics';
import { joinPath } from '../core/spec/expressions';
import type { LocatedEntry, LocatedNode, Span } from './located';
import { unclosedOpeners, type Opener } from './yaml-openers';

/** Pipelines are small; anything bigger is a mistake (or an attack) and is refused unread. */
export const MAX_PIPELINE_BYTES = 1024 * 1024;
/** Nesting deeper than this is refused before the YAML parser sees it. */
export const MAX_NESTING = 64;

export interface ParsedPipeline {
  readonly file: string;
  /** The decoded text ('' when it could not be decoded). */
  readonly text: string;
  readonly lines: LineIndex;
  /** The document's root, when it parsed well enough to check further. */
  readonly root?: LocatedNode;
  readonly diagnostics: readonly Diagnostic[];
}

const CORE_TAGS = new Set([
  'tag:yaml.org,2002:str',
  'tag:yaml.org,2002:int',
  'tag:yaml.org,2002:float',
  'tag:yaml.org,2002:bool',
  'tag:yaml.org,2002:null',
  'tag:yaml.org,2002:map',
  'tag:yaml.org,2002:seq',
]);

/** Offset of the first byte that is not valid UTF-8, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need: number;
    if (b < 0x80) need = 0;
    else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) need = 2;
    else if (b >= 0xf0 && b <= 0xf4) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}

function lineColumnOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of a control character that marks binary input (NUL and friends, not tab/CR/LF), or -1. */
function firstBinaryCharacter(text: string): number {
  const match = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  return match ? match.index : -1;
}

/** Offset where flow nesting (`[`/`{`) or block indentation gets deeper than MAX_NESTING, or -1. */
function excessiveNesting(text: string): number {
  let depth = 0;
  let quote: string | undefined;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') {
      comment = false;
      if (quote === undefined) {
        let indent = 0;
        while (text[i + 1 + indent] === ' ') indent++;
        if (indent / 2 > MAX_NESTING * 2) return i + 1;
      }
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) comment = true;
    else if ((ch === '"' || ch === "'") && depth > 0) quote = ch;
    else if (ch === '[' || ch === '{') {
      if (++depth > MAX_NESTING) return i;
    } else if ((ch === ']' || ch === '}') && depth > 0) depth--;
  }
  return -1;
}

const YAML_CODES: Readonly<Record<string, { code: string; hint?: string }>> = {
  TAB_AS_INDENT: { code: 'yaml-tab', hint: 'indent with spaces; YAML does not allow tabs for indentation' },
  DUPLICATE_KEY: { code: 'yaml-duplicate-key', hint: 'remove or rename one of the keys' },
  MULTIPLE_DOCS: { code: 'yaml-multi-document', hint: 'put each pipeline in its own file' },
  BAD_ALIAS: { code: 'yaml-alias', hint: 'write the value out instead of using anchors and aliases' },
  MISSING_CHAR: { code: 'yaml-syntax', hint: 'close the quote or bracket' },
  BAD_INDENT: { code: 'yaml-syntax', hint: 'align keys of the same mapping at the same column' },
};

const UNCLOSED: Readonly<Record<string, { what: string; hint: string }>> = {
  '{': {
    what: 'this `{` opens a flow mapping that is never closed',
    hint: 'add `}` after its last entry, or write the mapping as one `key: value` per line',
  },
  '[': {
    what: 'this `[` opens a flow list that is never closed',
    hint: 'add `]` after its last item, or write the list as one `- item` per line',
  },
  '"': {
    what: 'this `"` opens a quoted string that is never closed',
    hint: 'add the closing `"` where the value ends (write a `"` inside the value as `\\"`)',
  },
  "'": {
    what: "this `'` opens a quoted string that is never closed",
    hint: "add the closing `'` where the value ends (write a `'` inside the value as `''`)",
  },
};

/** The opener a parser error about a missing `}`, `]` or quote is about: the innermost of that kind before it. */
function openerOf(message: string, at: number, openers: readonly Opener[]): Opener | undefined {
  const closer = /end with an? ([}\]])/.exec(message)?.[1];
  const quote = /^Missing closing (["'])quote/.exec(message)?.[1];
  const char = closer === '}' ? '{' : closer === ']' ? '[' : quote;
  if (!char) return undefined;
  // An unclosed quote swallows the rest of the file, closers included: it is the one mistake to report.
  const lastQuote = openers.find((o) => (o.char === '"' || o.char === "'") && o.offset <= at);
  if (lastQuote) return lastQuote;
  const candidates = openers.filter((o) => o.char === char && o.offset <= at);
  return candidates[candidates.length - 1];
}

/** `key:value` (no space after the colon) on a line YAML could not read as a mapping entry. */
const KEY_WITHOUT_SPACE = /^\s*(?:-\s+)?([A-Za-z_][\w.-]*):([^\s/:][^#]*?)\s*$/;

function syntaxHint(mapped: { code: string; hint?: string }, lineText: string): string {
  // `{min: ${{ params.x }}}` is the classic: braces of an unquoted expression inside a flow mapping.
  if (mapped.code === 'yaml-syntax' && lineText.includes('${{'))
    return 'quote values that contain ${{ }}, e.g. min: "${{ params.x }}"';
  const noSpace = KEY_WITHOUT_SPACE.exec(lineText);
  if (noSpace) return `write \`${noSpace[1]}: ${noSpace[2]}\`: YAML needs a space after the colon of a key`;
  return mapped.hint ?? 'fix the YAML syntax at this position';
}

/** A pipeline refused before it was parsed: one diagnostic at the start of the problem. */
function refusal(
  file: string,
  problem: { code: string; line: number; column: number; message: string; hint: string },
  text = '',
): ParsedPipeline {
  const { code, line, column, message, hint } = problem;
  return {
    file,
    text,
    lines: new LineIndex(text),
    diagnostics: [{ severity: 'error', code, path: '', line, column, message, hint, file }],
  };
}

/** The file's text, or its refusal: too large, binary or not UTF-8. */
function decodeSource(source: string | Uint8Array, file: string): string | ParsedPipeline {
  const size = typeof source === 'string' ? source.length : source.byteLength;
  if (size > MAX_PIPELINE_BYTES) {
    return refusal(file, {
      code: 'file-too-large',
      line: 1,
      column: 1,
      message:
        `the file is ${(size / 1024 / 1024).toFixed(1)} MiB; ` +
        `pipelines are limited to ${MAX_PIPELINE_BYTES / 1024} KiB`,
      hint: 'is this the right file? Keep data out of the pipeline: reference it by URI',
    });
  }
  if (typeof source === 'string') return source;
  const nul = source.indexOf(0);
  const invalid = firstInvalidUtf8(source);
  // Binary files are rarely valid UTF-8; a NUL before the first bad byte says "binary" better.
  if (nul >= 0 && invalid >= 0 && nul < invalid) {
    return refusal(file, {
      code: 'file-binary',
      ...lineColumnOfByte(source, nul),
      message: 'the file contains a NUL byte: it is binary, not YAML',
      hint: 'pass a pipeline YAML file',
    });
  }
  if (invalid >= 0) {
    const byte = (source[invalid] as number).toString(16).padStart(2, '0');
    return refusal(file, {
      code: 'file-not-utf8',
      ...lineColumnOfByte(source, invalid),
      message: `byte 0x${byte} at offset ${invalid} is not valid UTF-8`,
      hint: 'save the file as UTF-8',
    });
  }
  return new TextDecoder('utf-8').decode(source);
}

/** Refuses text that is binary, empty or nested too deep to hand to the YAML parser. */
function refuseUnreadable(text: string, lines: LineIndex, file: string): ParsedPipeline | undefined {
  const binary = firstBinaryCharacter(text);
  if (binary >= 0) {
    const code = text.charCodeAt(binary).toString(16).padStart(4, '0');
    return refusal(
      file,
      {
        code: 'file-binary',
        ...lines.position(binary),
        message: `control character U+${code} in the file: it is binary, not YAML`,
        hint: 'pass a pipeline YAML file',
      },
      text,
    );
  }
  if (
    text
      .replace(/^\uFEFF/, '')
      .replace(/#.*$/gm, '')
      .trim() === ''
  ) {
    const hint = 'start with `apiVersion: fineflow/v1` (see pipelines/quickstart.yaml)';
    return refusal(file, { code: 'file-empty', line: 1, column: 1, message: 'the file is empty', hint }, text);
  }
  const deep = excessiveNesting(text);
  if (deep < 0) return undefined;
  return refusal(
    file,
    {
      code: 'yaml-too-deep',
      ...lines.position(deep),
      message: `nesting deeper than ${MAX_NESTING} levels`,
      hint: 'flatten the structure',
    },
    text,
  );
}

/** Collects the diagnostics of one file, positioned by its line index. */
class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly file: string,
    readonly text: string,
    readonly lines: LineIndex,
  ) {}

  push(
    code: string,
    span: Span,
    message: string,
    hint?: string,
    path = '',
    severity: Diagnostic['severity'] = 'error',
  ): void {
    const at = this.lines.position(span.offset);
    this.diagnostics.push({
      severity,
      code,
      path,
      line: at.line,
      column: at.column,
      length: Math.max(1, Math.min(span.end, this.text.length) - span.offset),
      message,
      hint,
      file: this.file,
    });
  }

  parsed(root?: LocatedNode): ParsedPipeline {
    const { file, text, lines, diagnostics } = this;
    return { file, text, lines, ...(root ? { root } : {}), diagnostics };
  }
}

/**
 * The file's one YAML document, free of syntax errors; otherwise the parse result with their
 * diagnostics (a second document is reported, and the first one still checked).
 */
function parseDocument(sink: DiagnosticSink): Document.Parsed | ParsedPipeline {
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(sink.text, {
      uniqueKeys: false,
      prettyErrors: false,
      strict: true,
    }) as unknown as Document.Parsed[];
    if (!Array.isArray(documents)) documents = [];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    sink.push('yaml-syntax', { offset: 0, end: 1 }, `the YAML parser failed: ${reason}`);
    return sink.parsed();
  }
  if (documents.length === 0) {
    const problem = { code: 'file-empty', line: 1, column: 1, message: 'the file holds no YAML document' };
    return refusal(sink.file, { ...problem, hint: 'start with `apiVersion: fineflow/v1`' }, sink.text);
  }
  if (documents.length > 1) {
    const second = documents[1] as Document.Parsed;
    sink.push(
      'yaml-multi-document',
      { offset: second.range[0], end: second.range[0] + 3 },
      `the file holds ${documents.length} YAML documents; a pipeline file holds exactly one`,
      'put each pipeline in its own file and remove the `---` separator',
    );
  }
  const doc = documents[0] as Document.Parsed;
  reportSyntaxErrors(doc, sink);
  return doc.errors.length > 0 ? sink.parsed() : doc;
}

/** The parser's errors, each once per line; an unclosed bracket or quote is reported where it opens. */
function reportSyntaxErrors(doc: Document.Parsed, sink: DiagnosticSink): void {
  const { text, lines } = sink;
  const reportedLines = new Set<number>();
  const reportedOpeners = new Set<number>();
  let openers: Opener[] | undefined;
  for (const error of doc.errors) {
    const message = error.message.split('\n')[0] as string;
    // A missing `}`, `]` or quote is noticed where the text ends; point at where it was opened.
    openers ??= unclosedOpeners(text);
    const opener = openerOf(message, error.pos[0], openers);
    if (opener && !lines.lineText(lines.position(opener.offset).line).includes('${{')) {
      if (!reportedOpeners.has(opener.offset)) {
        reportedOpeners.add(opener.offset);
        const unclosed = UNCLOSED[opener.char] as { what: string; hint: string };
        sink.push('yaml-unclosed', { offset: opener.offset, end: opener.offset + 1 }, unclosed.what, unclosed.hint);
      }
      continue;
    }
    // The parser often reports one mistake several times on the same line; once is enough.
    const errorLine = lines.position(error.pos[0]).line;
    if (reportedLines.has(errorLine)) continue;
    // After a mistake the parser has left the document and reads every later line as a stray token: those lines
    // are fine, and their errors (with a hint guessed from their text) only hide the one to fix.
    if (reportedLines.size > 0 && STRAY_TOKEN.test(message)) continue;
    reportedLines.add(errorLine);
    const mapped = YAML_CODES[error.code] ?? { code: 'yaml-syntax' };
    const span = { offset: error.pos[0], end: error.pos[1] };
    sink.push(mapped.code, span, message, syntaxHint(mapped, lines.lineText(errorLine)));
  }
}

/** The parser's error for a token outside any document node: after an earlier error, a consequence of it. */
const STRAY_TOKEN = /^Unexpected [\w-]+ token in YAML stream/;

const NO_ALIASES_HINT = 'write the value out (use `defaults:` for settings shared by stages)';

/**
 * YAML nodes → {@link LocatedNode}s, refusing what a pipeline never needs (anchors, aliases, custom
 * tags, non-finite or imprecise numbers, non-string keys, duplicate keys) with a diagnostic each.
 */
class NodeConverter {
  aliasFound = false;

  constructor(private readonly sink: DiagnosticSink) {}

  convert(
    node: YamlNode | null | undefined,
    path: string,
    fallback: Span,
    depth: number,
    ownerKey?: Span,
  ): LocatedNode | undefined {
    if (node === null || node === undefined) return { kind: 'scalar', value: null, span: fallback };
    const range = node.range ?? [fallback.offset, fallback.end, fallback.end];
    const span: Span = { offset: range[0], end: range[1] };
    if (depth > MAX_NESTING) {
      this.sink.push('yaml-too-deep', span, `nesting deeper than ${MAX_NESTING} levels`, 'flatten the structure', path);
      return undefined;
    }
    if (!this.plainNode(node, span, path)) return undefined;
    if (isScalar(node)) return this.scalar(node, span, path);
    if (isSeq(node)) {
      const items: LocatedNode[] = [];
      node.items.forEach((item, index) => {
        const converted = this.convert(item as YamlNode, joinPath(path, index), span, depth + 1);
        if (converted) items.push(converted);
      });
      return { kind: 'seq', items, span };
    }
    if (isMap(node)) return this.map(node, span, path, depth, ownerKey);
    this.sink.push('yaml-syntax', span, 'unsupported YAML node', undefined, path);
    return undefined;
  }

  /** Reports an anchor; false (after a diagnostic) for an alias or a tag other than YAML's core ones. */
  private plainNode(node: YamlNode, span: Span, path: string): boolean {
    const tagged = isScalar(node) || isMap(node) || isSeq(node);
    if (tagged && node.anchor) {
      const at = this.sink.text.lastIndexOf(`&${node.anchor}`, span.offset);
      this.sink.push(
        'yaml-alias',
        at >= 0 ? { offset: at, end: at + node.anchor.length + 1 } : span,
        `anchor \`&${node.anchor}\`: pipelines do not use anchors and aliases`,
        NO_ALIASES_HINT,
        path,
      );
    }
    if (isAlias(node)) {
      this.aliasFound = true;
      const message = `alias \`*${node.source}\`: pipelines do not use anchors and aliases`;
      this.sink.push('yaml-alias', span, message, NO_ALIASES_HINT, path);
      return false;
    }
    if (tagged && node.tag && !CORE_TAGS.has(node.tag)) {
      this.sink.push(
        'yaml-tag',
        span,
        `tag \`${node.tag}\` is not supported`,
        'remove the tag; write plain strings, numbers, booleans, lists and mappings',
        path,
      );
      return false;
    }
    return true;
  }

  private scalar(node: Scalar, span: Span, path: string): LocatedNode | undefined {
    const value = node.value;
    const written = String(node.source ?? value);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      const hint = 'write a finite number, or quote it to make it a string';
      this.sink.push('bad-number', span, `${written} is not a finite number`, hint, path);
      return undefined;
    }
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      // Beyond 2^53 a JSON number no longer holds every integer: the plan would carry another value than written.
      this.sink.push(
        'unsafe-integer',
        span,
        `${written} is beyond 2^53 (9007199254740991) and would silently lose precision`,
        'write an integer between -9007199254740991 and 9007199254740991, or quote it to make it a string',
        path,
      );
      return undefined;
    }
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return { kind: 'scalar', value, span };
    this.sink.push('wrong-type', span, `unsupported scalar value`, 'write a string, number, boolean or null', path);
    return undefined;
  }

  private map(node: YAMLMap, span: Span, path: string, depth: number, ownerKey?: Span): LocatedNode {
    const entries: LocatedEntry[] = [];
    const seen = new Map<string, Span>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      if (!keyNode || !isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.badKey(keyNode, span, path);
        continue;
      }
      const key = String(keyNode.value);
      const keySpan: Span = { offset: keyNode.range?.[0] ?? span.offset, end: keyNode.range?.[1] ?? span.offset };
      const previous = seen.get(key);
      if (previous) {
        this.duplicateKey(key, keySpan, previous, path);
        continue;
      }
      seen.set(key, keySpan);
      const valueNode = pair.value as YamlNode | null;
      const valueSpan = { offset: keySpan.end, end: keySpan.end };
      const value = this.convert(valueNode, joinPath(path, key), valueSpan, depth + 1, keySpan);
      if (value) entries.push({ key, keySpan, value });
    }
    return { kind: 'map', entries, span, ...(ownerKey ? { keySpan: ownerKey } : {}) };
  }

  private badKey(keyNode: YamlNode | null, span: Span, path: string): void {
    const at = keyNode?.range ? { offset: keyNode.range[0], end: keyNode.range[1] } : span;
    if (keyNode && isAlias(keyNode)) {
      this.sink.push('yaml-alias', at, 'aliases are not allowed as keys', 'write the key out', path);
    } else {
      this.sink.push('wrong-type', at, 'mapping keys must be plain strings', 'write `name: value`', path);
    }
  }

  private duplicateKey(key: string, keySpan: Span, previous: Span, path: string): void {
    const first = this.sink.lines.position(previous.offset);
    const isStage = path === 'stages';
    this.sink.push(
      isStage ? 'duplicate-stage' : 'yaml-duplicate-key',
      keySpan,
      isStage
        ? `stage \`${key}\` is defined twice (first on line ${first.line})`
        : `key \`${key}\` appears twice in ${path || 'the document'} (first on line ${first.line})`,
      isStage ? 'give each stage a unique id' : 'remove or merge one of them',
      joinPath(path, key),
    );
  }
}

/**
 * Parse a pipeline file. `source` may be bytes (checked for UTF-8 and binary content) or
 * already-decoded text.
 */
export function parsePipeline(source: string | Uint8Array, file: string): ParsedPipeline {
  const text = decodeSource(source, file);
  if (typeof text !== 'string') return text;
  const lines = new LineIndex(text);
  const unreadable = refuseUnreadable(text, lines, file);
  if (unreadable) return unreadable;
  const sink = new DiagnosticSink(file, text, lines);
  const doc = parseDocument(sink);
  if (!isDocument(doc)) return doc;
  const converter = new NodeConverter(sink);
  const root = converter.convert(doc.contents as YamlNode | null, '', { offset: 0, end: 0 }, 0);
  if (converter.aliasFound || !root || (root.kind === 'scalar' && root.value === null)) {
    if (!converter.aliasFound && (!root || root.kind === 'scalar'))
      sink.push('file-empty', { offset: 0, end: 0 }, 'the document is empty', 'start with `apiVersion: fineflow/v1`');
    return sink.parsed();
  }
  return sink.parsed(root);
}
