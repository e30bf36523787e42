/**
 * `fineflow ui`'s HTTP server: the page, its bundled assets, the JSON API (api.ts) and
 * server-sent events for live run state and logs. Every request passes the access checks of
 * access.ts first; every JSON answer goes through `redactSecrets`. No framework: node:http and a
 * small route table keep the dependency list short.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DependencyUnavailableError, InvalidInputError, ResourceLimitError, ensureError } from '../core/errors';
import {
  checkBindAddress,
  checkRequest,
  newSecret,
  redactSecrets,
  sameSecret,
  TOKEN_COOKIE,
  type AccessPolicy,
} from './access';
import { LIMITS, UiApi, type UiServices } from './api';
import { buildFrontend, type FrontendBundle } from './bundle';
import { indexHtml, oversizedReportHtml, unreadableReportHtml } from './page';
import { createUiMetrics, type UiMetrics } from '../observability/ui-metrics';

export interface UiServerOptions {
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
  readonly token?: string;
  readonly readOnly?: boolean;
  /** How often live views poll the run client; default 500 ms. */
  readonly pollMs?: number;
  /** Request counters served at `/metrics`; default a new registry. */
  readonly metrics?: UiMetrics;
}

export interface RunningUi {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

type Handler = (
  request: IncomingMessage,
  match: RegExpExecArray,
  url: URL,
  response: ServerResponse,
) => Promise<unknown>;

interface Route {
  readonly method: 'GET' | 'POST';
  /** The pattern with `:id` for its segments: the metrics' `route` label (a path would carry run ids). */
  readonly name: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
}

const SEGMENT = '([^/]+)';

function send(
  response: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    ...extra,
  });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, JSON.stringify(redactSecrets(value)), 'application/json; charset=utf-8');
}

/** The page for a report the store refused to read whole (over MAX_HTML_REPORT_BYTES), or undefined. */
function oversizedReport(thrown: unknown): string | undefined {
  if (!(thrown instanceof ResourceLimitError) || thrown.details.code !== 'object-too-large') return undefined;
  const { uri, maxBytes } = thrown.details;
  return typeof uri === 'string' && typeof maxBytes === 'number' ? oversizedReportHtml(uri, maxBytes) : undefined;
}

