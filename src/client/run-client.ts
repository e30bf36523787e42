/**
 * The run client: submit a plan as a `pipelineRun` workflow, list runs, read a run's live
 * state, retry a waiting stage, cancel. Used by the CLI and the tests; takes a connected
 * Temporal Client (src/client/temporal-connection.ts opens one from config).
 */
import { randomBytes } from 'node:crypto';
import {
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { DependencyUnavailableError, InvalidInputError, ensureError } from '../core/errors';
import { shownInput } from '../core/shown-input';
import { retryStageUpdate, searchAttributeKeys, type RetryStageResult } from '../core/run/run-definitions';
import {
  LISTED_RUN_STATUSES,
  RUN_STATUSES,
  RUN_WORKFLOW_TASK_TIMEOUT_MS,
  WORKFLOW_TYPES,
  type PipelineRunInput,
  type PipelineRunResult,
  type ReusedStageOutput,
  type RetryStageRequest,
  type RunState,
  type EndedOutsideStatus,
  type RunStatus,
  type RunTrigger,
  type StageState,
} from '../core/run/run-types';
import { quoteQueryValue } from '../core/schedules/schedule-search-attributes';
import { CONTROL_POOL, poolOfTaskQueue, taskQueueForPool } from '../core/run/task-queues';
import { RUN_PAGE_MEMO, runPageDetails, runPageUrl } from '../core/run/run-links';
import { isTemporalUnreachable, temporalAddressOf } from './temporal-connection';
import { paramsAfterRetries, readRecordedRunInput, readRunInput } from './run-input';
import { paramValues } from '../core/run/params';
import type { ObjectStore } from '../storage/object-store';
import { readStoredRunState } from '../storage/run-state-store';
import type { Plan, PlannedStage } from '../core/spec/plan-types';
import { WorkerPresence, processAlive, workflowQueuePollerSet } from './worker-presence';
import {
  cancelledRunResult,
  queryRunStatePages,
  readRunOutcome,
  withFullStages,
  type RunTableSource,
} from './run-result';
import { withLiveStages } from './live-stages';
import { endedOutside } from '../core/run/ended-outside';
import { RunTracker } from '../core/run/run-tracker';
import { stagesAfterExecution } from '../core/run/stages-after-execution';
import { unrecordedDecisions } from '../core/run/unrecorded-decisions';
import { executionStageEvents } from './execution-stage-events';
// Started by function reference, so the compiler checks `args` against the workflow's parameters.
import { pipelineRun } from '../../workflows/pipeline-run';

/** An ended run's state as its history and the store recorded it; `complete` when it holds the run's result. */
interface RecordedState {
  readonly state: RunState;
  readonly complete: boolean;
  /** Set when Temporal ended the run (no outcome recorded): applied to the query's answer too. */
  readonly endedOutside?: { readonly status: EndedOutsideStatus; readonly endedAt?: string; readonly reason?: string };
}

/** At most this many characters of the reason an operator gave a termination are shown. */
const TERMINATION_REASON_CHARACTERS = 200;

/** The reason given to `temporal workflow terminate` (the history's last event), bounded and escaped for one line. */
function terminationReason(events: readonly temporal.api.history.v1.IHistoryEvent[]): { readonly reason?: string } {
  const reason = events.at(-1)?.workflowExecutionTerminatedEventAttributes?.reason;
  return reason ? { reason: shownInput(reason, TERMINATION_REASON_CHARACTERS) } : {};
}

export interface RunClientOptions {
  /** Bucket of runs/, cache/ and models/ (config.s3.bucket), passed to every run. */
  readonly bucket: string;
  /** Task queue of the workflows; default the control pool's. Tests use their own. */
  readonly workflowTaskQueue?: string;
  /** History events after which a run continues as new (PipelineRunInput.historyEventLimit); tests make it small. */
  readonly historyEventLimit?: number;
  /** Characters of stages a run's result holds inline (PipelineRunInput.resultInlineChars); tests make it small. */
  readonly resultInlineChars?: number;
  /** A stage pool's poller not seen for this long counts as gone (default POLLER_GONE_AFTER_MS, 90 s). */
  readonly pollerGoneAfterMs?: number;
  /**
   * A poller of the run's own workflow queue (its control worker) not seen for this long counts as gone, and `state`
   * then skips the query (default WORKFLOW_POLLER_GONE_AFTER_MS, 70 s: a long poll and a margin; a poller of this
   * host whose process ended is gone at once). Separate from `pollerGoneAfterMs` because an idle control worker shows
   * Temporal a poll only about once a minute (its long poll): a window of seconds, which finds a killed stage worker
   * quickly, would take a live but idle control worker for gone and fail `status`.
   */
  readonly controlPollerGoneAfterMs?: number;
  /**
   * Reads what runs keep in the store: the whole stage table of a result too large to hold it
   * (src/core/run/run-result.ts; `result` fails without a store for such a run), and the state a run
   * continued as new with, when it ended without a result and no worker answers its query (without
   * a store such a run's stages show as unknown).
   */
  readonly store?: ObjectStore;
  /** Base URL of `fineflow ui` (config.ui.url): a started run links to its page from the Temporal UI. */
  readonly uiUrl?: string;
}

export { runPageUrl } from '../core/run/run-links';

/** How long a watch retries one interruption (Temporal or the control worker gone) before it gives up. */
export const WATCH_RECONNECT_FOR_MS = 15 * 60_000;

/** Backoff between state reads of an interrupted watch: 0.5 s doubling to 10 s. */
export function watchRetryDelayMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
}

