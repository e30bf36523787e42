/**
 * A run's stages at the end of its latest execution, read without a worker. A run that continued as new carries its
 * stages into each execution; one terminated (or timed out) after that recorded no result, so what its stages did in
 * the execution Temporal ended is only in that execution's history: the stage activities, cache look-ups and child
 * workflows it scheduled and how they ended, and the `retry` updates it accepted. The client decodes those events
 * (src/client/execution-stage-events.ts); this applies them to the carried stages the way the workflow's tracker
 * (src/core/run/run-tracker.ts) did. Pure; no Node built-ins.
 *
 * What history does not show, the workflow decided from what it does show, and so does this: a stage skipped by
 * `when:` or failed on an unresolvable input once it got a start slot, fan-out instances created from their items and
 * the fan-in once they settled (src/core/run/unrecorded-decisions.ts, once per workflow task that woke the workflow's
 * main loop: the one the execution began with, each that saw a stage end or the cancel or accepted a `retry`, and the
 * batch turn a task that used up its start batch left for the next), and a dependency outage that ran out its budget
 * (the outage rule, src/core/run/outage-retry.ts, applied to the failures' workflow times). Until its batch turn the
 * workflow decides nothing, and neither does this. An execution draining towards continue-as-new decides none of its
 * main phase, and neither does this at a task marked `draining`.
 */
import type { JsonObject, PlannedStage } from '../spec/plan-types';
import { stageEndTime, type StageState } from './run-types';
import type { StageError } from './run-tracker';
import { nextOutageRetry, type OutageState } from './outage-retry';
import type { DecideUnrecorded } from './unrecorded-decisions';
import type { ParamValues } from './params';

/**
 * One event of the latest execution that moved a stage, in history order; `at` is the event's time (ISO 8601).
 * `draining`: the workflow task that saw it was past the history threshold (src/core/run/history-limit.ts), so the
 * execution, draining towards continue-as-new, decided nothing of its main phase there. `task`: that workflow task
 * (its WorkflowTaskStarted event id), when one saw it: the workflow decides once per task, after all it saw.
 */
export type StageEvent = StageEventOf & {
  readonly draining?: true;
  readonly task?: number;
  /** Seen by a task whose commands never reached history (RunSoFar.startsUnrecorded). */
  readonly startsUnrecorded?: true;
};

type StageEventOf =
  /**
   * The execution took its first scheduling decisions (after reading back a continued run's state). `startBatch`: its
   * history holds the start-batch patch marker (src/core/run/unrecorded-decisions.ts, `RunSoFar.startBatch`).
   */
  | { readonly kind: 'began'; readonly at: string; readonly startBatch?: true }
  /** The workflow started the stage: scheduled its activity or cache look-up, or started its child workflow. */
  | { readonly kind: 'started'; readonly stageId: string; readonly at: string; readonly childRunId?: string }
  /** Its activity or child ended with a result; `attempt` (within the run) and `endedAt` as the stage runner set them. */
  | {
      readonly kind: 'succeeded';
      readonly stageId: string;
      readonly at: string;
      readonly outputs: JsonObject;
      readonly attempt?: number;
      readonly endedAt?: string;
    }
  /** The cache answered the stage. */
  | {
      readonly kind: 'cached';
      readonly stageId: string;
      readonly at: string;
      readonly outputs: JsonObject;
      readonly reason: string;
    }
  /**
   * Its activity or child failed for good. `outage`: the failure was a dependency outage, which the workflow rides out
   * (another start follows) until its budget ends.
   */
  | {
      readonly kind: 'failed';
      readonly stageId: string;
      readonly at: string;
      readonly error: StageError;
      readonly attempt?: number;
      readonly endedAt?: string;
      readonly outage?: boolean;
    }
  | { readonly kind: 'cancelled'; readonly stageId: string; readonly at: string }
  /**
   * An accepted `retry` update: the named stage, or every waiting one; `params`: what its `--set` changed. It wakes the
   * main loop in the task that accepted it (`at`: that task's clock), which decides the retried stages there.
   */
  | { readonly kind: 'retried'; readonly at: string; readonly stageId?: string; readonly params?: ParamValues }
  /**
   * The run was asked to cancel (`fineflow cancel`): it starts nothing more, and once its running stages settled it
   * runs its `finally:` phase as a cancelled run.
   */
  | { readonly kind: 'cancel-requested'; readonly at: string }
  /**
   * A 1 ms timer the workflow task `after` started fired: the batch turn of that task's pass, if its start batch ran
   * out (the workflow then sleeps 1 ms and starts the rest in the task this wakes).
   */
  | { readonly kind: 'batch-turn'; readonly at: string; readonly after: number };

