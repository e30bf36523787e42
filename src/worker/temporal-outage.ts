/**
 * Tells a worker's operator when the running worker loses Temporal and when it has it back, in two lines instead
 * of the Temporal core's retry warnings (`gRPC call poll_activity_task_queue retried 7 times error=Status {…}`, one
 * per poller every few seconds for as long as the server is gone).
 *
 * The core's log is forwarded to the worker's logger (src/cli/commands/worker.ts); {@link TemporalOutageWatch.consume}
 * reads each entry there. Only once the worker runs ({@link TemporalOutageWatch.start}): before that a failing
 * connection is an error the start-up reports and exits on. The first retry line marks Temporal lost; from then on
 * the watch asks Temporal (a cheap call with a deadline) every few seconds until it answers, and says how long it
 * was gone. The retry lines are dropped while it is lost (the two lines say it all); FINEFLOW_DEBUG keeps them.
 */
import { formatHumanDuration } from '../core/spec/durations';

/** The core's retry warnings: `gRPC call <rpc> retried <n> times`, logged by this target. */
const CORE_RETRY_TARGET = 'temporalio_client::retry';
const CORE_RETRY_MESSAGE = /^gRPC call (\w+) retried \d+ times/;

/** The reason quoted from the core's error text (`Status { code: Unavailable, message: "tcp connect error", … }`). */
const MAX_REASON_CHARS = 160;

/** A core retry warning, read: which call failed and why (a short reason, never the whole debug dump). */
export interface CoreRetry {
  readonly call: string;
  readonly reason: string;
}

/** The core's retry warning in `message`/`meta` (a forwarded core log entry), or undefined for any other entry. */
export function coreRetry(message: string, meta: Readonly<Record<string, unknown>> | undefined): CoreRetry | undefined {
  if (meta?.target !== CORE_RETRY_TARGET) return undefined;
  const call = CORE_RETRY_MESSAGE.exec(message)?.[1];
  if (call === undefined) return undefined;
  const error = typeof meta.error === 'string' ? meta.error : '';
  const quoted = /message: "((?:[^"\\]|\\.)*)"/.exec(error)?.[1];
  const code = /code: (\w+)/.exec(error)?.[1];
  const reason = quoted || code || 'no answer';
  return { call, reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason };
}

/** What the worker was doing when Temporal went away (worker.getStatus()). */
export interface WorkerActivity {
  readonly taskQueue: string;
  readonly runningStages: number;
}

export type OutageEvent =
  | ({ readonly kind: 'lost'; readonly at: Date } & CoreRetry & WorkerActivity)
  | ({ readonly kind: 'back'; readonly at: Date; readonly lostAt: Date; readonly downMs: number } & WorkerActivity);

function stagesRunning(count: number): string {
  return count === 0 ? 'no stage running' : count === 1 ? '1 stage running' : `${count} stages running`;
}

/** The line a terminal shows (stderr, without the `fineflow worker: ` prefix the command adds). */
export function outageText(event: OutageEvent, address: string): string {
  if (event.kind === 'lost')
    return (
      `lost Temporal at ${address} (${event.reason}) while polling task queue ${event.taskQueue} ` +
      `with ${stagesRunning(event.runningStages)}; retrying until it answers (running stages go on)`
    );
  return (
    `Temporal at ${address} answers again after ${formatHumanDuration(event.downMs)} ` +
    `(lost at ${event.lostAt.toISOString()}); polling task queue ${event.taskQueue}, ` +
    stagesRunning(event.runningStages)
  );
}

/** The JSON line (FINEFLOW_LOG_FORMAT=json or --json), with the text as `message`. */
export function outageJson(event: OutageEvent, fields: { readonly pool: string; readonly address: string }): string {
  const common = {
    time: event.at.toISOString(),
    pool: fields.pool,
    pid: process.pid,
    address: fields.address,
    taskQueue: event.taskQueue,
    runningStages: event.runningStages,
    message: outageText(event, fields.address),
  };
  const line =
    event.kind === 'lost'
      ? { event: 'temporal-lost', level: 'warn', ...common, call: event.call, reason: event.reason }
      : { event: 'temporal-back', level: 'info', ...common, lostAt: event.lostAt.toISOString(), downMs: event.downMs };
  return `${JSON.stringify(line)}\n`;
}

export interface OutageWatchOptions {
  readonly report: (event: OutageEvent) => void;
  /** How long after a failed probe the next one starts (default 2 s). */
  readonly probeIntervalMs?: number;
  readonly now?: () => number;
}

/** What the running worker lends the watch: a probe of Temporal and what it is doing. */
export interface WatchedWorker {
  /** Resolves true when Temporal answered (within the probe's own deadline), false otherwise; never rejects. */
  probe(): Promise<boolean>;
  activity(): WorkerActivity;
}

export const DEFAULT_PROBE_INTERVAL_MS = 2_000;

/** See the module docblock. One per worker process. */
export class TemporalOutageWatch {
  private worker: WatchedWorker | undefined;
  private lostAt: number | undefined;
  /** When Temporal last answered again: a retry warning logged before it is a late one of the outage that ended. */
  private backAt = -Infinity;
  private stopped = false;
  private pause: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: OutageWatchOptions) {}

  /** The worker runs: from now on the core's retry warnings are read as an outage. */
  start(worker: WatchedWorker): void {
    this.worker = worker;
  }

  /** The worker stops: an outage in progress is no longer reported, and no probe is left pending. */
  stop(): void {
    this.stopped = true;
    this.worker = undefined;
    clearTimeout(this.pause);
    this.wake?.();
  }

  /** Whether Temporal is lost now (between a `lost` and a `back` report). */
  get lost(): boolean {
    return this.lostAt !== undefined;
  }

  /**
   * Reads one log entry; true when it is a core retry warning of the running worker, which the logger then drops.
   * The first one reports `lost` and starts probing. `loggedAt` is when the core logged it (the forwarded entries
   * reach the logger up to 100 ms late, sorted).
   */
  consume(message: string, meta: Readonly<Record<string, unknown>> | undefined, loggedAt = this.now()): boolean {
    const worker = this.worker;
    if (!worker || this.stopped) return false;
    const retry = coreRetry(message, meta);
    if (!retry) return false;
    if (this.lostAt === undefined && loggedAt > this.backAt) {
      const now = this.now();
      this.lostAt = now;
      this.options.report({ kind: 'lost', at: new Date(now), ...retry, ...worker.activity() });
      void this.probeUntilBack(worker, now);
    }
    return true;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async probeUntilBack(worker: WatchedWorker, lostAt: number): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      if (await worker.probe()) break;
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.pause = setTimeout(resolve, this.options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
      });
    }
    if (this.stopped) return;
    const now = this.now();
    this.lostAt = undefined;
    this.backAt = now;
    this.options.report({
      kind: 'back',
      at: new Date(now),
      lostAt: new Date(lostAt),
      downMs: now - lostAt,
      ...worker.activity(),
    });
  }
}
