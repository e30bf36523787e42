/**
 * Contract between the CLI/client, the `pipelineRun` workflow and its activities. Pure types
 * plus constant names: importable from workflow code.
 */
import type { JsonObject, JsonValue, Plan, PlannedStage } from '../spec/plan-types';
import type { PlannedResources } from '../spec/resources';
import type { RecordedEvaluation } from './register-evaluations';

/** Temporal workflow type names, in one place. */
export const WORKFLOW_TYPES = {
  pipelineRun: 'pipelineRun',
  hyperparameterSweep: 'hyperparameterSweep',
  dataWatcher: 'dataWatcher',
} as const;

/** What started a run that is not a rerun: a user, a schedule, or new data. */
export type OriginTrigger =
  | {
      readonly kind: 'manual';
      readonly user?: string;
      /** Set by `fineflow schedule trigger`: the schedule whose plan ran. */
      readonly scheduleId?: string;
    }
  | { readonly kind: 'schedule'; readonly scheduleId: string }
  | {
      readonly kind: 'new-data';
      readonly watcherId: string;
      /** Prefix watched, e.g. s3://datasets/defects/ */
      readonly path: string;
      /** Id of the dataset version that started the run (src/datasets); prepare-data reads exactly it. */
      readonly datasetVersion: string;
      /** Started by `fineflow schedule trigger` (for the version there), not by a change. */
      readonly manual?: boolean;
      /** The prefix returned to this version after it had run (`onRevert: retrain`). */
      readonly revert?: boolean;
    };

/** Why a run started; recorded in its memo and search attributes. */
export type RunTrigger =
  | OriginTrigger
  | {
      readonly kind: 'rerun';
      readonly fromRunId: string;
      readonly fromStage: string;
      /**
       * The trigger of the run this one reruns (for a rerun of a rerun, of the first run), so
       * a rerun of a new-data run retrains on the same dataset version. Absent in reruns
       * started before this field existed. See src/core/run/run-trigger.ts.
       */
      readonly origin?: OriginTrigger;
    };

/** Where a stage a rerun did not run took its outputs from. */
export interface ReusedFrom {
  readonly runId: string;
  readonly stage: string;
}

/** Outputs of a finished stage of an earlier run, reused without running it again. */
export interface ReusedStageOutput {
  readonly stageId: string;
  readonly outputs: JsonObject;
  /** Run that produced it. */
  readonly fromRunId: string;
}

export interface PipelineRunInput {
  readonly plan: Plan;
  readonly trigger: RunTrigger;
  /** For `rerun --from`: outputs of the stages that are not rerun. */
  readonly reuse?: readonly ReusedStageOutput[];
  /** Bucket of runs/, cache/ and models/ (the client's FINEFLOW_BUCKET); default `fineflow`. */
  readonly bucket?: string;
  /**
   * History length (events) past which the run continues as new with its state carried; Temporal's
   * own suggestion (`continueAsNewSuggested`) also triggers it. Default DEFAULT_HISTORY_EVENT_LIMIT.
   */
  readonly historyEventLimit?: number;
  /** Set by the run itself when it continued as new: everything it knew so far. */
  readonly carried?: CarriedRunState;
  /**
   * Characters of stage JSON the run's result may hold inline (src/core/run/run-result.ts); only
   * lowers RESULT_INLINE_CHARS (tests make it small to exercise the stored table).
   */
  readonly resultInlineChars?: number;
  /**
   * Base URL of `fineflow ui` (FINEFLOW_UI_URL), for runs whose id their starter does not know (a
   * schedule's, which Temporal completes with a timestamp): the run puts its page in its memo itself.
   */
  readonly uiUrl?: string;
}

/**
 * Workflow task timeout of the runs Fineflow starts (Temporal's default is 10 s). A control worker
 * that holds many runs on a loaded host can take longer than 10 s to get to a task it has polled;
 * the timed-out task is then redone from scratch, which loads the worker further and cascades
 * (seen with 1,000 concurrent runs, docs/operations.md). A longer timeout only delays the recovery
 * from a control worker that died holding a task, by at most this much.
 */
export const RUN_WORKFLOW_TASK_TIMEOUT_MS = 60_000;

