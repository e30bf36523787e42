/**
 * Contract of the `hyperparameterSweep` child workflow and its activities: what the
 * `pipelineRun` workflow passes in, what a trial segment activity takes and returns, and what
 * the `sweepState` query answers. Pure types and constant names: importable from workflow code.
 */
import type { JsonObject } from '../spec/plan-types';
import type { ResultsRow, ResultsTable, SweepProgress, SweepState, SweepTrialStatus } from './';
import type { StageActivityInput, StageContext } from '../run/run-types';
import type { PlannedResources } from '../spec/resources';
import type { Goal } from './searcher';
import type { SearchSpace } from './space';

/** What the objective, budget and space of a sweep are: what a record is checked against. */
export interface SweepHistorySubject {
  readonly space: SearchSpace;
  readonly objective: { readonly metric: string; readonly goal: Goal };
  readonly epochsPerTrial: number;
}

/** What a warm start found: recorded in the workflow's history, results.json and the stage log, so bounded. */
export interface WarmStartSummary {
  /** Records that gave at least one trial. */
  readonly sweeps: number;
  /** Prior trials passed to the search. */
  readonly trials: number;
  /** Records and trials left out. */
  readonly ignored: number;
  /** Why, most frequent first, each with its count: at most `SWEEP_HISTORY_LIMITS.reasons` (./sweep-history.ts). */
  readonly reasons: readonly string[];
  /** Set when the history was too large to list within its bound: what was read instead, and the fix. */
  readonly overflow?: string;
}

/** A trial's status as recorded: the controller's, or `cancelled` when the sweep was cancelled while it ran. */
export type RecordedTrialStatus = SweepTrialStatus | 'cancelled';

export interface RecordedResultsRow extends Omit<ResultsRow, 'status'> {
  readonly status: RecordedTrialStatus;
}

/** The controller's table, possibly with cancelled rows (a partial record). */
export interface RecordedResultsTable extends Omit<ResultsTable, 'rows'> {
  readonly rows: readonly RecordedResultsRow[];
}

/** How the sweep ended: `completed` (its trials ran out), `failed` (too many failed trials) or `cancelled`. */
export type SweepOutcome = 'completed' | 'failed' | 'cancelled';

/** How the trials of a sweep run: taken from the planned stage by the `pipelineRun` workflow. */
export interface SweepExecution {
  /** Worker pool whose task queue runs the trial segments (`taskQueueForPool(pool)`), e.g. `train`. */
  readonly pool: string;
  /** Start-to-close timeout of one trial segment attempt (one ASHA rung's epochs at most). */
  readonly segmentTimeoutMs: number;
  /** A segment attempt fails when no heartbeat arrives for this long. Default 60 s. */
  readonly heartbeatTimeoutMs?: number;
  /** Retry policy of a segment (a retry resumes from the segment's last checkpoint). */
  readonly retry?: {
    readonly maxAttempts: number;
    readonly initialIntervalMs: number;
    readonly backoffCoefficient: number;
    readonly maximumIntervalMs: number;
  };
  /**
   * Continue-as-new once the history holds this many events (or when Temporal suggests it).
   * Default 4000; tests set it low to exercise the hand-over.
   */
  readonly continueAsNewAfterEvents?: number;
  /** The sweep stage's `resources:`: each trial holds them on its worker while it runs. */
  readonly resources?: PlannedResources;
}

/** Progress of a trial that is still running, carried across continue-as-new. */
export interface InFlightTrial {
  readonly trialId: number;
  /** Epochs trained and checkpointed so far (the next segment resumes from this epoch's checkpoint). */
  readonly epochsDone: number;
  /** The base model pinned by the first segment (`registry://name@3`), so later segments resume the same request. */
  readonly baseModel?: string;
  /** Wall-clock milliseconds spent in this trial's segments so far. */
  readonly durationMs: number;
}

/** Where each segment of each trial ran: evidence of spreading over the pool, kept in the results table. */
export interface SegmentRecord {
  readonly trialId: number;
  readonly fromEpoch: number;
  readonly toEpoch: number;
  /** Identity of the worker that ran the segment's last attempt. */
  readonly worker: string;
  /** Epoch milliseconds (worker clock) when the successful attempt started and ended. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly attempt: number;
  /** Epoch the successful attempt started from: above `fromEpoch` when a retry resumed a crashed attempt's checkpoint. */
  readonly resumedFromEpoch: number;
  /** What trained the segment (absent in records written before segments that stop at a rung said so). */
  readonly backend?: string;
  readonly engine?: string;
  /** Why `auto` trained it on the eager engine, when it did. */
  readonly engineFallbackReason?: string;
}