function statusOf(error: Error): number {
  if (error instanceof InvalidInputError)
    return (error as { details?: { code?: unknown } }).details?.code === 'not-found' ? 404 : 400;
  if (error instanceof DependencyUnavailableError) return 503;
  return 500;
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMITS.bodyBytes)
      throw new InvalidInputError(`request body larger than ${LIMITS.bodyBytes / 1024} KiB`, { field: 'body' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new InvalidInputError('the request body is not JSON', { field: 'body' });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidInputError('the request body must be a JSON object', { field: 'body' });
  return value as Record<string, unknown>;
}

/**
 * A server-sent event stream fed by polling `read` every `pollMs`: an event goes out only when
 * the value changed. Stops when the client goes away or `read` says the stream is done.
 */
function streamEvents(
  request: IncomingMessage,
  response: ServerResponse,
  pollMs: number,
  read: () => Promise<{ event: string; data: unknown; done?: boolean } | undefined>,
): Promise<void> {
  response.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  response.write('retry: 2000\n\n');
  let closed = false;
  request.on('close', () => {
    closed = true;
  });
  return (async () => {
    let last = '';
    let failures = 0;
    while (!closed) {
      try {
        const next = await read();
        failures = 0;
        if (next) {
          const text = JSON.stringify(redactSecrets(next.data));
          if (text !== last || next.event === 'log') {
            last = text;
            response.write(`event: ${next.event}\ndata: ${text}\n\n`);
          }
          if (next.done) break;
        }
      } catch (thrown) {
        failures += 1;
        response.write(`event: problem\ndata: ${JSON.stringify({ message: ensureError(thrown).message })}\n\n`);
        if (failures > 20) break;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    response.end();
  })();
}

/**
 * A stage's report (HTML, JSON or text, typed by its name): shown in a sandboxed frame or read by the panel, never with
 * the app's origin, whatever its type. One it could not read: the frame (a navigation, which accepts HTML) gets a page
 * saying why and what to do, the panel's JSON read the JSON error.
 */
async function serveReport(
  api: UiApi,
  runId: string,
  stageId: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const frame = { 'Content-Security-Policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:" };
  const page = (status: number, html: string): void => send(response, status, html, 'text/html; charset=utf-8', frame);
  const report = await api.report(runId, stageId).catch((thrown: unknown) => {
    const oversized = oversizedReport(thrown);
    // 502: the stored object is what is wrong, not the request; the frame shows the page.
    if (oversized !== undefined) return page(502, oversized);
    if (!(request.headers.accept ?? '').includes('text/html')) throw thrown;
    const error = ensureError(thrown);
    const status = statusOf(error);
    return page(status, unreadableReportHtml(error.message, status));
  });
  if (report !== undefined) send(response, 200, report.body, report.type, frame);
}

function routes(api: UiApi, pollMs: number): Route[] {
  const name = (pattern: string): string =>
    pattern.split(SEGMENT).join(':id').replace('versions/(\\d+)', 'versions/:version').replace('(\\d+)', ':attempt');
  const get = (pattern: string, handler: Handler): Route => ({
    method: 'GET',
    name: name(pattern),
    pattern: new RegExp(`^${pattern}$`),
    handler,
  });
  const post = (
    pattern: string,
    handler: (body: Record<string, unknown>, match: RegExpExecArray) => Promise<unknown>,
  ): Route => ({
    method: 'POST',
    name: name(pattern),
    pattern: new RegExp(`^${pattern}$`),
    handler: async (request, match) => handler(await readJsonBody(request), match),
  });
  const at = (match: RegExpExecArray, index: number): string => decodeURIComponent(match[index] ?? '');
  return [
    get('/api/runs', (_r, _m, url) => api.listRuns(url.searchParams)),
    get(`/api/runs/${SEGMENT}`, (_r, m) => api.run(at(m, 1))),
    get(`/api/runs/${SEGMENT}/events`, async (request, m, _url, response) => {
      await streamEvents(request, response, pollMs, async () => {
        const state = await api.state(at(m, 1));
        return { event: 'state', data: state };
      });
      return undefined;
    }),
    // A run's state alone (compare needs no DAG and no sweep tables for up to 8 runs).
    get(`/api/runs/${SEGMENT}/state`, (_r, m) => api.state(at(m, 1))),
    get(`/api/runs/${SEGMENT}/sweeps`, async (_r, m) => ({ sweeps: await api.sweeps(await api.state(at(m, 1))) })),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/logs`, (_r, m) => api.logs(at(m, 1), at(m, 2))),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/logs/(\\d+)`, (_r, m, url) =>
      api.logText(at(m, 1), at(m, 2), Number(m[3]), Number(url.searchParams.get('from') ?? 0) || 0),
    ),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/logs/(\\d+)/events`, async (request, m, url, response) => {
      let from = Number(url.searchParams.get('from') ?? 0) || 0;
      await streamEvents(request, response, pollMs, async () => {
        const chunk = await api.logText(at(m, 1), at(m, 2), Number(m[3]), from);
        if (chunk.text === '') return undefined;
        from = chunk.size;
        return { event: 'log', data: chunk };
      });
      return undefined;
    }),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/inputs`, (_r, m) => api.inputs(at(m, 1), at(m, 2))),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/artifacts`, (_r, m) => api.artifacts(at(m, 1), at(m, 2))),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/checkpoints`, (_r, m) => api.checkpoints(at(m, 1), at(m, 2))),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/cache`, (_r, m) => api.cache(at(m, 1), at(m, 2))),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/rerun-preview`, (_r, m) => api.rerunPreview(at(m, 1), at(m, 2))),
    get(`/api/runs/${SEGMENT}/stages/${SEGMENT}/report`, async (request, m, _url, response) => {
      await serveReport(api, at(m, 1), at(m, 2), request, response);
      return undefined;
    }),
    post(`/api/runs/${SEGMENT}/retry`, (body, m) => api.retry(at(m, 1), body)),
    post(`/api/runs/${SEGMENT}/cancel`, (_body, m) => api.cancel(at(m, 1))),
    post(`/api/runs/${SEGMENT}/rerun`, (body, m) => api.rerun(at(m, 1), body)),
    get('/api/models', () => api.models()),
    get(`/api/models/${SEGMENT}`, (_r, m) => api.model(at(m, 1))),
    get(`/api/models/${SEGMENT}/versions/(\\d+)/measures`, (_r, m) => api.measures(at(m, 1), at(m, 2))),
    post(`/api/models/${SEGMENT}/promote`, (body, m) => api.promote(at(m, 1), body)),
    get('/api/datasets', () => api.datasets()),
    get('/api/datasets/version', (_r, _m, url) => api.datasetVersion(url.searchParams)),
    get('/api/schedules', () => api.schedules()),
    post(`/api/schedules/${SEGMENT}/(pause|unpause|trigger)`, (_body, m) => api.scheduleAction(at(m, 1), at(m, 2))),
    post('/api/validate', async (body) => api.compile(body).result),
    post('/api/submit', (body) => api.submit(body)),
  ];
}

/** Readiness for a caller without the token: which dependency is down, not its error (addresses, names). */
function coarseReadiness(ready: { ok: boolean; temporal: string; store: string }): Record<string, unknown> {
  const state = (check: string): string => (check === 'ok' ? 'ok' : 'unavailable');
  return { ok: ready.ok, temporal: state(ready.temporal), store: state(ready.store) };
}

const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The fields of the access policy; the port is known only once the server listens. */
type MutablePolicy = { -readonly [K in keyof AccessPolicy]: AccessPolicy[K] };

/** What the request counters label a response with: set as soon as the request is recognised. */
interface Served {
  route: string;
}

/** Answers requests in order: token exchange, probes, access checks, then the page, assets, metrics and the API. */

/** The web app's pages (src/ui/web/main.ts routes them after `#`). */
const PAGE_SECTIONS = new Set(['runs', 'compare', 'models', 'datasets', 'schedules', 'pipelines']);

