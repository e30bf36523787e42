/**
 * The stage events of one execution of a run, decoded from its raw history for src/core/run/stages-after-execution.ts:
 * which stage each scheduled activity, cache look-up or child workflow belonged to (from its input, decoded through
 * the client's codecs), and how it ended. Only the event kinds that move a stage are decoded; the run-state hand-over
 * activities (large payloads) are never read.
 */
import type { Client } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToDate, optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { ERROR_TYPES } from '../core/errors';
import { describeStageFailure, type DescribedFailure } from '../core/run/failures';
import {
  RUN_UPDATES,
  WORKFLOW_TYPES,
  type CacheLookupResult,
  type PipelineRunResult,
  type StageActivityResult,
} from '../core/run/run-types';
import type { StageEvent } from '../core/run/stages-after-execution';
import { CONTINUE_AS_NEW_PATCH, historyPastLimit, type WorkflowTaskHistory } from '../core/run/history-limit';
import { BATCH_TURN_MS, START_BATCH_PATCH } from '../core/run/start-slots';
import { subPipelineOutputs } from '../core/run/sub-pipeline';
import type { JsonObject, Plan } from '../core/spec/plan-types';
import { checkParamOverrides, type ParamValues } from '../core/run/params';
import { decodeHistoryPayload } from './temporal-connection';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

/** What a scheduled activity or started child was for. */
interface Started {
  readonly stageId: string;
  readonly what: 'stage' | 'cache' | 'sweep' | 'pipeline';
  /** The attempt within the run its context named (the first of this activity's Temporal attempts). */
  readonly attempt?: number;
}

const CACHE_LOOKUP = 'lookupStageCache';
/** The activity a continued execution reads its carried state back with, before it decides anything. */
const READ_RUN_STATE_PART = 'readRunStatePart';

