/**
 * Metrics of `fineflow ui` (served at its `/metrics`, behind the same access checks as the API):
 * requests by route pattern (never by path, which carries run ids), answer times, open event
 * streams, plus the Node process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface UiMetrics {
  readonly registry: Registry;
  /** A request ended; `route` is the matched pattern (`/api/runs/:id`), `page`, `asset`, … */
  request(method: string, route: string, status: number, seconds: number): void;
  /** An event stream opened; call the returned function when it closes. */
  streamOpened(): () => void;
  text(): Promise<string>;
}

export function createUiMetrics(): UiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fineflow_' });
  const registers = [registry];
  const requests = new Counter({
    name: 'fineflow_ui_requests_total',
    help: 'HTTP requests to fineflow ui by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'fineflow_ui_request_duration_seconds',
    help: 'Time to answer a fineflow ui request (event streams excluded), by route pattern',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const streams = new Gauge({
    name: 'fineflow_ui_event_streams',
    help: 'Server-sent event streams (live run state, log follow) open now',
    registers,
  });
  return {
    registry,
    request(method, route, status, seconds) {
      // Only methods the server knows become labels; anything else is `other`.
      const shown = method === 'GET' || method === 'POST' ? method : 'other';
      requests.inc({ method: shown, route, status: String(status) });
      if (!route.endsWith('/events')) duration.observe({ route }, seconds);
    },
    streamOpened() {
      streams.inc();
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        streams.dec();
      };
    },
    text: () => registry.metrics(),
  };
}
