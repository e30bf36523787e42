/**
 * The `pipelineRun` workflow: executes one plan. Validates it again, then repeatedly starts
 * every ready stage (src/core/run/dag.ts) as an activity on its pool's task queue, with `${{ }}`
 * inputs resolved from params and upstream outputs, until every stage settled, a stage failed
 * (`onFailure: fail`), or the run is cancelled. A stage with `onFailure: pause` that exhausts
 * its retries waits for the `retryStage` update. Deterministic: state lives in RunTracker.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  executeChild,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type WorkflowInfo,
} from '@temporalio/workflow';
import { ERROR_TYPES, NON_RETRYABLE_ERROR_TYPES } from '../src/core/errors';
import { nextSchedulingStep, type SchedulingPhase } from '../src/core/run/dag';
import { finallyDeadlineMs, finallyStages, hasFinallyStages, singleAttempt } from '../src/core/run/finally';
import { describeStageFailure, type DescribedFailure } from '../src/core/run/failures';
import { fanOutFailure, nextFanOutStep, resolveFanOutItems } from '../src/core/run/fan-out';
import { nextOutageRetry, remainingOwnAttempts, type OutageState } from '../src/core/run/outage-retry';
import { checkParamOverrides, paramValues, type ParamValues } from '../src/core/run/params';
import {
  retryStageUpdate,
  runStateQuery,
  searchAttributeKeys,
  stageProgressSignal,
} from '../src/core/run/run-definitions';
import { RunTracker } from '../src/core/run/run-tracker';
import { RUN_PAGE_MEMO, runPageUrl } from '../src/core/run/run-links';
import { BATCH_TURN_MS, START_BATCH_PATCH, startSlots, type StartSlots } from '../src/core/run/start-slots';
import {
  CANCELLED_RESULT_INLINE_CHARS,
  CANCELLED_RESULT_MEMO,
  RESULT_INLINE_CHARS,
  boundedStages,
  fitsInline,
  leafStageIds,
  stagePage,
  summarizeStages,
  type RunStatePage,
  type RunStatePageRequest,
} from '../src/core/run/run-result';
import {
  RUN_STATE_PART_CHARS,
  isContinuedRunInput,
  splitRunState,
  type ContinuedRunInput,
  type PipelineRunArgs,
  type ReadRunStatePartInput,
  type RemoveRunStateInput,
  type RunStatePartInput,
  type SealRunStateInput,
  type StoredRunState,
  type StoredRunStateRef,
} from '../src/core/run/stored-run-state';
import { datasetVersionOf, stageTriggerOf } from '../src/core/run/run-trigger';
import { recordedEvaluations, type RecordedEvaluation } from '../src/core/run/register-evaluations';
import { CONTINUE_AS_NEW_PATCH, historyPastLimit } from '../src/core/run/history-limit';
import {
  DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS,
  stageEndTime,
  type CacheLookupInput,
  type CacheLookupResult,
  type CarriedRunState,
  type CacheRecordInput,
  type CacheRecordResult,
  type PipelineRunInput,
  type PipelineRunResult,
  type RetryStageRequest,
  type RunStatus,
  type StageActivityInput,
  type StageActivityResult,
  type StageState,
} from '../src/core/run/run-types';
import {
  failedRunStages,
  reusableChildStages,
  subPipelineOutputs,
  subPipelineRunId,
  subPipelineRunInput,
} from '../src/core/run/sub-pipeline';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { runDetails, stageSummary } from '../src/core/run/temporal-summaries';
import { hyperparameterSweep } from './hyperparameter-sweep';
import { evaluateCondition, resolveStageInputs } from '../src/core/spec/expressions';
import type { JsonObject, JsonValue, PlannedFanOut, PlannedStage } from '../src/core/spec/plan-types';
import { validatePlan } from '../src/core/spec/validate-plan';
import { runPrefix } from '../src/core/storage/layout';
import { shownInput } from '../src/core/shown-input';

type StageActivities = Record<string, (input: StageActivityInput) => Promise<StageActivityResult>>;

/** The cache activities (activities/cache.ts) also take the pipeline name and params, to explain misses. */
interface CacheActivities {
  lookupStageCache(
    input: CacheLookupInput & { readonly pipeline: string; readonly params: JsonObject },
  ): Promise<CacheLookupResult>;
  recordStageCache(input: CacheRecordInput & { readonly pipeline: string }): Promise<CacheRecordResult>;
}

/** The run-state activities (activities/run-state.ts): the plan and carried state across continue-as-new. */
interface RunStateActivities {
  writeRunStatePart(input: RunStatePartInput): Promise<void>;
  sealRunState(input: SealRunStateInput): Promise<StoredRunStateRef>;
  readRunStatePart(input: ReadRunStatePartInput): Promise<string>;
  removeRunState(input: RemoveRunStateInput): Promise<void>;
}

const now = (): string => new Date().toISOString();

/** patched(): histories recorded before it replay with TRY_CANCEL (docs/operations.md, versioning). */
const CANCEL_WAITS_FOR_STAGES_PATCH = 'fineflow-13-cancel-waits-for-stages';
/** patched(): runs recorded before this carried their plan and state inline in the continue-as-new input. */
const STATE_IN_STORE_PATCH = 'fineflow-13-state-in-store';
/**
 * patched(): stages without `heartbeatTimeout` scheduled before this had none (a dead worker held them until
 * `timeout`).
 */