/** The activity type of a completed activity event (its scheduled event, found by id). */
function scheduledType(events: readonly HistoryEvent[], completed: HistoryEvent): string | undefined {
  const scheduledId = key(completed.activityTaskCompletedEventAttributes?.scheduledEventId);
  const scheduled = events.find((event) => key(event.eventId) === scheduledId);
  return scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function key(id: unknown): string {
  return String(id ?? '');
}

/** The stage a decoded activity or sweep input names in its context, with the attempt it starts at. */
function contextOf(input: unknown): { stageId: string; attempt?: number } | undefined {
  const context = isObject(input) && isObject(input.context) ? input.context : undefined;
  if (!context || typeof context.stageId !== 'string') return undefined;
  return { stageId: context.stageId, ...(typeof context.attempt === 'number' ? { attempt: context.attempt } : {}) };
}

class ExecutionReader {
  readonly events: StageEvent[] = [];
  private readonly started = new Map<string, Started>();
  /** Temporal's attempt number of each started activity, by its ActivityTaskStarted event id. */
  private readonly temporalAttempts = new Map<string, number>();

  private readonly stageTypes: ReadonlySet<string>;

  constructor(
    private readonly client: Client,
    private readonly plan: Plan,
  ) {
    this.stageTypes = new Set(plan.stages.map((stage) => stage.uses));
  }

  private decode(payloads: Payloads): Promise<unknown> {
    const payload = payloads?.payloads?.[0];
    return payload ? decodeHistoryPayload(this.client, payload) : Promise.resolve(undefined);
  }

  /** A recorded failure as the workflow described it (its details decoded through the client's codecs). */
  private async failure(failure: temporal.api.failure.v1.IFailure | null | undefined): Promise<DescribedFailure> {
    const error = await decodeOptionalFailureToOptionalError(this.client.options.loadedDataConverter, failure);
    return describeStageFailure(error ?? new Error('no failure recorded'));
  }

  /**
   * `times`: the workflow's clock when it issued this event's command (the workflow task it came from) and when it
   * saw this event (the next workflow task): the times the workflow's tracker wrote.
   */
  async read(event: HistoryEvent, times: { readonly issued: string; readonly seen: string }): Promise<void> {
    const at = times.seen;
    const id = key(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) return this.scheduled(id, times.issued, scheduled);
    const startedActivity = event.activityTaskStartedEventAttributes;
    if (startedActivity) {
      this.temporalAttempts.set(id, startedActivity.attempt ?? 1);
      return;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) return this.completed(this.started.get(key(completed.scheduledEventId)), at, completed.result);
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (failed) {
      const started = this.started.get(key(failed.scheduledEventId));
      const temporalAttempt = this.temporalAttempts.get(key(failed.startedEventId));
      return this.failed(started, at, failed.failure, temporalAttempt);
    }
    const cancelled = event.activityTaskCanceledEventAttributes;
    if (cancelled) return this.cancelled(this.started.get(key(cancelled.scheduledEventId)), at);
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes;
    if (child) return this.childStarted(id, times.issued, child);
    const childDone = event.childWorkflowExecutionCompletedEventAttributes;
    if (childDone) return this.completed(this.started.get(key(childDone.initiatedEventId)), at, childDone.result);
    const childFailed = event.childWorkflowExecutionFailedEventAttributes;
    if (childFailed) return this.failed(this.started.get(key(childFailed.initiatedEventId)), at, childFailed.failure);
    const childEnded =
      event.childWorkflowExecutionCanceledEventAttributes ??
      event.childWorkflowExecutionTerminatedEventAttributes ??
      event.childWorkflowExecutionTimedOutEventAttributes;
    if (childEnded) return this.cancelled(this.started.get(key(childEnded.initiatedEventId)), at);
    if (event.workflowExecutionCancelRequestedEventAttributes) {
      this.events.push({ kind: 'cancel-requested', at });
      return;
    }
    const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (update?.name === RUN_UPDATES.retryStage) {
      const request = await this.decode(update.args);
      const stageId = isObject(request) && typeof request.stageId === 'string' ? request.stageId : undefined;
      // Its `--set` params, as the workflow applied them (after the same check): decisions after it read them.
      const checked =
        isObject(request) && isObject(request.params)
          ? checkParamOverrides(this.plan, request.params as ParamValues)
          : undefined;
      this.events.push({
        kind: 'retried',
        at,
        ...(stageId ? { stageId } : {}),
        ...(checked?.ok ? { params: checked.values } : {}),
      });
    }
  }

  private async scheduled(
    id: string,
    at: string,
    attributes: temporal.api.history.v1.IActivityTaskScheduledEventAttributes,
  ): Promise<void> {
    const type = attributes.activityType?.name ?? '';
    if (type !== CACHE_LOOKUP && !this.stageTypes.has(type)) return;
    const input = await this.decode(attributes.input);
    if (type === CACHE_LOOKUP) {
      const stage = isObject(input) && isObject(input.stage) ? input.stage : undefined;
      if (typeof stage?.id !== 'string') return;
      this.started.set(id, { stageId: stage.id, what: 'cache' });
      this.events.push({ kind: 'started', stageId: stage.id, at });
      return;
    }
    const context = contextOf(input);
    if (!context) return;
    this.started.set(id, { ...context, what: 'stage' });
    this.events.push({ kind: 'started', stageId: context.stageId, at });
  }

  private async childStarted(
    id: string,
    at: string,
    attributes: temporal.api.history.v1.IStartChildWorkflowExecutionInitiatedEventAttributes,
  ): Promise<void> {
    const type = attributes.workflowType?.name;
    if (type === WORKFLOW_TYPES.hyperparameterSweep) {
      const context = contextOf(await this.decode(attributes.input));
      if (!context) return;
      this.started.set(id, { stageId: context.stageId, what: 'sweep' });
      this.events.push({ kind: 'started', stageId: context.stageId, at });
    } else if (type === WORKFLOW_TYPES.pipelineRun) {
      const memo = attributes.memo?.fields?.parentStage;
      const stageId = memo ? await decodeHistoryPayload(this.client, memo) : undefined;
      if (typeof stageId !== 'string') return;
      this.started.set(id, { stageId, what: 'pipeline' });
      const childRunId = attributes.workflowId ?? undefined;
      this.events.push({ kind: 'started', stageId, at, ...(childRunId ? { childRunId } : {}) });
    }
  }

  private async completed(started: Started | undefined, at: string, result: Payloads): Promise<void> {
    if (!started) return;
    const { stageId } = started;
    const value = await this.decode(result);
    if (started.what === 'cache') {
      const found = value as CacheLookupResult | undefined;
      if (found?.hit)
        this.events.push({
          kind: 'cached',
          stageId,
          at,
          outputs: found.outputs,
          reason: `cache hit from run ${found.fromRunId} (${found.createdAt})`,
        });
      return;
    }
    if (started.what === 'pipeline') {
      const stages =
        isObject(value) && Array.isArray(value.stages) ? (value as unknown as PipelineRunResult).stages : [];
      this.events.push({ kind: 'succeeded', stageId, at, outputs: subPipelineOutputs(stages), attempt: 1 });
      return;
    }
    const done = value as StageActivityResult | undefined;
    const outputs: JsonObject = isObject(done?.outputs) ? done.outputs : {};
    this.events.push({
      kind: 'succeeded',
      stageId,
      at,
      outputs,
      ...(typeof done?.attempt === 'number' ? { attempt: done.attempt } : {}),
      ...(typeof done?.endedAt === 'string' ? { endedAt: done.endedAt } : {}),
    });
  }

  private async failed(
    started: Started | undefined,
    at: string,
    failure: temporal.api.failure.v1.IFailure | null | undefined,
    temporalAttempt?: number,
  ): Promise<void> {
    // A cache look-up that fails lets the stage run: nothing to record.
    if (!started || started.what === 'cache') return;
    const described = await this.failure(failure);
    if (described.error.type === ERROR_TYPES.cancelled) return this.cancelled(started, at);
    const attempt =
      described.attempt ??
      (started.attempt !== undefined && temporalAttempt !== undefined
        ? started.attempt + temporalAttempt - 1
        : undefined);
    this.events.push({
      kind: 'failed',
      stageId: started.stageId,
      at,
      error: described.error,
      ...(described.endedAt !== undefined ? { endedAt: described.endedAt } : {}),
      ...(attempt !== undefined ? { attempt } : {}),
      ...(started.what === 'stage' && described.error.type === ERROR_TYPES.dependencyUnavailable
        ? { outage: true }
        : {}),
    });
  }

  private cancelled(started: Started | undefined, at: string): void {
    if (started && started.what !== 'cache') this.events.push({ kind: 'cancelled', stageId: started.stageId, at });
  }
}

/**
 * Events the workflow decides on in the task that saw them (a stage ended, the run was asked to cancel, a batch turn, a
 * `retry` accepted).
 */
const SEEN_KINDS: ReadonlySet<StageEvent['kind']> = new Set([
  'succeeded',
  'cached',
  'failed',
  'cancelled',
  'cancel-requested',
  'batch-turn',
  'retried',
]);

/** The facts the workflow's drain rule reads off a WorkflowTaskStarted event (src/core/run/history-limit.ts). */
function taskHistory(event: HistoryEvent): WorkflowTaskHistory {
  return {
    historyLength: Number(event.eventId ?? 0),
    continueAsNewSuggested: event.workflowTaskStartedEventAttributes?.suggestContinueAsNew === true,
  };
}

/**
 * The patches the execution took (their markers): the workflow records one where it first asks it, so the bounded-
 * history marker means its first long task took that branch, and the start-batch one that its passes start at most a
 * batch of stages each.
 */
async function patchesTaken(client: Client, events: readonly HistoryEvent[]): Promise<Set<string>> {
  const taken = new Set<string>();
  for (const event of events) {
    const payload = event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0];
    if (!payload) continue;
    const data = await decodeHistoryPayload(client, payload);
    if (isObject(data) && typeof data.id === 'string') taken.add(data.id);
  }
  return taken;
}

