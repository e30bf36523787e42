/**
 * Fineflow's own Prometheus metrics (prom-client), one registry per process, created at worker or
 * UI start from config and handed to the code that reports (stage runner, cache activities, object
 * store): no global registry, so tests and several in-process workers do not share counters.
 *
 * Label cardinality is bounded by construction: labels take stage type names (the types a worker
 * registered), the worker's pool, and closed enums (outcome, error type, store operation, cache
 * result). Run ids, stage ids and URIs never become labels; they belong in logs and traces.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_TYPES, FineflowError } from '../core/errors';

/** Stage durations run from milliseconds (no-op, cache) to hours (fine-tune). */
export const STAGE_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200];
/** Queue wait: scheduled → picked up by a worker; a backlog shows as seconds to minutes. */
export const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type StageOutcome = 'succeeded' | 'failed' | 'cancelled';
export type CacheLookupOutcome = 'hit' | 'miss' | 'bypassed' | 'disabled';
export type StoreOperation = 'put' | 'get' | 'stat' | 'list' | 'remove';

const KNOWN_ERROR_TYPES = new Set<string>(Object.values(ERROR_TYPES));

/**
 * An error type label from a bounded set: Fineflow's types, else `other` (a stage module's own types stay out of
 * labels).
 */
export function errorTypeLabel(type: string | undefined): string {
  return type !== undefined && KNOWN_ERROR_TYPES.has(type) ? type : 'other';
}

/** What the stage runner reports about one attempt. */
export interface StageAttemptMetrics {
  /** The attempt ended; `errorType` for failures (ApplicationFailure type). */
  end(outcome: StageOutcome, errorType?: string): void;
  /** A progress heartbeat: training stages report `detail.samplesPerSecond` and `detail.epoch`. */
  progress(detail: { readonly samplesPerSecond?: unknown; readonly epoch?: unknown } | undefined): void;
}

/** The reporting side every instrumented component receives (stage runner, cache, store). */
export interface FineflowMetrics {
  readonly registry: Registry;
  /** A stage attempt starts; `queueWaitSeconds` = now − the attempt's scheduled time. */
  stageStarted(stageType: string, queueWaitSeconds: number): StageAttemptMetrics;
  cacheLookup(stageType: string, outcome: CacheLookupOutcome): void;
  storeRequest(operation: StoreOperation, outcome: 'ok' | 'error', errorType?: string): void;
  storeBytes(direction: 'in' | 'out', bytes: number): void;
  /** Prometheus text exposition of this registry. */
  text(): Promise<string>;
}

export interface WorkerMetricsOptions {
  /** Constant `pool` label (a worker polls one pool). */
  readonly pool?: string;
  /** Activity slots of the worker (maxConcurrentActivityTaskExecutions). */
  readonly slots?: number;
  /** Node process metrics (heap, event loop lag, CPU); default true. */
  readonly processMetrics?: boolean;
}