type Mutable = { -readonly [K in keyof StageState]?: StageState[K] };

/** `state` with `patch` applied; an undefined value in `patch` removes the field. */
function patched(state: StageState, patch: Mutable): StageState {
  const next: Mutable = { ...state, ...patch };
  for (const key of Object.keys(patch) as (keyof StageState)[]) if (patch[key] === undefined) delete next[key];
  return next as StageState;
}

function applyEvent(state: StageState, event: StageEvent, planned: PlannedStage | undefined): StageState {
  switch (event.kind) {
    case 'started':
      // Outage retries and a sweep's next child start again a stage already running: it keeps its start.
      if (state.status === 'running')
        return event.childRunId ? patched(state, { childRunId: event.childRunId }) : state;
      return patched(state, {
        status: 'running',
        startedAt: event.at,
        endedAt: undefined,
        error: undefined,
        progress: undefined,
        reason: undefined,
        ...(event.childRunId ? { childRunId: event.childRunId } : {}),
      });
    case 'succeeded':
      return patched(state, {
        status: 'succeeded',
        endedAt: stageEndTime(event.endedAt, state.startedAt, event.at),
        outputs: event.outputs,
        attempts: event.attempt ?? state.attempts + 1,
        progress: undefined,
      });
    case 'cached':
      return patched(state, {
        status: 'cached',
        startedAt: state.startedAt ?? event.at,
        endedAt: event.at,
        outputs: event.outputs,
        reason: event.reason,
      });
    case 'failed':
      if (event.outage) return state;
      return patched(state, {
        status: planned?.onFailure === 'pause' ? 'waiting' : 'failed',
        endedAt: stageEndTime(event.endedAt, state.startedAt, event.at),
        error: event.error,
        attempts: Math.max(state.attempts + 1, event.attempt ?? 0),
        progress: undefined,
      });
    case 'cancelled':
      return patched(state, {
        status: 'cancelled',
        endedAt: event.at,
        attempts: Math.max(1, state.attempts),
        progress: undefined,
      });
    case 'retried':
      if (state.status !== 'waiting' || (event.stageId !== undefined && event.stageId !== state.id)) return state;
      return patched(state, { status: 'pending', reason: `retried after ${state.attempts} attempt(s)` });
    case 'began':
    case 'cancel-requested':
    case 'batch-turn':
      return state;
  }
}

/**
 * A dependency-outage failure as the workflow took it: tried again while the stage's outage budget lasts (the stage
 * stays running, noting the retry), else the stage's failure, saying how long the dependency stayed unavailable.
 */
function outageOutcome(
  event: Extract<StageEvent, { kind: 'failed' }>,
  planned: PlannedStage | undefined,
  outages: Map<string, OutageState>,
): { readonly note: string } | { readonly failed: Extract<StageEvent, { kind: 'failed' }> } {
  const nowMs = Date.parse(event.at);
  if (!planned || Number.isNaN(nowMs)) return { note: '' };
  const decision = nextOutageRetry(
    planned.retry,
    outages.get(event.stageId),
    Date.parse(event.at),
    event.error.message,
  );
  if (decision.retry) {
    outages.set(event.stageId, decision.state);
    return { note: decision.note };
  }
  outages.delete(event.stageId);
  const { outage: _outage, ...rest } = event;
  return { failed: { ...rest, error: { type: event.error.type, message: decision.message } } };
}

function endsStage(event: StageEvent): boolean {
  return event.kind === 'succeeded' || event.kind === 'cached' || event.kind === 'failed' || event.kind === 'cancelled';
}

/** The workflow task whose decisions are due once every event it saw is applied. */
interface DueDecision {
  readonly task: number | undefined;
  readonly at: string;
  readonly draining: boolean;
  readonly startsUnrecorded: boolean;
}

/**
 * When the workflow ran its scheduling pass: once per workflow task that woke its main loop, after every event that
 * task saw (those with its `task`; an event without one is a task of its own), and not while it slept towards the batch
 * turn of a task that used up its start batch. `pass` takes the decisions and says whether it used up its batch.
 */
class WorkflowPasses {
  private due: DueDecision | undefined;
  /** The task whose pass used up its start batch: the workflow sleeps until that task's batch turn. */
  private deferredBy: number | undefined;

  constructor(private readonly pass: (due: DueDecision) => boolean) {}

