/**
 * Turns a stage implementation into a Temporal activity. Every stage type gets the same
 * services: heartbeats (which also carry live progress, read by the client; src/core/run/progress.ts), an
 * AbortSignal for cancellation, a log streamed to the object store, and errors mapped onto
 * ApplicationFailure with the FineflowError `type` so retry policies can name them.
 *
 * A stage implementation lives in `activities/<stage-type>.ts` and is registered by type name
 * in activities/index.ts.
 */
import type { TfBackendPreference, TrainEnginePreference } from '../src/config';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  CancelledError,
  ERROR_TYPES,
  FineflowError,
  ResourceLimitError,
  StageError,
  ensureError,
} from '../src/core/errors';
import type { StageActivityInput, StageActivityResult, StageProgress } from '../src/core/run/run-types';
import { readStageHeartbeat, stageHeartbeat } from '../src/core/run/progress';
import type { ObjectStore } from '../src/storage/object-store';
import { confineWrites } from '../src/storage/confined-store';
import { StageLog } from './stage-log';
import { watchCancelRequest } from './cancel-watch';
import { previousAttemptNote } from './previous-attempt';
import { startHeartbeatLoop } from './heartbeat-loop';
import { redactUrisIn } from '../src/core/security/redact';
import { createSecretResolver, scrubError, scrubSecrets, type SecretResolver } from '../src/security/secrets';
import type { FineflowMetrics, StageAttemptMetrics } from '../src/observability/metrics';
import type { StageLogRecord } from '../src/observability/json-log';
import { describeResources } from '../src/core/spec/resources';
import type { ResourceLedger } from '../src/worker/resource-ledger';
import { formatHumanDuration } from '../src/core/spec/durations';
import { attemptFence, claimStageOutputs, fenceWrites, type AttemptFence, type OutputsClaim } from './attempt-fence';

/** The services a stage implementation receives next to its input. */
export interface StageRuntime {
  /** The object store: reads anywhere; writes and removals confined to the stage's `context.outputPrefix`. */
  readonly store: ObjectStore;
  /** `register-model` only: the store with writes confined to the registry (`s3://<bucket>/models/`). */
  readonly registry?: ObjectStore;
  /**
   * `prepare-data` and `predict` only: the store with writes confined to dataset version manifests
   * (`s3://<bucket>/datasets/`).
   */
  readonly datasetVersions?: ObjectStore;
  /**
   * Report liveness and progress; cheap to call often (throttled here and by Temporal). A progress without a
   * `detail` keeps the last detail reported (or carried from the previous attempt): it is what a retry resumes from.
   */
  heartbeat(progress?: StageProgress): void;
  /** Aborted when the run is cancelled, the stage is cancelled, or the worker stops. */
  readonly signal: AbortSignal;
  /** Append a line to this attempt's log (`fineflow logs RUN --stage S`). */
  log(line: string): void;
  /**
   * `text` as the log records it: URIs without credentials or query strings, opened secret values scrubbed. For text
   * a stage writes anywhere else a reader sees it (prepare-data's read records).
   */
  redact(text: string): string;
  /** Attempt number within the run (1-based, counting attempts before a `fineflow retry`). */
  readonly attempt: number;
  /** The worker's training settings (FINEFLOW_TF_BACKEND, FINEFLOW_TRAIN_ENGINE). */
  readonly ml: MlSettings;
  /**
   * This attempt's claim on the stage's outputs, for a process it starts that writes them itself (the training
   * child: ChildRunOptions.fence). Refused, as a write is, once a newer attempt holds them.
   */
  readonly outputsClaim?: (what: string) => Promise<OutputsClaim>;
}

/** How this worker trains: from its config (FineflowConfig), passed to every training request. */
export interface MlSettings {
  readonly tfBackend: TfBackendPreference;
  readonly trainEngine: TrainEnginePreference;
  /** Memory cap of training child processes in MiB (config.trainMemoryMb); default: child-runner's. */
  readonly trainMemoryMb?: number;
}

export const DEFAULT_ML_SETTINGS: MlSettings = { tfBackend: 'auto', trainEngine: 'auto' };

export type StageImplementation = (input: StageActivityInput, runtime: StageRuntime) => Promise<StageActivityResult>;

/**
 * Where an implementation comes from. A plain `Error` from a built-in stage is a Fineflow bug
 * (FineflowInternal, retryable, stack kept); from a team's stage module it is that stage's failure
 * (StageError: retryable, message kept, stack in the stage log and not in the workflow history).
 */