/**
 * The timers that can be batch turns, by their TimerStarted event id, with the task that started each (its
 * WorkflowTaskStarted event id): the last 1 ms timer a task started. The workflow starts its batch turn after the
 * pass, so after any outage wait that task also started (those begin before the pass, when the task's events are
 * applied).
 */
function batchTurnTimers(events: readonly HistoryEvent[]): Map<string, number> {
  const taskOfCompletion = new Map<string, number>();
  const lastByTask = new Map<number, string>();
  for (const event of events) {
    const completed = event.workflowTaskCompletedEventAttributes;
    if (completed) taskOfCompletion.set(key(event.eventId), Number(completed.startedEventId ?? 0));
    const timer = event.timerStartedEventAttributes;
    if (!timer || optionalTsToMs(timer.startToFireTimeout) !== BATCH_TURN_MS) continue;
    const task = taskOfCompletion.get(key(timer.workflowTaskCompletedEventId));
    if (task !== undefined) lastByTask.set(task, key(event.eventId));
  }
  return new Map([...lastByTask].map(([task, timerId]) => [timerId, task]));
}

const timeOf = (event: HistoryEvent | undefined): string | undefined =>
  optionalTsToDate(event?.eventTime)?.toISOString();
const taskStarted = (event: HistoryEvent): boolean => event.workflowTaskStartedEventAttributes != null;

