/**
 * The one grammar of a param override's text (`--set NAME=VALUE`), shared by the compiler (`plan`, `submit`,
 * `schedule apply`) and the run's own check (`retry`, `rerun`, the workflow's update validator), so both accept the
 * same spellings: each accepts what either accepted before the two were joined.
 * - string: the text as is;
 * - number: a decimal (`0.95`, `.5`, `1.`, `1e-3`), spaces around it allowed;
 * - integer: a number that is a safe integer (`20`, `5.0`, `1e3`);
 * - boolean: `true` or `false`, spaces around it allowed;
 * - array, object: JSON.
 * Pure (workflow-safe).
 */
import type { JsonValue, PlannedParam } from './plan-types';

/** What `--set` expects, in messages and `--help`. */
export const SET_PAIR = 'NAME=VALUE';
export const SET_PAIR_HINT = 'write e.g. --set minAccuracy=0.95';

const DECIMAL = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** `NAME=VALUE` split at its first `=`, the name trimmed; undefined without a name. */
export function splitSetPair(pair: string): { readonly name: string; readonly raw: string } | undefined {
  const eq = pair.indexOf('=');
  const name = eq > 0 ? pair.slice(0, eq).trim() : '';
  return name === '' ? undefined : { name, raw: pair.slice(eq + 1) };
}

/** The message for a pair without a name or `=`: the same from every command. */
export function malformedSetPair(pair: string): { readonly message: string; readonly hint: string } {
  return { message: `--set ${pair}: expected ${SET_PAIR}`, hint: SET_PAIR_HINT };
}

/** A param's value from its override text, or undefined when the text does not spell one of its type. */
export function paramFromText(raw: string, type: PlannedParam['type']): JsonValue | undefined {
  switch (type) {
    case 'string':
      return raw;
    case 'number':
      return DECIMAL.test(raw) && Number.isFinite(Number(raw)) ? Number(raw) : undefined;
    case 'integer':
      return DECIMAL.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : undefined;
    case 'boolean': {
      const word = raw.trim();
      return word === 'true' ? true : word === 'false' ? false : undefined;
    }
    case 'array':
    case 'object': {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        return undefined;
      }
      const isArray = Array.isArray(value);
      if (type === 'array' ? !isArray : isArray || value === null || typeof value !== 'object') return undefined;
      return value as JsonValue;
    }
  }
}