export type StageOrigin = 'builtin' | 'module';

/** Services and tuning shared by every stage activity of a worker. */
export interface StageRunnerDeps {
  readonly store: ObjectStore;
  /** How often the log of a running stage is written to the store. Default 2 s. */
  readonly logFlushIntervalMs?: number;
  /** Most log bytes one attempt buffers while the store is unavailable (activities/stage-log.ts). Default 8 MiB. */
  readonly logBufferBytes?: number;
  /**
   * How often a stage's heartbeat (and with it its live progress) reaches Temporal: the worker's
   * heartbeat throttle (src/worker/run-worker.ts). Heartbeats add no history events; the client
   * calls a heartbeat older than a few of these stale. Default 10 s.
   */
  readonly progressIntervalMs?: number;
  /** Training settings from the worker's config; default auto / auto. */
  readonly ml?: MlSettings;
  /** Opens `${{ secrets.X }}` references on this worker; default: none allowed (src/security/secrets.ts). */
  readonly secrets?: SecretResolver;
  /** The worker's metrics (src/observability/metrics.ts): durations, outcomes, queue wait, training throughput. */
  readonly metrics?: FineflowMetrics;
  /** Every stage log line also goes here, with its ids (FINEFLOW_LOG_FORMAT=json); default: only the store. */
  readonly logEcho?: (record: StageLogRecord) => void;
  /**
   * Sees every progress report, unthrottled: a sweep trial forwards its intermediate values
   * (activities/sweep-trial-stage.ts).
   */
  readonly onProgress?: (progress: StageProgress) => void;
  /**
   * The worker's declared capacity; a stage's `resources` are held from it while it runs
   * (src/worker/resource-ledger.ts).
   */
  readonly resources?: ResourceLedger;
}

/** Heartbeat throttle of workers that set none (StageRunnerDeps.progressIntervalMs). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10_000;

const NO_SECRETS = createSecretResolver({ allowEnv: [], fileRoots: [] }, {});

/** Extra fields on an ApplicationFailure from a stage, in `details[0]`. */
export interface StageFailureDetails {
  /** Attempt (within the run) that failed. */
  readonly attempt: number;
  /** When it failed, by this worker's clock (ISO 8601): the run records it as the stage's end. */
  readonly endedAt?: string;
  readonly [key: string]: unknown;
}

function isWorkerShutdown(context: Context): boolean {
  const reason: unknown = context.cancellationSignal.reason;
  return (
    Boolean(context.cancellationDetails?.workerShutdown) ||
    (reason instanceof CancelledFailure && reason.message === 'WORKER_SHUTDOWN')
  );
}

/**
 * Map whatever a stage threw onto what Temporal understands:
 * - cancellation by the workflow → CancelledFailure (the activity ends as cancelled);
 * - the worker shutting down before the stage finished → a retryable failure, so the stage's
 *   retry policy moves it to another worker;
 * - an ApplicationFailure → as thrown (a stage may set `nonRetryable` itself);
 * - a FineflowError → ApplicationFailure with its `type`, non-retryable when the class says so;
 * - anything else from a stage module → retryable StageError with the message (see {@link StageOrigin});
 * - anything else from a built-in stage → retryable ApplicationFailure of type FineflowInternal.
 */
export function toActivityFailure(
  thrown: unknown,
  context: Context | undefined,
  attempt: number,
  origin: StageOrigin = 'builtin',
  endedAt: string = new Date().toISOString(),
): Error {
  if (context?.cancellationSignal.aborted) {
    if (isWorkerShutdown(context)) {
      return ApplicationFailure.create({
        message: 'the worker shut down before the stage finished; the stage is retried on another worker',
        type: ERROR_TYPES.dependencyUnavailable,
        nonRetryable: false,
        details: [{ attempt, endedAt } satisfies StageFailureDetails],
      });
    }
    return thrown instanceof CancelledFailure
      ? thrown
      : new CancelledFailure('stage cancelled', [], ensureError(thrown));
  }
  if (thrown instanceof ApplicationFailure) return thrown;
  const error = ensureError(thrown);
  if (origin === 'module' && !(error instanceof FineflowError)) {
    // No `cause`: Temporal would record the stack, with the worker's file paths, in the run's history.
    const named = error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
    return toActivityFailure(new StageError(named, { errorName: error.name }), context, attempt, 'builtin', endedAt);
  }
  if (error instanceof FineflowError) {
    return ApplicationFailure.create({
      message: error.message,
      type: error.type,
      nonRetryable: !error.retryable,
      details: [{ ...error.details, attempt, endedAt } satisfies StageFailureDetails],
      cause: error.cause instanceof Error ? error.cause : undefined,
    });
  }
  return ApplicationFailure.create({
    message: error.message,
    type: ERROR_TYPES.internal,
    nonRetryable: false,
    details: [{ attempt, endedAt } satisfies StageFailureDetails],
    cause: error,
  });
}