/** Events after which a run continues as new (Temporal refuses histories past 51,200 events or 50 MB). */
export const DEFAULT_HISTORY_EVENT_LIMIT = 10_000;

/**
 * Heartbeat timeout of a stage that sets none. Every stage attempt heartbeats on a timer at least
 * every 5 s (activities/stage-runner.ts), so only a dead or frozen worker misses it; without it
 * Temporal would retry a kill -9'd worker's attempt only at the stage's `timeout` (default 30 min).
 */
export const DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS = 30_000;

/**
 * What a `pipelineRun` hands to its next execution when it continues as new. Carried only when no
 * stage activity or sweep is in flight, so nothing here is `running` except a fan-out between instances.
 */
export interface CarriedRunState {
  readonly startedAt: string;
  readonly params: { readonly [name: string]: JsonValue };
  /** Every stage and fan-out instance, progress stripped. */
  readonly stages: readonly StageState[];
  /** Output digests from the cache, for downstream cache keys. */
  readonly digests: { readonly [stageId: string]: string };
  /** Items of each expanded fan-out, in order (its instances are rebuilt from them). */
  readonly fanOutItems: { readonly [stageId: string]: readonly JsonValue[] };
  /** How many times the run continued as new before this execution. */
  readonly continuations: number;
}

export type StageStatus =
  'pending' | 'running' | 'succeeded' | 'cached' | 'failed' | 'waiting' | 'skipped' | 'cancelled';

/** Live progress a stage reports through heartbeats (epoch, trial, bytes …). */
export interface StageProgress {
  /** Short human text, e.g. `epoch 3/20 loss=0.41 acc=0.88`. */
  readonly message?: string;
  /** 0…1 when the stage knows its total. */
  readonly fraction?: number;
  readonly detail?: JsonObject;
}

export interface StageState {
  readonly id: string;
  readonly uses: string;
  readonly pool: string;
  readonly status: StageStatus;
  readonly attempts: number;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly outputs?: JsonObject;
  readonly error?: { readonly type: string; readonly message: string };
  readonly progress?: StageProgress;
  /** Why the stage was skipped or cached, e.g. `when was false`, `cache hit from run X`. */
  readonly reason?: string;
  /**
   * A rerun did not run the stage: it took the outputs of this stage of that run (`reason` says so in words).
   * Absent from the states of runs started before the field; read it through `reusedFromOf`
   * (src/core/run/reused-stage.ts), which knows those runs too.
   */
  readonly reusedFrom?: ReusedFrom;
  /** Set on an instance of a `forEach`/`matrix` stage: the stage it belongs to (listed right after it). */
  readonly instanceOf?: string;
  /** The item an instance runs for. */
  readonly item?: JsonValue;
  /** A running stage's liveness, added by the client from outside the run's history (src/client/live-stages.ts). */
  readonly live?: StageLiveness;
  /** A stage of the `finally:` section (runs after all others, whatever happened). */
  readonly finally?: true;
  /** The stage's `resources:`, so status can tell when no worker of its pool can fit it. */
  readonly resources?: PlannedResources;
  /** A `pipeline` stage: the run id of the child run of its latest attempt (src/core/run/sub-pipeline.ts). */
  readonly childRunId?: string;
  /**
   * Set by the client on the stages of a child run it shows under their `pipeline` stage
   * (`fineflow status`): the parent stage's id. Their `id` is `<parent stage> › <child stage>`.
   */
  readonly parentStage?: string;
}

/** What Temporal knows of a running stage's activity beyond the run's history (never stored in the run). */
export interface StageLiveness {
  /** When the current attempt last heartbeated (ISO 8601); absent before its first heartbeat. */
  readonly heartbeatAt?: string;
  /** Identity of the worker that holds (or last held) the attempt. */
  readonly worker?: string;
  /** Set when the heartbeat is overdue (the worker may have died): how long since the last one, in ms. */
  readonly staleForMs?: number;
  /** No worker of the stage's pool polled its task queue recently. */
  readonly waitingForWorker?: boolean;
}

