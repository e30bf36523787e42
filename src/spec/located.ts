/**
 * A YAML document as plain data that remembers where every node came from, so each check
 * can point at the exact key or value. Offsets are character offsets into the source text;
 * `toJson` drops the positions. Pure.
 */
import type { JsonPrimitive, JsonValue } from '../core/spec/plan-types';

/** Half-open character range `[offset, end)` in the source text. */
export interface Span {
  readonly offset: number;
  readonly end: number;
}

export interface LocatedScalar {
  readonly kind: 'scalar';
  readonly value: JsonPrimitive;
  readonly span: Span;
}

export interface LocatedEntry {
  readonly key: string;
  readonly keySpan: Span;
  readonly value: LocatedNode;
}

export interface LocatedMap {
  readonly kind: 'map';
  readonly entries: readonly LocatedEntry[];
  readonly span: Span;
  /** Span of the key whose value this mapping is, so a missing key can be reported there. */
  readonly keySpan?: Span;
}

export interface LocatedSeq {
  readonly kind: 'seq';
  readonly items: readonly LocatedNode[];
  readonly span: Span;
}

export type LocatedNode = LocatedScalar | LocatedMap | LocatedSeq;

export const NO_SPAN: Span = { offset: 0, end: 0 };

export function toJson(node: LocatedNode): JsonValue {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toJson);
    case 'map': {
      const out: Record<string, JsonValue> = {};
      // defineProperty: a `__proto__` key (refused by validation) stays data, never a prototype.
      for (const entry of node.entries)
        Object.defineProperty(out, entry.key, {
          value: toJson(entry.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
  }
}

/** Wrap plain JSON (a `--set` value, a default) as a node; every span is `at`. */
export function fromJson(value: JsonValue, at: Span = NO_SPAN): LocatedNode {
  if (Array.isArray(value)) return { kind: 'seq', items: value.map((v: JsonValue) => fromJson(v, at)), span: at };
  if (value !== null && typeof value === 'object') {
    return {
      kind: 'map',
      entries: Object.entries(value).map(([key, v]) => ({ key, keySpan: at, value: fromJson(v, at) })),
      span: at,
    };
  }
  return { kind: 'scalar', value: value as JsonPrimitive, span: at };
}

export function entry(map: LocatedMap, key: string): LocatedEntry | undefined {
  return map.entries.find((e) => e.key === key);
}

/** `a map`, `a list`, `a string`, … for messages. */
export function describeNode(node: LocatedNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (v === null) return 'null (empty)';
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
}