const DEFAULT_HEARTBEAT_PATCH = 'fineflow-13-default-heartbeat-timeout';
/** patched(): runs that ended before this returned every stage inline, however large (over 2 MB at 5,000 instances). */
const BOUNDED_RESULT_PATCH = 'fineflow-13-bounded-result';
/** patched(): runs started before this (a schedule's, with `uiUrl`) never wrote their Fineflow page to their memo. */
const RUN_PAGE_MEMO_PATCH = 'fineflow-16-run-page-memo';
/** patched(): runs cancelled before this left no result (their stages were known only to the `runState` query). */
const CANCELLED_RESULT_PATCH = 'fineflow-13-cancelled-result';
/** patched(): runs cancelled before this left their waiting stages `waiting` in their final state. */
const CANCEL_ENDS_WAITING_PATCH = 'fineflow-cancel-ends-waiting-stages';
/**
 * patched(): runs that continued as new before this carried the state taken before writing it to the store, so a
 * `retry` accepted during that write was lost.
 */
const RECARRY_AFTER_UPDATE_PATCH = 'fineflow-recarry-after-update';
/**
 * patched(): runs that wrote their state again after an update (RECARRY_AFTER_UPDATE_PATCH) before this left the
 * first write's `@state/` object, which no execution reads, until gc removed the run.
 */
const REMOVE_SUPERSEDED_STATE_PATCH = 'fineflow-remove-superseded-state';

/**
 * `maxAttempts` is what is left of the stage's own retry budget. Dependency-unavailable failures
 * end the activity at once: the workflow retries them under the outage budget (src/core/run/outage-retry.ts).
 */
function stageActivities(stage: PlannedStage, maxAttempts: number): StageActivities {
  const heartbeatTimeoutMs =
    stage.heartbeatTimeoutMs ?? (patched(DEFAULT_HEARTBEAT_PATCH) ? DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS : undefined);
  return proxyActivities<StageActivities>({
    taskQueue: taskQueueForPool(stage.pool),
    // What the Temporal UI shows for the activity instead of the bare stage type.
    summary: stageSummary(stage),
    startToCloseTimeout: stage.timeoutMs,
    ...(heartbeatTimeoutMs !== undefined ? { heartbeatTimeout: heartbeatTimeoutMs } : {}),
    retry: {
      maximumAttempts: maxAttempts,
      initialInterval: stage.retry.initialIntervalMs,
      backoffCoefficient: Math.max(1, stage.retry.backoffCoefficient),
      maximumInterval: Math.max(stage.retry.maximumIntervalMs, stage.retry.initialIntervalMs),
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES, ERROR_TYPES.dependencyUnavailable],
    },
    // A stage with a heartbeat timeout stops within a second of the cancel (activities/cancel-watch.ts)
    // and the run waits for it, so nothing is written after the run ended; without one (runs from
    // before the default) a dead worker could hold the cancel until startToClose, so the run does not wait.
    cancellationType:
      heartbeatTimeoutMs !== undefined && patched(CANCEL_WAITS_FOR_STAGES_PATCH)
        ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        : ActivityCancellationType.TRY_CANCEL,
  });
}

/**
 * Cache activities run on the workflow's own task queue (the control worker registers them).
 * A cache that cannot answer must not stop a run: few attempts, then the stage just runs.
 */
const cache = proxyActivities<CacheActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/**
 * A schedule cannot name the run it starts, so the run links itself back to Fineflow in its memo
 * (`uiUrl`, FINEFLOW_UI_URL); a run started with the link, or continued with it, has it already.
 */
function linkRunPage(input: PipelineRunInput, info: WorkflowInfo): void {
  if (input.uiUrl && info.memo?.[RUN_PAGE_MEMO] === undefined && patched(RUN_PAGE_MEMO_PATCH))
    upsertMemo({ [RUN_PAGE_MEMO]: runPageUrl(input.uiUrl, info.workflowId) });
}

/**
 * The hand-over of a run that continued as new goes through the store (a Temporal payload is capped
 * at 2 MB): on the control task queue, retried until the store answers, since a run that cannot
 * read its own state can do nothing else.
 */
const runState = proxyActivities<RunStateActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** Removing a superseded state is tidying: a few tries, then the run goes on (the object stays until gc). */
const runStateCleanup = proxyActivities<Pick<RunStateActivities, 'removeRunState'>>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

