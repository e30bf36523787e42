/**
 * Redaction of URIs wherever one is recorded (lineage, model cards, logs, status, errors): the
 * user-info part (`user:password@`) and the query string often carry credentials (presigned
 * URLs, API keys), so both are replaced by a marker. Pure string code with no Node built-ins:
 * workflows, the CLI and activities all use it.
 */

/** What replaces a URI's credentials and query string. */
export const REDACTED = 'redacted';

const URI_WITH_AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

/** `https://user:pw@host/p?token=x#f` → `https://redacted@host/p?redacted#f`; other strings unchanged. */
export function redactUri(uri: string): string {
  const match = URI_WITH_AUTHORITY.exec(uri);
  if (!match) return uri;
  const [, scheme = '', authority = '', path = '', query, fragment = ''] = match;
  // `registry://name@alias` names a model version: its `@` is not user info, and it carries no secret.
  if (scheme.toLowerCase() === 'registry://') return uri;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? `${REDACTED}@${authority.slice(at + 1)}` : authority;
  return `${scheme}${host}${path}${query !== undefined ? `?${REDACTED}` : ''}${fragment}`;
}

const EMBEDDED_URI = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Every URI inside a free text (a log line, an error message) redacted. */
export function redactUrisIn(text: string): string {
  return text.replace(EMBEDDED_URI, (uri) => redactUri(uri));
}

/** A JSON value with every string that is a URI redacted (lineage, model cards, status output). */
export function redactUrisDeep<T>(value: T): T {
  if (typeof value === 'string') return redactUrisIn(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactUrisDeep(item)) as T;
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = redactUrisDeep(item);
    return result as T;
  }
  return value;
}
