/**
 * The scheduling decisions a run's workflow takes without an event in its history, made again for a reader without a
 * worker (src/core/run/stages-after-execution.ts): a stage skipped by its `when:` or because it reads a skipped
 * stage's outputs, a stage failed on a condition or input that does not resolve, a fan-out's instances created from
 * its items and its fan-in once they settled. The workflow takes them in `scheduleReadyStages`
 * (workflows/pipeline-run.ts) once per workflow task that woke its main loop, on the same tracker and pure rules used
 * here, so given the same stages at the same workflow time they come out the same. Starting a stage leaves an event of
 * its own, but the start slot it takes is decided here (src/core/run/start-slots.ts: `parallelism:` and the batch of
 * one task): a stage or fan-out instance whose inputs do not resolve fails only once it gets a slot, as in the
 * workflow, and a ready stage without one stays pending. Pure; no Node built-ins.
 *
 * The `finally:` phase too: once the normal stages succeeded or failed, or the run was asked to cancel (and, after a
 * failure or the cancel, once the stages it cancelled settled), the finally stages a `when:` skips or a failed finally
 * `needs` rules out are decided as the workflow's `runFinallyPhase` does. An execution draining towards
 * continue-as-new decides nothing of its main phase (`RunSoFar.draining`), and neither does this then.
 */
import { nextSchedulingStep, SETTLED_OK, type SchedulingPhase } from './dag';
import { hasFinallyStages } from './finally';
import { describeStageFailure } from './failures';
import { fanOutFailure, nextFanOutStep, resolveFanOutItems } from './fan-out';
import { RunTracker } from './run-tracker';
import { startSlots, type StartSlots } from './start-slots';
import type { ParamValues } from './params';
import type { CarriedRunState, PipelineRunInput, StageState } from './run-types';
import { evaluateCondition, resolveStageInputs } from '../spec/expressions';
import type { JsonValue, PlannedStage } from '../spec/plan-types';

/** What the execution's history showed of the run by then, besides its stages. */
export interface RunSoFar {
  /** The run was asked to cancel (its main loop decides nothing more). */
  readonly cancelRequested: boolean;
  /** The params `retry --set` changed in this execution so far, over those it began with. */
  readonly paramsSet: ParamValues;
  /**
   * The workflow task deciding is past the history threshold (src/core/run/history-limit.ts): the execution drains
   * towards continue-as-new and decides nothing of its main phase, though its finally phase still comes once the
   * normal stages ended.
   */
  readonly draining?: boolean;
  /**
   * The execution's history holds the start-batch patch marker (`fineflow-17-start-batch`): one pass of its main phase
   * starts at most STAGE_START_BATCH stages, the rest in the task its 1 ms timer wakes. Without it, every ready stage
   * with a `parallelism:` slot started at once.
   */
  readonly startBatch?: boolean;
  /**
   * The task's commands never reached history (the last activation of a worker's replay of an ended run, after its
   * last completed task): a stage it starts has no event to come, so it is started here.
   */
  readonly startsUnrecorded?: boolean;
}

/** What one pass of the workflow's scheduling decided at a workflow task. */
export interface Decided {
  /** The stages after it; the same array when it decided nothing. */
  readonly stages: readonly StageState[];
  /**
   * Ready stages were left for the next task only because this task's batch was used up: the workflow sleeps 1 ms and
   * takes no decision before that timer's task.
   */
  readonly deferred: boolean;
}

/** The decisions the workflow took at workflow time `at` (ISO 8601) on `stages`. */
export type DecideUnrecorded = (stages: readonly StageState[], at: string, soFar?: RunSoFar) => Decided;

/**
 * The decisions of run `runId` (its first execution's `input`; `params` as the latest execution began with them, a
 * `retry --set` in it applied from then on). Once the normal stages ended (succeeded or failed) or the run was asked
 * to cancel, the workflow's main loop stops deciding, and so does this.
 */