export async function pipelineRun(args: PipelineRunArgs): Promise<PipelineRunResult> {
  // A continued execution first reads back its plan and state; the history threshold counts from there.
  const input = isContinuedRunInput(args) ? await loadRunState(args) : args;
  const eventsBefore = isContinuedRunInput(args) ? workflowInfo().historyLength : 0;
  rejectInvalidPlan(input.plan);
  const info = workflowInfo();
  const bucket = input.bucket ?? 'fineflow';
  const run = new RunTracker(input, info.workflowId, now());
  linkRunPage(input, info);
  registerRunHandlers(run);
  const stages = new RunningStages(run, bucket, input, statusPublisher(info));
  const { start, cancelStage, tasks, publishStatus } = stages;
  let ended: 'succeeded' | 'failed' | 'cancelled';
  let cancellation: unknown;
  try {
    for (;;) {
      // Past the history threshold: start nothing new, let what runs finish, then continue as new.
      const draining = historyIsLong(input, eventsBefore) && patched(CONTINUE_AS_NEW_PATCH);
      const deferred = !draining && scheduleReadyStages(run, start, cancelStage, 'main');
      const status = run.mainStatus();
      publishStatus(run.status());
      // The stage table in the Temporal UI (metadata only: no history event).
      setCurrentDetails(runDetails({ status: run.status(), stages: run.stageStates() }));
      if (status === 'succeeded') {
        ended = 'succeeded';
        break;
      }
      if (status === 'failed') {
        // A stage failed for good: stop the others cleanly before ending the run.
        stages.cancelAll();
        await Promise.all(tasks);
        ended = 'failed';
        break;
      }
      if (draining && tasks.size === 0) await continueRunAsNew(run, input);
      // Ready stages beyond this task's batch: a 1 ms timer ends the task, the next one starts them.
      if (deferred) {
        await sleep(BATCH_TURN_MS);
        continue;
      }
      const seen = run.changeCount;
      await condition(() => run.changeCount !== seen);
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    cancellation = error;
    ended = 'cancelled';
    await CancellationScope.nonCancellable(() => Promise.all(tasks));
  }
  if (hasFinallyStages(run.plan)) {
    await runFinallyPhase(run, ended, stages);
  }
  return endRun(run, ended, cancellation, publishStatus, input);
}

/** The plan is checked again inside the run (it may come from any client): an invalid one fails it, for good. */
function rejectInvalidPlan(plan: PipelineRunInput['plan']): void {
  const problems = validatePlan(plan).filter((d) => d.severity === 'error');
  if (problems.length === 0) return;
  upsertSearchAttributes([{ key: searchAttributeKeys.status, value: 'failed' }]);
  throw ApplicationFailure.create({
    type: ERROR_TYPES.invalidInput,
    nonRetryable: true,
    message: `the plan is invalid: ${problems.map((d) => `${d.path || '<root>'}: ${d.message} [${d.code}]`).join('; ')}`,
    details: [problems],
  });
}

/** The run's query, progress signal and retry update. */
function registerRunHandlers(run: RunTracker): void {
  setHandler(runStateQuery, (request?: RunStatePageRequest) => statePage(run, request));
  setHandler(stageProgressSignal, ({ stageId, attempt, progress }) => {
    if (run.hasStage(stageId) && attempt > run.stage(stageId).attempts) run.recordProgress(stageId, progress);
  });
  setHandler(
    retryStageUpdate,
    (request: RetryStageRequest) => {
      const check = checkParamOverrides(run.plan, request.params ?? {});
      const retried = request.stageId !== undefined ? [request.stageId] : run.waitingStages();
      run.retry(retried, check.ok ? check.values : {});
      return { retried, params: run.currentParams() };
    },
    { validator: (request: RetryStageRequest) => validateRetry(run, request) },
  );
}

/** Publishes the run's status as a search attribute, only on a real change (each upsert is a history event). */
function statusPublisher(info: ReturnType<typeof workflowInfo>): (status: RunStatus) => void {
  // The client sets FineflowStatus=running at start.
  let published: string | undefined = info.typedSearchAttributes.get(searchAttributeKeys.status);
  return (status: RunStatus): void => {
    if (status === published) return;
    published = status;
    upsertSearchAttributes([{ key: searchAttributeKeys.status, value: status }]);
  };
}

/** One answer of the `runState` query, paged (src/core/run/run-result.ts): an answer is a payload, capped at 2 MB. */
function statePage(run: RunTracker, request: RunStatePageRequest | undefined): RunStatePage {
  const state = run.snapshot();
  const page = stagePage(state.stages, request?.after);
  return {
    ...state,
    stages: page.stages,
    page: { total: state.stages.length, ...(page.next !== undefined ? { next: page.next } : {}) },
  };
}

/** End the run as its stages decided: return its result, or throw its failure or cancellation. */
async function endRun(
  run: RunTracker,
  ended: 'succeeded' | 'failed' | 'cancelled',
  cancellation: unknown,
  publishStatus: (status: RunStatus) => void,
  input: PipelineRunInput,
): Promise<PipelineRunResult> {
  if (ended === 'cancelled') {
    await CancellationScope.nonCancellable(async () => {
      if (run.waitingStages().length > 0 && patched(CANCEL_ENDS_WAITING_PATCH)) run.cancelWaiting(now());
      run.end(now(), 'cancelled');
      publishStatus('cancelled');
      if (patched(CANCELLED_RESULT_PATCH)) await recordCancelledResult(run, input);
    });
    log.info('pipeline run cancelled', { runId: run.runId });
    throw cancellation;
  }
  const status = run.status();
  if (status === 'succeeded') {
    run.end(now(), 'succeeded');
    publishStatus('succeeded');
    return finalResult(run, 'succeeded', input);
  }
  run.end(now(), 'failed');
  publishStatus('failed');
  // Normal stages come first in plan order, so their failure is reported before a finally stage's.
  const failed = run.snapshot().stages.find((s) => s.status === 'failed');
  const what = failed?.finally ? 'finally stage' : 'stage';
  const details = await finalResult(run, 'failed', input);
  throw ApplicationFailure.create({
    type: failed?.error?.type ?? ERROR_TYPES.internal,
    nonRetryable: true,
    message: `${what} ${failed?.id ?? '?'} failed after ${failed?.attempts ?? 0} attempt(s): ${failed?.error?.message ?? 'unknown error'}`,
    details: [details],
  });
}

/**
 * A cancelled run ends without a payload (Temporal's cancellation carries none), so its bounded result goes to its
 * memo, where the run client's `result` and `state` read it once no worker answers for the run. A store that
 * refuses the table for good does not turn the cancel into a failure: the run ends cancelled without a result.
 */
async function recordCancelledResult(run: RunTracker, input: PipelineRunInput): Promise<void> {
  try {
    upsertMemo({ [CANCELLED_RESULT_MEMO]: await finalResult(run, 'cancelled', input, CANCELLED_RESULT_INLINE_CHARS) });
  } catch (error) {
    log.warn('the cancelled run could not record its result', {
      runId: run.runId,
      error: describeStageFailure(error).error.message,
    });
  }
}

/**
 * The run's result, bounded (src/core/run/run-result.ts): every stage inline when they fit in `maxChars`,
 * else the plan's stages, a summary and the whole table written to the store. Only a run whose table does
 * not fit asks `patched`, so the histories of every other run keep their commands.
 */
async function finalResult(
  run: RunTracker,
  status: PipelineRunResult['status'],
  input: PipelineRunInput,
  maxChars: number = RESULT_INLINE_CHARS,
): Promise<PipelineRunResult> {
  const stages = run.snapshot().stages;
  const summary = summarizeStages(stages);
  const limit = Math.min(input.resultInlineChars ?? maxChars, maxChars);
  if (fitsInline(stages, limit) || !patched(BOUNDED_RESULT_PATCH)) return { status, stages, summary };
  const carried = run.carry();
  const stored = await writeStoredState(input.bucket ?? 'fineflow', run.runId, { plan: run.plan, carried });
  const cut = boundedStages(stages, leafStageIds(run.plan), limit);
  return { status, stages: cut.stages, summary, stored, omitted: cut.omitted };
}

interface StageLauncher {
  readonly start: (stage: PlannedStage) => void;
  readonly cancelStage: (stageId: string) => void;
  readonly tasks: Set<Promise<void>>;
  readonly publishStatus: (status: RunStatus) => void;
}

/** The stages in flight, each in its own cancellation scope so that one can be cancelled alone. */
class RunningStages implements StageLauncher {
  readonly tasks = new Set<Promise<void>>();
  private readonly scopes = new Map<string, CancellationScope>();

  constructor(
    private readonly run: RunTracker,
    private readonly bucket: string,
    private readonly input: PipelineRunInput,
    readonly publishStatus: (status: RunStatus) => void,
  ) {}

  readonly start = (stage: PlannedStage): void => {
    const { run } = this;
    const scope = new CancellationScope();
    this.scopes.set(stage.id, scope);
    const task: Promise<void> = scope
      // After a cancel, finally stages get one attempt each (src/core/run/finally.ts).
      .run(() =>
        executeStage(run, run.ranFinallyAfterCancel(stage) ? singleAttempt(stage) : stage, this.bucket, this.input),
      )
      .finally(() => {
        this.scopes.delete(stage.id);
        this.tasks.delete(task);
      });
    this.tasks.add(task);
  };

  readonly cancelStage = (stageId: string): void => this.scopes.get(stageId)?.cancel();

  cancelAll(): void {
    for (const scope of this.scopes.values()) scope.cancel();
  }
}

/**
 * Run the `finally:` stages (src/core/run/finally.ts). A cancel of the run does not stop them;
 * after a cancel they get one attempt each and the phase is cut after the sum of their timeouts.
 */
async function runFinallyPhase(
  run: RunTracker,
  ended: 'succeeded' | 'failed' | 'cancelled',
  launcher: StageLauncher,
): Promise<void> {
  run.enterFinally(ended);
  const phase = async (): Promise<void> => {
    for (;;) {
      scheduleReadyStages(run, launcher.start, launcher.cancelStage, 'finally');
      launcher.publishStatus(run.status());
      setCurrentDetails(runDetails({ status: run.status(), stages: run.stageStates() }));
      if (run.finallyDone()) return;
      const seen = run.changeCount;
      await condition(() => run.changeCount !== seen);
    }
  };
  await CancellationScope.nonCancellable(async () => {
    if (ended !== 'cancelled') return phase();
    try {
      await CancellationScope.withTimeout(finallyDeadlineMs(run.plan), phase);
    } catch (error) {
      if (!isCancellation(error)) throw error;
      await Promise.all(launcher.tasks);
      for (const stage of finallyStages(run.plan))
        if (run.stage(stage.id).status === 'pending')
          run.markSkipped(stage.id, now(), 'the finally phase of the cancelled run ran out of time');
    }
  });
}

/**
 * Bounded histories: true once this execution's history passes the run's event threshold or Temporal suggests
 * continuing as new (src/core/run/history-limit.ts, the rule a reader without a worker applies too).
 */
function historyIsLong(input: PipelineRunInput, eventsBefore: number): boolean {
  return historyPastLimit(workflowInfo(), eventsBefore, input.historyEventLimit);
}

/**
 * Hand the run's state to a fresh execution of the same workflow id (so `status`, `retry`, `cancel`
 * and `--watch` keep working by run id). Called with no stage in flight: an activity or sweep child
 * of a closed execution could not report back. Handlers finish first so no update is lost, and an
 * update accepted while the state was being written to the store (a `retry`: its caller was told it was
 * accepted) has the state taken and written again, so the next execution knows of it.
 */
async function continueRunAsNew(run: RunTracker, input: PipelineRunInput): Promise<never> {
  let carried: CarriedRunState;
  let next: PipelineRunInput | ContinuedRunInput;
  for (;;) {
    await condition(allHandlersFinished);
    const version = run.changeCount;
    carried = run.carry();
    log.info('pipeline run continues as new', { runId: run.runId, continuations: carried.continuations });
    next = patched(STATE_IN_STORE_PATCH)
      ? await storeRunState(input, { plan: run.plan, carried }, run.runId)
      : { ...input, carried };
    if (run.changeCount === version || !patched(RECARRY_AFTER_UPDATE_PATCH)) break;
    if (isContinuedRunInput(next) && patched(REMOVE_SUPERSEDED_STATE_PATCH))
      await removeSupersededState(next.bucket ?? 'fineflow', run.runId, next.stored);
  }
  // The memo keeps the run's first start for `fineflow runs`; status and pipeline stay searchable.
  const info = workflowInfo();
  return makeContinueAsNewFunc<typeof pipelineRun>({
    memo: { ...info.memo, startedAt: carried.startedAt },
    typedSearchAttributes: info.typedSearchAttributes,
  })(next);
}

/**
 * Remove a state written for the next execution and then superseded (an update changed the run during the write),
 * before the state is written again: no execution reads it, and a state written again with the same digest is written
 * after the removal, so the object the next execution reads is never the one removed. A removal that fails is logged,
 * not a failure of the run: the object stays until gc removes the run, as before.
 */
async function removeSupersededState(bucket: string, runId: string, superseded: StoredRunStateRef): Promise<void> {
  try {
    await runStateCleanup.removeRunState({ bucket, runId, sha256: superseded.sha256 });
  } catch (error) {
    log.warn('could not remove a superseded run state', { runId, uri: superseded.uri, error: String(error) });
  }
}

/** Write the plan and carried state to the store in parts; the next execution gets only their reference. */
async function storeRunState(
  input: PipelineRunInput,
  state: StoredRunState,
  runId: string,
): Promise<ContinuedRunInput> {
  const stored = await writeStoredState(input.bucket ?? 'fineflow', runId, state);
  return {
    trigger: input.trigger,
    ...(input.bucket !== undefined ? { bucket: input.bucket } : {}),
    ...(input.historyEventLimit !== undefined ? { historyEventLimit: input.historyEventLimit } : {}),
    ...(input.resultInlineChars !== undefined ? { resultInlineChars: input.resultInlineChars } : {}),
    stored,
  };
}

/** Write the state in parts (each one activity input) and seal them into one content-addressed object. */
async function writeStoredState(bucket: string, runId: string, state: StoredRunState): Promise<StoredRunStateRef> {
  const continuation = state.carried.continuations;
  const parts = splitRunState(JSON.stringify(state));
  await Promise.all(parts.map((text, part) => runState.writeRunStatePart({ bucket, runId, continuation, part, text })));
  return runState.sealRunState({ bucket, runId, continuation, parts: parts.length, partChars: RUN_STATE_PART_CHARS });
}

/** A state in the store, read back in parts (each checked against the object's sha256 by the activity). */
async function readStoredState(bucket: string, runId: string, ref: StoredRunStateRef): Promise<StoredRunState> {
  const texts = await Promise.all(
    Array.from({ length: ref.parts }, (_, part) => runState.readRunStatePart({ bucket, runId, ref, part })),
  );
  return JSON.parse(texts.join('')) as StoredRunState;
}

/** The input of the execution that continued as new, read back from the store (checked against its sha256). */
async function loadRunState(input: ContinuedRunInput): Promise<PipelineRunInput> {
  const state = await readStoredState(input.bucket ?? 'fineflow', workflowInfo().workflowId, input.stored);
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { stored, ...rest } = input;
  return { ...rest, plan: state.plan, carried: state.carried };
}

/**
 * Skip what must be skipped, evaluate `when`, and start the rest; repeats until nothing changes.
 * True when ready stages wait only for the next workflow task (the batch of this one is used up).
 */
function scheduleReadyStages(
  run: RunTracker,
  start: (stage: PlannedStage) => void,
  cancelStage: (stageId: string) => void,
  phase: SchedulingPhase,
): boolean {
  // `parallelism:` — stages (instances, sweeps) running at once; a ready stage without a slot stays pending.
  const slots = startSlots(
    run.plan.parallelism === undefined ? Infinity : run.plan.parallelism - run.runningWork(),
    // The finally phase starts its few stages at once (its loop has no batch turn).
    () => phase === 'main' && patched(START_BATCH_PATCH),
  );
  for (let changed = true; changed;) {
    changed = advanceFanOuts(run, start, cancelStage, slots);
    const step = nextSchedulingStep(run.plan, run.statuses(), phase);
    for (const { stageId, reason } of step.skip) {
      run.markSkipped(stageId, now(), reason);
      changed = true;
    }
    for (const stageId of step.ready) {
      const stage = run.plannedStage(stageId);
      if (stage.when !== undefined) {
        let pass: boolean;
        try {
          pass = evaluateCondition(stage.when, run.expressionContext());
        } catch (error) {
          run.markFailed(
            stageId,
            now(),
            stage.onFailure === 'pause' ? 'waiting' : 'failed',
            describeStageFailure(error).error,
            0,
          );
          changed = true;
          continue;
        }
        if (!pass) {
          run.markSkipped(stageId, now(), `when was false: ${stage.when}`);
          changed = true;
          continue;
        }
      }
      if (stage.fanOut) {
        startFanOut(run, stage, stage.fanOut);
        changed = true;
        continue;
      }
      if (!slots.take()) continue;
      run.markRunning(stageId, now());
      start(stage);
    }
  }
  return slots.deferred;
}

/** Resolve a ready fan-out's items and create its instances; a bad list fails the stage like a bad input. */
function startFanOut(run: RunTracker, stage: PlannedStage, fanOut: PlannedFanOut): void {
  let items: JsonValue[];
  try {
    items = resolveFanOutItems(stage, fanOut, run.expressionContext());
  } catch (error) {
    const status = stage.onFailure === 'pause' ? 'waiting' : 'failed';
    run.markFailed(stage.id, now(), status, describeStageFailure(error).error, 0);
    return;
  }
  run.expandFanOut(stage, items, now());
}

/**
 * Start instances within `parallelism`, cancel them when the fan-out can no longer succeed
 * (`failFast`), and settle fan-outs whose instances have all settled. True when anything changed.
 */
function advanceFanOuts(
  run: RunTracker,
  start: (stage: PlannedStage) => void,
  cancelStage: (stageId: string) => void,
  slots: StartSlots,
): boolean {
  let changed = false;
  for (const stageId of run.runningFanOuts()) {
    const stage = run.plannedStage(stageId);
    const instances = run.instancesOf(stageId) ?? [];
    const step = nextFanOutStep(
      stage.fanOut as PlannedFanOut,
      instances.map((i) => run.stage(i.id).status),
    );
    for (const index of step.start) {
      if (!slots.take()) break;
      const instance = instances[index] as PlannedStage;
      run.markRunning(instance.id, now());
      start(instance);
      changed = true;
    }
    if (step.cancelRunning)
      for (const instance of instances) if (run.stage(instance.id).status === 'running') cancelStage(instance.id);
    if (step.outcome?.ok === true) run.completeFanOut(stageId, now());
    else if (step.outcome) {
      const error = fanOutFailure(
        step.outcome.message,
        instances.map((i) => run.stage(i.id)),
      );
      run.markFailed(stageId, now(), stage.onFailure === 'pause' ? 'waiting' : 'failed', error, 0);
    }
    if (step.outcome) changed = true;
  }
  return changed;
}

function validateRetry(run: RunTracker, request: RetryStageRequest): void {
  if (request.stageId !== undefined) {
    if (!run.plan.stages.some((s) => s.id === request.stageId)) {
      throw new Error(
        `no stage ${shownInput(request.stageId)} in pipeline ${run.plan.pipeline.name}; stages: ${run.plan.stages.map((s) => s.id).join(', ')}`,
      );
    }
    const status = run.stage(request.stageId).status;
    if (status !== 'waiting')
      throw new Error(`stage ${request.stageId} is ${status}; only a waiting stage can be retried`);
  } else if (run.waitingStages().length === 0) {
    throw new Error(`no stage is waiting for a retry (run is ${run.status()})`);
  }
  const check = checkParamOverrides(run.plan, request.params ?? {});
  if (!check.ok) throw new Error(check.problems.join('; '));
}

/**
 * Run one stage to its end: resolve its inputs, answer it from the cache when the cache has it, else run it
 * (riding out dependency outages) and record its result. Every ending is written to the tracker.
 *
 * Every `await` of the stage's life sits here, in its original place, and what follows each one runs without
 * another await until the next command: the decisions are synchronous methods of StageExecution. So the
 * commands of stages whose events arrive in one workflow task keep their order (replay).
 */
async function executeStage(
  run: RunTracker,
  stage: PlannedStage,
  bucket: string,
  input: PipelineRunInput,
): Promise<void> {
  const execution = new StageExecution(run, stage, input);
  const inputs = execution.resolveInputs();
  if (inputs === undefined) return;
  let cacheKey: string | undefined;
  if (stage.cache.enabled) {
    try {
      const found = await cache.lookupStageCache(execution.cacheLookup(inputs));
      cacheKey = found.key;
      if (execution.settledByCache(found)) return;
    } catch (error) {
      if (execution.settledByFailedLookup(error)) return;
    }
  }
  const context = execution.activityContext(bucket);
  let result: StageActivityResult;
  for (;;) {
    try {
      result = await execution.runOnce(context, inputs);
      break;
    } catch (error) {
      const waitMs = execution.outageWait(error);
      if (waitMs === undefined) return;
      try {
        await sleep(waitMs);
      } catch (cancelled) {
        if (!isCancellation(cancelled)) throw cancelled;
        execution.cancelledDuringOutage();
        return;
      }
    }
  }
  execution.noteOutageRiddenOut();
  let digest: string | undefined;
  if (cacheKey !== undefined) {
    try {
      digest = (await cache.recordStageCache(execution.cacheRecord(cacheKey, result))).digest;
    } catch (error) {
      if (!isCancellation(error))
        log.warn('stage cache record failed', { stageId: stage.id, error: describeStageFailure(error).error.message });
    }
  }
  execution.succeeded(result, digest);
}

/**
 * The synchronous steps of one stage execution (executeStage holds its awaits) and the attempt counts they share
 * across dependency-outage retries.
 */
class StageExecution {
  /** The stage's attempts in earlier executions (a `retry` of a waiting stage counts on from them). */
  private readonly priorAttempts: number;
  /** First attempt number (within the run) of the current activity execution. */
  private attemptBase: number;
  /** The stage's own failures so far (not the outage's). */
  private ownFailures = 0;
  /** The outage being ridden out, if any. */
  private outage: OutageState | undefined;

  constructor(
    private readonly run: RunTracker,
    private readonly stage: PlannedStage,
    private readonly input: PipelineRunInput,
  ) {
    this.priorAttempts = run.stage(stage.id).attempts;
    this.attemptBase = this.priorAttempts + 1;
  }

  /** The stage's `with:` resolved against params and upstream outputs; undefined (the stage failed) if it cannot be. */
  resolveInputs(): JsonObject | undefined {
    const { run, stage } = this;
    try {
      return resolveStageInputs(stage.with, run.expressionContext(stage));
    } catch (error) {
      run.markFailed(
        stage.id,
        now(),
        stage.onFailure === 'pause' ? 'waiting' : 'failed',
        describeStageFailure(error).error,
        0,
      );
      return undefined;
    }
  }

  /** What the cache is asked: the stage, its resolved inputs and its upstream stages' outputs and digests. */
  cacheLookup(inputs: JsonObject): Parameters<CacheActivities['lookupStageCache']>[0] {
    const { run, stage } = this;
    const upstream = Object.fromEntries(
      stage.needs.map((id) => {
        const digest = run.digestOf(id);
        return [id, { outputs: run.stage(id).outputs ?? {}, ...(digest ? { digest } : {}) }];
      }),
    );
    // A rerun keeps the dataset version of the run it reruns: same key, so its new result replaces that entry.
    const datasetVersion = datasetVersionOf(this.input.trigger);
    return {
      runId: run.runId,
      pipeline: run.plan.pipeline.name,
      params: run.currentParams(),
      stage,
      resolvedInputs: inputs,
      upstream,
      ...(datasetVersion ? { datasetVersion } : {}),
    };
  }

  /** True when the cache answered the stage (it is marked cached); notes why the cache was bypassed, if it was. */
  settledByCache(found: CacheLookupResult): boolean {
    if (found.hit) {
      this.run.markCached(
        this.stage.id,
        now(),
        found.outputs,
        found.digest,
        `cache hit from run ${found.fromRunId} (${found.createdAt})`,
      );
      return true;
    }
    if (found.bypassed === true) this.run.noteReason(this.stage.id, found.reason);
    return false;
  }

  /** A lookup that failed: true when it was the run's cancel (the stage is cancelled), else the stage just runs. */
  settledByFailedLookup(error: unknown): boolean {
    if (isCancellation(error)) {
      this.run.markCancelled(this.stage.id, now(), 0);
      return true;
    }
    log.warn('stage cache lookup failed; running the stage', {
      stageId: this.stage.id,
      error: describeStageFailure(error).error.message,
    });
    return false;
  }

  activityContext(bucket: string): StageActivityInput['context'] {
    const { run, stage } = this;
    return {
      runId: run.runId,
      pipeline: run.plan.pipeline.name,
      stageId: stage.id,
      attempt: this.priorAttempts + 1,
      outputPrefix: runPrefix(bucket, run.runId, stage.id),
      bucket,
      ...stageTriggerOf(this.input.trigger),
      ...this.registeredEvaluations(),
    };
  }

  /** For a register-model stage: the gate verdicts of the evaluate stages that scored its model, for its card. */
  private registeredEvaluations(): { evaluations?: RecordedEvaluation[] } {
    const { run, stage } = this;
    if (stage.uses !== 'register-model') return {};
    const evaluations = recordedEvaluations(run.plan.stages, stage.id, (id) => run.stage(id).outputs);
    return evaluations.length > 0 ? { evaluations } : {};
  }

  /**
   * Start one execution of the stage: a sweep or sub-pipeline child workflow, or its activity on the stage's pool.
   * Returns that promise itself (not wrapped in an async function), so awaiting it costs what awaiting it did.
   */
  runOnce(context: StageActivityInput['context'], inputs: JsonObject): Promise<StageActivityResult> {
    const { run, stage } = this;
    if (stage.uses === 'hyperparameter-sweep') return runSweepStage(stage, context, inputs);
    if (stage.subPipeline) return runSubPipelineStage(run, stage, context, inputs, this.input);
    const activity = stageActivities(stage, remainingOwnAttempts(stage.retry, this.ownFailures))[stage.uses];
    if (!activity) throw new Error(`no activity for stage type ${stage.uses}`);
    return activity({
      context: { ...context, attempt: this.attemptBase },
      inputs,
      ...(stage.resources ? { resources: stage.resources } : {}),
    });
  }

  /**
   * After a failed execution: the wait before the next one when a dependency outage is ridden out, else undefined
   * (the stage's failure or cancellation is written to the tracker).
   */
  outageWait(error: unknown): number | undefined {
    const { run, stage } = this;
    let failure = describeStageFailure(error);
    if (
      !runsAsChild(stage) &&
      !isCancellation(error) &&
      failure.error.type === ERROR_TYPES.dependencyUnavailable &&
      failure.attempt !== undefined
    ) {
      const decision = nextOutageRetry(stage.retry, this.outage, Date.now(), failure.error.message);
      if (decision.retry) {
        // The execution's earlier attempts failed on their own; its last one met the outage.
        this.ownFailures += failure.attempt - this.attemptBase;
        this.attemptBase = failure.attempt + 1;
        this.outage = decision.state;
        run.noteReason(stage.id, decision.note);
        return decision.waitMs;
      }
      failure = { ...failure, error: { type: failure.error.type, message: decision.message } };
    }
    this.settleFailure(error, failure);
    return undefined;
  }

  /** The run was cancelled while the stage waited out an outage. */
  cancelledDuringOutage(): void {
    this.run.markCancelled(this.stage.id, now(), this.attemptBase - 1 - this.priorAttempts);
  }

  noteOutageRiddenOut(): void {
    if (this.outage)
      this.run.noteReason(this.stage.id, `rode out a dependency outage (${this.outage.retries} retries)`);
  }

  cacheRecord(key: string, result: StageActivityResult): Parameters<CacheActivities['recordStageCache']>[0] {
    return { key, runId: this.run.runId, pipeline: this.run.plan.pipeline.name, stage: this.stage, result };
  }

  succeeded(result: StageActivityResult, digest: string | undefined): void {
    const { run, stage } = this;
    const attempts = result.attempt !== undefined ? result.attempt - this.priorAttempts : 1;
    // The stage worker's end time: a control worker that was down when the stage ended does not stretch it.
    const endedAt = stageEndTime(result.endedAt, run.stage(stage.id).startedAt, now());
    run.markSucceeded(stage.id, endedAt, result.outputs, attempts, digest);
  }

  /** Write a stage's failure or cancellation to the tracker, with the number of attempts it took. */
  private settleFailure(error: unknown, failure: DescribedFailure): void {
    const { run, stage, priorAttempts } = this;
    // A failure without an attempt number exhausted the retry policy, except a sweep child
    // (it runs once; its trials retry inside it) and a cancellation (it stopped the attempt running).
    // A stage its cancel watch stopped (activities/cancel-watch.ts) ends with a FineflowCancelled failure.
    const cancelled = isCancellation(error) || failure.error.type === ERROR_TYPES.cancelled;
    const unnumbered =
      runsAsChild(stage) || cancelled
        ? 1
        : this.attemptBase - 1 - priorAttempts + remainingOwnAttempts(stage.retry, this.ownFailures);
    const attempts = failure.attempt !== undefined ? failure.attempt - priorAttempts : unnumbered;
    if (cancelled) run.markCancelled(stage.id, now(), Math.max(1, attempts));
    else
      run.markFailed(
        stage.id,
        // When the last attempt failed on its worker: a control worker that was down then does not stretch it.
        stageEndTime(failure.endedAt, run.stage(stage.id).startedAt, now()),
        stage.onFailure === 'pause' ? 'waiting' : 'failed',
        failure.error,
        Math.max(1, attempts),
      );
  }
}

/**
 * The sweep is a child workflow, not one activity: its trials are activities of their own,
 * spread over the stage's pool, and its state must survive worker crashes. One child per
 * attempt of the stage, so a `retry` after a failed sweep starts a fresh one.
 */
async function runSweepStage(
  stage: PlannedStage,
  context: StageActivityInput['context'],
  inputs: JsonObject,
): Promise<StageActivityResult> {
  return executeChild(hyperparameterSweep, {
    workflowId: `${context.runId}.${stage.id}.sweep-${context.attempt}`,
    taskQueue: workflowInfo().taskQueue,
    staticSummary: `${stageSummary(stage)} · attempt ${context.attempt}`,
    args: [
      {
        context,
        inputs,
        execution: {
          pool: stage.pool,
          segmentTimeoutMs: stage.timeoutMs,
          heartbeatTimeoutMs: stage.heartbeatTimeoutMs ?? 60_000,
          retry: stage.retry,
          ...(stage.resources ? { resources: stage.resources } : {}),
        },
      },
    ],
  });
}

/** Stages that run as a child workflow (once per attempt: their own stages or trials retry inside). */
function runsAsChild(stage: PlannedStage): boolean {
  return stage.uses === 'hyperparameter-sweep' || stage.subPipeline !== undefined;
}

/**
 * What a failed child run of a `pipeline` stage finished, by run and stage id: a retry of the stage
 * with the same params reuses it instead of running those stages again. Workflow-local: a run that
 * continued as new since, or a retry with other params, starts the child from scratch.
 */
const failedChildren = new Map<
  string,
  { readonly childRunId: string; readonly params: ParamValues; readonly stages: readonly StageState[] }
>();

/**
 * A `pipeline` stage runs its compiled child plan as a child `pipelineRun` (src/core/run/sub-pipeline.ts);
 * a cancel of the stage cancels the child (which runs its own `finally:` stages), and the child ends
 * with its parent if that is terminated. Its outputs are its stages' outputs, by stage id.
 */
async function runSubPipelineStage(
  run: RunTracker,
  stage: PlannedStage,
  context: StageActivityInput['context'],
  inputs: JsonObject,
  input: PipelineRunInput,
): Promise<StageActivityResult> {
  const childRunId = subPipelineRunId(context.runId, stage.id, context.attempt);
  const key = `${context.runId}\u0000${stage.id}`;
  const fresh = subPipelineRunInput(stage, inputs, input);
  const previous = failedChildren.get(key);
  const reuse = previous ? reusableChildStages(previous, fresh.plan) : [];
  const childInput = reuse.length > 0 ? { ...fresh, reuse } : fresh;
  run.noteChildRun(stage.id, childRunId);
  const info = workflowInfo();
  try {
    const result = await executeChild(pipelineRun, {
      workflowId: childRunId,
      taskQueue: info.taskQueue,
      staticSummary: `${stageSummary(stage)} · attempt ${context.attempt}`,
      args: [childInput],
      memo: { pipeline: childInput.plan.pipeline.name, parentRunId: context.runId, parentStage: stage.id },
      typedSearchAttributes: [
        { key: searchAttributeKeys.pipeline, value: childInput.plan.pipeline.name },
        { key: searchAttributeKeys.status, value: 'running' },
        ...(info.typedSearchAttributes.get(searchAttributeKeys.trigger) !== undefined
          ? [
              {
                key: searchAttributeKeys.trigger,
                value: info.typedSearchAttributes.get(searchAttributeKeys.trigger) as string,
              },
            ]
          : []),
      ],
    });
    failedChildren.delete(key);
    return { outputs: subPipelineOutputs(await childStages(result, input, childRunId)) };
  } catch (error) {
    const cause = error instanceof ChildWorkflowFailure ? error.cause : undefined;
    const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as PipelineRunResult) : undefined;
    const stages = failedRunStages(details);
    if (stages && details) {
      // The outputs a retry reuses; without the stored table, the ones the result kept.
      const full = await CancellationScope.nonCancellable(() => childStages(details, input, childRunId)).catch(
        () => stages,
      );
      failedChildren.set(key, { childRunId, params: paramValues(childInput.plan), stages: full });
    }
    throw error;
  }
}

/** The plan stages of a child's result, from its stored table when the result left some outputs out. */
async function childStages(
  result: PipelineRunResult,
  input: PipelineRunInput,
  childRunId: string,
): Promise<readonly StageState[]> {
  const omitted = result.omitted;
  if (!result.stored || !omitted || (omitted.outputs.length === 0 && omitted.stages === 0)) return result.stages;
  return (await readStoredState(input.bucket ?? 'fineflow', childRunId, result.stored)).carried.stages;
}
