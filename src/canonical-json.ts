/**
 * The one canonical JSON of the project: RFC 8785 (JSON Canonicalization Scheme), so equal values give
 * equal text, and so equal digests, whatever the key order. Cache keys, output digests, plan digests
 * and schedule/watcher config digests all hash this text.
 *
 * The serialisation is the `json-canonicalize` package (RFC 8785: keys sorted by UTF-16 code units,
 * numbers and strings as ECMAScript's JSON.stringify writes them); a well-kept library rather than
 * a hand-written walk (STYLE.md 18). This wrapper only decides what may be hashed: JSON values, with
 * `undefined` object members left out and `undefined` array items written as null (as
 * JSON.stringify does). Anything JSON cannot carry (NaN, ±Infinity, functions, symbols, bigints, a
 * top-level `undefined`) is refused with its path, rather than silently written as `null`: two different
 * values must never share a digest.
 *
 * Not workflow code: the package is not bundled into workflows (nothing there needs a digest).
 */
import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

/** Refuses what RFC 8785 cannot represent, naming where it is (`$.outputs.loss`). */
function assertRepresentable(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${value} at ${path} is not representable in JSON`);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new TypeError(`canonicalJson: ${path} refers back to itself`);
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item: unknown, index) => {
          if (item !== undefined) assertRepresentable(item, `${path}[${index}]`, seen);
        });
      } else if (typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
        for (const [key, item] of Object.entries(value)) {
          if (item !== undefined) assertRepresentable(item, `${path}.${key}`, seen);
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value} at ${path}`);
  }
}

/** RFC 8785 text of `value`; throws TypeError naming the path of anything JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  assertRepresentable(value, '$', new Set());
  return canonicalize(value);
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}