/**
 * True when a `result()` long poll was cut without an answer: Temporal did not answer (UNAVAILABLE),
 * or the server let the call pass its gRPC deadline (DEADLINE_EXCEEDED: a busy history service under
 * a 1,000-wide fan-out). The run goes on regardless, so the poll can be asked again.
 */
export function isLongPollCut(thrown: unknown): boolean {
  if (isTemporalUnreachable(thrown)) return true;
  for (let error: unknown = thrown, depth = 0; error instanceof Error && depth < 8; depth++, error = error.cause) {
    if ((error as { code?: unknown }).code === 4 || /deadline exceeded/i.test(error.message)) return true;
  }
  return false;
}

export interface LongPollOptions {
  /** Ask again for this long after the first of a row of cuts, then fail with the last (default 15 min). */
  readonly reconnectForMs?: number;
  /** A poll was cut (`message` says how); the next is asked in `retryInMs`. */
  readonly onCut?: (event: { attempt: number; message: string; retryInMs: number }) => void;
}

/**
 * `poll()`, asked again each time it is cut ({@link isLongPollCut}): after a deadline at once (the
 * server answers, only slowly), while Temporal is unreachable with the watch's backoff.
 */
export async function retryCutLongPoll<T>(poll: () => Promise<T>, options: LongPollOptions = {}): Promise<T> {
  let since: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await poll();
    } catch (thrown) {
      if (!isLongPollCut(thrown)) throw thrown;
      since ??= Date.now();
      if (Date.now() - since >= (options.reconnectForMs ?? WATCH_RECONNECT_FOR_MS)) throw thrown;
      const retryInMs = isTemporalUnreachable(thrown) ? watchRetryDelayMs(attempt) : 0;
      options.onCut?.({ attempt: attempt + 1, message: ensureError(thrown).message.split('\n')[0] ?? '', retryInMs });
      if (retryInMs > 0) await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

export interface WatchOptions {
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  readonly until?: (state: RunState) => boolean;
  /** A state read failed for a passing reason (`message` says which); the next try is in `retryInMs`. */
  readonly onInterrupted?: (event: { message: string; retryInMs: number; downForMs: number }) => void;
  /** The first state read that worked after an interruption. */
  readonly onResumed?: (event: { downForMs: number }) => void;
  /** Retry one interruption this long before giving up with its error (default {@link WATCH_RECONNECT_FOR_MS}). */
  readonly reconnectForMs?: number;
  /** How long each read's state query may wait for a control worker (`state`'s `timeoutMs`, default 15 s). */
  readonly stateTimeoutMs?: number;
}

/** `details.code` of the error `state` throws when Temporal itself did not answer. */
export const TEMPORAL_UNREACHABLE = 'temporal-unreachable';

/** How long a failed state query waits for Temporal's own answer before it decides who to blame. */
const TEMPORAL_ANSWERS_WITHIN_MS = 3_000;

export interface SubmitOptions {
  readonly trigger?: RunTrigger;
  readonly reuse?: readonly ReusedStageOutput[];
  /** Default: {@link newRunId}. */
  readonly runId?: string;
  /** The queue whose control workers run the workflow; default: the client's `workflowTaskQueue`. */
  readonly taskQueue?: string;
}

/** One line of `fineflow runs`. */
export interface RunSummary {
  readonly runId: string;
  readonly pipeline: string;
  readonly status: RunStatus | 'terminated' | 'timed-out';
  readonly trigger: string;
  readonly startedAt: string;
  readonly endedAt?: string;
}

export interface ListRunsFilter {
  readonly pipeline?: string;
  readonly status?: string;
  /** What started the runs: manual, schedule, new-data or rerun (the FineflowTrigger search attribute). */
  readonly trigger?: string;
  /** Default 50. */
  readonly limit?: number;
}

const RUN_TRIGGERS: readonly string[] = ['manual', 'schedule', 'new-data', 'rerun'];

/** `<pipeline>-<yyyymmdd-hhmmss>-<4 random chars>`: readable, sortable by time, unique enough. */
export function newRunId(
  pipeline: string,
  at: Date = new Date(),
  random: () => string = () =>
    randomBytes(3)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')
      .slice(0, 4),
): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}-${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `${pipeline}-${stamp}-${random()}`;
}

