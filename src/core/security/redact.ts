/**
 * Redaction of URIs wherever one is recorded (lineage, model cards, logs, status, errors): the
 * user-info part (`user:password@`) and the query string often carry credentials (presigned
 * URLs, API keys), so both are replaced by a marker. Free text (an error, a log line) may also quote a credential
 * outside any URI: an AWS-style access key id, or a `secretKey=…` / `"password": "…"` pair; those values are
 * replaced too. Pure string code with no Node built-ins: workflows, the CLI, activities and the web app all use it.
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
/** AWS-style access key ids: long-term `AKIA…`, temporary `ASIA…` (MinIO and S3 errors may quote one). */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
/** A value after a name that says credential: `secretKey=x`, `password: x`, `"accessKey":"x"`, `X-Amz-Signature=x`. */
const CREDENTIAL_NAME = [
  '(?:aws[_-]?)?(?:access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?[_-]?key|session[_-]?token)',
  'password|passwd|x-amz-(?:credential|signature|security-token)',
].join('|');
const CREDENTIAL_PAIR = new RegExp(`\\b((?:${CREDENTIAL_NAME})["']?\\s*[=:]\\s*)("[^"]*"|'[^']*'|[^\\s&,;"'}]+)`, 'gi');

/**
 * Every URI inside a free text (a log line, an error message) redacted, and every credential the text quotes outside
 * a URI (an access key id, a `name=value` credential pair): the one rule for text built from an error.
 */
export function redactUrisIn(text: string): string {
  return text
    .replace(EMBEDDED_URI, (uri) => redactUri(uri))
    .replace(ACCESS_KEY_ID, REDACTED)
    .replace(CREDENTIAL_PAIR, (_pair, name: string, value: string) => `${name}${keepingQuotes(value, REDACTED)}`);
}

/** `replacement` inside the quotes `value` had, if any. */
function keepingQuotes(value: string, replacement: string): string {
  const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : '';
  return `${quote}${replacement}${quote}`;
}

/**
 * An error (and its causes) with its messages and stacks redacted as {@link redactUrisIn} does, before it is thrown out
 * of an activity: Temporal records the message in the history and the worker logs it.
 */
export function redactError<T>(thrown: T): T {
  let current: unknown = thrown;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    current.message = redactUrisIn(current.message);
    if (current.stack) current.stack = redactUrisIn(current.stack);
    current = current.cause;
  }
  return thrown;
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