/** Every status a run gives itself, in the order a run can reach them. */
export const RUN_STATUSES = ['running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * How a run ended when Temporal stopped it without the run's code (`temporal workflow terminate`, the Temporal UI's
 * Terminate, an execution timeout): it recorded no outcome, so the client says so from the execution's status. The
 * workflow never sets these; `fineflow runs` always read them, and `status` (and its JSON) reads them too.
 */
export const ENDED_OUTSIDE_STATUSES = ['terminated', 'timed-out'] as const;
export type EndedOutsideStatus = (typeof ENDED_OUTSIDE_STATUSES)[number];

/** What `fineflow runs --status` (and the UI's run list filter) accepts. */
export const LISTED_RUN_STATUSES = [...RUN_STATUSES, ...ENDED_OUTSIDE_STATUSES] as const;

export interface RunState {
  readonly runId: string;
  readonly pipeline: string;
  /** What the run says; `terminated`/`timed-out` (set by the client) when Temporal ended it. */
  readonly status: RunStatus | EndedOutsideStatus;
  readonly trigger: RunTrigger;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly stages: readonly StageState[];
  readonly params: { readonly [name: string]: JsonValue };
}

/** Where the state is and how to check it: all that crosses continue-as-new. */
export interface StoredRunStateRef {
  /** `s3://bucket/runs/<runId>/@state/<sha256>.json` (src/core/storage/layout.ts). */
  readonly uri: string;
  /** sha256 hex of the object's bytes (UTF-8 JSON). */
  readonly sha256: string;
  readonly bytes: number;
  /** Length of the JSON text in UTF-16 code units, and how it was split. */
  readonly chars: number;
  readonly partChars: number;
  readonly parts: number;
}

/** What a bounded result says about the whole table. */
export interface RunResultSummary {
  /** Stages and fan-out instances. */
  readonly stageCount: number;
  readonly counts: { readonly [status in StageStatus]?: number };
  /** First SUMMARY_ID_CAP (src/core/run/run-result.ts) failed or waiting stages or instances, in table order. */
  readonly failed: readonly string[];
  /** First SUMMARY_ID_CAP (src/core/run/run-result.ts) cancelled ones. */
  readonly cancelled: readonly string[];
}

/** How a result was cut to fit; absent when `stages` is the whole table. */
export interface ResultOmissions {
  /** Fan-out instances left out (all of them). */
  readonly instances: number;
  /** Ids of the plan stages whose outputs were left out (their outputs are in the stored table). */
  readonly outputs: readonly string[];
  /** Plan stages left out at the end (a plan too large for the budget even without outputs). */
  readonly stages: number;
}

/**
 * Result of a pipeline run workflow (also the details of its failure). Bounded
 * (src/core/run/run-result.ts): when the whole table does not fit, `stages` holds the plan's stages
 * only (see `omitted`) and `stored` points to the whole table. Read it through the run client
 * (src/client/run-result.ts), which follows the reference.
 */
export interface PipelineRunResult {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  /** Every stage and instance; with `stored`, the plan's stages cut as `omitted` says. */
  readonly stages: readonly StageState[];
  /** Counts by state over the whole table; absent from results of runs that predate it. */
  readonly summary?: RunResultSummary;
  /** The whole final table in the store (its `carried.stages`), when `stages` is not all of it. */
  readonly stored?: StoredRunStateRef;
  /** What `stages` leaves out; set with `stored`. */
  readonly omitted?: ResultOmissions;
}

/** Argument of the `retryStage` update (`fineflow retry RUN [--stage S] [--set NAME=VALUE]`). */
export interface RetryStageRequest {
  /** Stage to retry; default: every stage that is waiting. */
  readonly stageId?: string;
  /** Param overrides, already type-checked by the client against plan.params. */
  readonly params?: { readonly [name: string]: JsonValue };
}

export const RUN_QUERIES = { state: 'runState' } as const;
export const RUN_UPDATES = { retryStage: 'retryStage' } as const;
export const RUN_SIGNALS = { stageProgress: 'stageProgress' } as const;

/** Context every stage activity receives next to its resolved inputs. */
export interface StageContext {
  readonly runId: string;
  readonly pipeline: string;
  readonly stageId: string;
  readonly attempt: number;
  /** s3://bucket/runs/<runId>/<stageId>/ — the only prefix this stage may write to. */
  readonly outputPrefix: string;
  /** The bucket of runs/, cache/ and models/. */
  readonly bucket: string;
  /**
   * What started the data this stage works on: the run's trigger, or for a rerun the trigger of
   * the original run (its `origin`), so a stage of a rerun of a new-data run sees the same
   * `datasetVersion`. A rerun whose original trigger is unknown passes its rerun trigger.
   */
  readonly trigger: RunTrigger;
  /** Set when the run is a `fineflow rerun`: the run and stage it reruns from. */
  readonly rerunOf?: { readonly fromRunId: string; readonly fromStage: string };
  /**
   * Set for a register-model stage: the verdicts of this run's evaluate stages that scored the model it registers
   * (register-evaluations.ts), which it writes on the model card.
   */
  readonly evaluations?: readonly RecordedEvaluation[];
}

/** What every stage activity receives. */
export interface StageActivityInput {
  readonly context: StageContext;
  /** `with:` after `${{ }}` resolution. */
  readonly inputs: JsonObject;
  /** The stage's `resources:`, held from the worker's declared capacity while the attempt runs. */
  readonly resources?: PlannedResources;
}

/** What every stage activity returns: small JSON (URIs, metrics), never bytes. */
export interface StageActivityResult {
  readonly outputs: JsonObject;
  /** URIs + sha256 of the artifacts written, for the cache's existence check. */
  readonly artifacts?: readonly { readonly uri: string; readonly sha256: string }[];
  /** Set by the stage runner: the attempt within the run that produced this result. */
  readonly attempt?: number;
  /**
   * Set by the stage runner: when the attempt ended, by the stage worker's clock (ISO 8601). The
   * run records it as the stage's end, so time when no control worker ran is not counted.
   */
  readonly endedAt?: string;
}

/**
 * The end time a run records for a stage: the stage worker's reported end when it is plausible
 * (after the stage started, not after the workflow's now), else now.
 */
export function stageEndTime(reported: string | undefined, startedAt: string | undefined, now: string): string {
  if (reported === undefined) return now;
  const at = Date.parse(reported);
  const earliest = startedAt !== undefined ? Date.parse(startedAt) : Number.NEGATIVE_INFINITY;
  return Number.isFinite(at) && at >= earliest && at <= Date.parse(now) ? new Date(at).toISOString() : now;
}

/**
 * Custom search attributes, registered by `infra/stack.sh` on the dev server
 * (`temporal server start-dev --search-attribute NAME=Keyword`) and by `temporal operator
 * search-attribute create` on a real cluster.
 */
export const SEARCH_ATTRIBUTES = {
  pipeline: 'FineflowPipeline',
  status: 'FineflowStatus',
  trigger: 'FineflowTrigger',
} as const;

/**
 * Stage cache (activities/cache.ts). The workflow asks before running a stage whose
 * `cache.enabled` is true, and records after a success. Keys and entries live in the object
 * store (s3://<bucket>/cache/<key>/), never in workflow history.
 */
export interface CacheLookupInput {
  readonly runId: string;
  readonly stage: PlannedStage;
  /** `with:` after resolution (what the stage would receive). */
  readonly resolvedInputs: JsonObject;
  /** Outputs of the upstream stages this one needs, by stage id. */
  readonly upstream: { readonly [stageId: string]: { readonly outputs: JsonObject; readonly digest?: string } };
  /** Dataset version from a new-data trigger, part of the key. */
  readonly datasetVersion?: string;
}

export type CacheLookupResult =
  | {
      readonly hit: true;
      readonly key: string;
      readonly outputs: JsonObject;
      readonly digest: string;
      readonly fromRunId: string;
      readonly createdAt: string;
    }
  | {
      readonly hit: false;
      readonly key: string;
      readonly reason: string;
      /**
       * True when no entry was consulted on purpose (`cache.refresh` from a rerun, or an input
       * without a stable fingerprint): the run shows the reason on the stage. Absent = false.
       */
      readonly bypassed?: boolean;
    };

export interface CacheRecordInput {
  readonly key: string;
  readonly runId: string;
  readonly stage: PlannedStage;
  readonly result: StageActivityResult;
}

export interface CacheRecordResult {
  /** Content digest of the stage's outputs, fed into downstream keys. */
  readonly digest: string;
}