/**
 * The FineflowTrigger search attribute holds only the kind (manual, schedule, new-data, rerun),
 * the same labels schedules and data watchers set, so `runs` can filter on one value; the ids
 * (schedule, watcher, source run) are in the run's input.
 */
function triggerLabel(trigger: RunTrigger): string {
  return trigger.kind;
}

/**
 * A gRPC call cut by `withDeadline`, however the SDK wrapped it: DEADLINE_EXCEEDED (4), or, once the
 * deadline has passed, CANCELLED (1, "Call cancelled"), which the client reports when it cut the call itself.
 */
export function isDeadlineExceeded(thrown: unknown, deadline: number): boolean {
  for (let current: unknown = thrown; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (code === 4 || /deadline exceeded/i.test(current.message)) return true;
    if (Date.now() >= deadline && (code === 1 || /call cancelled/i.test(current.message))) return true;
  }
  return false;
}

/**
 * The list query's clauses for one status. A run Temporal ended kept the FineflowStatus it last set (`running`,
 * `waiting`): those two also need a live execution, and `terminated`/`timed-out` are the execution's own status.
 */
function statusClauses(status: string): string[] {
  if (status === 'terminated') return [`ExecutionStatus = 'Terminated'`];
  if (status === 'timed-out') return [`ExecutionStatus = 'TimedOut'`];
  const recorded = `${searchAttributeKeys.status.name} = ${quoteQueryValue(status)}`;
  return status === 'running' || status === 'waiting' ? [recorded, `ExecutionStatus = 'Running'`] : [recorded];
}

/** Status of a closed execution, when the workflow could not say it itself. */
function statusFromExecution(
  info: Pick<WorkflowExecutionInfo, 'status'>,
  recorded: string | undefined,
): RunSummary['status'] {
  switch (info.status.name) {
    case 'COMPLETED':
      return 'succeeded';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed-out';
    default:
      return (RUN_STATUSES as readonly string[]).includes(recorded ?? '') ? (recorded as RunStatus) : 'running';
  }
}

/**
 * When the run started: a run that continued as new carries its first start in its memo
 * (workflows/pipeline-run.ts), since each execution has its own start time.
 */
export function startedAtOf(info: Pick<WorkflowExecutionInfo, 'startTime' | 'memo'>): string {
  const carried = info.memo?.startedAt;
  return typeof carried === 'string' && !Number.isNaN(Date.parse(carried)) ? carried : info.startTime.toISOString();
}

/**
 * The `runState` query, asked again while the run has no handler for it yet: an execution that
 * continued as new first reads its state back from the store (src/core/run/stored-run-state.ts)
 * and registers its handlers after that, a few seconds at most.
 */