/**
 * Largest stage result sent back through Temporal. The server refuses payloads over 2 MB (and the
 * codec adds a little); refused, a completion would surface as a confusing timeout, so an
 * oversized result fails here, non-retryably, with the reason.
 */
export const MAX_STAGE_RESULT_BYTES = 1536 * 1024;

function checkResultSize(typeName: string, stageId: string, result: StageActivityResult): void {
  const bytes = Buffer.byteLength(JSON.stringify(result), 'utf8');
  if (bytes > MAX_STAGE_RESULT_BYTES) {
    throw new ResourceLimitError(
      `stage ${stageId} (${typeName}) returned ${bytes} bytes of outputs; Temporal refuses payloads over 2 MB, and ` +
        `stage results are capped at ${MAX_STAGE_RESULT_BYTES} bytes: write large values to the store and return their s3:// URI`,
      { code: 'payload-too-large', bytes, limit: MAX_STAGE_RESULT_BYTES },
    );
  }
}

/**
 * Least privilege: every stage writes only under its run prefix, except the two stage types that
 * own another area, and only there (docs/security.md §8).
 */
export function privilegedWriters(
  typeName: string,
  store: ObjectStore,
  bucket: string,
): Pick<StageRuntime, 'registry' | 'datasetVersions'> {
  if (typeName === 'register-model') return { registry: confineWrites(store, `s3://${bucket}/models/`) };
  // predict seals the version of the records it scores, as prepare-data does.
  if (typeName === 'prepare-data' || typeName === 'predict')
    return { datasetVersions: confineWrites(store, `s3://${bucket}/datasets/`) };
  return {};
}

/** Starts the attempt's metrics; queue wait = from this attempt being scheduled to now. */
function attemptMetrics(
  metrics: FineflowMetrics | undefined,
  typeName: string,
  context: Context,
  startedAtMs: number,
): StageAttemptMetrics | undefined {
  if (!metrics) return undefined;
  return metrics.stageStarted(typeName, (startedAtMs - context.info.currentAttemptScheduledTimestampMs) / 1000);
}

function echoTo(echo: (record: StageLogRecord) => void, ids: Omit<StageLogRecord, 'message'>): (line: string) => void {
  return (message) => echo({ ...ids, message });
}

/**
 * What a previous attempt of this activity last reported (`Info.heartbeatDetails`), reduced to its
 * `detail`: this attempt's heartbeats carry it until the stage reports a detail of its own, so an
 * attempt that fails during set-up does not erase what the next one resumes from (a fine-tune's
 * pinned base model and checkpoint). Its message and fraction were the old attempt's, so they go.
 */
export function carriedProgress(previousDetails: unknown): StageProgress | undefined {
  const detail = readStageHeartbeat(previousDetails)?.detail;
  return detail ? { detail } : undefined;
}

/**
 * The attempt's heartbeats: the first at once, not after the first interval (on a starved worker the
 * set-up — log, cancel watch, resources, secrets, then the stage's data and model loading — can
 * outlast the heartbeat timeout, and an attempt that is only slow would be retried), then on a timer
 * too, so cancellation reaches stages that report no progress.
 */
function attemptHeartbeats(
  context: Context,
  deps: StageRunnerDeps,
  stageId: string,
  attempt: number,
): { report(progress?: StageProgress): void; stop(): void } {
  let lastProgress = carriedProgress(context.info.heartbeatDetails);
  // The SDK sends heartbeats at most every 0.8 × heartbeatTimeout, else at the worker's throttle.
  const throttleMs = deps.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const timeoutMs = context.info.heartbeatTimeoutMs;
  const sender = { stageId, attempt, everyMs: timeoutMs ? Math.min(throttleMs, 0.8 * timeoutMs) : throttleMs };
  const loop = startHeartbeatLoop(context, { details: () => stageHeartbeat(sender, lastProgress) });
  return {
    report(progress) {
      // A report without a detail (a message, a fraction: cross-validation's rounds) keeps the last one: the detail
      // is what a retry resumes from (a fine-tune's pinned base model and checkpoint), which the report does not end.
      if (progress)
        lastProgress =
          progress.detail || !lastProgress?.detail ? progress : { ...progress, detail: lastProgress.detail };
      loop.beat();
    },
    stop: loop.stop,
  };
}

