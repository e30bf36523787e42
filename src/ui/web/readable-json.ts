/**
 * JSON as the stage panel and a model's card show it: JSON.stringify's two-space layout, except that a short array of
 * plain values (numbers, strings, booleans, null) stays on one line. A confusion matrix took a line per number (an
 * evaluate stage's outputs ran to a hundred lines); now it takes a line per row. Still JSON: it parses back to the
 * same value. Pure: unit-tested in Node.
 */

/** An array of plain values whose one-line form is at most this long stays on one line. */
export const INLINE_ARRAY_CHARACTERS = 72;

function isPlain(value: unknown): boolean {
  return value === null || ['number', 'string', 'boolean'].includes(typeof value);
}

export function readableJson(value: unknown, indent = ''): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every(isPlain)) {
      const line = `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
      if (line.length <= INLINE_ARRAY_CHARACTERS) return line;
    }
    // As JSON.stringify: an item that has no JSON form (undefined, a function) is null in an array.
    return `[\n${value.map((item) => `${inner}${readableJson(item ?? null, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined && typeof item !== 'function');
    if (entries.length === 0) return '{}';
    const lines = entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${readableJson(item, inner)}`);
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
