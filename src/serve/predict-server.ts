/**
 * `fineflow serve`'s HTTP server: online predictions from one model, through the same records,
 * preprocessing and batch scoring as `fineflow predict` (src/ml/predict/). No framework: node:http.
 *
 * - `GET /healthz`: the process answers (200). `GET /readyz`: 200 once the model is loaded, 503 before.
 * - `GET /model`: what the model takes and returns (kind, columns or image size, classes).
 * - `POST /predict` with `{"instances": [...]}` (src/ml/predict/serve-request.ts): 200 with one
 *   prediction per instance, and `unknownCategories` when an instance held a category the model
 *   never saw. Errors are JSON `{error}` with 400 (malformed, or not what the model
 *   takes: the message names `instances[i]` and the column), 413 (body or batch too large), 415
 *   (not JSON), 404/405, 401 (token), 503 (not ready).
 * - Loopback by default; any other bind address needs a token, sent as `Authorization: Bearer`
 *   (the rule of `fineflow ui`, src/ui/access.ts). On loopback the Host header must name the
 *   server, so a web page cannot reach it through DNS rebinding.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidInputError, ResourceLimitError, ensureError } from '../core/errors';
import { predictBatch, predictionOf, type Prediction, type Predictor } from '../ml/predict/predictor';
import { DEFAULT_SERVE_LIMITS, predictRequestRecords, type ServeLimits } from '../ml/predict/serve-request';
import { UnknownCategoryTally, type PredictionSummary } from '../ml/predict/write-predictions';
import { isLoopback, sameSecret } from '../ui/access';

export interface PredictServerOptions {
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
  /** Required as `Authorization: Bearer …` on every request except /healthz; mandatory off loopback. */
  readonly token?: string;
  /** Largest request body in bytes. Default 16 MiB. */
  readonly maxBodyBytes?: number;
  readonly limits?: Partial<ServeLimits>;
}

export interface RunningPredictServer {
  readonly url: string;
  readonly server: Server;
  /** Resolves once `predictor` resolves (the server answers /healthz and 503 on /readyz before). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const MIN_TOKEN_LENGTH = 16;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Fails fast at start: a server others can reach must not be open to them. */
export function checkServeBindAddress(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token)
    throw new InvalidInputError(
      `fineflow serve: listening on ${host} makes the model reachable from other machines; set FINEFLOW_SERVE_TOKEN ` +
        'so every request must carry it as Authorization: Bearer …, or keep the default 127.0.0.1 behind a proxy',
      { host },
    );
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
    throw new InvalidInputError(`fineflow serve: the token must be at least ${MIN_TOKEN_LENGTH} characters`, {});
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}

async function readJson(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
    throw new HttpProblem(415, 'send the instances as JSON (Content-Type: application/json)');
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HttpProblem(413, `request body larger than ${maxBytes} bytes; split the batch`);
  // Read an oversized body to its end without keeping it, so the client gets the 413 (requestTimeout bounds it).
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    request.on('end', () =>
      size > maxBytes
        ? reject(new HttpProblem(413, `request body larger than ${maxBytes} bytes; split the batch`))
        : resolve(Buffer.concat(chunks)),
    );
    request.on('error', reject);
  });
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpProblem(400, `the body is not valid JSON (${ensureError(error).message})`);
  }
}

function hostAllowed(host: string, port: number, hostHeader: string | undefined): boolean {
  if (!isLoopback(host)) return true; // the token guards a public bind; proxies rewrite Host
  return ['127.0.0.1', 'localhost', '[::1]'].some((name) => hostHeader === `${name}:${port}`);
}

/** What a client needs to build instances: kind, columns or image shape, classes. */
export function modelDescription(predictor: Predictor): Record<string, unknown> {
  const { preprocessing } = predictor;
  const takes =
    preprocessing.kind === 'table'
      ? { kind: 'table', columns: preprocessing.columns.map((column) => column.name) }
      : { kind: 'image', shape: preprocessing.featureShape, instance: '{"b64": "<base64 PNG or JPEG>"}' };
  return { model: predictor.uri, resolved: predictor.resolvedUri, classes: predictor.classes, takes };
}

