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
 * - `timeBudget` is a workflow timer: when it fires no new trial starts; running ones finish. Promotion-based ASHA
 *   with nothing running and no result then finishes its best paused trial (FINISH_PAUSED_AFTER_CLOSE_PATCH).
 * - When the history grows past `execution.continueAsNewAfterEvents` (or Temporal suggests it),
 *   the workflow stops starting segments, lets the running ones finish, and continues as new
 *   with the controller state and each running trial's epoch: finished trials never rerun.
 * - The `sweepState` query answers live progress; each finished segment also signals the parent
 *   run (`stageProgress`), so `fineflow status` shows the trial counts. A trial's activity signals
 *   `sweepTrialStarted` once a worker takes it: until then the trial counts as waiting for a worker,
 *   not running (WAITING_FOR_WORKER_PATCH). While it drains toward continue-as-new, a trial whose segment ended has no
 *   activity: it counts as resuming, not running (only the counts and the query's answer change, not the commands).
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
 * - With `warmStart`, the first run reads the sweep history of this pipeline stage (`readSweepHistory`, behind
 *   the `fineflow-20-sweep-warm-start` patch) and seeds TPE with its trials (src/core/sweep/sweep-history.ts,
 *   warm-start.ts); the log and results.json say what it took and what it ignored. Every sweep's results write
 *   also records the sweep in that history.
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
  patched,
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
import {
  nextSegmentEnd,
  planSweep,
  promotionDefaultApplies,
  trialPrefix,
  trialSettings,
  type SweepPlan,
} from '../src/core/sweep/sweep-plan';
import {
  auditedLine,
  failedLine,
  finishedLine,
  pausedLine,
  promotedLine,
  prunedLine,
  segmentLines,
  segmentStartedLine,
  stampLine,
  sweepEndedLine,
  sweepStartedLine,
} from '../src/core/sweep/sweep-log';
import {
  cancelledResultsTable,
  enginesByTrial,
  trialsOutput,
  type RecordedResultsTable,
  type SweepOutcome,
  type TrialEngines,
} from '../src/core/sweep/sweep-results';
import { objectiveFromOutputs, reportSteps, trialStageInputs } from '../src/core/sweep/trial-stage';
import {
  warmStartLine,
  type WarmStart,
  type WarmStartSettings,
  type WarmStartSummary,
} from '../src/core/sweep/sweep-history';
import {
  SWEEP_QUERIES,
  SWEEP_SIGNALS,
  type SweepTrialStageResult,
  type TrialReportSignal,
  type HyperparameterSweepInput,
  type InFlightTrial,
  type SegmentRecord,
  type SweepCarry,
  type SweepStatus,
  type SweepTrialSegmentResult,
  type TrialStartedSignal,
} from '../src/core/sweep/sweep-types';
import { splitWaitingTrials, sweepProgressMessage } from '../src/core/sweep/trials-waiting';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { trialTimeoutMessage, trialTimeoutOf } from '../src/core/sweep/trial-timeout';
import type { JsonObject } from '../src/core/spec/plan-types';
import {
  best,
  closePausedTrials,
  createSweep,
  finishesPausedAfterClose,
  isDone,
  launchBlockedReason,
  nextTrials,
  recordIntermediate,
  recordResult,
  resultsTable,
  stopLaunching,
  sweepProgress,
  wasClosedWhilePaused,
  type SweepState,
} from '../src/core/sweep';
import { formatHumanDuration } from '../src/core/spec/durations';

export const sweepStateQuery = defineQuery<SweepStatus>(SWEEP_QUERIES.state);
export const trialReportSignal = defineSignal<[TrialReportSignal]>(SWEEP_SIGNALS.trialReport);
export const trialStartedSignal = defineSignal<[TrialStartedSignal]>(SWEEP_SIGNALS.trialStarted);

const DEFAULT_CONTINUE_AS_NEW_EVENTS = 4_000;
/** The workflow change that reads the sweep history before the first trial (`warmStart`). */
export const WARM_START_PATCH = 'fineflow-20-sweep-warm-start';
/** Marks ASHA sweeps of fine-tune trials that get promotion-based ASHA by default (sweep-plan.ts `planSweep`). */
export const ASHA_PROMOTION_DEFAULT_PATCH = 'fineflow-20-asha-promotion-default';
/** Marks sweeps that pin their registry base once, before the first trial (see {@link registryAlias}). */
export const SWEEP_BASE_PIN_PATCH = 'fineflow-sweep-base-pin';
/** Marks sweeps whose log says when a trial continues as a rung audit (`auditEvery`). */
export const AUDIT_LOG_PATCH = 'fineflow-sweep-audit-log';
/** Marks sweeps closed (time budget) with every trial paused: the best paused one finishes, so there is a result. */
export const FINISH_PAUSED_AFTER_CLOSE_PATCH = 'fineflow-sweep-finish-paused-after-close';
/**
 * Marks sweeps that tell the run how far they are after starting the next trials, not between a trial's end and the
 * next start: before, every report counted one trial fewer running than ran (`1 running` for `parallelism: 2`).
 */
export const PROGRESS_AFTER_LAUNCH_PATCH = 'fineflow-sweep-progress-after-launch';
/**
 * Marks sweeps that tell a trial waiting for a worker (its activity queued behind a full pool) from a running one:
 * they heed `sweepTrialStarted` and tell the run again when a worker takes a trial. Before, every trial the sweep had
 * started counted as running, also while no worker held it.
 */
export const WAITING_FOR_WORKER_PATCH = 'fineflow-sweep-waiting-for-worker';

/** The trials' `model` when it is a `registry://` reference (an alias, or none, can move; a pin is needed). */
function registryAlias(plan: SweepPlan): string | undefined {
  const model = plan.trialSettings.model;
  return typeof model === 'string' && model.startsWith('registry://') ? model : undefined;
}

export async function hyperparameterSweep(input: HyperparameterSweepInput): Promise<StageActivityResult> {
  let plan: SweepPlan;
  try {
    plan = planSweep(input.inputs);
    // ASHA sweeps recorded before promotion became the default keep stopping-based ASHA when they replay.
    if (!input.carry && promotionDefaultApplies(input.inputs) && patched(ASHA_PROMOTION_DEFAULT_PATCH))
      plan = planSweep(input.inputs, { promotionByDefault: true });
  } catch (error) {
    throw asFailure(error);
  }
  const sweep = new SweepDriver(input, plan);
  setHandler(sweepStateQuery, (): SweepStatus => sweep.status());
  // Sweeps recorded before warm start existed never read the history, so they replay unchanged.
  if (plan.warmStart && !input.carry && patched(WARM_START_PATCH)) await sweep.warmStart(plan.warmStart);
  // Before, each trial pinned a registry alias at its own first segment: an alias moving mid-sweep split the trials
  // over two bases. Sweeps recorded before this pin replay unchanged.
  const alias = registryAlias(plan);
  if (alias !== undefined && !input.carry && patched(SWEEP_BASE_PIN_PATCH)) await sweep.pinBase(alias);
  sweep.start();
  setHandler(trialReportSignal, (report: TrialReportSignal): void => sweep.onTrialReport(report));
  setHandler(trialStartedSignal, (started: TrialStartedSignal): void => sweep.onTrialStarted(started));
  try {
    await sweep.runTrials();
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Keep what the sweep learned: the cancellation propagates only after the record is written.
    await CancellationScope.nonCancellable(() => sweep.recordCancellation());
    throw error;
  }
  return sweep.finish();
}

/** A segment's heartbeat timeout when the stage sets none. */
const DEFAULT_SEGMENT_HEARTBEAT_TIMEOUT_MS = 60_000;

/** The activities a sweep calls; trials of either kind share the stage's queue, timeouts and retry policy. */
function sweepActivities(execution: HyperparameterSweepInput['execution']): {
  readonly trials: SweepTrialActivities;
  readonly stageTrials: SweepTrialStageActivities;
  readonly bookkeeping: SweepTrialActivities;
} {
  const retry = execution.retry;
  const trialOptions = {
    taskQueue: taskQueueForPool(execution.pool),
    startToCloseTimeout: execution.segmentTimeoutMs,
    heartbeatTimeout: execution.heartbeatTimeoutMs ?? DEFAULT_SEGMENT_HEARTBEAT_TIMEOUT_MS,
    retry: {
      maximumAttempts: retry?.maxAttempts ?? 3,
      initialInterval: retry?.initialIntervalMs ?? 1_000,
      backoffCoefficient: Math.max(1, retry?.backoffCoefficient ?? 2),
      maximumInterval: Math.max(retry?.maximumIntervalMs ?? 30_000, retry?.initialIntervalMs ?? 1_000),
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  };
  return {
    trials: proxyActivities<SweepTrialActivities>({
      ...trialOptions,
      cancellationType: ActivityCancellationType.TRY_CANCEL,
    }),
    // A trialStage trial runs whole; cancelling it (to prune) waits until its process group ended.
    stageTrials: proxyActivities<SweepTrialStageActivities>({
      ...trialOptions,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    bookkeeping: proxyActivities<SweepTrialActivities>({
      taskQueue: taskQueueForPool(execution.pool),
      startToCloseTimeout: '2 minutes',
      retry: {
        maximumAttempts: 5,
        initialInterval: '1 second',
        nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
      },
    }),
  };
}

/**
 * The stage log: lines queue here and go out one append at a time, never cancelled half-way
 * (a cancelled append still running on a worker could overwrite the one after it).
 */
class SweepLogWriter {
  private readonly pending: string[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly append: (fromLine: number, lines: string[]) => Promise<{ readonly lineCount: number }>,
    /** Lines already in the log (carried across continue-as-new). */
    public lineCount: number,
  ) {}

  write(...lines: string[]): void {
    const at = Date.now();
    this.pending.push(...lines.map((line) => stampLine(at, line)));
    this.flush();
  }

  async drain(): Promise<void> {
    this.flush();
    while (this.flushing !== undefined) await this.flushing;
  }

  private flush(): void {
    if (this.flushing !== undefined || this.pending.length === 0) return;
    const lines = this.pending.splice(0);
    this.flushing = CancellationScope.nonCancellable(() => this.append(this.lineCount, lines))
      .then(
        (written) => {
          this.lineCount = written.lineCount;
        },
        // The log is best effort: losing lines must not fail the sweep.
        () => undefined,
      )
      .finally(() => {
        this.flushing = undefined;
        this.flush();
      });
  }
}

interface RunningTrial {
  readonly scope: CancellationScope;
  readonly done: Promise<void>;
}

type Winner = ReturnType<typeof best>;

/**
 * One execution of the sweep workflow (one generation between continue-as-new): the controller
 * state, the trials in flight and what each one's activity returned. Every step is a method so the
 * workflow function above reads as the sweep's outline.
 */
class SweepDriver {
  private readonly context: HyperparameterSweepInput['context'];
  private readonly execution: HyperparameterSweepInput['execution'];
  private readonly generation: number;
  private state: SweepState;
  private readonly inFlight: Map<number, InFlightTrial>;
  private readonly segments: SegmentRecord[];
  private readonly deadlineMs: number | undefined;
  private readonly lastWorker: Map<number, string>;
  private readonly activities: ReturnType<typeof sweepActivities>;
  private readonly log: SweepLogWriter;
  private readonly running = new Map<number, RunningTrial>();
  private readonly continueAsNewAfter: number;
  /** Bumped by every event the main loop waits for. */
  private changes = 0;
  private draining = false;
  /** {@link PROGRESS_AFTER_LAUNCH_PATCH}: known once the trials start. */
  private progressAfterLaunch: boolean | undefined;
  /** A trial ended or started since the run last heard how far the sweep is. */
  private progressChanged = false;
  /** {@link WAITING_FOR_WORKER_PATCH}: known once the trials start. */
  private tellsWaiting: boolean | undefined;
  /** The epoch each running trial's activity resumes from, as launched: a start signal must name it. */
  private readonly launchedFrom = new Map<number, number>();
  /** Running trials whose current activity a worker took (its start signal came); the others wait in the queue. */
  private readonly heldByWorker = new Set<number>();
  private outcome: SweepOutcome | undefined;
  private bestOutputs: SweepCarry['bestOutputs'];
  /** What the warm start took from earlier sweeps, when `warmStart` is on (carried across continue-as-new). */
  private warmStarted: WarmStartSummary | undefined;
  /** The base every trial trains on, pinned before the first (absent: each trial pins its own, as before the pin). */
  private baseModel: string | undefined;

  constructor(
    private readonly input: HyperparameterSweepInput,
    private readonly plan: SweepPlan,
  ) {
    const carry = input.carry;
    this.context = input.context;
    this.execution = input.execution;
    this.generation = carry?.generation ?? 0;
    this.state = carry?.state ?? createSweep(plan.config);
    this.inFlight = new Map((carry?.inFlight ?? []).map((trial) => [trial.trialId, trial]));
    this.segments = [...(carry?.segments ?? [])];
    this.deadlineMs =
      carry?.deadlineMs ?? (plan.timeBudgetMs !== undefined ? Date.now() + plan.timeBudgetMs : undefined);
    this.lastWorker = new Map(this.segments.map((segment) => [segment.trialId, segment.worker]));
    this.activities = sweepActivities(this.execution);
    this.log = new SweepLogWriter(
      (fromLine, lines) => this.activities.bookkeeping.appendSweepLog({ context: this.context, fromLine, lines }),
      carry?.logLines ?? 0,
    );
    this.bestOutputs = carry?.bestOutputs;
    this.warmStarted = carry?.warmStart;
    this.baseModel = carry?.baseModel;
    this.continueAsNewAfter = this.execution.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_EVENTS;
  }

  status(): SweepStatus {
    const current = status(
      this.state,
      this.generation,
      this.lastWorker,
      this.inFlight,
      this.outcome,
      this.segments,
      this.waitingTrials(),
      this.resumingTrials(),
    );
    return this.warmStarted ? { ...current, warmStart: warmStartLine(this.warmStarted) } : current;
  }

  /**
   * Seeds the search with the finished trials of the newest earlier sweeps of this pipeline stage. Whatever
   * happens reading them, the sweep goes on: cold when nothing usable was found or the history could not be read.
   */
  async warmStart(settings: WarmStartSettings): Promise<void> {
    const { space, objective, epochsPerTrial } = this.plan.config;
    let found: WarmStart;
    try {
      found = await this.activities.bookkeeping.readSweepHistory({
        context: this.context,
        subject: { space, objective: { metric: objective.metric, goal: objective.goal }, epochsPerTrial },
        settings,
      });
    } catch (error) {
      found = coldStart(`the history could not be read: ${failureMessage(error)}`);
    }
    try {
      this.state = createSweep(this.plan.config, { priorTrials: found.priorTrials });
    } catch (error) {
      found = coldStart(`the search refused the earlier trials: ${failureMessage(error)}`);
    }
    this.warmStarted = found.summary;
  }

  /** Pins the trials' registry alias to its version now: every trial, retried or continued, trains on that one. */
  async pinBase(model: string): Promise<void> {
    this.baseModel = await this.activities.bookkeeping.pinSweepBase({ context: this.context, model });
  }

  /** Logs the sweep's settings (and its warm start) and arms the time budget. */
  start(): void {
    const config = this.plan.config;
    this.log.write(
      sweepStartedLine({
        algorithm: config.algorithm,
        earlyStopping: config.earlyStopping.type,
        maxTrials: config.maxTrials,
        parallelism: config.parallelism,
        metric: config.objective.metric,
        goal: config.objective.goal,
        epochsPerTrial: config.epochsPerTrial,
        generation: this.generation,
      }),
    );
    if (this.warmStarted && this.generation === 0) this.log.write(warmStartLine(this.warmStarted));
    this.armTimeBudget();
  }

  private armTimeBudget(): void {
    if (this.deadlineMs === undefined) return;
    const closeLaunching = (): void => {
      this.state = stopLaunching(this.state, `time budget spent (${formatHumanDuration(this.plan.timeBudgetMs ?? 0)})`);
      this.changes += 1;
    };
    const remaining = this.deadlineMs - Date.now();
    if (remaining <= 0) closeLaunching();
    // Cancelled together with the workflow; nothing to do then.
    else sleep(remaining).then(closeLaunching, () => undefined);
  }

  /**
   * Starts trials until the controller is done, too many failed, or the history asks to continue as
   * new; returns when no trial needs to run any more.
   */
  async runTrials(): Promise<void> {
    this.progressAfterLaunch ??= patched(PROGRESS_AFTER_LAUNCH_PATCH);
    this.tellsWaiting ??= patched(WAITING_FOR_WORKER_PATCH);
    for (;;) {
      if (this.failedCount() > this.plan.toleratedFailures) return this.reportProgress();
      const running = this.running.size;
      if (!this.draining) this.launchTrials();
      if (this.running.size !== running) this.progressChanged = true;
      this.reportProgress();
      if (this.running.size === 0) {
        if (isDone(this.state)) return;
        if (this.draining) await this.continueAsNew();
        throw ApplicationFailure.create({
          type: ERROR_TYPES.internal,
          nonRetryable: true,
          message:
            'sweep stalled: nothing runs but the controller is not done ' +
            `(${launchBlockedReason(this.state) ?? 'trials may start'})`,
        });
      }
      const seen = this.changes;
      await condition(() => this.changes !== seen);
      const info = workflowInfo();
      if (!this.draining && (info.historyLength >= this.continueAsNewAfter || info.continueAsNewSuggested)) {
        this.draining = true;
      }
    }
  }

  /**
   * Resumes the in-flight trials that have no activity running (a paused trial waits for its promotion), then the
   * paused trials the controller promotes (promotion-based ASHA; from the checkpoint they paused at), then the new
   * ones it picks. Without promotion no trial pauses and none is promoted.
   */
  private launchTrials(): void {
    for (const trialId of this.inFlight.keys())
      if (!this.running.has(trialId) && !this.isPaused(trialId)) this.startTrial(trialId);
    // Asked only when it changes what starts, so only such histories carry the marker.
    const finishAfterClose = finishesPausedAfterClose(this.state) && patched(FINISH_PAUSED_AFTER_CLOSE_PATCH);
    const next = nextTrials(this.state, { finishAfterClose });
    this.state = next.state;
    for (const trial of next.resumed) {
      this.log.write(promotedLine(trial.trialId, trial.reason));
      this.startTrial(trial.trialId);
    }
    for (const trial of next.trials) {
      this.inFlight.set(trial.trialId, { trialId: trial.trialId, epochsDone: 0, durationMs: 0 });
      this.startTrial(trial.trialId);
    }
  }

  /** Tells the run how far the sweep is, once per change, with the trials just started counted as running. */
  private reportProgress(): void {
    if (!this.progressAfterLaunch || !this.progressChanged) return;
    this.progressChanged = false;
    reportToParent(this.input, this.state, this.waitingTrials(), this.resumingTrials());
  }

  /**
   * The running trials no worker holds yet, for sweeps that tell them apart ({@link WAITING_FOR_WORKER_PATCH});
   * undefined for those recorded before, which count every started trial as running.
   */
  private waitingTrials(): ReadonlySet<number> | undefined {
    if (!this.tellsWaiting) return undefined;
    return new Set([...this.running.keys()].filter((trialId) => !this.heldByWorker.has(trialId)));
  }

  /**
   * The trials the controller runs that have no activity: a sweep draining toward continue-as-new starts no segment,
   * so a trial whose segment ended waits for the next execution. Not running, nor waiting for a worker.
   */
  private resumingTrials(): ReadonlySet<number> {
    if (!this.draining) return new Set();
    return new Set(
      [...this.inFlight.keys()].filter((trialId) => !this.running.has(trialId) && !this.isPaused(trialId)),
    );
  }

  /**
   * A worker took a trial's activity: it runs now, no longer waits in the queue. Only the activity the sweep is
   * waiting on counts (a late signal of a segment that already ended names another epoch). Sweeps recorded before
   * the split ignore the signal, so their histories replay unchanged.
   */
  onTrialStarted(started: TrialStartedSignal): void {
    if (!this.tellsWaiting || !Number.isSafeInteger(started.trialId)) return;
    this.markHeld(started.trialId, started.fromEpoch);
  }

  private markHeld(trialId: number, fromEpoch: number | undefined): void {
    if (!this.running.has(trialId) || this.heldByWorker.has(trialId)) return;
    if (fromEpoch !== undefined && this.launchedFrom.get(trialId) !== fromEpoch) return;
    this.heldByWorker.add(trialId);
    this.progressChanged = true;
    this.changes += 1;
  }

  private async continueAsNew(): Promise<never> {
    await this.log.drain();
    return continueAsNew<typeof hyperparameterSweep>({
      ...this.input,
      carry: {
        state: this.state,
        inFlight: [...this.inFlight.values()],
        segments: this.segments,
        ...(this.deadlineMs !== undefined ? { deadlineMs: this.deadlineMs } : {}),
        generation: this.generation + 1,
        logLines: this.log.lineCount,
        ...(this.bestOutputs !== undefined ? { bestOutputs: this.bestOutputs } : {}),
        ...(this.warmStarted !== undefined ? { warmStart: this.warmStarted } : {}),
        ...(this.baseModel !== undefined ? { baseModel: this.baseModel } : {}),
      },
    });
  }

  private startTrial(trialId: number): void {
    if (this.plan.trialStage) this.startTrialStage(trialId, this.plan.trialStage);
    else this.startSegment(trialId);
  }

  private isPaused(trialId: number): boolean {
    return this.state.trials.find((candidate) => candidate.trialId === trialId)?.status === 'paused';
  }

  private paramsOf(trialId: number): SweepState['trials'][number]['params'] | undefined {
    return this.state.trials.find((candidate) => candidate.trialId === trialId)?.params;
  }

  /** Runs one trial activity in its own cancellation scope, so pruning or aborting can cancel it alone. */
  private track<T>(
    trialId: number,
    fromEpoch: number,
    run: () => Promise<T>,
    onEnd: (result: T) => void,
    onFailure: (error: unknown) => void,
  ): void {
    const scope = new CancellationScope();
    this.launchedFrom.set(trialId, fromEpoch);
    this.heldByWorker.delete(trialId);
    const done = scope
      .run(run)
      .then(onEnd, onFailure)
      .finally(() => {
        this.running.delete(trialId);
        this.launchedFrom.delete(trialId);
        this.heldByWorker.delete(trialId);
        this.changes += 1;
        // Sweeps recorded before the patch told the run here, before the next trial started.
        if (this.progressAfterLaunch) this.progressChanged = true;
        else reportToParent(this.input, this.state);
      });
    this.running.set(trialId, { scope, done });
  }

  private startSegment(trialId: number): void {
    const trial = this.inFlight.get(trialId);
    const params = this.paramsOf(trialId);
    if (!trial || !params) return;
    const untilEpoch = nextSegmentEnd(this.state, trial.epochsDone);
    this.log.write(segmentStartedLine(trialId, params as JsonObject, trial.epochsDone, untilEpoch));
    this.track(
      trialId,
      trial.epochsDone,
      () =>
        this.activities.trials.sweepTrialSegment({
          context: this.context,
          trialId,
          settings: trialSettings(this.plan, params, trial.baseModel ?? this.baseModel),
          metric: this.state.config.objective.metric,
          fromEpoch: trial.epochsDone,
          untilEpoch,
          ...(this.execution.resources ? { resources: this.execution.resources } : {}),
        }),
      (result) => this.onSegmentEnd(trialId, result),
      (error) => this.onSegmentFailure(trialId, error),
    );
  }

  private recordSegment(record: SegmentRecord): void {
    this.segments.push(record);
    this.lastWorker.set(record.trialId, record.worker);
  }

  private onSegmentEnd(trialId: number, result: SweepTrialSegmentResult): void {
    const trial = this.inFlight.get(trialId);
    if (!trial) return;
    this.recordSegment({
      trialId,
      fromEpoch: trial.epochsDone,
      toEpoch: result.epochsDone,
      worker: result.worker,
      startedAtMs: result.startedAtMs,
      endedAtMs: result.endedAtMs,
      attempt: result.attempt,
      resumedFromEpoch: result.resumedFromEpoch,
      // What trained it, also when it stopped at a rung: a trial pruned there has no other record of its engine.
      ...(result.backend !== undefined ? { backend: result.backend } : {}),
      ...(result.engine !== undefined ? { engine: result.engine } : {}),
      ...(result.engineFallbackReason !== undefined ? { engineFallbackReason: result.engineFallbackReason } : {}),
    });
    const durationMs = trial.durationMs + Math.max(0, result.endedAtMs - result.startedAtMs);
    this.log.write(...segmentLines(this.state.config.objective.metric, trial.epochsDone, result));
    const judged = this.judgeReports(trialId, result.reports);
    if (judged === 'stopped') {
      this.state = recordResult(this.state, trialId, { status: 'stopped', epochs: result.epochsDone, durationMs });
      this.inFlight.delete(trialId);
    } else if (judged === 'paused') {
      // Stays in flight (not running) with its epochs and base, so its promotion resumes where it paused.
      this.inFlight.set(trialId, {
        ...trial,
        epochsDone: result.epochsDone,
        durationMs,
        ...(result.baseModel !== undefined ? { baseModel: result.baseModel } : {}),
      });
    } else if (result.finished) {
      this.onTrialFinished(trialId, result, durationMs);
    } else {
      this.inFlight.set(trialId, {
        ...trial,
        epochsDone: result.epochsDone,
        durationMs,
        ...(result.baseModel !== undefined ? { baseModel: result.baseModel } : {}),
      });
    }
  }

  /** Feeds a segment's epochs to early stopping: whether it stopped the trial, paused it at a rung, or neither. */
  private judgeReports(
    trialId: number,
    reports: SweepTrialSegmentResult['reports'],
  ): 'stopped' | 'paused' | 'continues' {
    for (const report of reports) {
      const decision = recordIntermediate(this.state, trialId, report.epoch, report.value);
      this.state = decision.state;
      if (decision.paused) {
        this.log.write(pausedLine(trialId, report.epoch, decision.reason));
        return 'paused';
      }
      if (decision.stop) {
        this.log.write(prunedLine(trialId, report.epoch, decision.reason));
        return 'stopped';
      }
      // A log line can start an append activity: sweeps recorded before the line must not.
      if (decision.audited && patched(AUDIT_LOG_PATCH))
        this.log.write(auditedLine(trialId, report.epoch, decision.reason));
    }
    return 'continues';
  }

  private onTrialFinished(trialId: number, result: SweepTrialSegmentResult, durationMs: number): void {
    const metric = this.state.config.objective.metric;
    const value = result.finalValue ?? result.reports[result.reports.length - 1]?.value ?? Number.NaN;
    this.state = recordResult(this.state, trialId, {
      status: 'completed',
      value,
      epochs: result.epochsDone,
      durationMs,
    });
    this.inFlight.delete(trialId);
    const recorded = this.state.trials.find((candidate) => candidate.trialId === trialId);
    this.log.write(
      recorded?.status === 'failed'
        ? failedLine(trialId, recorded.error ?? 'no objective value')
        : finishedLine(trialId, metric, value, result.epochsDone, result),
    );
  }

  private onSegmentFailure(trialId: number, error: unknown): void {
    // Segments are only cancelled by this workflow (aborting, or being cancelled itself): the
    // trial did not fail, it stays in flight and is recorded as cancelled.
    if (isCancellation(error)) return;
    const trial = this.inFlight.get(trialId);
    const message = this.trialFailureMessage(error);
    this.state = recordResult(this.state, trialId, {
      status: 'failed',
      error: message,
      ...(trial ? { durationMs: trial.durationMs } : {}),
    });
    this.inFlight.delete(trialId);
    this.log.write(failedLine(trialId, message));
  }

  /**
   * A timed-out trial says which timeout, for how long, what it likely means and what to do (as a stage attempt does);
   * any other failure, the trial's own error.
   */
  private trialFailureMessage(error: unknown): string {
    const timeout = trialTimeoutOf(error);
    if (!timeout) return failureMessage(error);
    const { execution } = this;
    return trialTimeoutMessage(timeout, {
      maxAttempts: execution.retry?.maxAttempts ?? 3,
      heartbeatTimeoutMs: execution.heartbeatTimeoutMs ?? DEFAULT_SEGMENT_HEARTBEAT_TIMEOUT_MS,
      segmentTimeoutMs: execution.segmentTimeoutMs,
      pool: execution.pool,
    });
  }

  /** A running trialStage trial reported a step: early stopping judges it, and may cancel the trial. */
  onTrialReport(report: TrialReportSignal): void {
    const trial = this.inFlight.get(report.trialId);
    if (!this.plan.trialStage || !trial || !this.running.has(report.trialId)) return;
    if (!Number.isSafeInteger(report.step) || report.step < 0 || typeof report.value !== 'number') return;
    // A trial that reports runs, whether or not its start signal came first.
    if (this.tellsWaiting) this.markHeld(report.trialId, undefined);
    const metric = this.state.config.objective.metric;
    const decision = recordIntermediate(this.state, report.trialId, report.step, report.value);
    this.state = decision.state;
    this.inFlight.set(report.trialId, { ...trial, epochsDone: Math.max(trial.epochsDone, report.step) });
    this.log.write(`trial ${report.trialId} step ${report.step}: ${metric}=${Number(report.value.toPrecision(4))}`);
    if (decision.stop) {
      this.log.write(prunedLine(report.trialId, report.step, decision.reason).replace(' at epoch ', ' at step '));
      this.running.get(report.trialId)?.scope.cancel();
    }
    this.changes += 1;
  }

  private startTrialStage(trialId: number, trialStage: NonNullable<SweepPlan['trialStage']>): void {
    const params = this.paramsOf(trialId);
    if (!params) return;
    this.log.write(`trial ${trialId} started with ${JSON.stringify(params)}: a ${trialStage.uses} stage`);
    this.track(
      trialId,
      0,
      () =>
        this.activities.stageTrials.sweepTrialStage({
          context: this.context,
          trialId,
          uses: trialStage.uses,
          inputs: trialStageInputs(trialStage, params as JsonObject),
          metric: this.state.config.objective.metric,
          reportSteps: reportSteps(this.state),
          ...(this.execution.resources ? { resources: this.execution.resources } : {}),
        }),
      (result) => this.onTrialStageEnd(trialId, result),
      (error) => this.onTrialStageFailure(trialId, error),
    );
  }

  /** Records a finished trialStage trial: its objective from its outputs, and the outputs if it leads. */
  private onTrialStageEnd(trialId: number, result: SweepTrialStageResult): void {
    const trial = this.inFlight.get(trialId);
    if (!trial) return;
    const steps = result.lastStep ?? trial.epochsDone;
    this.recordSegment({
      trialId,
      fromEpoch: 0,
      toEpoch: steps,
      worker: result.worker,
      startedAtMs: result.startedAtMs,
      endedAtMs: result.endedAtMs,
      attempt: result.attempt,
      resumedFromEpoch: 0,
    });
    this.inFlight.delete(trialId);
    const durationMs = Math.max(0, result.endedAtMs - result.startedAtMs);
    const metric = this.state.config.objective.metric;
    const value = objectiveFromOutputs(result.outputs, metric);
    if (value === undefined) {
      const error =
        `the trial's outputs have no finite ${metric} (read from outputs.metrics.${metric}, else outputs.${metric}); ` +
        'a command writes it to $FINEFLOW_RESULTS metrics or a ::fineflow:: metrics line';
      this.state = recordResult(this.state, trialId, { status: 'failed', error, durationMs });
      this.log.write(failedLine(trialId, error));
      return;
    }
    this.state = recordResult(this.state, trialId, { status: 'completed', value, epochs: steps, durationMs });
    const recorded = this.state.trials.find((candidate) => candidate.trialId === trialId);
    if (recorded?.status === 'stopped') return; // pruned, but it ended before the cancellation reached it
    this.log.write(`trial ${trialId} finished with ${metric}=${Number(value.toPrecision(4))} on ${result.worker}`);
    if (best(this.state)?.trialId === trialId) this.bestOutputs = { trialId, outputs: result.outputs };
  }

  private onTrialStageFailure(trialId: number, error: unknown): void {
    const pruned = this.state.trials.find((candidate) => candidate.trialId === trialId)?.stopRequested;
    if (pruned && endedByCancel(error)) {
      const trial = this.inFlight.get(trialId);
      this.state = recordResult(this.state, trialId, {
        status: 'stopped',
        epochs: pruned.epoch,
        ...(trial ? { durationMs: trial.durationMs } : {}),
      });
      this.inFlight.delete(trialId);
      return;
    }
    this.onSegmentFailure(trialId, error);
  }

  private failedCount(): number {
    return this.state.trials.filter((trial) => trial.status === 'failed').length;
  }

  private winnerModel(): { readonly winner?: Winner; readonly bestModel?: string } {
    const winner = best(this.state);
    if (!winner) return {};
    // A trialStage trial has no model of the sweep's making; its outputs are `bestOutputs`.
    if (this.plan.trialStage) return { winner };
    return { winner, bestModel: `${trialPrefix(this.context.outputPrefix, winner.trialId)}model/model.json` };
  }

  /** Trial counts in the words of the trial lines above them and of the trial tables (finished, pruned). */
  private summarise(): string {
    const counts = sweepProgress(this.state);
    const closed = this.state.trials.filter(
      (trial) => trial.status === 'stopped' && wasClosedWhilePaused(trial.stopRequested?.reason),
    ).length;
    return (
      `${counts.completed} finished, ${counts.stopped - closed} pruned, ` +
      `${closed > 0 ? `${closed} stopped-while-paused, ` : ''}${counts.failed} failed of ${counts.started} started`
    );
  }

  private endedLine(outcome: SweepOutcome, results: string, winner: Winner): string {
    return sweepEndedLine(
      outcome,
      this.summarise(),
      results,
      winner ? { ...winner, metric: this.state.config.objective.metric } : undefined,
    );
  }

  private writeResults(
    table: RecordedResultsTable,
    bestModel: string | undefined,
  ): ReturnType<SweepTrialActivities['writeSweepResults']> {
    const { space, objective, epochsPerTrial } = this.state.config;
    return this.activities.bookkeeping.writeSweepResults({
      context: this.context,
      table,
      segments: this.segments,
      outcome: this.outcome,
      ...(bestModel ? { bestModel } : {}),
      // The activity also records the sweep for warm starts of later sweeps of this stage.
      history: { space, objective: { metric: objective.metric, goal: objective.goal }, epochsPerTrial },
      ...(this.warmStarted ? { warmStart: this.warmStarted } : {}),
    });
  }

  private unfinishedTable(): RecordedResultsTable {
    return cancelledResultsTable(resultsTable(this.state), [...this.inFlight.values()]);
  }

  /** Cancelled: waits for the running trials, then writes the partial results and the log's last lines. */
  async recordCancellation(): Promise<void> {
    await Promise.all([...this.running.values()].map(({ done }) => done));
    this.outcome = 'cancelled';
    this.state = closePausedTrials(stopLaunching(this.state, 'sweep cancelled'));
    const { winner, bestModel } = this.winnerModel();
    const cancelled = this.state.trials.filter((trial) => trial.status === 'running').map((trial) => trial.trialId);
    try {
      const written = await this.writeResults(this.unfinishedTable(), bestModel);
      this.log.write(
        `${cancelled.length} running trial(s) cancelled${cancelled.length > 0 ? `: ${cancelled.join(', ')}` : ''}`,
        this.endedLine('cancelled', written.json, winner),
      );
    } catch (writeError) {
      this.log.write(`sweep cancelled; writing the partial results failed: ${failureMessage(writeError)}`);
    }
    await this.log.drain();
  }

  /** The loop ended: writes the results and returns the stage's outputs, or fails the stage. */
  async finish(): Promise<StageActivityResult> {
    const failedTooOften = this.failedCount() > this.plan.toleratedFailures;
    if (failedTooOften) {
      for (const { scope } of this.running.values()) scope.cancel();
      await Promise.all([...this.running.values()].map(({ done }) => done));
    }
    const outcome = failedTooOften ? 'failed' : 'completed';
    this.outcome = outcome;
    // Trials still waiting at a rung (promotion-based ASHA) were not promoted: they end as stopped there.
    this.state = closePausedTrials(this.state);
    const table = failedTooOften ? this.unfinishedTable() : resultsTable(this.state);
    const { winner, bestModel } = this.winnerModel();
    const written = await this.writeResults(table, bestModel);
    this.log.write(this.endedLine(outcome, written.json, winner));
    await this.log.drain();
    if (failedTooOften || !winner || (!bestModel && !this.plan.trialStage)) {
      throw this.noWinnerFailure(failedTooOften, written.json);
    }
    const winnerOutputs = this.bestOutputs?.trialId === winner.trialId ? this.bestOutputs.outputs : undefined;
    return {
      outputs: {
        best: winner.params as JsonObject,
        ...(bestModel !== undefined ? { bestModel } : {}),
        ...(winnerOutputs !== undefined ? { bestOutputs: winnerOutputs } : {}),
        bestMetric: winner.value,
        trials: trialsOutput(table, this.segments),
        results: written.json,
      },
      artifacts: written.artifacts,
    };
  }

  private noWinnerFailure(failedTooOften: boolean, results: string): ApplicationFailure {
    const summary = this.summarise();
    const lastError = this.state.trials.filter((trial) => trial.status === 'failed').pop()?.error ?? '?';
    return ApplicationFailure.create({
      type: ERROR_TYPES.invalidInput,
      nonRetryable: true,
      message: failedTooOften
        ? `${sweepProgress(this.state).failed} trial(s) failed, more than maxFailedTrials ` +
          `(${this.plan.toleratedFailures}); ${summary}; results in ${results}. Last error: ${lastError}`
        : `no trial completed (${summary}); results in ${results}`,
      details: [{ results }],
    });
  }
}

function status(
  state: SweepState,
  generation: number,
  lastWorker: ReadonlyMap<number, string>,
  inFlight: ReadonlyMap<number, InFlightTrial>,
  outcome: SweepOutcome | undefined,
  segments: readonly SegmentRecord[],
  waiting: ReadonlySet<number> | undefined,
  resuming: ReadonlySet<number>,
): SweepStatus {
  const engines = enginesByTrial(segments);
  return {
    progress: splitWaitingTrials(sweepProgress(state), waiting?.size, resuming.size),
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
        ...(trial.status === 'stopped' && trial.stopRequested ? { stopReason: trial.stopRequested.reason } : {}),
        ...(trial.status === 'failed' && trial.error !== undefined ? { error: trial.error } : {}),
        ...enginesOf(engines.get(trial.trialId)),
        ...(trial.status === 'running' && waiting?.has(trial.trialId) ? { waitingForWorker: true as const } : {}),
        ...(trial.status === 'running' && resuming.has(trial.trialId) ? { resuming: true as const } : {}),
      };
    }),
  };
}

/** A trial's engines for the query, once one of its segments reported one. */
function enginesOf(trained: TrialEngines | undefined): { engines?: readonly string[] } {
  return trained !== undefined && trained.engines.length > 0 ? { engines: trained.engines } : {};
}

/** Best effort: tell the parent run how far the sweep is, for `fineflow status`. */
function reportToParent(
  input: HyperparameterSweepInput,
  state: SweepState,
  waiting: ReadonlySet<number> | undefined = undefined,
  resuming: ReadonlySet<number> = new Set(),
): void {
  const parent = workflowInfo().parent;
  if (!parent) return;
  const counts = splitWaitingTrials(sweepProgress(state), waiting?.size, resuming.size);
  const signal: StageProgressSignal = {
    stageId: input.context.stageId,
    attempt: input.context.attempt,
    progress: {
      message: sweepProgressMessage(counts, state.config.objective.metric),
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

/** A warm start that found nothing it could use, and why. */
function coldStart(reason: string): WarmStart {
  return { priorTrials: [], summary: { sweeps: 0, trials: 0, ignored: 1, reasons: [reason.slice(0, 200)] } };
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
