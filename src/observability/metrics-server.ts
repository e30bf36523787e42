/**
 * The `/metrics` endpoint of a worker: Fineflow's registry, followed by the Temporal SDK's own
 * metrics (task slots, poll latency, workflow task times, sticky cache…) that the SDK's core
 * exports on a private loopback port. One scrape target per worker, so a Prometheus job and the
 * Grafana dashboard see both families with the same `instance` label. The same listener answers
 * the Kubernetes probes: `/healthz` (the process is not wedged) and `/readyz` (the worker polls).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DependencyUnavailableError } from '../core/errors';
import type { FineflowMetrics } from './metrics';

export interface MetricsServerOptions {
  readonly host: string;
  /** 0 = any free port (tests). */
  readonly port: number;
  readonly metrics: FineflowMetrics;
  /** The SDK exporter's URL (http://127.0.0.1:PORT/metrics), appended to every answer when set. */
  readonly sdkMetricsUrl?: string;
  /** The worker's state for `/healthz` and `/readyz`; without it both answer 404. */
  readonly health?: () => WorkerHealth;
}

/**
 * `live`: the worker is starting or running (a failed or stopped worker should be restarted);
 * `ready`: it polls its task queue now (a draining worker takes no new work, so leaves the Service).
 */
export interface WorkerHealth {
  readonly live: boolean;
  readonly ready: boolean;
  readonly state: string;
  readonly pool: string;
}

export interface RunningMetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** How long a scrape waits for the SDK's exporter before answering with Fineflow's metrics alone. */
const SDK_SCRAPE_TIMEOUT_MS = 2_000;
/** The SDK's page is a few hundred lines; anything far larger is not its exporter. */
const SDK_SCRAPE_MAX_BYTES = 4 * 1024 * 1024;

async function sdkMetrics(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
  if (!response.ok) throw new DependencyUnavailableError(`Temporal SDK metrics at ${url}: HTTP ${response.status}`);
  const text = await response.text();
  return text.length > SDK_SCRAPE_MAX_BYTES ? '' : text;
}

/** A free loopback port for the SDK's exporter (it needs a fixed bind address before the runtime starts). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && options.health && (path === '/healthz' || path === '/readyz')) {
      const health = options.health();
      const ok = path === '/healthz' ? health.live : health.ready;
      response.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json; charset=utf-8' });
      response.end(`${JSON.stringify({ ok, ...health })}\n`);
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      const known = options.health ? 'GET /metrics, /healthz or /readyz' : 'GET /metrics';
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`only ${known} here\n`);
      return;
    }
    void (async () => {
      const own = await options.metrics.text();
      // A missing SDK page must not hide Fineflow's: the scrape still succeeds, and says why in a comment.
      let sdk = '';
      if (options.sdkMetricsUrl) {
        sdk = await sdkMetrics(options.sdkMetricsUrl).catch(
          (error: unknown) =>
            `# Temporal SDK metrics unavailable: ${error instanceof Error ? error.message : 'error'}\n`,
        );
      }
      response.writeHead(200, { 'Content-Type': options.metrics.registry.contentType });
      response.end(sdk ? `${own}\n${sdk}` : own);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