/** Everything a sweep carries into its next run when it continues as new. */
export interface SweepCarry {
  readonly state: SweepState;
  readonly inFlight: readonly InFlightTrial[];
  readonly segments: readonly SegmentRecord[];
  /** Epoch milliseconds (workflow clock) after which no trial starts; absent without a time budget. */
  readonly deadlineMs?: number;
  /** How many runs of this workflow came before (continue-as-new count). */
  readonly generation: number;
  /** Lines of the stage log written so far (the next append keeps exactly these). */
  readonly logLines?: number;
  /** trialStage sweeps: the outputs of the best trial so far (the stage's `bestOutputs`). */
  readonly bestOutputs?: { readonly trialId: number; readonly outputs: JsonObject };
  /** What the first run's warm start found (its prior trials live on in `state`'s searcher). */
  readonly warmStart?: WarmStartSummary;
  /** The `registry://name@alias` base pinned to a version once, before the first trial: every trial trains on it. */
  readonly baseModel?: string;
}

/** Input of `pinSweepBase`: the trials' settings, whose `model` a registry alias may name. */
export interface SweepBasePinInput {
  readonly context: StageContext;
  readonly model: string;
}

/** Input of the `hyperparameterSweep` workflow: a stage activity's input plus how to run trials. */
export interface HyperparameterSweepInput extends StageActivityInput {
  readonly execution: SweepExecution;
  /** Set only by the workflow itself when it continues as new. */
  readonly carry?: SweepCarry;
}

/** One objective value reported by a trial after an epoch, with the epoch's other metrics. */
export interface TrialEpochReport {
  readonly epoch: number;
  /** The objective metric's value after this epoch. */
  readonly value: number;
  readonly metrics: {
    readonly trainLoss: number;
    readonly trainAccuracy: number;
    readonly validationLoss?: number;
    readonly validationAccuracy?: number;
  };
}

/** Input of the `sweepTrialSegment` activity. */
export interface SweepTrialSegmentInput {
  /** The sweep stage's context; the trial writes under `<outputPrefix>trials/trial-<id>/`. */
  readonly context: StageContext;
  readonly trialId: number;
  /** fine-tune inputs of this trial: model, data, the stage's `trial` settings, the sampled values, `epochs` = the trial budget. */
  readonly settings: JsonObject;
  /** Objective metric, e.g. `validation.accuracy`. */
  readonly metric: string;
  /** Epochs already trained (0 = fresh); the segment resumes from that epoch's checkpoint. */
  readonly fromEpoch: number;
  /** Train through this epoch, then return (the whole budget for the last segment). */
  readonly untilEpoch: number;
  /** The sweep stage's `resources:`, held from the worker's capacity while the segment trains. */
  readonly resources?: PlannedResources;
}

export interface SweepTrialSegmentResult {
  readonly trialId: number;
  /** Reports of the epochs this segment trained (fromEpoch+1 … ), ascending. */
  readonly reports: readonly TrialEpochReport[];
  readonly epochsDone: number;
  /** True when training ended: the budget is spent or the trial's own early stopping ended it. */
  readonly finished: boolean;
  /** When finished: the trained model (`…/model.json`) and the objective value of its weights. */
  readonly model?: string;
  readonly finalValue?: number;
  readonly baseModel?: string;
  readonly backend?: string;
  /** Training engine of the segment (graph or eager), finished or not; absent when it trained no epoch. */
  readonly engine?: string;
  /** Why `auto` trained on the eager engine, when it did (the sweep log's warning line). */
  readonly engineFallbackReason?: string;
  readonly worker: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly attempt: number;
  /** Epoch this attempt resumed from (see {@link SegmentRecord.resumedFromEpoch}). */
  readonly resumedFromEpoch: number;
  /**
   * On a retry that Temporal started because the attempt before timed out (its worker killed, say): how that attempt
   * ended, `attempt 1 ended without finishing: Temporal heard no heartbeat from it for 60 s (heartbeat timeout): …`.
   */
  readonly previousAttempt?: string;
}

/** Input of the `sweepTrialStage` activity: one whole trial of a sweep whose trials are stages of another type. */
export interface SweepTrialStageInput {
  /** The sweep stage's context; the trial writes under `<outputPrefix>trials/trial-<id>/`, logs as stage `<stageId>.trial-<id>`. */
  readonly context: StageContext;
  readonly trialId: number;
  /** Stage type of the trial (`trialStage.uses`). */
  readonly uses: string;
  /** `trialStage.with` with the trial's sampled values laid over it. */
  readonly inputs: JsonObject;
  /** Objective: the metric whose intermediate values are forwarded. */
  readonly metric: string;
  /** Steps the workflow's early stopping judges (ASHA rungs, median steps); empty: forward nothing. */
  readonly reportSteps: readonly number[];
  /** The sweep stage's `resources:`, held from the worker's capacity while the trial runs. */
  readonly resources?: PlannedResources;
}

export interface SweepTrialStageResult {
  readonly trialId: number;
  /** The trial stage's outputs (the objective is read from them). */
  readonly outputs: JsonObject;
  readonly artifacts: readonly { readonly uri: string; readonly sha256: string }[];
  /** Highest `step` the trial reported, if it reported any. */
  readonly lastStep?: number;
  readonly worker: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly attempt: number;
}

