/**
 * The `hyperparameterSweep` workflow: runs a `hyperparameter-sweep` stage as a child workflow of
 * `pipelineRun` (id `<runId>.<stageId>.sweep`, control task queue). It takes and returns what a
 * stage activity does, so the parent treats it like any stage.
 *
 * The pure controller (src/core/sweep) decides which trials to start and which to stop; this
 * workflow only carries its JSON state and drives it:
 * - Trials run as `sweepTrialSegment` activities on the stage's pool queue, at most
 *   `parallelism` at once, so they spread over every worker polling that queue.
 * - A trial trains in segments: up to its next ASHA rung (or the next epoch the median rule
 *   judges, or its whole budget without early stopping), then returns its per-epoch objective.
 *   The workflow feeds `recordIntermediate` and either starts the next segment (which resumes
 *   from the checkpoint the last one ended on) or stops the trial. Decisions are therefore
 *   workflow state, identical on replay, and a worker crash costs at most one segment's
 *   unfinished epoch (the retry resumes from the segment's newest checkpoint).
 * - A failed trial (its segment exhausted its retries) is recorded, not fatal; one failure more
 *   than `maxFailedTrials` cancels the running trials and fails the stage.
 * - `timeBudget` is a workflow timer: when it fires no new trial starts; running ones finish.
 * - When the history grows past `execution.continueAsNewAfterEvents` (or Temporal suggests it),
 *   the workflow stops starting segments, lets the running ones finish, and continues as new
 *   with the controller state and each running trial's epoch: finished trials never rerun.
 * - The `sweepState` query answers live progress; each finished segment also signals the parent
 *   run (`stageProgress`), so `fineflow status` shows the trial counts.
 * - The workflow writes the stage log (src/core/sweep/sweep-log.ts): it is the only writer, one
 *   `appendSweepLog` at a time, so concurrent trials never interleave or clobber lines.
 * - Cancelled (the run or the sweep), it still records what it learned: running segments are
 *   cancelled, and in a non-cancellable scope the results (finished trials kept, running ones
 *   marked `cancelled`, the document marked partial) and the log's last lines are written
 *   before the cancellation propagates.
 * - With `trialStage` (src/core/sweep/trial-stage.ts) every trial is one `sweepTrialStage` activity
 *   running a stage of that type (e.g. a `command`) whole. It cannot pause between rungs, so it
 *   signals the values early stopping judges while it runs (`sweepTrialReport`); to prune, the
 *   workflow cancels the trial's activity (its process group ends) and records it as stopped.
 * Outputs (the stage type's declared names): `best`, `bestModel` (fine-tune trials), `bestOutputs`
 * (trialStage trials: the best trial's outputs), `bestMetric`, `trials`, `results`.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { SweepTrialActivities } from '../activities/sweep-trial';
import type { SweepTrialStageActivities } from '../activities/sweep-trial-stage';
import { ERROR_TYPES, FineflowError, NON_RETRYABLE_ERROR_TYPES } from '../src/core/errors';
import type { StageProgressSignal } from '../src/core/run/progress';
import { RUN_SIGNALS, type StageActivityResult } from '../src/core/run/run-types';
import { nextSegmentEnd, planSweep, trialPrefix, trialSettings, type SweepPlan } from '../src/core/sweep/sweep-plan';
import {
  failedLine,
  finishedLine,
  prunedLine,
  segmentLines,
  segmentStartedLine,
  stampLine,
  sweepEndedLine,
  sweepStartedLine,
} from '../src/core/sweep/sweep-log';
import { cancelledResultsTable, trialsOutput, type SweepOutcome } from '../src/core/sweep/sweep-results';
import { objectiveFromOutputs, reportSteps, trialStageInputs } from '../src/core/sweep/trial-stage';
import {
  SWEEP_QUERIES,
  SWEEP_SIGNALS,
  type SweepTrialStageResult,
  type TrialReportSignal,
  type HyperparameterSweepInput,
  type InFlightTrial,
  type SegmentRecord,
  type SweepStatus,
  type SweepTrialSegmentResult,
} from '../src/core/sweep/sweep-types';
import { taskQueueForPool } from '../src/core/run/task-queues';
import type { JsonObject } from '../src/core/spec/plan-types';
import {
  best,
  createSweep,
  isDone,
  launchBlockedReason,
  nextTrials,
  recordIntermediate,
  recordResult,
  resultsTable,
  stopLaunching,
  sweepProgress,
  type SweepState,
} from '../src/core/sweep';

export const sweepStateQuery = defineQuery<SweepStatus>(SWEEP_QUERIES.state);
export const trialReportSignal = defineSignal<[TrialReportSignal]>(SWEEP_SIGNALS.trialReport);

const DEFAULT_CONTINUE_AS_NEW_EVENTS = 4_000;

export async function hyperparameterSweep(input: HyperparameterSweepInput): Promise<StageActivityResult> {
  let plan: SweepPlan;
  try {
    plan = planSweep(input.inputs);
  } catch (error) {
    throw asFailure(error);
  }
  const { context, execution } = input;
  const carry = input.carry;
  const generation = carry?.generation ?? 0;
  let state: SweepState = carry?.state ?? createSweep(plan.config);
  const inFlight = new Map<number, InFlightTrial>((carry?.inFlight ?? []).map((trial) => [trial.trialId, trial]));
  const segments: SegmentRecord[] = [...(carry?.segments ?? [])];
  const deadlineMs =
    carry?.deadlineMs ?? (plan.timeBudgetMs !== undefined ? Date.now() + plan.timeBudgetMs : undefined);
  const lastWorker = new Map<number, string>(segments.map((segment) => [segment.trialId, segment.worker]));

  // Trials of either kind share the stage's queue, timeouts and retry policy.
  const trialOptions = {
    taskQueue: taskQueueForPool(execution.pool),
    startToCloseTimeout: execution.segmentTimeoutMs,
    heartbeatTimeout: execution.heartbeatTimeoutMs ?? 60_000,
    retry: {
      maximumAttempts: execution.retry?.maxAttempts ?? 3,
      initialInterval: execution.retry?.initialIntervalMs ?? 1_000,
      backoffCoefficient: Math.max(1, execution.retry?.backoffCoefficient ?? 2),
      maximumInterval: Math.max(
        execution.retry?.maximumIntervalMs ?? 30_000,
        execution.retry?.initialIntervalMs ?? 1_000,
      ),
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  };
  const trials = proxyActivities<SweepTrialActivities>({
    ...trialOptions,
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  });
  // A trialStage trial runs whole; cancelling it (to prune) waits until its process group ended.
  const stageTrials = proxyActivities<SweepTrialStageActivities>({
    ...trialOptions,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const bookkeeping = proxyActivities<SweepTrialActivities>({
    taskQueue: taskQueueForPool(execution.pool),
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  });

  let changes = 0;
  const running = new Map<number, { readonly scope: CancellationScope; readonly done: Promise<void> }>();
  let outcome: SweepOutcome | undefined;
  let bestOutputs = carry?.bestOutputs;

  setHandler(sweepStateQuery, (): SweepStatus => status(state, generation, lastWorker, inFlight, outcome));

  // The stage log: lines queue here and go out one append at a time, never cancelled half-way
  // (a cancelled append still running on a worker could overwrite the one after it).
  let logLines = carry?.logLines ?? 0;
  const pendingLog: string[] = [];
  let logFlush: Promise<void> | undefined;
  const flushLog = (): void => {
    if (logFlush !== undefined || pendingLog.length === 0) return;
    const lines = pendingLog.splice(0);
    logFlush = CancellationScope.nonCancellable(() =>
      bookkeeping.appendSweepLog({ context, fromLine: logLines, lines }),
    )
      .then(
        (written) => {
          logLines = written.lineCount;
        },
        // The log is best effort: losing lines must not fail the sweep.
        () => undefined,
      )
      .finally(() => {
        logFlush = undefined;
        flushLog();
      });
  };
  const log = (...lines: string[]): void => {
    const at = Date.now();
    pendingLog.push(...lines.map((line) => stampLine(at, line)));
    flushLog();
  };
  const drainLog = async (): Promise<void> => {
    flushLog();
    while (logFlush !== undefined) await logFlush;
  };
  log(
    sweepStartedLine({
      algorithm: plan.config.algorithm,
      earlyStopping: plan.config.earlyStopping.type,
      maxTrials: plan.config.maxTrials,
      parallelism: plan.config.parallelism,
      metric: plan.config.objective.metric,
      goal: plan.config.objective.goal,
      epochsPerTrial: plan.config.epochsPerTrial,
      generation,
    }),
  );

  if (deadlineMs !== undefined) {
    const closeLaunching = (): void => {
      state = stopLaunching(state, `time budget spent (${plan.timeBudgetMs ?? 0} ms)`);
      changes += 1;
    };
    const remaining = deadlineMs - Date.now();
    if (remaining <= 0) closeLaunching();
    // Cancelled together with the workflow; nothing to do then.
    else sleep(remaining).then(closeLaunching, () => undefined);
  }

  const onSegmentEnd = (trialId: number, result: SweepTrialSegmentResult): void => {
    const trial = inFlight.get(trialId);
    if (!trial) return;
    segments.push({
      trialId,
      fromEpoch: trial.epochsDone,
      toEpoch: result.epochsDone,
      worker: result.worker,
      startedAtMs: result.startedAtMs,
      endedAtMs: result.endedAtMs,
      attempt: result.attempt,
      resumedFromEpoch: result.resumedFromEpoch,
    });
    lastWorker.set(trialId, result.worker);
    const durationMs = trial.durationMs + Math.max(0, result.endedAtMs - result.startedAtMs);
    const metric = state.config.objective.metric;
    log(...segmentLines(metric, trial.epochsDone, result));
    let stop = false;
    for (const report of result.reports) {
      const decision = recordIntermediate(state, trialId, report.epoch, report.value);
      state = decision.state;
      if (decision.stop) {
        stop = true;
        log(prunedLine(trialId, report.epoch, decision.reason));
        break;
      }
    }
    if (stop) {
      state = recordResult(state, trialId, { status: 'stopped', epochs: result.epochsDone, durationMs });
      inFlight.delete(trialId);
    } else if (result.finished) {
      const value = result.finalValue ?? result.reports[result.reports.length - 1]?.value ?? Number.NaN;
      state = recordResult(state, trialId, { status: 'completed', value, epochs: result.epochsDone, durationMs });
      inFlight.delete(trialId);
      const recorded = state.trials.find((candidate) => candidate.trialId === trialId);
      log(
        recorded?.status === 'failed'
          ? failedLine(trialId, recorded.error ?? 'no objective value')
          : finishedLine(trialId, metric, value, result.epochsDone, result),
      );
    } else {
      inFlight.set(trialId, {
        ...trial,
        epochsDone: result.epochsDone,
        durationMs,
        ...(result.baseModel !== undefined ? { baseModel: result.baseModel } : {}),
      });
    }
  };

  const onSegmentFailure = (trialId: number, error: unknown): void => {
    // Segments are only cancelled by this workflow (aborting, or being cancelled itself): the
    // trial did not fail, it stays in flight and is recorded as cancelled.
    if (isCancellation(error)) return;
    const trial = inFlight.get(trialId);
    const message = failureMessage(error);
    state = recordResult(state, trialId, {
      status: 'failed',
      error: message,
      ...(trial ? { durationMs: trial.durationMs } : {}),
    });
    inFlight.delete(trialId);
    log(failedLine(trialId, message));
  };

  const startSegment = (trialId: number): void => {
    const trial = inFlight.get(trialId);
    const params = state.trials.find((candidate) => candidate.trialId === trialId)?.params;
    if (!trial || !params) return;
    const untilEpoch = nextSegmentEnd(state, trial.epochsDone);
    log(segmentStartedLine(trialId, params as JsonObject, trial.epochsDone, untilEpoch));
    const scope = new CancellationScope();
    const done = scope
      .run(() =>
        trials.sweepTrialSegment({
          context,
          trialId,
          settings: trialSettings(plan, params, trial.baseModel),
          metric: state.config.objective.metric,
          fromEpoch: trial.epochsDone,
          untilEpoch,
          ...(execution.resources ? { resources: execution.resources } : {}),
        }),
      )
      .then(
        (result) => onSegmentEnd(trialId, result),
        (error: unknown) => onSegmentFailure(trialId, error),
      )
      .finally(() => {
        running.delete(trialId);
        changes += 1;
        reportToParent(input, state);
      });
    running.set(trialId, { scope, done });
  };

  setHandler(trialReportSignal, (report: TrialReportSignal): void => {
    const trial = inFlight.get(report.trialId);
    if (!plan.trialStage || !trial || !running.has(report.trialId)) return;
    if (!Number.isSafeInteger(report.step) || report.step < 0 || typeof report.value !== 'number') return;
    const metric = state.config.objective.metric;
    const decision = recordIntermediate(state, report.trialId, report.step, report.value);
    state = decision.state;
    inFlight.set(report.trialId, { ...trial, epochsDone: Math.max(trial.epochsDone, report.step) });
    log(`trial ${report.trialId} step ${report.step}: ${metric}=${Number(report.value.toPrecision(4))}`);
    if (decision.stop) {
      log(prunedLine(report.trialId, report.step, decision.reason).replace(' at epoch ', ' at step '));
      running.get(report.trialId)?.scope.cancel();
    }
    changes += 1;
  });

  /** Records a finished trialStage trial: its objective from its outputs, and the outputs if it leads. */
  const onTrialStageEnd = (trialId: number, result: SweepTrialStageResult): void => {
    const trial = inFlight.get(trialId);
    if (!trial) return;
    const steps = result.lastStep ?? trial.epochsDone;
    segments.push({
      trialId,
      fromEpoch: 0,
      toEpoch: steps,
      worker: result.worker,
      startedAtMs: result.startedAtMs,
      endedAtMs: result.endedAtMs,
      attempt: result.attempt,
      resumedFromEpoch: 0,
    });
    lastWorker.set(trialId, result.worker);
    inFlight.delete(trialId);
    const durationMs = Math.max(0, result.endedAtMs - result.startedAtMs);
    const metric = state.config.objective.metric;
    const value = objectiveFromOutputs(result.outputs, metric);
    if (value === undefined) {
      const error = `the trial's outputs have no finite ${metric} (read from outputs.metrics.${metric}, else outputs.${metric}); a command writes it to $FINEFLOW_RESULTS metrics or a ::fineflow:: metrics line`;
      state = recordResult(state, trialId, { status: 'failed', error, durationMs });
      log(failedLine(trialId, error));
      return;
    }
    state = recordResult(state, trialId, { status: 'completed', value, epochs: steps, durationMs });
    const recorded = state.trials.find((candidate) => candidate.trialId === trialId);
    if (recorded?.status === 'stopped') return; // pruned, but it ended before the cancellation reached it
    log(`trial ${trialId} finished with ${metric}=${Number(value.toPrecision(4))} on ${result.worker}`);
    if (best(state)?.trialId === trialId) bestOutputs = { trialId, outputs: result.outputs };
  };

  const onTrialStageFailure = (trialId: number, error: unknown): void => {
    const pruned = state.trials.find((candidate) => candidate.trialId === trialId)?.stopRequested;
    if (pruned && endedByCancel(error)) {
      const trial = inFlight.get(trialId);
      state = recordResult(state, trialId, {
        status: 'stopped',
        epochs: pruned.epoch,
        ...(trial ? { durationMs: trial.durationMs } : {}),
      });
      inFlight.delete(trialId);
      return;
    }
    onSegmentFailure(trialId, error);
  };

  const startTrialStage = (trialId: number): void => {
    const params = state.trials.find((candidate) => candidate.trialId === trialId)?.params;
    const trialStage = plan.trialStage;
    if (!params || !trialStage) return;
    log(`trial ${trialId} started with ${JSON.stringify(params)}: a ${trialStage.uses} stage`);
    const scope = new CancellationScope();
    const done = scope
      .run(() =>
        stageTrials.sweepTrialStage({
          context,
          trialId,
          uses: trialStage.uses,
          inputs: trialStageInputs(trialStage, params as JsonObject),
          metric: state.config.objective.metric,
          reportSteps: reportSteps(state),
          ...(execution.resources ? { resources: execution.resources } : {}),
        }),
      )
      .then(
        (result) => onTrialStageEnd(trialId, result),
        (error: unknown) => onTrialStageFailure(trialId, error),
      )
      .finally(() => {
        running.delete(trialId);
        changes += 1;
        reportToParent(input, state);
      });
    running.set(trialId, { scope, done });
  };
  const startTrial = plan.trialStage ? startTrialStage : startSegment;

  const failedCount = (): number => state.trials.filter((trial) => trial.status === 'failed').length;
  const continueAsNewAfter = execution.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_EVENTS;
  let draining = false;

  const winnerModel = (): { readonly winner?: ReturnType<typeof best>; readonly bestModel?: string } => {
    const winner = best(state);
    if (!winner) return {};
    // A trialStage trial has no model of the sweep's making; its outputs are `bestOutputs`.
    if (plan.trialStage) return { winner };
    return { winner, bestModel: `${trialPrefix(context.outputPrefix, winner.trialId)}model/model.json` };
  };
  const summarise = (): string => {
    const counts = sweepProgress(state);
    return `${counts.completed} completed, ${counts.stopped} stopped early, ${counts.failed} failed of ${counts.started} started`;
  };

  try {
    for (;;) {
      if (failedCount() > plan.toleratedFailures) break;
      if (!draining) {
        for (const trialId of inFlight.keys()) if (!running.has(trialId)) startTrial(trialId);
        const next = nextTrials(state);
        state = next.state;
        for (const trial of next.trials) {
          inFlight.set(trial.trialId, { trialId: trial.trialId, epochsDone: 0, durationMs: 0 });
          startTrial(trial.trialId);
        }
      }
      if (running.size === 0) {
        if (isDone(state)) break;
        if (draining) {
          await drainLog();
          await continueAsNew<typeof hyperparameterSweep>({
            ...input,
            carry: {
              state,
              inFlight: [...inFlight.values()],
              segments,
              ...(deadlineMs !== undefined ? { deadlineMs } : {}),
              generation: generation + 1,
              logLines,
              ...(bestOutputs !== undefined ? { bestOutputs } : {}),
            },
          });
        }
        throw ApplicationFailure.create({
          type: ERROR_TYPES.internal,
          nonRetryable: true,
          message: `sweep stalled: nothing runs but the controller is not done (${launchBlockedReason(state) ?? 'trials may start'})`,
        });
      }
      const seen = changes;
      await condition(() => changes !== seen);
      const info = workflowInfo();
      if (!draining && (info.historyLength >= continueAsNewAfter || info.continueAsNewSuggested)) draining = true;
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Keep what the sweep learned: the cancellation propagates only after the record is written.
    await CancellationScope.nonCancellable(async () => {
      await Promise.all([...running.values()].map(({ done }) => done));
      outcome = 'cancelled';
      state = stopLaunching(state, 'sweep cancelled');
      const { winner, bestModel } = winnerModel();
      const cancelledTrials = state.trials.filter((trial) => trial.status === 'running').map((trial) => trial.trialId);
      try {
        const written = await bookkeeping.writeSweepResults({
          context,
          table: cancelledResultsTable(resultsTable(state), [...inFlight.values()]),
          segments,
          outcome,
          ...(bestModel ? { bestModel } : {}),
        });
        log(
          `${cancelledTrials.length} running trial(s) cancelled${cancelledTrials.length > 0 ? `: ${cancelledTrials.join(', ')}` : ''}`,
          sweepEndedLine(
            'cancelled',
            summarise(),
            written.json,
            winner ? { ...winner, metric: state.config.objective.metric } : undefined,
          ),
        );
      } catch (writeError) {
        log(`sweep cancelled; writing the partial results failed: ${failureMessage(writeError)}`);
      }
      await drainLog();
    });
    throw error;
  }

  const failedTooOften = failedCount() > plan.toleratedFailures;
  if (failedTooOften) {
    for (const { scope } of running.values()) scope.cancel();
    await Promise.all([...running.values()].map(({ done }) => done));
  }
  outcome = failedTooOften ? 'failed' : 'completed';
  const table = failedTooOften
    ? cancelledResultsTable(resultsTable(state), [...inFlight.values()])
    : resultsTable(state);
  const { winner, bestModel } = winnerModel();
  const written = await bookkeeping.writeSweepResults({
    context,
    table,
    segments,
    outcome,
    ...(bestModel ? { bestModel } : {}),
  });
  const counts = sweepProgress(state);
  const summary = summarise();
  log(
    sweepEndedLine(
      outcome,
      summary,
      written.json,
      winner ? { ...winner, metric: state.config.objective.metric } : undefined,
    ),
  );
  await drainLog();
  if (failedTooOften || !winner || (!bestModel && !plan.trialStage)) {
    throw ApplicationFailure.create({
      type: ERROR_TYPES.invalidInput,
      nonRetryable: true,
      message: failedTooOften
        ? `${counts.failed} trial(s) failed, more than maxFailedTrials (${plan.toleratedFailures}); ${summary}; results in ${written.json}. Last error: ${state.trials.filter((t) => t.status === 'failed').pop()?.error ?? '?'}`
        : `no trial completed (${summary}); results in ${written.json}`,
      details: [{ results: written.json }],
    });
  }
  const winnerOutputs = bestOutputs?.trialId === winner.trialId ? bestOutputs.outputs : undefined;
  return {
    outputs: {
      best: winner.params as JsonObject,
      ...(bestModel !== undefined ? { bestModel } : {}),
      ...(winnerOutputs !== undefined ? { bestOutputs: winnerOutputs } : {}),
      bestMetric: winner.value,
      trials: trialsOutput(table, segments),
      results: written.json,
    },
    artifacts: written.artifacts,
  };
}