/** The Temporal activity for one stage type. */
export function stageActivity(
  typeName: string,
  implementation: StageImplementation,
  deps: StageRunnerDeps,
  origin: StageOrigin = 'builtin',
): (input: StageActivityInput) => Promise<StageActivityResult> {
  return async function runStage(input: StageActivityInput): Promise<StageActivityResult> {
    const context = Context.current();
    const { stageId } = input.context;
    // context.attempt is the first attempt of this activity execution within the run
    // (a `fineflow retry` starts a new execution whose Temporal attempt counts from 1 again).
    const attempt = input.context.attempt + context.info.attempt - 1;
    const log = attemptLog(typeName, input, deps, attempt);
    const heartbeats = attemptHeartbeats(context, deps, stageId, attempt);
    const started = Date.now();
    const measured = attemptMetrics(deps.metrics, typeName, context, started);
    const secrets: { values: readonly string[] } = { values: [] };
    log.append(
      `${typeName} ${stageId}: attempt ${attempt} started on ${context.info.taskQueue} (activity ` +
        `${context.info.activityId})`,
    );
    // A retry after a timeout: the previous attempt's log stops where its worker did; say why here.
    const previous = await previousAttemptNote(context, attempt);
    if (previous) log.append(`${typeName} ${stageId}: ${previous}`);
    // The run's history tells a cancel at once; the SDK only at the next (throttled) heartbeat.
    const cancelWatch = watchCancelRequest(context);
    const fence = claimedFence(deps.store, input.context.outputPrefix, attempt, context, (line) =>
      log.append(`${typeName} ${stageId}: ${line}`),
    );
    const runtime = attemptRuntime(typeName, input, deps, attempt, {
      signal: AbortSignal.any([context.cancellationSignal, cancelWatch.signal]),
      log,
      heartbeats,
      measured,
      secrets,
      fence,
    });
    let releaseResources = (): void => undefined;
    try {
      await fence.check('start');
      if (input.resources && deps.resources) {
        releaseResources = await deps.resources.acquire(input.resources, runtime.signal);
        log.append(`${typeName} ${stageId}: holds ${describeResources(input.resources)} of this worker`);
      }
      // The only place a secret's value exists: this call's inputs, in this worker's memory.
      const opened = await (deps.secrets ?? NO_SECRETS).open(input.inputs);
      secrets.values = opened.values;
      const result = await implementation(
        { ...input, inputs: opened.inputs, context: { ...input.context, attempt } },
        runtime,
      );
      // A stage the run asked to cancel never reports success, even if it got to the end.
      if (cancelWatch.signal.aborted) throw new CancelledError(String(cancelWatch.signal.reason), {});
      checkResultSize(typeName, stageId, result);
      log.append(
        `${typeName} ${stageId}: attempt ${attempt} succeeded in ${formatHumanDuration(Date.now() - started)}`,
      );
      measured?.end('succeeded');
      const recorded =
        secrets.values.length > 0
          ? (JSON.parse(scrubSecrets(JSON.stringify(result), secrets.values)) as StageActivityResult)
          : result;
      return { ...recorded, attempt, endedAt: new Date().toISOString() };
    } catch (thrown) {
      // Stopped by the cancel watch before the SDK heard of it (next heartbeat): end now as a
      // non-retryable cancellation, which the run records as cancelled.
      const cancelled = cancelWatch.signal.aborted && !context.cancellationSignal.aborted;
      const scrubbed = cancelled
        ? new CancelledError(`stage cancelled: ${String(cancelWatch.signal.reason)}`, {})
        : scrubError(thrown, secrets.values);
      throw attemptFailure(scrubbed, { typeName, stageId, attempt, origin, started, context, log, measured, secrets });
    } finally {
      releaseResources();
      cancelWatch.stop();
      heartbeats.stop();
      await log.close();
    }
  };
}