/** Signal a running trialStage trial sends its sweep: the objective's value after a step. */
export interface TrialReportSignal {
  readonly trialId: number;
  readonly step: number;
  readonly value: number;
}

/**
 * Signal a trial's activity sends its sweep once a worker holds it (every attempt, best effort): until then the trial
 * is queued behind a full worker pool, and `status` says "waiting for a worker" instead of counting it as running.
 * A segment names the epoch it resumes from, so a late signal of an ended segment does not mark the next one.
 */
export interface TrialStartedSignal {
  readonly trialId: number;
  /** The segment's `fromEpoch`; 0 for a trialStage trial (one activity per trial). */
  readonly fromEpoch: number;
}

/** Input of the `writeSweepResults` activity. */
export interface SweepResultsInput {
  readonly context: StageContext;
  readonly table: RecordedResultsTable;
  readonly segments: readonly SegmentRecord[];
  /** Default `completed`; any other outcome marks the document partial. */
  readonly outcome?: SweepOutcome;
  /** The best trial's `model.json`: its files are listed as artifacts for the stage cache. */
  readonly bestModel?: string;
  /**
   * The sweep's objective, trial budget and space: with it, the activity also writes the sweep's history record
   * (src/core/sweep/sweep-history.ts) for warm starts of later sweeps. Absent from sweeps started before it existed.
   */
  readonly history?: SweepHistorySubject;
  /** What the sweep's warm start found, when it had one: results.json says it. */
  readonly warmStart?: WarmStartSummary;
}

export interface SweepResultsOutput {
  /** `…/results.json` */
  readonly json: string;
  readonly csv: string;
  readonly artifacts: readonly { readonly uri: string; readonly sha256: string }[];
}

/** Input of the `appendSweepLog` activity: lines for the sweep stage's log. */
export interface SweepLogInput {
  readonly context: StageContext;
  /** Lines the workflow knows are already written; the activity keeps these and drops any others (a retried append). */
  readonly fromLine: number;
  /** Timestamped lines, without newlines. */
  readonly lines: readonly string[];
}

export interface SweepLogOutput {
  /** Lines in the log after the append. */
  readonly lineCount: number;
}

/** The counts a sweep shows: the controller's, with trials queued for a worker split out of `running`. */
export interface ShownSweepProgress extends SweepProgress {
  /** Started trials no worker holds yet (queued behind a full pool); absent from sweeps recorded before the split. */
  readonly waitingForWorker?: number;
  /**
   * Trials the controller runs that have no activity: their segment ended while the sweep drained toward
   * continue-as-new, and the next one starts in the next execution. Absent when none.
   */
  readonly resuming?: number;
  /**
   * Set by readers, never by the sweep (src/core/sweep/trials-waiting.ts `sweepStageProgress`): trials whose attempt
   * Temporal ended (worker lost) and retries, and trials whose worker stopped heartbeating. Absent when none.
   */
  readonly retrying?: number;
  readonly unresponsive?: number;
}

/** What the `sweepState` query answers: counts for `fineflow status` plus each trial's line. */
export interface SweepStatus {
  /** `running` counts the trials a worker holds; `waitingForWorker` those queued for a free slot (when known). */
  readonly progress: ShownSweepProgress;
  /** Why no more trials start, once that is so. */
  readonly closedReason?: string;
  readonly generation: number;
  /** The objective, so a trial table can name it. */
  readonly metric?: string;
  readonly goal?: string;
  /** Set once the sweep ended (a query of a closed sweep): running trials were then cancelled. */
  readonly outcome?: SweepOutcome;
  /** The warm start's line (`warm start: 37 trials from 2 earlier sweeps, …`), when the sweep had one. */
  readonly warmStart?: string;
  readonly trials: readonly {
    readonly trialId: number;
    readonly status: string;
    readonly params: JsonObject;
    readonly epochs: number;
    readonly value?: number;
    readonly worker?: string;
    /** Why a stopped trial stopped (early stopping's reason, or the sweep ended while it was paused). */
    readonly stopReason?: string;
    /** Why a failed trial failed: its error, or for a timed-out one which timeout and what to do. */
    readonly error?: string;
    /** The engines the trial's segments trained on so far, in the order first used. */
    readonly engines?: readonly string[];
    /** A running trial whose activity no worker holds yet: it waits in the pool's queue for a free slot. */
    readonly waitingForWorker?: true;
    /** A running trial with no activity: the sweep continues as new before its next segment starts. */
    readonly resuming?: true;
  }[];
}

/** Activity type names of the sweep, registered by every pool worker. */
export const SWEEP_ACTIVITIES = {
  trialSegment: 'sweepTrialSegment',
  trialStage: 'sweepTrialStage',
  writeResults: 'writeSweepResults',
  appendLog: 'appendSweepLog',
  readHistory: 'readSweepHistory',
  pinBase: 'pinSweepBase',
} as const;

export const SWEEP_QUERIES = { state: 'sweepState' } as const;

export const SWEEP_SIGNALS = { trialReport: 'sweepTrialReport', trialStarted: 'sweepTrialStarted' } as const;