async function queryOnceRegistered(handle: WorkflowHandle, deadline: number): Promise<RunState> {
  for (;;) {
    try {
      return await queryRunStatePages(handle);
    } catch (thrown) {
      if (!(thrown instanceof QueryNotRegisteredError) || Date.now() + 250 >= deadline) throw thrown;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * How long a queue a worker polled is taken as still polled without asking again, unless every poller was a process
 * of this host and all of them ended since (checked at each use, and while a query waits).
 */
const POLLED_QUEUE_TTL_MS = 5_000;

/** How often a state query in flight checks that the control workers of this host it was sent to still run. */
const QUERY_WORKER_CHECK_MS = 250;

/** A queue a worker polled lately: when it was asked, how many polled, and which of them were processes here. */
interface PolledQueue {
  readonly at: number;
  readonly pollers: number;
  readonly localPids: readonly number[];
}

/** Every poller of the queue was a process of this host, and all of them ended: nobody polls it any more. */
function pollersEnded(polled: PolledQueue): boolean {
  return polled.localPids.length === polled.pollers && !polled.localPids.some((pid) => processAlive(pid));
}

/** What DescribeTaskQueue said of a run's workflow task queue. */
interface QueuePollers {
  readonly pollers?: number;
  readonly unreachable?: true;
}

/** Whether a worker polls the run's queue, and what to do about it. */
function queueAdvice(taskQueue: string, pollers: number | undefined): string {
  const pool = poolOfTaskQueue(taskQueue) ?? CONTROL_POOL;
  if (pollers === 0)
    return (
      `no worker polls its task queue ${taskQueue}: is a control worker running? Start one with \`fineflow ` +
      `worker --pool ${pool}\``
    );
  return pollers === undefined
    ? `Temporal did not say whether a worker polls its task queue ${taskQueue}`
    : `a worker polls its task queue ${taskQueue}, so that worker is busy or Temporal is restarting`;
}

export class RunClient {
  readonly workflowTaskQueue: string;
  /** Marks running stages of pools without a worker (`waiting for a worker on pool X`). */
  private readonly workers: WorkerPresence;
  /** Workflow task queues a worker polled lately, so `watch` (twice a second) asks Temporal every few seconds. */
  private readonly polledQueues = new Map<string, PolledQueue>();

  constructor(
    readonly client: Client,
    private readonly options: RunClientOptions,
  ) {
    this.workflowTaskQueue = options.workflowTaskQueue ?? taskQueueForPool(CONTROL_POOL);
    this.workers = new WorkerPresence(client, undefined, undefined, options.pollerGoneAfterMs);
  }

  /** The store this client reads runs' stored tables from, if it was given one. */
  get store(): ObjectStore | undefined {
    return this.options.store;
  }

  /** Bucket of runs/, cache/ and models/ this client's runs use. */
  get bucket(): string {
    return this.options.bucket;
  }

  /** The plan a run was started with, from its history (the first execution's, for a run that continued as new). */
  async plan(runId: string): Promise<Plan> {
    return (await readRunInput(this.client, runId)).plan;
  }

  /** Start a run of a (validated) plan; returns its id at once. */
  async submit(plan: Plan, options: SubmitOptions = {}): Promise<string> {
    const runId = options.runId ?? newRunId(plan.pipeline.name);
    const trigger: RunTrigger = options.trigger ?? { kind: 'manual' };
    const input: PipelineRunInput = {
      plan,
      trigger,
      bucket: this.options.bucket,
      ...(options.reuse ? { reuse: options.reuse } : {}),
      ...(this.options.historyEventLimit !== undefined ? { historyEventLimit: this.options.historyEventLimit } : {}),
      ...(this.options.resultInlineChars !== undefined ? { resultInlineChars: this.options.resultInlineChars } : {}),
    };
    try {
      await this.client.workflow.start(pipelineRun, {
        workflowId: runId,
        taskQueue: options.taskQueue ?? this.workflowTaskQueue,
        args: [input],
        workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT_MS,
        typedSearchAttributes: new TypedSearchAttributes([
          { key: searchAttributeKeys.pipeline, value: plan.pipeline.name },
          { key: searchAttributeKeys.status, value: 'running' },
          { key: searchAttributeKeys.trigger, value: triggerLabel(trigger) },
        ]),
        memo: {
          pipeline: plan.pipeline.name,
          ...(plan.source ? { source: plan.source } : {}),
          ...(this.options.uiUrl ? { [RUN_PAGE_MEMO]: runPageUrl(this.options.uiUrl, runId) } : {}),
        },
        // The Temporal UI shows these details (markdown) on the workflow's page: the way back to Fineflow.
        ...(this.options.uiUrl ? { staticDetails: runPageDetails(this.options.uiUrl, runId) } : {}),
      });
    } catch (thrown) {
      if (thrown instanceof WorkflowExecutionAlreadyStartedError)
        throw new InvalidInputError(`a run with id ${shownInput(runId)} already exists`, { runId }, { cause: thrown });
      throw thrown;
    }
    return runId;
  }

  /**
   * A run's state. An ended run's is read from its history (input, result, `retry --set` updates) and the
   * store, which needs no worker; a running run's, and an ended one's without a result (terminated), from
   * the workflow's `runState` query. A query needs a control worker: when Temporal lists none polling the run's
   * queue (asked first; a polled queue is remembered a few seconds) no query is sent, and when none answers within
   * `timeoutMs`, an ended run shows what its history holds and a running one is reported as unavailable.
   * Running stages get their live progress, a stale-heartbeat note and "waiting for a worker" from Temporal
   * (src/client/live-stages.ts).
   */
  async state(runId: string, options: { readonly timeoutMs?: number } = {}): Promise<RunState> {
    let recorded: RecordedState | undefined;
    let historyError: unknown;
    let description: WorkflowExecutionDescription | undefined;
    try {
      description = await this.client.workflow.getHandle(runId).describe();
      // Read once: a running run's description also gives its running stages' liveness below.
      if (description.status.name !== 'RUNNING') recorded = await this.stateFromHistory(runId, description);
    } catch (thrown) {
      if (thrown instanceof WorkflowNotFoundError) throw this.mapNotFound(thrown, runId);
      if (isTemporalUnreachable(thrown)) throw this.unreachable(runId, thrown);
      historyError = thrown; // e.g. a cut result and no store here: the workflow's query may still answer
    }
    if (recorded?.complete) return recorded.state;
    const endedOutsideAs = recorded?.endedOutside;
    const taskQueue = description?.taskQueue ?? this.workflowTaskQueue;
    // Who polls the run's queue, asked first (one DescribeTaskQueue): with nobody there the query could only wait out
    // its timeout, so a terminated run reads from its history at once and a running one says which worker to start.
    const polled = await this.queuePollers(taskQueue);
    if (polled.pollers === 0) {
      if (recorded) return recorded.state;
      if (historyError !== undefined) throw historyError;
      throw this.noWorkerAsked(runId, taskQueue);
    }
    const handle = this.client.workflow.getHandle(runId);
    let state: RunState;
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    const workersEnded = new AbortController();
    try {
      state = await this.queryUnlessWorkersEnd(taskQueue, workersEnded, () =>
        this.client.withDeadline(deadline, () => queryOnceRegistered(handle, deadline)),
      );
    } catch (thrown) {
      // The control workers of this host it went to ended while it waited: read as if nobody had polled.
      if (workersEnded.signal.aborted && (await this.queuePollers(taskQueue, { fresh: true })).pollers === 0) {
        if (recorded) return recorded.state;
        if (historyError !== undefined) throw historyError;
        throw this.noWorkerAsked(runId, taskQueue);
      }
      if (thrown instanceof WorkflowNotFoundError) throw this.mapNotFound(thrown, runId);
      if (isTemporalUnreachable(thrown)) throw this.unreachable(runId, thrown);
      if (recorded) return recorded.state;
      if (historyError !== undefined) throw historyError;
      // A query cut off as Temporal goes down fails with its own code, not the UNAVAILABLE the next call gets: one
      // call of Temporal's own (who polls the run's queue) says whether it answers before any control worker is blamed.
      throw await this.queryUnanswered(runId, taskQueue, thrown, polled);
    }
    // Temporal ended it (terminated, timed out): the query replays the run as it stood, still `running`.
    if (endedOutsideAs)
      return endedOutside(state, endedOutsideAs.status, state.endedAt ?? endedOutsideAs.endedAt, endedOutsideAs.reason);
    return withLiveStages(this.client, this.workers, state, { description });
  }

  /**
   * `query()`, cut short (`ended` aborted) once every control worker this client last saw polling `taskQueue` was a
   * process of this host and all of them ended: a killed worker never answers, and the query would wait out its whole
   * timeout. Workers elsewhere are judged by Temporal's listing alone, so a query sent to them runs its course.
   */
  private async queryUnlessWorkersEnd<T>(
    taskQueue: string,
    ended: AbortController,
    query: () => Promise<T>,
  ): Promise<T> {
    const polled = this.polledQueues.get(taskQueue);
    if (!polled || polled.localPids.length !== polled.pollers) return query();
    const check = setInterval(() => {
      if (pollersEnded(polled)) ended.abort();
    }, QUERY_WORKER_CHECK_MS);
    try {
      return await this.client.withAbortSignal(ended.signal, query);
    } finally {
      clearInterval(check);
    }
  }

  /**
   * An ended run's state without a worker, as recorded: its input, outcome and `retry --set` updates in history,
   * its stored tables in the store. `complete` when it recorded its result.
   */
  private async stateFromHistory(runId: string, description: WorkflowExecutionDescription): Promise<RecordedState> {
    const handle = this.client.workflow.getHandle(runId);
    const { input, stored } = await readRecordedRunInput(this.client, runId);
    // The state the latest execution continued with, when it is in the store (a run ended without a result).
    const carried =
      input.carried ??
      (stored && this.options.store
        ? (await readStoredRunState(this.options.store, this.options.bucket, runId, stored)).carried
        : undefined);
    const outcome = await readRunOutcome(handle, this.tableSource(runId));
    const status = statusFromExecution(description, undefined);
    // The latest execution's updates: the carried params hold those of the executions before it.
    const events = (await handle.fetchHistory()).events ?? [];
    const begunParams = carried?.params ?? paramValues(input.plan);
    const params = await paramsAfterRetries(this.client, input.plan, begunParams, events);
    const endedAt = description.closeTime?.toISOString();
    const startedAt = carried?.startedAt ?? startedAtOf(description);
    const endedOutsideRun = outcome === undefined && (status === 'terminated' || status === 'timed-out');
    const unknown = (stage: PlannedStage): StageState => ({
      id: stage.id,
      uses: stage.uses,
      pool: stage.pool,
      status: 'pending' as const,
      attempts: 0,
      reason: stored
        ? `state unknown here: it is in ${stored.uri} (give the run client a store to read it)`
        : 'state unknown: the run ended before it was recorded',
    });
    // Before the events of its latest execution: what that execution began with (its first: the plan's start).
    const begun =
      carried?.stages ??
      (endedOutsideRun && !stored ? new RunTracker(input, runId, startedAt).snapshot().stages : undefined) ??
      input.plan.stages.map(unknown);
    const state: RunState = {
      runId,
      pipeline: input.plan.pipeline.name,
      status,
      trigger: input.trigger,
      startedAt,
      ...(endedAt !== undefined ? { endedAt } : {}),
      stages: outcome?.stages ?? begun,
      params,
    };
    if (outcome !== undefined) return { state, complete: true };
    if (!endedOutsideRun) return { state, complete: false };
    // Ended by Temporal (terminated, timed out): no result. Its stages are what the latest execution began with, moved
    // by what its history shows it did; a worker's query, when one answers, replays the same.
    const stages = stagesAfterExecution(
      input.plan.stages,
      begun,
      await executionStageEvents(this.client, input.plan, events, input.historyEventLimit),
      // Decisions before a `retry --set` of this execution read the params it began with (the set comes as an event).
      unrecordedDecisions(input, runId, begunParams),
    );
    const ended = { status, ...(endedAt !== undefined ? { endedAt } : {}), ...terminationReason(events) };
    return {
      state: endedOutside({ ...state, stages }, status, endedAt, ended.reason),
      complete: false,
      endedOutside: ended,
    };
  }

  /** Wait for the run to end; failed and cancelled runs resolve too (with their stages when known). */
  /** The run's outcome once it ends; a long poll cut on the way is asked again ({@link retryCutLongPoll}). */
  async result(runId: string, options: LongPollOptions = {}): Promise<PipelineRunResult> {
    try {
      const handle = this.client.workflow.getHandle(runId);
      return await withFullStages(await retryCutLongPoll(() => handle.result(), options), this.tableSource(runId));
    } catch (thrown) {
      if (isTemporalUnreachable(thrown)) throw this.unreachable(runId, thrown);
      if (thrown instanceof WorkflowFailedError) {
        const cause = thrown.cause;
        if (cause instanceof ApplicationFailure && cause.details?.[0] && typeof cause.details[0] === 'object')
          return withFullStages(cause.details[0] as PipelineRunResult, this.tableSource(runId));
        if (cause?.name === 'CancelledFailure')
          return (
            (await cancelledRunResult(this.client.workflow.getHandle(runId), this.tableSource(runId))) ?? {
              // A run cancelled before runs recorded their result: its state query, while a control worker answers.
              status: 'cancelled',
              stages: await this.state(runId).then(
                (s) => s.stages,
                () => [],
              ),
            }
          );
        return { status: 'failed', stages: [] };
      }
      throw this.mapNotFound(thrown, runId);
    }
  }

  async list(filter: ListRunsFilter = {}): Promise<RunSummary[]> {
    // A run that continued as new has one closed execution per continuation: list only its current one.
    const clauses = [
      `WorkflowType = ${quoteQueryValue(WORKFLOW_TYPES.pipelineRun)}`,
      `ExecutionStatus != 'ContinuedAsNew'`,
    ];
    if (filter.pipeline) clauses.push(`${searchAttributeKeys.pipeline.name} = ${quoteQueryValue(filter.pipeline)}`);
    if (filter.status) {
      if (!(LISTED_RUN_STATUSES as readonly string[]).includes(filter.status))
        throw new InvalidInputError(`--status ${filter.status}: expected one of ${LISTED_RUN_STATUSES.join(', ')}`, {
          status: filter.status,
        });
      clauses.push(...statusClauses(filter.status));
    }
    if (filter.trigger) {
      if (!RUN_TRIGGERS.includes(filter.trigger))
        throw new InvalidInputError(`trigger ${filter.trigger}: expected one of ${RUN_TRIGGERS.join(', ')}`, {
          trigger: filter.trigger,
        });
      clauses.push(`${searchAttributeKeys.trigger.name} = ${quoteQueryValue(filter.trigger)}`);
    }
    const limit = filter.limit ?? 50;
    const runs: RunSummary[] = [];
    for await (const info of this.client.workflow.list({
      query: clauses.join(' AND '),
      pageSize: Math.min(limit, 100),
    })) {
      const attributes = info.typedSearchAttributes;
      const recorded = attributes.get(searchAttributeKeys.status);
      runs.push({
        runId: info.workflowId,
        pipeline: attributes.get(searchAttributeKeys.pipeline) ?? '?',
        status: statusFromExecution(info, recorded),
        trigger: attributes.get(searchAttributeKeys.trigger) ?? '?',
        startedAt: startedAtOf(info),
        ...(info.closeTime ? { endedAt: info.closeTime.toISOString() } : {}),
      });
      if (runs.length >= limit) break;
    }
    return runs;
  }

  /** Every run that has not ended (running or waiting), however many, with when it started: gc keeps what they read. */
  async openRuns(): Promise<{ readonly runId: string; readonly startedAtMs: number }[]> {
    const query = `WorkflowType = ${quoteQueryValue(WORKFLOW_TYPES.pipelineRun)} AND ExecutionStatus = 'Running'`;
    const runs: { runId: string; startedAtMs: number }[] = [];
    for await (const info of this.client.workflow.list({ query, pageSize: 100 }))
      runs.push({ runId: info.workflowId, startedAtMs: Date.parse(startedAtOf(info)) });
    return runs;
  }

  /**
   * Whether the run exists and how it stands, from Temporal alone (no worker needed): `ended` is
   * its final status once it closed. Unknown ids throw InvalidInputError ("no run X").
   */
  async execution(runId: string): Promise<{ readonly ended?: RunSummary['status']; readonly taskQueue: string }> {
    let description;
    try {
      description = await this.client.workflow.getHandle(runId).describe();
    } catch (thrown) {
      throw this.mapNotFound(thrown, runId);
    }
    const status = statusFromExecution(description, undefined);
    return { taskQueue: description.taskQueue, ...(description.status.name !== 'RUNNING' ? { ended: status } : {}) };
  }

  /**
   * Run waiting stages again (`fineflow retry`); rejected with the validator's reason when not
   * possible, with "already ended" for a closed run, and after `timeoutMs` (default 15 s) when no
   * control worker takes the update, naming the task queue nothing polls.
   */
  async retry(
    runId: string,
    request: RetryStageRequest = {},
    options: { readonly timeoutMs?: number } = {},
  ): Promise<RetryStageResult> {
    const { ended, taskQueue } = await this.execution(runId);
    if (ended) {
      throw new InvalidInputError(
        `cannot retry ${shownInput(runId)}: the run already ended ${ended}; only a run with a waiting stage can be ` +
          `retried. Run it again from a stage with \`fineflow rerun ${shownInput(runId)} --from STAGE\``,
        { runId, code: 'run-ended', status: ended },
      );
    }
    const timeoutMs = options.timeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    try {
      return await this.client.withDeadline(deadline, () =>
        this.client.workflow.getHandle(runId).executeUpdate(retryStageUpdate, { args: [request] }),
      );
    } catch (thrown) {
      const error = ensureError(thrown);
      if (thrown instanceof WorkflowNotFoundError) throw this.mapNotFound(thrown, runId);
      if (isDeadlineExceeded(thrown, deadline)) {
        throw new DependencyUnavailableError(
          `run ${runId} did not take the retry within ${Math.round(timeoutMs / 1000)} s: no control worker polls ` +
            `${taskQueue}? Start one with \`fineflow worker --pool control\`; the retry was not applied`,
          { runId, taskQueue },
          { cause: thrown },
        );
      }
      const reason = error.cause instanceof Error ? error.cause.message : error.message;
      throw new InvalidInputError(`cannot retry ${shownInput(runId)}: ${reason}`, { runId }, { cause: thrown });
    }
  }

  /** Ask the run to cancel: running stages are cancelled, the run ends `cancelled`. An ended run is refused. */
  async cancel(runId: string): Promise<void> {
    const { ended } = await this.execution(runId);
    if (ended)
      throw new InvalidInputError(`cannot cancel ${shownInput(runId)}: the run already ended ${ended}`, {
        runId,
        code: 'run-ended',
        status: ended,
      });
    try {
      await this.client.workflow.getHandle(runId).cancel();
    } catch (thrown) {
      throw this.mapNotFound(thrown, runId);
    }
  }

  /**
   * Poll the run's state until it ends (or `until` says stop, e.g. on `waiting`), calling
   * `onState` on every change; returns the last state. Ends early when `signal` aborts. A read
   * that fails with a dependency-unavailable error (Temporal unreachable, e.g. restarting; no
   * control worker answering) does not end the watch: it is retried with backoff, reported
   * through `onInterrupted`/`onResumed`, for up to `reconnectForMs` per interruption.
   */
  async watch(runId: string, onState: (state: RunState) => void, options: WatchOptions = {}): Promise<RunState> {
    let last = '';
    for (;;) {
      const state = await this.stateRidingOutOutages(runId, options);
      const text = JSON.stringify(state);
      if (text !== last) {
        last = text;
        onState(state);
      }
      if (state.endedAt !== undefined || options.signal?.aborted || options.until?.(state)) return state;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  }

  private async stateRidingOutOutages(runId: string, options: WatchOptions): Promise<RunState> {
    let since: number | undefined;
    let temporalWasDown = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const state = await this.state(
          runId,
          options.stateTimeoutMs !== undefined ? { timeoutMs: options.stateTimeoutMs } : {},
        );
        if (since !== undefined) options.onResumed?.({ downForMs: Date.now() - since });
        return state;
      } catch (thrown) {
        if (!(thrown instanceof DependencyUnavailableError) || options.signal?.aborted) throw thrown;
        since ??= Date.now();
        const budgetMs = options.reconnectForMs ?? WATCH_RECONNECT_FOR_MS;
        if (Date.now() - since >= budgetMs)
          throw new DependencyUnavailableError(
            `${thrown.message}; stopped watching run ${runId} after ${Math.round(budgetMs / 1000)} s of retrying ` +
              `(the run itself goes on: \`fineflow status ${runId} --watch\` follows it again)`,
            { runId },
            { cause: thrown },
          );
        const unreachable = thrown.details.code === TEMPORAL_UNREACHABLE;
        // Right after Temporal comes back, workers are still reconnecting: that is the restart, not a missing worker.
        const message =
          !unreachable && temporalWasDown
            ? `Temporal is reachable again; run ${runId} answers once its workers have reconnected`
            : thrown.message;
        temporalWasDown ||= unreachable;
        const retryInMs = watchRetryDelayMs(attempt);
        options.onInterrupted?.({ message, retryInMs, downForMs: Date.now() - since });
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
      }
    }
  }

  /** Where the stored table of one of this client's runs is read from. */
  private tableSource(runId: string): RunTableSource {
    return { runId, bucket: this.options.bucket, ...(this.options.store ? { store: this.options.store } : {}) };
  }

  /**
   * A running run's state query failed: ask Temporal who polls the run's task queue. Unreachable → Temporal is blamed
   * (the error every watch handles); a control worker is blamed only when Temporal answers and lists none. A query cut
   * off as Temporal shuts down fails while its frontend still answers, and the control worker is still listed then; a
   * failed lookup is no evidence against a worker either.
   */
  /**
   * How many workers poll the run's workflow task queue (one DescribeTaskQueue): `unreachable` when Temporal did not
   * answer, no count when it answered otherwise.
   */
  private async queuePollers(taskQueue: string, options: { readonly fresh?: boolean } = {}): Promise<QueuePollers> {
    const seen = this.polledQueues.get(taskQueue);
    // A watch that asked just before its control worker here was killed asks again at once, not 5 s later.
    if (!options.fresh && seen && Date.now() - seen.at < POLLED_QUEUE_TTL_MS && !pollersEnded(seen))
      return { pollers: seen.pollers };
    try {
      const { count: pollers, localPids } = await this.client.withDeadline(
        Date.now() + TEMPORAL_ANSWERS_WITHIN_MS,
        () => workflowQueuePollerSet(this.client, taskQueue, Date.now(), this.options.controlPollerGoneAfterMs),
      );
      // Only a polled queue is remembered: a worker that starts is seen at the next call.
      if (pollers > 0) this.polledQueues.set(taskQueue, { at: Date.now(), pollers, localPids });
      else this.polledQueues.delete(taskQueue);
      return { pollers };
    } catch (lookup) {
      return isTemporalUnreachable(lookup) ? { unreachable: true } : {};
    }
  }

  /** No worker polls the run's queue, so the state query was not sent (it could only have timed out). */
  private noWorkerAsked(runId: string, taskQueue: string): DependencyUnavailableError {
    return new DependencyUnavailableError(
      `run ${runId} cannot answer its state query now; ${queueAdvice(taskQueue, 0)}`,
      { runId, taskQueue },
    );
  }

  /**
   * The query failed: who to blame. A lookup before it that Temporal did not answer blames Temporal; one that counted
   * pollers is asked again (the worker may have gone meanwhile); otherwise Temporal did not say.
   */
  private async queryUnanswered(
    runId: string,
    taskQueue: string,
    thrown: unknown,
    before: QueuePollers,
  ): Promise<DependencyUnavailableError> {
    const reason = ensureError(thrown).message.split('\n')[0];
    const after = before.pollers !== undefined ? await this.queuePollers(taskQueue, { fresh: true }) : before;
    if (after.unreachable) return this.unreachable(runId, thrown);
    return new DependencyUnavailableError(
      `run ${runId} did not answer its state query (${reason}); ${queueAdvice(taskQueue, after.pollers)}`,
      { runId, taskQueue },
      { cause: thrown },
    );
  }

  /** Temporal itself did not answer: say so, so nobody goes looking for a missing worker. */
  private unreachable(runId: string, thrown: unknown): DependencyUnavailableError {
    const address = temporalAddressOf(this.client) ?? 'the configured TEMPORAL_ADDRESS';
    return new DependencyUnavailableError(
      `Temporal at ${address} unreachable (${ensureError(thrown).message.split('\n')[0]})`,
      { runId, address, code: TEMPORAL_UNREACHABLE },
      { cause: thrown },
    );
  }

  /** An unknown id becomes "no run X" with code `no-run` (how `fineflow report` tells it from other failures). */
  private mapNotFound(thrown: unknown, runId: string): Error {
    if (thrown instanceof WorkflowNotFoundError)
      return new InvalidInputError(
        `no run ${shownInput(runId)}; list runs with \`fineflow runs\``,
        { runId, code: 'no-run' },
        { cause: thrown },
      );
    return ensureError(thrown);
  }
}