/** This attempt's claim on the stage's outputs: once a retry claims them, this attempt writes nothing more. */
function claimedFence(
  store: ObjectStore,
  outputPrefix: string,
  attempt: number,
  context: Context,
  log: (line: string) => void,
): AttemptFence {
  const claimed = claimStageOutputs(store, outputPrefix, attempt);
  claimed.catch(() => undefined); // awaited by the fence's first check; a failed claim fails the attempt there
  return attemptFence(store, outputPrefix, attempt, claimed, { log, context });
}

/** The attempt's log in the store, flushed in chunks, echoed to the worker's own log when asked. */
function attemptLog(typeName: string, input: StageActivityInput, deps: StageRunnerDeps, attempt: number): StageLog {
  const { runId, stageId, bucket } = input.context;
  return new StageLog(
    deps.store,
    { bucket, runId, stageId, attempt },
    {
      flushIntervalMs: deps.logFlushIntervalMs ?? 2_000,
      maxBufferBytes: deps.logBufferBytes,
      ...(deps.logEcho ? { echo: echoTo(deps.logEcho, { runId, stageId, stageType: typeName, attempt }) } : {}),
    },
  );
}

interface AttemptParts {
  readonly signal: AbortSignal;
  readonly log: StageLog;
  readonly heartbeats: ReturnType<typeof attemptHeartbeats>;
  readonly measured: ReturnType<typeof attemptMetrics>;
  /** Secret values once opened: every log line is scrubbed of them. */
  readonly secrets: { readonly values: readonly string[] };
  /** Refuses the stage's writes once a newer attempt claimed its outputs (activities/attempt-fence.ts). */
  readonly fence: AttemptFence;
}

/** What the stage implementation gets: its confined store, signal, log and heartbeat. */
function attemptRuntime(
  typeName: string,
  input: StageActivityInput,
  deps: StageRunnerDeps,
  attempt: number,
  parts: AttemptParts,
): StageRuntime {
  const { log, heartbeats, measured, secrets, fence } = parts;
  const redact = (text: string): string => scrubSecrets(redactUrisIn(text), secrets.values);
  // Dataset read records carry their own, finer fence (src/datasets/version-reads.ts); registry writes get this one.
  const { registry, datasetVersions } = privilegedWriters(typeName, deps.store, input.context.bucket);
  return {
    store: fenceWrites(confineWrites(deps.store, input.context.outputPrefix), fence),
    ...(registry ? { registry: fenceWrites(registry, fence) } : {}),
    ...(datasetVersions ? { datasetVersions } : {}),
    signal: parts.signal,
    attempt,
    ml: deps.ml ?? DEFAULT_ML_SETTINGS,
    outputsClaim: (what) => fence.claim(what),
    // URIs lose credentials and query strings; secret values (once opened) are scrubbed.
    log: (line) => log.append(redact(line)),
    redact,
    heartbeat(progress) {
      if (progress) {
        deps.onProgress?.(progress);
        measured?.progress(progress.detail);
      }
      heartbeats.report(progress);
    },
  };
}

/** The failure Temporal records for a failed attempt, logged and measured (a custom stage's stack logged too). */
function attemptFailure(
  scrubbed: unknown,
  attemptOf: Pick<AttemptParts, 'log' | 'measured' | 'secrets'> & {
    readonly typeName: string;
    readonly stageId: string;
    readonly attempt: number;
    readonly origin: StageOrigin;
    readonly started: number;
    readonly context: Context;
  },
): Error {
  const { typeName, stageId, attempt, origin, log, measured, secrets } = attemptOf;
  const failure = toActivityFailure(scrubbed, attemptOf.context, attempt, origin);
  if (origin === 'module' && scrubbed instanceof Error && !(scrubbed instanceof FineflowError) && scrubbed.stack)
    log.append(`${typeName} ${stageId}: ${scrubSecrets(redactUrisIn(scrubbed.stack), secrets.values)}`);
  measured?.end(
    failure instanceof CancelledFailure ? 'cancelled' : 'failed',
    failure instanceof ApplicationFailure ? (failure.type ?? undefined) : undefined,
  );
  log.append(
    `${typeName} ${stageId}: attempt ${attempt} ended after ${formatHumanDuration(Date.now() - attemptOf.started)}: ` +
      `${failure.name}: ${failure.message}`,
  );
  return failure;
}