/**
 * `/runs/RUN` and the like, typed or pasted without the `#` the app routes on: the page's own address (`/#/runs/RUN`),
 * so the link opens the page instead of a JSON "no route". Undefined for any other path (the API, assets, unknown).
 */
export function pageRouteOf(url: URL): string | undefined {
  const [, section] = url.pathname.split('/');
  if (section === undefined || !PAGE_SECTIONS.has(section)) return undefined;
  return `/#${url.pathname}${url.search}`;
}

class UiRequestHandler {
  constructor(
    private readonly policy: MutablePolicy,
    private readonly services: UiServices,
    private readonly api: UiApi,
    private readonly frontend: FrontendBundle,
    private readonly metrics: UiMetrics,
    private readonly table: readonly Route[],
  ) {}

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const served: Served = { route: 'unmatched' };
    response.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.request(request.method ?? 'GET', served.route, response.statusCode, seconds);
    });
    const url = new URL(request.url ?? '/', 'http://ui.invalid');
    const method = request.method ?? 'GET';
    if (this.exchangeToken(url, response)) return;
    const decision = checkRequest(this.policy, { method, path: url.pathname, headers: request.headers });
    // Probes (kubelet, load balancers) carry no token and an address as Host: health answers them
    // before the access checks, and says why a dependency is down only to an authorised caller.
    if (method === 'GET' && (url.pathname === '/healthz' || url.pathname === '/readyz')) {
      served.route = url.pathname;
      if (url.pathname === '/healthz') return sendJson(response, 200, { ok: true });
      const ready = await this.api.ready();
      return sendJson(response, ready.ok ? 200 : 503, decision.ok ? ready : coarseReadiness(ready));
    }
    if (!decision.ok) return sendJson(response, decision.status, { error: { message: decision.message } });
    return this.serve(request, response, url, served);
  }

  /** `/?token=…` exchanges the token for a cookie, so it is not kept in the address bar. */
  private exchangeToken(url: URL, response: ServerResponse): boolean {
    const offered = url.searchParams.get('token');
    if (url.pathname !== '/' || offered === null || !this.policy.token || !sameSecret(offered, this.policy.token))
      return false;
    send(response, 303, '', 'text/plain', {
      Location: '/',
      'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(offered)}; HttpOnly; SameSite=Strict; Path=/`,
    });
    return true;
  }

  /** An authorised request: the page, an asset, /metrics or an API route. */
  private async serve(request: IncomingMessage, response: ServerResponse, url: URL, served: Served): Promise<void> {
    const method = request.method ?? 'GET';
    if (method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      served.route = 'page';
      return this.sendPage(response);
    }
    const asset = method === 'GET' ? this.frontend.assets.get(url.pathname) : undefined;
    if (asset) served.route = 'asset';
    if (asset) return send(response, 200, asset.body, asset.type, { 'Cache-Control': 'no-cache' });
    if (method === 'GET' && url.pathname === '/metrics') {
      served.route = url.pathname;
      return send(response, 200, await this.metrics.text(), this.metrics.registry.contentType);
    }
    const pageRoute = method === 'GET' ? pageRouteOf(url) : undefined;
    if (pageRoute !== undefined) {
      served.route = 'page-redirect';
      return send(response, 303, '', 'text/plain', { Location: pageRoute });
    }
    for (const route of this.table) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      served.route = route.name;
      if (route.name.endsWith('/events')) response.once('close', this.metrics.streamOpened());
      const result = await route.handler(request, match, url, response);
      if (result !== undefined) sendJson(response, 200, result);
      return;
    }
    sendJson(response, 404, { error: { message: `no route ${method} ${url.pathname}` } });
  }

  private sendPage(response: ServerResponse): void {
    const page = indexHtml({
      csrfToken: this.policy.csrfToken,
      readOnly: this.policy.readOnly,
      temporalUiUrl: this.services.temporalUiUrl,
      namespace: this.services.namespace,
    });
    send(response, 200, page, 'text/html; charset=utf-8', {
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Frame-Options': 'DENY',
    });
  }
}

/** Start the server; the frontend is bundled once at start (bundle.ts), so a fresh clone needs no build step. */
export async function startUiServer(services: UiServices, options: UiServerOptions = {}): Promise<RunningUi> {
  const host = options.host ?? '127.0.0.1';
  checkBindAddress(host, options.token);
  const frontend: FrontendBundle = await buildFrontend();
  const api = new UiApi(services);
  const policy: MutablePolicy = {
    host,
    port: options.port ?? 0,
    csrfToken: newSecret(),
    readOnly: options.readOnly ?? false,
    ...(options.token ? { token: options.token } : {}),
  };
  const metrics = options.metrics ?? createUiMetrics();
  const handler = new UiRequestHandler(policy, services, api, frontend, metrics, routes(api, options.pollMs ?? 500));
  const server = createServer((request, response) => {
    handler.handle(request, response).catch((thrown: unknown) => {
      const error = ensureError(thrown);
      if (response.headersSent) {
        response.end();
        return;
      }
      sendJson(response, statusOf(error), {
        error: { type: (error as { type?: string }).type ?? 'error', message: error.message },
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  policy.port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${policy.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