function metricsFor(registry: Registry) {
  const registers = [registry];
  return {
    duration: new Histogram({
      name: 'fineflow_stage_duration_seconds',
      help: 'Wall time of one stage attempt on a worker, by stage type and outcome',
      labelNames: ['stage_type', 'outcome'],
      buckets: STAGE_DURATION_BUCKETS,
      registers,
    }),
    attempts: new Counter({
      name: 'fineflow_stage_attempts_total',
      help: 'Stage attempts ended, by stage type, outcome and error type (`none` for successes)',
      labelNames: ['stage_type', 'outcome', 'error_type'],
      registers,
    }),
    queueWait: new Histogram({
      name: 'fineflow_stage_queue_wait_seconds',
      help: 'Time from a stage attempt being scheduled to a worker starting it',
      labelNames: ['stage_type'],
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    }),
    running: new Gauge({
      name: 'fineflow_stages_running',
      help: 'Stage attempts running on this worker now',
      labelNames: ['stage_type'],
      registers,
    }),
    slots: new Gauge({
      name: 'fineflow_worker_activity_slots',
      help: 'Stage attempts this worker runs at once (its --concurrency)',
      registers,
    }),
    samplesPerSecond: new Gauge({
      name: 'fineflow_training_samples_per_second',
      help: 'Training throughput of the last epoch reported by a running stage, by stage type',
      labelNames: ['stage_type'],
      registers,
    }),
    epochs: new Counter({
      name: 'fineflow_training_epochs_total',
      help: 'Training epochs completed by stages on this worker',
      labelNames: ['stage_type'],
      registers,
    }),
    cache: new Counter({
      name: 'fineflow_cache_lookups_total',
      help:
        'Stage cache lookups by stage type and result (hit, miss, bypassed by refresh/unfingerprintable ' +
        'input, disabled)',
      labelNames: ['stage_type', 'result'],
      registers,
    }),
    storeRequests: new Counter({
      name: 'fineflow_object_store_requests_total',
      help: 'Object store (S3/MinIO) requests by operation, outcome and error type',
      labelNames: ['operation', 'outcome', 'error_type'],
      registers,
    }),
    storeBytes: new Counter({
      name: 'fineflow_object_store_bytes_total',
      help: 'Bytes moved to (in) and from (out) the object store by whole-object reads and writes',
      labelNames: ['direction'],
      registers,
    }),
  };
}

/** A registry with Fineflow's worker metrics (also used, mostly idle, by the UI server for its store calls). */
export function createFineflowMetrics(options: WorkerMetricsOptions = {}): FineflowMetrics {
  const registry = new Registry();
  if (options.pool) registry.setDefaultLabels({ pool: options.pool });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'fineflow_' });
  const m = metricsFor(registry);
  if (options.slots !== undefined) m.slots.set(options.slots);
  return {
    registry,
    stageStarted(stageType, queueWaitSeconds) {
      const started = process.hrtime.bigint();
      if (Number.isFinite(queueWaitSeconds))
        m.queueWait.observe({ stage_type: stageType }, Math.max(0, queueWaitSeconds));
      m.running.inc({ stage_type: stageType });
      let lastEpoch = 0;
      let ended = false;
      return {
        end(outcome, errorType) {
          if (ended) return;
          ended = true;
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          m.running.dec({ stage_type: stageType });
          m.duration.observe({ stage_type: stageType, outcome }, seconds);
          const error = outcome === 'succeeded' ? 'none' : errorTypeLabel(errorType);
          m.attempts.inc({ stage_type: stageType, outcome, error_type: error });
        },
        progress(detail) {
          const rate = detail?.samplesPerSecond;
          if (typeof rate === 'number' && Number.isFinite(rate) && rate >= 0)
            m.samplesPerSecond.set({ stage_type: stageType }, rate);
          const epoch = detail?.epoch;
          // One increment per new epoch reported (training heartbeats once per epoch); a resumed
          // attempt counts only the epochs it trains, not the ones its checkpoint holds.
          if (typeof epoch === 'number' && Number.isInteger(epoch) && epoch > lastEpoch) {
            m.epochs.inc({ stage_type: stageType });
            lastEpoch = epoch;
          }
        },
      };
    },
    cacheLookup(stageType, outcome) {
      m.cache.inc({ stage_type: stageType, result: outcome });
    },
    storeRequest(operation, outcome, errorType) {
      m.storeRequests.inc({
        operation,
        outcome,
        error_type: outcome === 'ok' ? 'none' : errorTypeLabel(errorType),
      });
    },
    storeBytes(direction, bytes) {
      if (bytes > 0) m.storeBytes.inc({ direction }, bytes);
    },
    text: () => registry.metrics(),
  };
}

/** The Fineflow error type of a thrown value, for the `error_type` label. */
export function errorTypeOf(thrown: unknown): string {
  return thrown instanceof FineflowError ? thrown.type : 'other';
}