/** The answer to one `POST /predict`. */
export interface PredictAnswer {
  readonly predictions: Prediction[];
  /**
   * Present when an instance held a category the model never saw (scored as a missing cell): column → value →
   * instances, bounded as the predict stage's summary is (src/ml/predict/write-predictions.ts).
   */
  readonly unknownCategories?: PredictionSummary['unknownCategories'];
}

/** Predictions for the instances of one request body: the code `fineflow predict` scores a batch with. */
export function predictInstances(predictor: Predictor, body: unknown, limits: ServeLimits): PredictAnswer {
  const records = predictRequestRecords(body, predictor.preprocessing.kind, limits);
  const tally = new UnknownCategoryTally(predictor.preprocessing);
  for (const record of records) tally.add(record);
  const probabilities = predictBatch(predictor, records);
  const k = predictor.classes.length;
  const predictions = records.map((record, i) =>
    predictionOf(predictor.classes, record.where, probabilities.subarray(i * k, (i + 1) * k)),
  );
  const unknownCategories = tally.counts;
  return Object.keys(unknownCategories).length > 0 ? { predictions, unknownCategories } : { predictions };
}

function statusOf(error: Error): number {
  if (error instanceof HttpProblem) return error.status;
  if (error instanceof ResourceLimitError) return 413;
  if (error instanceof InvalidInputError) return 400;
  return 500;
}

export async function startPredictServer(
  predictor: Promise<Predictor>,
  options: PredictServerOptions = {},
): Promise<RunningPredictServer> {
  const host = options.host ?? '127.0.0.1';
  checkServeBindAddress(host, options.token);
  const limits: ServeLimits = { ...DEFAULT_SERVE_LIMITS, ...options.limits };
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let loaded: Predictor | undefined;
  let loadError: Error | undefined;
  const ready = predictor.then(
    (value) => {
      loaded = value;
    },
    (error: unknown) => {
      loadError = ensureError(error);
      throw loadError;
    },
  );
  ready.catch(() => undefined); // the caller awaits `ready`; the server reports it on /readyz
  let port = options.port ?? 0;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://serve.invalid').pathname;
    if (!hostAllowed(host, port, request.headers.host))
      throw new HttpProblem(400, 'unexpected Host header (DNS rebinding protection)');
    if (path === '/healthz' && request.method === 'GET') return sendJson(response, 200, { status: 'ok' });
    if (options.token) {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!sameSecret(bearer, options.token))
        throw new HttpProblem(401, 'this server needs its token: send Authorization: Bearer …');
    }
    const routes: Record<string, string> = { '/readyz': 'GET', '/model': 'GET', '/predict': 'POST' };
    const method = routes[path];
    if (!method) throw new HttpProblem(404, `no ${path} here; use GET /healthz, /readyz, /model or POST /predict`);
    if (request.method !== method) throw new HttpProblem(405, `${path} takes ${method}`);
    if (!loaded) {
      const why = loadError ? `the model failed to load: ${loadError.message}` : 'the model is still loading';
      return sendJson(response, 503, { status: loadError ? 'failed' : 'loading', error: why });
    }
    if (path === '/readyz') return sendJson(response, 200, { status: 'ready', model: loaded.uri });
    if (path === '/model') return sendJson(response, 200, modelDescription(loaded));
    const body = await readJson(request, maxBodyBytes);
    sendJson(response, 200, { model: loaded.uri, ...predictInstances(loaded, body, limits) });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((thrown: unknown) => {
      const error = ensureError(thrown);
      const status = statusOf(error);
      // An unexpected failure's details stay in the server's log, not in the answer.
      const message = status === 500 ? 'internal error; see the server log' : error.message;
      if (status === 500) process.stderr.write(`fineflow serve: ${error.stack ?? error.message}\n`);
      if (!response.headersSent) sendJson(response, status, { error: message });
      else response.destroy();
    });
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  // Longer than the usual 60 s idle timeout of load balancers and client pools, so the server is
  // not the side that closes an idle keep-alive connection while a client reuses it (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    server,
    ready,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