/** The workflow task that decided on an event, as a worker's replay of the ended execution (its query) runs it. */
interface DecidingTask {
  /** Its workflow clock. */
  readonly at: string | undefined;
  /** Which task (its WorkflowTaskStarted event id; the final activation's: the history's last event id). */
  readonly id: number;
  /** What its drain rule reads (src/core/run/history-limit.ts). */
  readonly history: WorkflowTaskHistory;
  /** Replay is over there (the ended run's final activation): the workflow takes a patch history does not record. */
  readonly replayOver: boolean;
}

/** A workflow task that is one of the history's own (completed or not): its own start. */
function ownTask(started: HistoryEvent): DecidingTask {
  return { at: timeOf(started), id: Number(started.eventId), history: taskHistory(started), replayOver: false };
}

/**
 * The task that decided on each event, as a worker's replay of the ended execution (a query of it) runs them: the first
 * workflow task started after the event. Except the events after the last completed task of a run Temporal ended: a
 * replay applies them all in one final activation (sdk-core, worker/workflow/history_update.rs: a task started and then
 * failed by the termination ends no sequence of its own, the terminal event ends the last one). Its clock is the
 * latest task's start, its history length the whole history's (workflow_machines.rs: `history_length` is the last
 * event processed), `suggestContinueAsNew` that latest start's, and replay is over there (the query's
 * `previous_started_event_id` is the last completed task's), so the workflow takes a patch it asks for the first time
 * (the bounded-history one of a first long task that never completed). Read from sdk-core's sources and checked
 * against a worker's query (test/integration/runtime/terminated-mid-task.test.ts); the SDK's offline replayer
 * (`Worker.runReplayHistory`) stops before that live activation, so it cannot show it. What it starts has no event:
 * its events say so (`startsUnrecorded`).
 */
function decidingTasks(events: readonly HistoryEvent[]): (DecidingTask | undefined)[] {
  const deciding: (DecidingTask | undefined)[] = [];
  let next: DecidingTask | undefined;
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i] as HistoryEvent;
    if (taskStarted(event)) next = ownTask(event);
    deciding[i] = next;
  }
  const last = events.at(-1);
  if (!last?.workflowExecutionTerminatedEventAttributes && !last?.workflowExecutionTimedOutEventAttributes)
    return withUpdateTasks(events, deciding);
  let lastCompleted = -1;
  let latest: HistoryEvent | undefined;
  for (const [i, event] of events.entries()) {
    if (!taskStarted(event)) continue;
    latest = event;
    if (events[i + 1]?.workflowTaskCompletedEventAttributes) lastCompleted = i;
  }
  if (lastCompleted < 0 || !latest) return withUpdateTasks(events, deciding);
  const id = Number(last.eventId);
  const history = { historyLength: id, continueAsNewSuggested: taskHistory(latest).continueAsNewSuggested };
  const final: DecidingTask = { at: timeOf(latest), id, history, replayOver: true };
  for (let i = lastCompleted + 1; i < events.length; i++) deciding[i] = final;
  return withUpdateTasks(events, deciding);
}

/**
 * An accepted update (a `retry`) is no input of the task after it: the task that ran its handler accepted it, and the
 * event comes after that task's WorkflowTaskCompleted, among its commands (the worker's replay delivers it there too:
 * `acceptedRequestSequencingEventId` names that task's WorkflowTaskScheduled). The handler wakes the main loop, whose
 * pass decides in that same task, on everything else it saw. Read as the first task after it, a retried stage that no
 * event moves (skipped by a `--set` that turns its `when:` false, failed on an input that no longer resolves) was
 * decided a task late, at that task's clock, or never when no task came.
 */
