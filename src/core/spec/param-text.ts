/**
 * The one grammar of a param override's text (`--set NAME=VALUE`), shared by the compiler (`plan`, `submit`,
 * `schedule apply`) and the run's own check (`retry`, `rerun`, the workflow's update validator), so both accept the
 * same spellings: each accepts what either accepted before the two were joined.
 * - string: the text as is;
 * - number: a decimal (`0.95`, `.5`, `1.`, `1e-3`), spaces around it allowed;
 * - integer: a number that is a safe integer (`20`, `5.0`, `1e3`);
 * - boolean: `true` or `false`, spaces around it allowed;
 * - array, object: JSON.
 * A value that does not spell its param's type gets one message ({@link wrongParamType}) from every command and the UI.
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

/**
 * An override as a message quotes it: the name, and the value cut to {@link QUOTED_CHARS} characters (the text is the
 * user's, of any length; the whole of it was echoed back, twice, into every diagnostic of a long value).
 */
export function shownSetPair(pair: string): string {
  const eq = pair.indexOf('=');
  if (eq < 0 || eq > QUOTED_CHARS) return quoted(pair);
  return `${pair.slice(0, eq + 1)}${quoted(pair.slice(eq + 1))}`;
}

/** The message for a pair without a name or `=`: the same from every command. */
export function malformedSetPair(pair: string): { readonly message: string; readonly hint: string } {
  return { message: `--set ${shownSetPair(pair)}: expected ${SET_PAIR}`, hint: SET_PAIR_HINT };
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

/** An example value of each type, for a param without a value to show. */
const TYPE_EXAMPLES: Readonly<Record<PlannedParam['type'], string>> = {
  string: 'text',
  number: '0.95',
  integer: '20',
  boolean: 'true',
  array: '["a","b"]',
  object: '{"k":1}',
};

/** At most this much of a value is quoted back in a message (an override's text is the user's, of any length). */
const QUOTED_CHARS = 80;

function quoted(text: string): string {
  return text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text;
}

/**
 * The message for an override whose value is not of its param's type, naming the param, the type and the value, and
 * its fix with the param's current value (or an example of its type): `--set NAME=VALUE` for text from a command
 * line or the UI's retry form (plan, submit, retry, rerun), `NAME: VALUE` for JSON from a pipeline (a sub-pipeline's
 * params).
 */
export function wrongParamType(
  param: { readonly name: string; readonly type: PlannedParam['type']; readonly current?: JsonValue },
  given: JsonValue,
  from: 'set' | 'json' = 'set',
): { readonly message: string; readonly hint: string } {
  const { name, type, current } = param;
  const article = /^[aeiou]/.test(type) ? 'an' : 'a';
  const example =
    current === undefined || current === null
      ? TYPE_EXAMPLES[type]
      : typeof current === 'string' && from === 'set'
        ? current
        : JSON.stringify(current);
  return {
    message: `param \`${name}\` is ${article} ${type}, and ${quoted(JSON.stringify(given))} is not`,
    hint: from === 'set' ? `write e.g. --set ${name}=${quoted(example)}` : `write e.g. ${name}: ${quoted(example)}`,
  };
}
