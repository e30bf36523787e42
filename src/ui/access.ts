/**
 * Who may talk to `fineflow ui`, and how an action proves it came from the app's own page.
 *
 * - Loopback by default. Any other bind address needs a token (FINEFLOW_UI_TOKEN or `--token`):
 *   `/?token=…` once sets an HttpOnly, SameSite=Strict cookie; scripts send `Authorization: Bearer`.
 * - The Host header must name the server itself, so a page on another origin cannot reach the
 *   loopback server through DNS rebinding.
 * - Every action (POST) carries the per-process CSRF token the page got in its HTML, as the
 *   `X-Fineflow-Csrf` header, with a JSON body; a cross-site form can set neither.
 * - Read-only mode refuses every action that changes a run, a model or a schedule.
 * Pure functions over request facts, unit-tested without a socket.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface AccessPolicy {
  /** The address the server listens on. */
  readonly host: string;
  readonly port: number;
  /** Required on every request when set; mandatory for a non-loopback host. */
  readonly token?: string;
  readonly csrfToken: string;
  readonly readOnly: boolean;
}

export interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type AccessDecision =
  { readonly ok: true } | { readonly ok: false; readonly status: 400 | 401 | 403; readonly message: string };

export const TOKEN_COOKIE = 'fineflow_ui_token';
export const CSRF_HEADER = 'x-fineflow-csrf';
/** Paths that are not state-changing even though they are POSTs (they read a body). */
const READ_ONLY_POSTS: readonly string[] = ['/api/validate'];

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Fails fast at start: a server others can reach must not be open to them. */
export function checkBindAddress(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new Error(
      `fineflow ui: listening on ${host} makes the UI reachable from other machines; set FINEFLOW_UI_TOKEN (or --token) ` +
        'so every request must carry it, or keep the default 127.0.0.1 and put an authenticating proxy in front',
    );
  }
  if (token !== undefined && token.length < 16)
    throw new Error('fineflow ui: the token must be at least 16 characters');
}

export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function header(facts: RequestFacts, name: string): string | undefined {
  const value = facts.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function hostAllowed(policy: AccessPolicy, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  if (!isLoopback(policy.host)) return true; // the token guards a public bind; proxies rewrite Host
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  return names.some((name) => hostHeader === `${name}:${policy.port}`);
}

/** Is this request an action (it changes something)? */
export function isAction(facts: RequestFacts): boolean {
  return facts.method !== 'GET' && facts.method !== 'HEAD' && !READ_ONLY_POSTS.includes(facts.path);
}

/** The checks every request passes before a handler runs. */
export function checkRequest(policy: AccessPolicy, facts: RequestFacts): AccessDecision {
  if (!hostAllowed(policy, header(facts, 'host')))
    return { ok: false, status: 400, message: 'unexpected Host header (DNS rebinding protection)' };
  if (policy.token) {
    const bearer = /^Bearer (.+)$/.exec(header(facts, 'authorization') ?? '')?.[1];
    const cookie = cookieValue(header(facts, 'cookie'), TOKEN_COOKIE);
    if (!sameSecret(bearer, policy.token) && !sameSecret(cookie, policy.token)) {
      return {
        ok: false,
        status: 401,
        message: 'this UI needs its token: open /?token=… once, or send Authorization: Bearer …',
      };
    }
  }
  if (facts.method === 'GET' || facts.method === 'HEAD') return { ok: true };
  if (!sameSecret(header(facts, CSRF_HEADER), policy.csrfToken))
    return { ok: false, status: 403, message: 'missing or wrong CSRF token: reload the page' };
  if (!(header(facts, 'content-type') ?? '').startsWith('application/json'))
    return { ok: false, status: 400, message: 'actions take a JSON body (Content-Type: application/json)' };
  if (policy.readOnly && isAction(facts))
    return { ok: false, status: 403, message: 'this UI runs with --read-only: actions are disabled' };
  return { ok: true };
}

/** Keys whose values never leave the server, whatever a stage put in its outputs. */
const SECRET_KEY =
  /secret|password|passwd|credential|authorization|private[-_]?key|api[-_]?key|access[-_]?token|auth[-_]?token|^token$/i;
export const REDACTED = '***';

/** A deep copy with the values of secret-looking keys replaced; applied to every API response. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 64) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        SECRET_KEY.test(key) ? REDACTED : redactSecrets(item, depth + 1),
      ]),
    );
  }
  return value;
}
