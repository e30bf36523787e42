/**
 * The scheduling decisions a run's workflow takes without an event in its history, made again for a reader without a
 * worker (src/core/run/stages-after-execution.ts): a stage skipped by its `when:` or because it reads a skipped
 * stage's outputs, a stage failed on a condition or input that does not resolve, a fan-out's instances created from
 * its items and its fan-in once they settled. The workflow takes them in `scheduleReadyStages`
 * (workflows/pipeline-run.ts) after each event that ends a stage, on the same tracker and pure rules used here, so
 * given the same stages at the same workflow time they come out the same. Starting a stage is not decided here: that
 * leaves an event of its own. Pure; no Node built-ins.
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
}

/** The stages after the decisions the workflow took at workflow time `at` (ISO 8601); the same array when none. */
export type DecideUnrecorded = (stages: readonly StageState[], at: string, soFar?: RunSoFar) => readonly StageState[];

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
    if (!mainMayDecide && !finallyMayDecide) return stages;
    const now = { ...params, ...soFar.paramsSet };
    const run = new RunTracker({ ...input, carried: carriedOf(input, stages, now, at) }, runId, at);
    let changed = mainMayDecide && decide(run, at, 'main');
    const status = run.mainStatus();
    if (mainEnded === undefined && (status === 'succeeded' || status === 'failed')) mainEnded = status;
    // The workflow enters its finally phase once the normal stages ended and, after a failure or a cancel, the others
    // it cancelled settled; in the same workflow task it decides the finally stages that are ready.
    if (withFinally && mainEnded !== undefined && !normalStageRunning(input, run.snapshot().stages)) {
      run.enterFinally(mainEnded);
      changed = decide(run, at, 'finally') || changed;
    }
    return changed ? mergeStages(stages, run.snapshot().stages) : stages;
  };
}

/** A normal (not `finally:`) stage still runs: a failed run's finally phase waits for it to be cancelled. */
function normalStageRunning(input: PipelineRunInput, stages: readonly StageState[]): boolean {
  const finallyIds = new Set(input.plan.stages.filter((stage) => stage.finally === true).map((stage) => stage.id));
  return stages.some((stage) => stage.status === 'running' && !finallyIds.has(stage.instanceOf ?? stage.id));
}

/**
 * Cheap test first (this runs after every event, also each of a wide fan-out's instances): is a stage of the phase
 * pending with every `needs` settled (in the finally phase, any pending finally stage), or a running fan-out with no
 * instance left pending or running?
 */
function mayDecide(input: PipelineRunInput, stages: readonly StageState[], phase: SchedulingPhase): boolean {
  const status = new Map<string, StageState['status']>();
  const open = new Set<string>();
  for (const stage of stages) {
    status.set(stage.id, stage.status);
    if (stage.instanceOf !== undefined && (stage.status === 'pending' || stage.status === 'running'))
      open.add(stage.instanceOf);
  }
  return input.plan.stages.some((planned) => {
    if ((planned.finally === true) !== (phase === 'finally')) return false;
    const own = status.get(planned.id) ?? 'pending';
    if (own === 'running') return planned.fanOut !== undefined && !open.has(planned.id);
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

/** Keeps every stage the decisions left alone as it was (with its progress, which the tracker drops). */
function mergeStages(before: readonly StageState[], after: readonly StageState[]): StageState[] {
  const previous = new Map(before.map((stage) => [stage.id, stage]));
  return after.map((stage) => {
    const was = previous.get(stage.id);
    return was !== undefined && JSON.stringify(was) === JSON.stringify({ ...was, ...stage }) ? was : stage;
  });
}

/** One pass of the workflow's scheduling in `phase`, starting nothing; true when it decided anything. */
function decide(run: RunTracker, at: string, phase: SchedulingPhase): boolean {
  let any = false;
  for (let changed = true; changed;) {
    changed = settleFanOuts(run, at);
    const step = nextSchedulingStep(run.plan, run.statuses(), phase);
    for (const { stageId, reason } of step.skip) {
      run.markSkipped(stageId, at, reason);
      changed = true;
    }
    for (const stageId of step.ready) changed = decideReady(run, run.plannedStage(stageId), at) || changed;
    any = any || changed;
  }
  return any;
}

function failedStatus(stage: PlannedStage): 'waiting' | 'failed' {
  return stage.onFailure === 'pause' ? 'waiting' : 'failed';
}

/** A ready stage: skipped or failed by its `when`, expanded (a fan-out), failed on its inputs; else left to start. */
function decideReady(run: RunTracker, stage: PlannedStage, at: string): boolean {
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
  // The workflow starts it (an event follows) and resolves its inputs first: inputs that do not resolve fail it.
  try {
    resolveStageInputs(stage.with, run.expressionContext(stage));
    return false;
  } catch (error) {
    run.markRunning(stage.id, at);
    run.markFailed(stage.id, at, failedStatus(stage), describeStageFailure(error).error, 0);
    return true;
  }
}

/** Fan-ins of running fan-outs whose instances all settled (or whose outcome is decided): as advanceFanOuts. */
function settleFanOuts(run: RunTracker, at: string): boolean {
  let changed = false;
  for (const stageId of run.runningFanOuts()) {
    const stage = run.plannedStage(stageId);
    const instances = run.instancesOf(stageId) ?? [];
    if (!stage.fanOut) continue;
    const step = nextFanOutStep(
      stage.fanOut,
      instances.map((instance) => run.stage(instance.id).status),
    );
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