export function unrecordedDecisions(
  input: PipelineRunInput,
  runId: string,
  params: CarriedRunState['params'],
): DecideUnrecorded {
  let mainEnded: 'succeeded' | 'failed' | 'cancelled' | undefined;
  const withFinally = hasFinallyStages(input.plan);
  return (stages, at, soFar = { cancelRequested: false, paramsSet: {} }) => {
    // A cancel ends the workflow's main loop where it stands: it starts and decides nothing more there.
    if (soFar.cancelRequested) mainEnded ??= 'cancelled';
    const mainMayDecide = mainEnded === undefined && soFar.draining !== true && mayDecide(input, stages, 'main');
    // The finally phase comes only once no normal stage runs: a cheap scan before the tracker is built.
    const finallyMayDecide = withFinally && !normalStageRunning(input, stages) && mayDecide(input, stages, 'finally');
    if (!mainMayDecide && !finallyMayDecide) return { stages, deferred: false };
    const now = { ...params, ...soFar.paramsSet };
    const run = new RunTracker({ ...input, carried: carriedOf(input, stages, now, at) }, runId, at);
    const starting = new Map<string, StageState>();
    let deferred = false;
    if (mainMayDecide) {
      const slots = startSlots(slotsLeft(run), () => soFar.startBatch === true);
      decide(run, at, 'main', slots, starting);
      deferred = slots.deferred;
    }
    const status = run.mainStatus();
    if (mainEnded === undefined && (status === 'succeeded' || status === 'failed')) mainEnded = status;
    // The workflow enters its finally phase once the normal stages ended and, after a failure or a cancel, the others
    // it cancelled settled; in the same workflow task it decides the finally stages that are ready (no batch there).
    if (withFinally && mainEnded !== undefined && !normalStageRunning(input, run.snapshot().stages)) {
      run.enterFinally(mainEnded);
      decide(
        run,
        at,
        'finally',
        startSlots(slotsLeft(run), () => false),
        starting,
      );
    }
    // A pass that ended the main phase sleeps no batch turn: the workflow leaves its loop.
    const unstarted = soFar.startsUnrecorded === true ? new Map<string, StageState>() : starting;
    return {
      stages: mergeStages(stages, run.snapshot().stages, unstarted),
      deferred: deferred && mainEnded === undefined,
    };
  };
}

/** Start slots under the pipeline's `parallelism:` (as the workflow counts them at the start of a pass). */
function slotsLeft(run: RunTracker): number {
  return run.plan.parallelism === undefined ? Infinity : run.plan.parallelism - run.runningWork();
}

/** A normal (not `finally:`) stage still runs: a failed run's finally phase waits for it to be cancelled. */
function normalStageRunning(input: PipelineRunInput, stages: readonly StageState[]): boolean {
  const finallyIds = new Set(input.plan.stages.filter((stage) => stage.finally === true).map((stage) => stage.id));
  return stages.some((stage) => stage.status === 'running' && !finallyIds.has(stage.instanceOf ?? stage.id));
}

/**
 * Cheap test first (this runs at every deciding task, also those of a wide fan-out's instances): is a stage of the
 * phase pending with every `needs` settled (in the finally phase, any pending finally stage), or a running fan-out with
 * no instance left pending or running, or with one pending?
 */
function mayDecide(input: PipelineRunInput, stages: readonly StageState[], phase: SchedulingPhase): boolean {
  const status = new Map<string, StageState['status']>();
  const open = new Set<string>();
  const waitingToStart = new Set<string>();
  for (const stage of stages) {
    status.set(stage.id, stage.status);
    if (stage.instanceOf !== undefined && (stage.status === 'pending' || stage.status === 'running'))
      open.add(stage.instanceOf);
    if (stage.instanceOf !== undefined && stage.status === 'pending') waitingToStart.add(stage.instanceOf);
  }
  return input.plan.stages.some((planned) => {
    if ((planned.finally === true) !== (phase === 'finally')) return false;
    const own = status.get(planned.id) ?? 'pending';
    // A running fan-out: to settle (no instance open), or with instances still to start.
    if (own === 'running')
      return planned.fanOut !== undefined && (!open.has(planned.id) || waitingToStart.has(planned.id));
    if (phase === 'finally') return own === 'pending';
    return own === 'pending' && planned.needs.every((need) => SETTLED_OK.has(status.get(need) ?? 'pending'));
  });
}

function carriedOf(
  input: PipelineRunInput,
  stages: readonly StageState[],
  params: CarriedRunState['params'],
  at: string,
): CarriedRunState {
  const fanOutItems: Record<string, JsonValue[]> = {};
  for (const stage of stages)
    if (stage.instanceOf !== undefined) (fanOutItems[stage.instanceOf] ??= []).push(stage.item ?? null);
  return { startedAt: at, params, stages, digests: {}, fanOutItems, continuations: 0 };
}

/**
 * Keeps every stage the decisions left alone as it was (with its progress, which the tracker drops), and the stages
 * they started as they were before (`starting`: their start is an event of its own, applied when the reader meets it).
 * The same array when nothing changed.
 */