function status(
  state: SweepState,
  generation: number,
  lastWorker: ReadonlyMap<number, string>,
  inFlight: ReadonlyMap<number, InFlightTrial>,
  outcome: SweepOutcome | undefined,
): SweepStatus {
  return {
    progress: sweepProgress(state),
    ...(state.closedReason !== undefined ? { closedReason: state.closedReason } : {}),
    generation,
    metric: state.config.objective.metric,
    goal: state.config.objective.goal,
    ...(outcome !== undefined ? { outcome } : {}),
    trials: state.trials.map((trial) => {
      const worker = lastWorker.get(trial.trialId);
      return {
        trialId: trial.trialId,
        status: trial.status,
        params: trial.params as JsonObject,
        epochs: trial.epochs ?? inFlight.get(trial.trialId)?.epochsDone ?? 0,
        ...(trial.value !== undefined
          ? { value: trial.value }
          : trial.reports.length > 0
            ? { value: trial.reports[trial.reports.length - 1]?.value as number }
            : {}),
        ...(worker !== undefined ? { worker } : {}),
      };
    }),
  };
}

/** Best effort: tell the parent run how far the sweep is, for `fineflow status`. */
function reportToParent(input: HyperparameterSweepInput, state: SweepState): void {
  const parent = workflowInfo().parent;
  if (!parent) return;
  const counts = sweepProgress(state);
  const signal: StageProgressSignal = {
    stageId: input.context.stageId,
    attempt: input.context.attempt,
    progress: {
      message: `trials ${counts.completed + counts.stopped + counts.failed}/${counts.maxTrials} done (${counts.running} running, ${counts.stopped} stopped early, ${counts.failed} failed)${counts.bestValue !== undefined ? ` best ${state.config.objective.metric}=${Number(counts.bestValue.toPrecision(4))} (trial ${counts.bestTrialId})` : ''}`,
      fraction: (counts.completed + counts.stopped + counts.failed) / Math.max(1, counts.maxTrials),
      detail: { ...counts },
    },
  };
  getExternalWorkflowHandle(parent.workflowId, parent.runId)
    .signal(RUN_SIGNALS.stageProgress, signal)
    .catch(() => undefined);
}

/**
 * The trial's activity ended because this workflow cancelled it: the SDK's cancellation, or the
 * stage runner's cancel watch, which ends a stage as a FineflowCancelled failure before the SDK hears.
 */
function endedByCancel(error: unknown): boolean {
  if (isCancellation(error)) return true;
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === ERROR_TYPES.cancelled;
}

function failureMessage(error: unknown): string {
  let current: unknown = error;
  // ActivityFailure → ApplicationFailure (the trial's error): report the innermost message.
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(error);
}

function asFailure(error: unknown): Error {
  if (error instanceof FineflowError)
    return ApplicationFailure.create({
      type: error.type,
      nonRetryable: !error.retryable,
      message: error.message,
      details: [{ ...error.details }],
    });
  return error instanceof Error ? error : new Error(String(error));
}
