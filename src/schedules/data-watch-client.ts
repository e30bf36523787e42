/**
 * Starting, reconfiguring and stopping the `dataWatcher` workflows of a pipeline's `newData`
 * triggers. Used by `fineflow schedule apply|describe|delete`; receives a connected Client.
 *
 * Identity: one watcher per (pipeline, watched path), id `fineflow-<pipeline>-newdata-<8 hex of
 * sha256(path)>`. A changed debounce, poll interval, overlap or plan is sent to the running
 * watcher with the `configure` signal (it keeps its state: the versions it already ran); a
 * changed path is a different watcher (the old one is stopped, the new one takes a baseline).
 */
import {
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { formatHumanDuration } from '../core/spec/durations';
import { redactUrisIn } from '../core/security/redact';
import { isDeadlineExceeded } from '../client/run-client';
import { DependencyUnavailableError } from '../core/errors';
import type { Plan } from '../core/spec/plan-types';
import { readNewDataTriggers, type NewDataTrigger } from './schedule-block';
import {
  DATA_WATCHER_QUERIES,
  DATA_WATCHER_SIGNALS,
  WATCHER_MEMO_CONFIG_DIGEST,
  type DataWatcherConfig,
  type DataWatcherInput,
  type DataWatcherStatus,
} from '../core/schedules/data-watch-types';
import { WORKFLOW_TYPES } from '../core/run/run-types';
import { runningWatchersQuery, searchAttributesForWatcher } from '../core/schedules/schedule-search-attributes';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { planDigest } from './schedules';
import { decodeHistoryPayload } from '../client/temporal-connection';
import { CONTROL_POOL, taskQueueForPool } from '../core/run/task-queues';
// Started by function reference, so the compiler checks `args` against the workflow's parameters.
import { dataWatcher } from '../../workflows/data-watcher';

export function watcherIdFor(pipeline: string, path: string): string {
  return `fineflow-${pipeline}-newdata-${sha256Hex(path).slice(0, 8)}`;
}

export function buildWatcherConfig(
  plan: Plan,
  trigger: NewDataTrigger,
  options: { readonly bucket?: string; readonly uiUrl?: string } = {},
): DataWatcherConfig {
  const digest = planDigest(plan);
  const timing = {
    path: trigger.path,
    pollIntervalMs: trigger.pollIntervalMs,
    debounceMs: trigger.debounceMs,
    overlap: trigger.overlap,
    minObjects: trigger.minObjects,
    // Only when written, so the digests of existing watchers stay as they were.
    ...(trigger.onRevert ? { onRevert: trigger.onRevert } : {}),
  };
  return {
    plan,
    planDigest: digest,
    ...timing,
    ...(options.bucket ? { bucket: options.bucket } : {}),
    ...(options.uiUrl ? { uiUrl: options.uiUrl } : {}),
    // The UI link only when set, so watchers applied without one keep their digest.
    configDigest: sha256Hex(
      canonicalJson({
        digest,
        ...timing,
        bucket: options.bucket ?? null,
        ...(options.uiUrl ? { uiUrl: options.uiUrl } : {}),
      }),
    ),
    appliedAt: new Date().toISOString(),
  };
}

export type WatcherOutcome = 'started' | 'updated' | 'unchanged' | 'stopped';

export interface WatcherChange {
  readonly watcherId: string;
  readonly path: string;
  readonly outcome: WatcherOutcome;
}

export interface WatcherListing {
  readonly watcherId: string;
  readonly pipeline: string;
  readonly startTime: string;
  /** The watched prefix, from the watcher's memo (known without a control worker to answer its query). */
  readonly path?: string;
}

/**
 * A watcher as `schedule list` and the UI show it: its live state when a control worker answers, else what
 * visibility knows.
 */
export type WatcherRow = DataWatcherStatus | UnansweredWatcher;

/** A watcher whose state query got no answer: why in plain words, and what Temporal said. */
export interface UnansweredWatcher {
  readonly watcherId: string;
  readonly pipeline: string;
  readonly path?: string;
  /** What is wrong and what to do (see {@link unansweredWatcherText}). */
  readonly error: string;
  /** Temporal's own words (gRPC status and message), for an operator: `--verbose`, the UI server's log. */
  readonly detail?: string;
}

/** A failed {@link DataWatchClient.status} as a row's `error` and `detail` (another error: its message). */
export function unansweredOf(thrown: unknown): { readonly error: string; readonly detail?: string } {
  const details = (thrown as { details?: { reason?: unknown; detail?: unknown } } | undefined)?.details;
  if (thrown instanceof DependencyUnavailableError && typeof details?.reason === 'string')
    return { error: details.reason, ...(typeof details.detail === 'string' ? { detail: details.detail } : {}) };
  return { error: thrown instanceof Error ? thrown.message : String(thrown) };
}

/** Characters of Temporal's error text kept as a row's `detail`. */
const DETAIL_CHARS = 500;

/** An error and its causes' messages, as one line: what Temporal said about a query. */
function errorChainText(thrown: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = thrown; current !== undefined && parts.length < 5;) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  const text = redactUrisIn(parts.join(': '));
  return text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS - 1)}…` : text;
}

/**
 * Why a watcher's state query failed, in plain words (what is wrong, what to do), and Temporal's text apart: the
 * message ended in the SDK's gRPC text ("Failed to query Workflow"), which says neither.
 */
export function unansweredWatcherText(
  thrown: unknown,
  timeoutMs: number,
  deadline: number,
): { readonly error: string; readonly detail: string } {
  const detail = errorChainText(thrown);
  const codes: unknown[] = [];
  for (let current: unknown = thrown; current instanceof Error; current = current.cause)
    codes.push((current as { code?: unknown }).code);
  let error: string;
  if (codes.includes(14))
    error =
      'Temporal did not answer: is the stack up? `fineflow dev status` checks it ' +
      '(`fineflow dev up` starts a local one)';
  else if (isDeadlineExceeded(thrown, deadline))
    error =
      `no control worker answered within ${formatHumanDuration(timeoutMs)}: none is running, or it is busy. Start ` +
      'one with `fineflow worker --pool control`; `fineflow dev status` says which pools have workers';
  else if (thrown instanceof QueryNotRegisteredError)
    error =
      'the watcher refused its state query: its control worker may run another Fineflow version. Restart it on ' +
      'this one (`fineflow worker --pool control`); its log says more';
  else
    error = 'the watcher could not say its state (its workflow task may be failing): the control worker’s log says why';
  return { error, detail };
}

export interface DataWatchClientOptions {
  /** Task queue of the watcher workflows; default the control pool's. Tests use their own. */
  readonly workflowTaskQueue?: string;
  readonly bucket?: string;
  /** Polls per execution before continue-as-new (tests use a small number). */
  readonly pollsPerExecution?: number;
  /** Base URL of `fineflow ui` (FINEFLOW_UI_URL): runs of schedules and watchers link back to their page there. */
  readonly uiUrl?: string;
}

export class DataWatchClient {
  private readonly taskQueue: string;

  constructor(
    private readonly client: Client,
    private readonly options: DataWatchClientOptions = {},
  ) {
    this.taskQueue = options.workflowTaskQueue ?? taskQueueForPool(CONTROL_POOL);
  }

  /** Memo digest of a running watcher, or undefined when it is not running. */
  private async runningDigest(watcherId: string): Promise<{ running: boolean; digest?: string }> {
    try {
      const description = await this.client.workflow.getHandle(watcherId).describe();
      if (description.status.name !== 'RUNNING') return { running: false };
      const digest = description.memo?.[WATCHER_MEMO_CONFIG_DIGEST];
      return { running: true, ...(typeof digest === 'string' ? { digest } : {}) };
    } catch (thrown) {
      if (thrown instanceof WorkflowNotFoundError) return { running: false };
      throw thrown;
    }
  }

  /** Make the running watchers of `plan.pipeline` match its `newData` triggers. */
  async apply(plan: Plan): Promise<WatcherChange[]> {
    const pipeline = plan.pipeline.name;
    const desired = readNewDataTriggers(plan).map((trigger) => {
      const config = buildWatcherConfig(plan, trigger, {
        ...(this.options.bucket ? { bucket: this.options.bucket } : {}),
        ...(this.options.uiUrl ? { uiUrl: this.options.uiUrl } : {}),
      });
      return { watcherId: watcherIdFor(pipeline, trigger.path), config };
    });
    const changes: WatcherChange[] = [];
    for (const { watcherId, config } of desired) {
      const current = await this.runningDigest(watcherId);
      if (current.running && current.digest === config.configDigest) {
        changes.push({ watcherId, path: config.path, outcome: 'unchanged' });
      } else if (current.running) {
        await this.client.workflow.getHandle(watcherId).signal(DATA_WATCHER_SIGNALS.configure, config);
        changes.push({ watcherId, path: config.path, outcome: 'updated' });
      } else {
        changes.push({ watcherId, path: config.path, outcome: await this.start(pipeline, watcherId, config) });
      }
    }
    const keep = new Set(desired.map((d) => d.watcherId));
    for (const stopped of await this.stopAll(pipeline, keep, 'removed from the pipeline file')) changes.push(stopped);
    return changes;
  }

  private async start(pipeline: string, watcherId: string, config: DataWatcherConfig): Promise<WatcherOutcome> {
    const input: DataWatcherInput = {
      watcherId,
      config,
      ...(this.options.pollsPerExecution ? { pollsPerExecution: this.options.pollsPerExecution } : {}),
    };
    try {
      await this.client.workflow.start(dataWatcher, {
        workflowId: watcherId,
        taskQueue: this.taskQueue,
        args: [input],
        memo: {
          pipeline,
          path: config.path,
          [WATCHER_MEMO_CONFIG_DIGEST]: config.configDigest,
          planDigest: config.planDigest,
        },
        typedSearchAttributes: searchAttributesForWatcher(pipeline),
        staticSummary: `watch ${config.path} for new data`,
      });
      return 'started';
    } catch (thrown) {
      // Started by a concurrent apply in between: send it this config instead.
      if (!(thrown instanceof WorkflowExecutionAlreadyStartedError)) throw thrown;
      await this.client.workflow.getHandle(watcherId).signal(DATA_WATCHER_SIGNALS.configure, config);
      return 'updated';
    }
  }

  /** Terminate the running watchers of a pipeline, except `keep`. Runs they started go on. */
  async stopAll(
    pipeline: string,
    keep: ReadonlySet<string> = new Set(),
    reason = 'fineflow schedule delete',
  ): Promise<WatcherChange[]> {
    const stopped: WatcherChange[] = [];
    for (const watcher of await this.list(pipeline)) {
      if (keep.has(watcher.watcherId)) continue;
      try {
        const handle = this.client.workflow.getHandle(watcher.watcherId);
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') continue;
        const path = description.memo?.path;
        await handle.terminate(reason);
        stopped.push({ watcherId: watcher.watcherId, path: typeof path === 'string' ? path : '', outcome: 'stopped' });
      } catch (thrown) {
        if (!(thrown instanceof WorkflowNotFoundError)) throw thrown;
      }
    }
    return stopped;
  }

  /**
   * Stop the watchers of the triggers in `plan` by id (visibility may not list a just-started one yet), then any
   * others.
   */
  async stopForPlan(plan: Plan | undefined, pipeline: string): Promise<WatcherChange[]> {
    const stopped: WatcherChange[] = [];
    for (const trigger of plan ? readNewDataTriggers(plan) : []) {
      const watcherId = watcherIdFor(pipeline, trigger.path);
      if (!(await this.runningDigest(watcherId)).running) continue;
      await this.client.workflow.getHandle(watcherId).terminate('fineflow schedule delete');
      stopped.push({ watcherId, path: trigger.path, outcome: 'stopped' });
    }
    return [...stopped, ...(await this.stopAll(pipeline))];
  }

  /**
   * The config a watcher works with now, read from its latest execution's history without a worker: the input it
   * started (or continued as new) with, then each `configure` signal it received since, the last one winning.
   * Undefined when the watcher no longer exists.
   */
  async appliedConfig(watcherId: string): Promise<DataWatcherConfig | undefined> {
    let events;
    try {
      events = (await this.client.workflow.getHandle(watcherId).fetchHistory()).events ?? [];
    } catch (thrown) {
      if (thrown instanceof WorkflowNotFoundError) return undefined;
      throw thrown;
    }
    const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!started) throw new DependencyUnavailableError(`watcher ${watcherId} has no recorded input`, { watcherId });
    let config = ((await decodeHistoryPayload(this.client, started)) as Partial<DataWatcherInput> | undefined)?.config;
    for (const event of events) {
      const signal = event.workflowExecutionSignaledEventAttributes;
      const payload = signal?.signalName === DATA_WATCHER_SIGNALS.configure ? signal.input?.payloads?.[0] : undefined;
      if (payload) config = (await decodeHistoryPayload(this.client, payload)) as DataWatcherConfig;
    }
    if (!config?.plan)
      throw new DependencyUnavailableError(`watcher ${watcherId} has no plan in its history`, { watcherId });
    return config;
  }

  /** Running watchers (of one pipeline, or all). */
  async list(pipeline?: string): Promise<WatcherListing[]> {
    const query = pipeline
      ? runningWatchersQuery(pipeline)
      : `WorkflowType = '${WORKFLOW_TYPES.dataWatcher}' AND ExecutionStatus = 'Running'`;
    const found: WatcherListing[] = [];
    for await (const info of this.client.workflow.list({ query })) {
      const memoPipeline = info.memo?.pipeline;
      const memoPath = info.memo?.path;
      found.push({
        watcherId: info.workflowId,
        pipeline: typeof memoPipeline === 'string' ? memoPipeline : '',
        startTime: info.startTime.toISOString(),
        ...(typeof memoPath === 'string' ? { path: memoPath } : {}),
      });
    }
    return found;
  }

  /** Running watchers with their live state (each query bounded by `timeoutMs`); an unanswered one carries why. */
  async listWithState(timeoutMs = 3000): Promise<{ readonly pipeline: string; readonly row: WatcherRow }[]> {
    const listed = await this.list();
    return Promise.all(
      listed.map(async (w) => ({
        pipeline: w.pipeline,
        row: await this.status(w.watcherId, timeoutMs).then(
          (status): WatcherRow => status,
          (thrown: unknown): WatcherRow => ({
            watcherId: w.watcherId,
            pipeline: w.pipeline,
            ...(w.path !== undefined ? { path: w.path } : {}),
            ...unansweredOf(thrown),
          }),
        ),
      })),
    );
  }

  /** Send a running watcher one of its signals (`pause`, `unpause`, `trigger`). */
  async signal(
    watcherId: string,
    name: (typeof DATA_WATCHER_SIGNALS)['pause' | 'unpause' | 'trigger'],
    ...args: unknown[]
  ): Promise<void> {
    await this.client.workflow.getHandle(watcherId).signal(name, ...args);
  }

  /**
   * Live state of a watcher. A query needs a control worker to answer; without one it fails
   * after `timeoutMs` instead of hanging.
   */
  async status(watcherId: string, timeoutMs = 5000): Promise<DataWatcherStatus> {
    const handle = this.client.workflow.getHandle(watcherId);
    const deadline = Date.now() + timeoutMs;
    try {
      return await this.client.connection.withDeadline(deadline, () =>
        handle.query<DataWatcherStatus>(DATA_WATCHER_QUERIES.status),
      );
    } catch (thrown) {
      if (thrown instanceof WorkflowNotFoundError) throw thrown;
      const { error, detail } = unansweredWatcherText(thrown, timeoutMs, deadline);
      throw new DependencyUnavailableError(
        `watcher ${watcherId}: state unavailable: ${error}`,
        { watcherId, reason: error, detail },
        { cause: thrown },
      );
    }
  }
}
