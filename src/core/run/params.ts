/**
 * Param overrides at run time (`fineflow retry RUN --set NAME=VALUE`): checked against the plan's
 * declared param types. Pure: used by the workflow's update validator and by the client.
 */
import { InvalidInputError } from '../errors';
import type { JsonValue, Plan, PlannedParam } from '../spec/plan-types';
import { malformedSetPair, paramFromText, splitSetPair, wrongParamType } from '../spec/param-text';
import { ownValue } from '../spec/reserved';

export type ParamValues = { readonly [name: string]: JsonValue };

export type ParamCheck =
  { readonly ok: true; readonly values: ParamValues } | { readonly ok: false; readonly problems: readonly string[] };

function matchesType(type: PlannedParam['type'], value: JsonValue): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
  }
}

/**
 * A command line gives strings; each param type reads its text by the one `--set` grammar (param-text.ts: `lr=0.01`,
 * `tags=["a"]`, `fast=true`). Values that already have the right type (the UI's retry form) pass as is.
 */
function coerce(type: PlannedParam['type'], value: JsonValue): JsonValue | undefined {
  if (matchesType(type, value)) return value;
  if (typeof value !== 'string' || type === 'string') return undefined;
  return paramFromText(value, type);
}

/**
 * Check overrides: every name is a declared param and every value has (or, from a command line,
 * parses to) its type. `strict`: JSON values from a pipeline (a sub-pipeline's params), no parsing.
 */
export function checkParamOverrides(
  plan: Plan,
  overrides: ParamValues,
  options: { strict?: boolean } = {},
): ParamCheck {
  const problems: string[] = [];
  const values: Record<string, JsonValue> = {};
  const known = Object.keys(plan.params);
  for (const [name, raw] of Object.entries(overrides)) {
    const declared = ownValue(plan.params, name);
    if (!declared) {
      problems.push(
        `params.${name}: unknown param; the pipeline declares ${known.length > 0 ? known.join(', ') : 'no params'}`,
      );
      continue;
    }
    const value = options.strict ? (matchesType(declared.type, raw) ? raw : undefined) : coerce(declared.type, raw);
    if (value === undefined) {
      const { message, hint } = wrongParamType(
        { name, type: declared.type, current: declared.value },
        raw,
        options.strict ? 'json' : 'set',
      );
      problems.push(`params.${name}: ${message}; ${hint}`);
      continue;
    }
    values[name] = value;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values };
}

/** Parse `NAME=VALUE` pairs from the command line (values stay strings; {@link checkParamOverrides} types them). */
export function parseSetPairs(pairs: readonly string[]): { readonly [name: string]: string } {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const split = splitSetPair(pair);
    if (!split) {
      const { message, hint } = malformedSetPair(pair);
      throw new InvalidInputError(`${message}; ${hint}`, { pair });
    }
    out[split.name] = split.raw;
  }
  return out;
}

/** The values a plan runs with, by name. */
export function paramValues(plan: Plan): ParamValues {
  return Object.fromEntries(Object.entries(plan.params).map(([name, param]) => [name, param.value]));
}