function mergeStages(
  before: readonly StageState[],
  after: readonly StageState[],
  starting: ReadonlyMap<string, StageState>,
): readonly StageState[] {
  const previous = new Map(before.map((stage) => [stage.id, stage]));
  const merged = after.map((stage) => {
    const was = previous.get(stage.id);
    const unstarted = starting.get(stage.id);
    if (unstarted !== undefined) {
      if (was !== undefined) return was;
      // An instance this pass created: as it was before its start, with what the snapshot adds (its item, its stage).
      const { startedAt: _startedAt, ...created } = stage;
      return { ...created, ...unstarted };
    }
    return was !== undefined && JSON.stringify(was) === JSON.stringify({ ...was, ...stage }) ? was : stage;
  });
  return merged.length === before.length && merged.every((stage, i) => stage === before[i]) ? before : merged;
}

/**
 * One pass of the workflow's scheduling in `phase` (its `scheduleReadyStages`), with the start slots it had. A stage
 * it starts is marked running on `run` (so it holds its slot and is not ready again) and noted in `starting` as it was.
 */
function decide(
  run: RunTracker,
  at: string,
  phase: SchedulingPhase,
  slots: StartSlots,
  starting: Map<string, StageState>,
): void {
  for (let changed = true; changed;) {
    changed = advanceFanOuts(run, at, slots, starting);
    const step = nextSchedulingStep(run.plan, run.statuses(), phase);
    for (const { stageId, reason } of step.skip) {
      run.markSkipped(stageId, at, reason);
      changed = true;
    }
    for (const stageId of step.ready)
      changed = decideReady(run, run.plannedStage(stageId), at, slots, starting) || changed;
  }
}

function failedStatus(stage: PlannedStage): 'waiting' | 'failed' {
  return stage.onFailure === 'pause' ? 'waiting' : 'failed';
}

/**
 * A ready stage: skipped or failed by its `when`, expanded (a fan-out), else started once it gets a slot. True when the
 * workflow's pass goes round again for it (a start does not make it).
 */
function decideReady(
  run: RunTracker,
  stage: PlannedStage,
  at: string,
  slots: StartSlots,
  starting: Map<string, StageState>,
): boolean {
  if (stage.when !== undefined) {
    let pass: boolean;
    try {
      pass = evaluateCondition(stage.when, run.expressionContext());
    } catch (error) {
      run.markFailed(stage.id, at, failedStatus(stage), describeStageFailure(error).error, 0);
      return true;
    }
    if (!pass) {
      run.markSkipped(stage.id, at, `when was false: ${stage.when}`);
      return true;
    }
  }
  if (stage.fanOut) {
    let items: JsonValue[];
    try {
      items = resolveFanOutItems(stage, stage.fanOut, run.expressionContext());
    } catch (error) {
      run.markFailed(stage.id, at, failedStatus(stage), describeStageFailure(error).error, 0);
      return true;
    }
    run.expandFanOut(stage, items, at);
    return true;
  }
  if (slots.take()) startStage(run, stage, at, starting);
  return false;
}

/**
 * The workflow starts a stage (or instance) that got a slot: marks it running and resolves its inputs first, in the
 * same pass; inputs that do not resolve fail it there, else its activity, cache look-up or child is an event to come.
 */
function startStage(run: RunTracker, stage: PlannedStage, at: string, starting: Map<string, StageState>): void {
  const before = { ...run.stage(stage.id) };
  run.markRunning(stage.id, at);
  try {
    resolveStageInputs(stage.with, run.expressionContext(stage));
    starting.set(stage.id, before);
  } catch (error) {
    run.markFailed(stage.id, at, failedStatus(stage), describeStageFailure(error).error, 0);
  }
}

/**
 * Running fan-outs as the workflow's advanceFanOuts: instances started within the slots (in item order), fan-ins of
 * those whose instances all settled (or whose outcome is decided). The cancels of `failFast` are events of their own.
 * True when anything changed.
 */
function advanceFanOuts(run: RunTracker, at: string, slots: StartSlots, starting: Map<string, StageState>): boolean {
  let changed = false;
  for (const stageId of run.runningFanOuts()) {
    const stage = run.plannedStage(stageId);
    const instances = run.instancesOf(stageId) ?? [];
    if (!stage.fanOut) continue;
    const step = nextFanOutStep(
      stage.fanOut,
      instances.map((instance) => run.stage(instance.id).status),
    );
    for (const index of step.start) {
      const instance = instances[index];
      if (instance === undefined || !slots.take()) break;
      startStage(run, instance, at, starting);
      changed = true;
    }
    if (step.outcome?.ok === true) run.completeFanOut(stageId, at);
    else if (step.outcome) {
      const error = fanOutFailure(
        step.outcome.message,
        instances.map((i) => run.stage(i.id)),
      );
      run.markFailed(stageId, at, failedStatus(stage), error, 0);
    }
    if (step.outcome) changed = true;
  }
  return changed;
}
