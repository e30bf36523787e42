/**
 * A run's stages at the end of its latest execution, read without a worker. A run that continued as new carries its
 * stages into each execution; one terminated (or timed out) after that recorded no result, so what its stages did in
 * the execution Temporal ended is only in that execution's history: the stage activities, cache look-ups and child
 * workflows it scheduled and how they ended, and the `retry` updates it accepted. The client decodes those events
 * (src/client/execution-stage-events.ts); this applies them to the carried stages the way the workflow's tracker
 * (src/core/run/run-tracker.ts) did. Pure; no Node built-ins.
 *
 * What history does not show stays as carried: a stage skipped by `when:` or failed on an unresolvable input (no
 * event), fan-out instances created in that execution (their items are not in history), a dependency outage being
 * ridden out (the stage reads running).
 */
import type { JsonObject, PlannedStage } from '../spec/plan-types';
import { stageEndTime, type StageState } from './run-types';
import type { StageError } from './run-tracker';

/** One event of the latest execution that moved a stage, in history order; `at` is the event's time (ISO 8601). */
export type StageEvent =
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
  /** An accepted `retry` update: the named stage, or every waiting one. */
  | { readonly kind: 'retried'; readonly stageId?: string };

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
  }
}

/**
 * The carried `stages` after the latest execution's `events`. `plan` gives each stage's `onFailure` (an instance
 * follows the stage it belongs to). Events of stages the carried state does not have are left out.
 */
export function stagesAfterExecution(
  plannedStages: readonly PlannedStage[],
  stages: readonly StageState[],
  events: readonly StageEvent[],
): StageState[] {
  const planned = new Map(plannedStages.map((stage) => [stage.id, stage]));
  const index = new Map(stages.map((stage, i) => [stage.id, i]));
  const next = [...stages];
  for (const event of events) {
    if (event.kind === 'retried') {
      for (let i = 0; i < next.length; i++) next[i] = applyEvent(next[i] as StageState, event, undefined);
      continue;
    }
    const at = index.get(event.stageId);
    if (at === undefined) continue;
    const state = next[at] as StageState;
    next[at] = applyEvent(state, event, planned.get(state.instanceOf ?? state.id));
  }
  return next;
}