  /** Before `event`: the pass of the task before it, once every event that task saw was applied. */
  before(event: StageEvent): void {
    if (this.due && (event.task === undefined || event.task !== this.due.task)) this.flush();
  }

  flush(): void {
    const due = this.due;
    if (!due) return;
    this.due = undefined;
    this.deferredBy = this.pass(due) ? due.task : undefined;
  }

  /** The execution began, or a stage ended: the main loop wakes, unless it sleeps towards a batch turn. */
  wake(event: StageEvent): void {
    if (this.deferredBy === undefined)
      this.due = {
        task: event.task,
        at: event.at,
        draining: event.draining === true,
        startsUnrecorded: event.startsUnrecorded === true,
      };
  }

  /** A cancel ends the main loop, a batch turn's sleep too; the finally phase is decided from here. */
  cancel(event: StageEvent): void {
    this.deferredBy = undefined;
    this.wake(event);
  }

  batchTurn(event: Extract<StageEvent, { kind: 'batch-turn' }>): void {
    if (this.deferredBy === undefined || event.after !== this.deferredBy) return;
    this.deferredBy = undefined;
    this.wake(event);
  }
}

/**
 * The carried `stages` after the latest execution's `events`. `plan` gives each stage's `onFailure` (an instance
 * follows the stage it belongs to). `decide` takes the decisions the workflow took without an event, once per task
 * that woke it (`began`, a stage's end, the cancel, a `retry`, the batch turn; {@link WorkflowPasses}); without it,
 * stages no event names stay as they were. Events of stages the state does not have (then) are left out.
 */
export function stagesAfterExecution(
  plannedStages: readonly PlannedStage[],
  stages: readonly StageState[],
  events: readonly StageEvent[],
  decide?: DecideUnrecorded,
): StageState[] {
  const planned = new Map(plannedStages.map((stage) => [stage.id, stage]));
  let next = [...stages];
  let index = new Map(next.map((stage, i) => [stage.id, i]));
  const outages = new Map<string, OutageState>();
  let cancelRequested = false;
  let paramsSet: ParamValues = {};
  let startBatch = false;
  const passes = new WorkflowPasses(({ at, draining, startsUnrecorded }) => {
    if (!decide) return false;
    const decided = decide(next, at, { cancelRequested, paramsSet, draining, startBatch, startsUnrecorded });
    if (decided.stages !== next) {
      next = [...decided.stages];
      index = new Map(next.map((stage, i) => [stage.id, i]));
    }
    return decided.deferred;
  });
  for (const original of events) {
    passes.before(original);
    if (original.kind === 'began') {
      startBatch = original.startBatch === true;
      passes.wake(original);
    } else if (original.kind === 'cancel-requested') {
      cancelRequested = true;
      passes.cancel(original);
    } else if (original.kind === 'batch-turn') passes.batchTurn(original);
    else if (original.kind === 'retried') {
      if (original.params) paramsSet = { ...paramsSet, ...original.params };
      for (let i = 0; i < next.length; i++) next[i] = applyEvent(next[i] as StageState, original, undefined);
      passes.wake(original);
    } else {
      const at = index.get(original.stageId);
      if (at === undefined) continue;
      const state = next[at] as StageState;
      const applied = applyStageEvent(state, original, planned.get(state.instanceOf ?? state.id), outages);
      next[at] = applied.state;
      if (applied.ended) passes.wake(original);
    }
  }
  passes.flush();
  return next;
}

/** One event of a stage applied to it, with the outage rule; `ended`: the workflow took it as the stage's end. */
function applyStageEvent(
  state: StageState,
  original: Exclude<StageEvent, { kind: 'began' | 'cancel-requested' | 'batch-turn' | 'retried' }>,
  plannedStage: PlannedStage | undefined,
  outages: Map<string, OutageState>,
): { readonly state: StageState; readonly ended: boolean } {
  let event: StageEvent = original;
  if (event.kind === 'started' && state.status !== 'running') outages.delete(state.id);
  if (event.kind === 'failed' && event.outage) {
    const outcome = outageOutcome(event, plannedStage, outages);
    if ('note' in outcome)
      return { state: outcome.note ? patched(state, { reason: outcome.note }) : state, ended: false };
    event = outcome.failed;
  }
  let next = applyEvent(state, event, plannedStage);
  const outage = outages.get(state.id);
  if (event.kind === 'succeeded' && outage) {
    next = patched(next, { reason: `rode out a dependency outage (${outage.retries} retries)` });
    outages.delete(state.id);
  }
  return { state: next, ended: endsStage(event) };
}