function withUpdateTasks(
  events: readonly HistoryEvent[],
  deciding: (DecidingTask | undefined)[],
): (DecidingTask | undefined)[] {
  const starts = new Map<string, HistoryEvent>();
  let lastStarted: HistoryEvent | undefined;
  let lastCompleted: HistoryEvent | undefined;
  for (const [i, event] of events.entries()) {
    if (taskStarted(event)) {
      starts.set(key(event.eventId), event);
      lastStarted = event;
    }
    const completed = event.workflowTaskCompletedEventAttributes;
    if (completed) lastCompleted = starts.get(key(completed.startedEventId)) ?? lastStarted;
    if (event.workflowExecutionUpdateAcceptedEventAttributes && lastCompleted) deciding[i] = ownTask(lastCompleted);
  }
  return deciding;
}

/**
 * The stage events of one execution's history, in order. `historyEventLimit`: the run's threshold, to mark the events
 * a task draining towards continue-as-new saw, as the workflow decided (src/core/run/history-limit.ts).
 */
export async function executionStageEvents(
  client: Client,
  plan: Plan,
  events: readonly HistoryEvent[],
  historyEventLimit?: number,
): Promise<StageEvent[]> {
  const reader = new ExecutionReader(client, plan);
  // When the execution took its first decisions: its first workflow task, or a continued run's once its state was
  // read back (the task after the last part of it arrived).
  let began: { at: string; task: DecidingTask | undefined } | undefined;
  const deciding = decidingTasks(events);
  // The history length a continued execution had once it read its state back: the threshold counts from there.
  let eventsBefore = 0;
  const patches = await patchesTaken(client, events);
  const bounded = patches.has(CONTINUE_AS_NEW_PATCH);
  const batchTurns = batchTurnTimers(events);
  // Past the limit in a task that took the bounded-history patch: recorded, or asked where replay was over.
  const drains = (task: DecidingTask | undefined, own: HistoryEvent): boolean =>
    (bounded || task?.replayOver === true) &&
    historyPastLimit(task?.history ?? taskHistory(own), eventsBefore, historyEventLimit);
  let issued: string | undefined;
  for (const [i, event] of events.entries()) {
    if (taskStarted(event)) issued = timeOf(event);
    const own = timeOf(event) ?? new Date(0).toISOString();
    const task = deciding[i];
    const seen = task?.at ?? own;
    if (reader.events.length === 0) {
      if (began === undefined && taskStarted(event)) began = { at: own, task: ownTask(event) };
      if (event.activityTaskCompletedEventAttributes && scheduledType(events, event) === READ_RUN_STATE_PART) {
        began = { at: seen, task };
        eventsBefore = (task?.history ?? taskHistory(event)).historyLength;
      }
    }
    const from = reader.events.length;
    await reader.read(event, { issued: issued ?? own, seen });
    const fired = event.timerFiredEventAttributes;
    const after = fired ? batchTurns.get(key(fired.startedEventId)) : undefined;
    if (after !== undefined) reader.events.push({ kind: 'batch-turn', at: seen, after });
    // The task that saw each event (it decides once, after all of them), and whether it drained: what it decided on
    // (a command the workflow issued was decided before it: no mark).
    const marked = drains(task, event);
    if (task !== undefined || marked)
      reader.events.push(
        ...reader.events.splice(from).map((e) => ({
          ...e,
          ...(task !== undefined ? { task: task.id } : {}),
          ...(task?.replayOver === true ? { startsUnrecorded: true as const } : {}),
          ...(marked && SEEN_KINDS.has(e.kind) ? { draining: true as const } : {}),
        })),
      );
  }
  if (began === undefined) return reader.events;
  const beganDraining = began.task !== undefined && drains(began.task, events[0] as HistoryEvent);
  const first: StageEvent = {
    kind: 'began',
    at: began.at,
    ...(patches.has(START_BATCH_PATCH) ? { startBatch: true as const } : {}),
    ...(beganDraining ? { draining: true as const } : {}),
    ...(began.task !== undefined ? { task: began.task.id } : {}),
  };
  return [first, ...reader.events];
}
