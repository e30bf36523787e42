/**
 * Activities of the `hyperparameter-sweep` stage, run by the workers of the stage's pool:
 *
 * - `sweepTrialSegment` trains one trial from `fromEpoch` through `untilEpoch` (the next ASHA
 *   rung, the next epoch the median rule judges, or the whole budget) and returns the objective
 *   per epoch. A trial is a fine-tune run (activities/fine-tune.ts's setting mapping, src/ml's
 *   training loop) whose request never changes between segments — `epochs` is always the full
 *   trial budget, so learning-rate schedules and the checkpoint fingerprint stay the same —
 *   and each segment resumes from the checkpoint the previous one ended on. The workflow decides
 *   between segments whether the trial continues: early-stopping decisions are workflow state
 *   (deterministic, replayable), and a crash loses at most the current segment's unfinished epoch.
 * - `writeSweepResults` writes `results.json` and `results.csv` beside the trials (marked
 *   partial when the sweep was cancelled or failed: the trials it finished are kept).
 * - `appendSweepLog` appends the workflow's lines to the stage log (src/core/sweep/sweep-log.ts).
 * - `writeSweepResults` also writes the sweep's history record, and `readSweepHistory` reads the newest ones
 *   back for a warm start (./sweep-history.ts).
 *
 * Training runs in a child process by default (src/ml's child runner), so this worker keeps
 * heartbeating while the CPU is busy; the segment stops the child right after the checkpoint of
 * `untilEpoch` is written. A retry of a segment (worker crash, heartbeat timeout) resumes from
 * the newest checkpoint the failed attempt wrote inside the segment and rebuilds the epochs it
 * already reported from that checkpoint's history, so it still returns every epoch of the
 * segment. Heartbeats (per epoch, plus a keep-alive timer) carry the progress for `describe`.
 *
 * Storage: `<stage outputPrefix>trials/trial-NNNN/checkpoints/epoch-NNNN/` and, for a trial that
 * trained its whole budget, `…/trial-NNNN/model/model.json`. A trial keeps its newest
 * `trial.checkpoint.keepLast` checkpoints (default 2), its best epoch's and the running segment's last epoch's while
 * the sweep runs; `fineflow gc`
 * removes the rest with the run. Each segment attempt claims the trial's prefix first (./trial-fence.ts), and its
 * training child writes only while the claim is its own: a segment attempt Temporal gave up on writes nothing over a
 * newer one's checkpoints.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { CancelledError, InvalidInputError } from '../src/core/errors';
import { readManifest } from '../src/ml/data/shards';
import { modelJsonUri } from '../src/ml/models/model-io';
import { newestVerifiedCheckpoint } from '../src/ml/train/checkpoint';
import { runTrainingInChildProcess } from '../src/ml/train/child-runner';
import { requestKeyOf } from '../src/ml/train/fine-tune';
import type { EpochMetrics, TrainingProgress, TrainingRequest, TrainingResult } from '../src/ml/train/types';
import { objectiveValue, trialPrefix } from '../src/core/sweep/sweep-plan';
import { resultsCsv, type SweepResultsDocument } from '../src/core/sweep/sweep-results';
import { warmStartLine } from '../src/core/sweep/sweep-history';
import type {
  SweepBasePinInput,
  SweepLogInput,
  SweepLogOutput,
  SweepResultsInput,
  SweepResultsOutput,
  SweepTrialSegmentInput,
  SweepTrialSegmentResult,
  TrialEpochReport,
} from '../src/core/sweep/sweep-types';
import { confineWrites } from '../src/storage/confined-store';
import { stageLogChunkUri } from '../src/core/storage/layout';
import type { ObjectStore } from '../src/storage/object-store';
import type { TrainingRunner } from '../src/ml/train/child-runner';
import {
  architectureFor,
  baseModelLayers,
  headPlan,
  effectiveSettings,
  pinBaseModel,
  trainingPlan,
  type PinnedBaseModel,
} from './fine-tune';
import { listArtifacts, memoryLimit } from './ml-stage-support';
import { toActivityFailure, type MlSettings } from './stage-runner';
import { readSweepHistory, writeSweepHistory, type SweepHistoryReadInput } from './sweep-history';
import type { WarmStart } from '../src/core/sweep/sweep-history';
import type { ResourceLedger } from '../src/worker/resource-ledger';
import { startHeartbeatLoop } from './heartbeat-loop';
import { announceTrialStart } from './trial-started';
import { previousAttemptNote } from './previous-attempt';
import { firstSegmentHeartbeat, type SegmentHeartbeat, type TrainedOn } from './segment-heartbeat';
import { claimTrialSegment, isSupersededSegment } from './trial-fence';

export interface SweepTrialDeps {
  readonly store: ObjectStore;
  /** Default: {@link runTrainingInChildProcess}. Tests pass `inProcessTrainingRunner` (src/ml/train/fine-tune.ts). */
  readonly runTraining?: TrainingRunner;
  /** Recorded with every segment; default `<pid>@<hostname>`, Temporal's default worker identity. */
  readonly workerIdentity?: string;
  /** The worker's training settings (config.tfBackend, config.trainEngine); default auto / auto. */
  readonly ml?: MlSettings;
  /** The worker's declared capacity: a segment holds the sweep stage's `resources:` from it while it trains. */
  readonly resources?: ResourceLedger;
}

/** {@link SweepTrialDeps} with the defaults applied: what every segment on this worker shares. */
interface SegmentEnvironment {
  readonly store: ObjectStore;
  readonly runTraining: TrainingRunner;
  readonly worker: string;
  readonly ml?: MlSettings;
  readonly resources?: ResourceLedger;
}

/**
 * Checkpoints a trial keeps unless `trial.checkpoint.keepLast` says otherwise: fine-tune's default, so a
 * retry whose newest checkpoint does not verify still has the one before.
 */
const TRIAL_KEEP_LAST = 2;

/** The trial's training request (the same for every segment) and the figures a segment checks against it. */
interface TrialRequest {
  readonly request: TrainingRequest;
  /** Absent when the trial trains `architecture` from random weights. */
  readonly base: PinnedBaseModel | undefined;
  readonly checkpoints: string;
  readonly totalEpochs: number;
}

/** A segment's result fields that do not depend on whether it trained to the end of the trial. */
/** The heartbeat's `trainedOn` from an epoch's progress, when the training reported its engine. */
function trainedOnOf(progress: TrainingProgress): { trainedOn?: TrainedOn } {
  if (progress.backend === undefined || progress.engine === undefined) return {};
  const { backend, engine, engineFallbackReason } = progress;
  return { trainedOn: { backend, engine, ...(engineFallbackReason !== undefined ? { engineFallbackReason } : {}) } };
}

type SegmentCommon = Pick<
  SweepTrialSegmentResult,
  'trialId' | 'reports' | 'baseModel' | 'worker' | 'startedAtMs' | 'attempt' | 'resumedFromEpoch' | 'previousAttempt'
>;

/**
 * Where a segment starts: the newest verified checkpoint of this trial with an epoch in
 * [fromEpoch, untilEpoch] written for the same request, with the loop state it holds.
 */
async function resumePoint(
  store: ObjectStore,
  checkpoints: string,
  fromEpoch: number,
  untilEpoch: number,
  requestKey: string,
): Promise<
  { readonly directory: string; readonly epochsDone: number; readonly history: readonly EpochMetrics[] } | undefined
> {
  const found = await newestVerifiedCheckpoint(store, checkpoints, {
    requestKey,
    minEpoch: Math.max(1, fromEpoch),
    maxEpoch: untilEpoch,
  });
  return found
    ? { directory: found.directory, epochsDone: found.state.epochsDone, history: found.state.history }
    : undefined;
}

function report(metric: string, metrics: EpochMetrics): TrialEpochReport {
  const value = objectiveValue(metric, metrics);
  if (value === undefined) {
    throw new InvalidInputError(
      `objective ${metric} was not measured at epoch ${metrics.epoch}: the dataset has no validation examples`,
      { field: 'objective.metric' },
    );
  }
  return {
    epoch: metrics.epoch,
    value,
    metrics: {
      trainLoss: metrics.trainLoss,
      trainAccuracy: metrics.trainAccuracy,
      ...(metrics.validationLoss !== undefined ? { validationLoss: metrics.validationLoss } : {}),
      ...(metrics.validationAccuracy !== undefined ? { validationAccuracy: metrics.validationAccuracy } : {}),
    },
  };
}

/**
 * The trial's request, built the same way by every segment (so its checkpoint fingerprint matches):
 * the fine-tune settings, the base model pinned once per trial, the plan over the whole budget.
 */
async function trialRequest(
  env: SegmentEnvironment,
  input: SweepTrialSegmentInput,
  pinned: string | undefined,
): Promise<TrialRequest> {
  const { trialId, fromEpoch, untilEpoch } = input;
  const settings = effectiveSettings(input.settings);
  const manifest = await readManifest(env.store, settings.data);
  // trial.architecture: every trial trains it from random weights; there is no base to pin.
  const architecture = architectureFor(settings, manifest, settings.data);
  const model = architecture ? undefined : (pinned ?? settings.model);
  if (!architecture && model === undefined)
    throw new InvalidInputError('input `model` is required', { field: 'model' });
  const base = model === undefined ? undefined : await pinBaseModel(env.store, model, input.context.bucket);
  const baseLayers = base ? await baseModelLayers(env.store, base, base.pinned) : undefined;
  const plan = trainingPlan(settings, {
    classes: manifest.classes,
    featureShape: manifest.featureShape,
    baseLayers,
    fromScratch: architecture !== undefined,
  });
  if (untilEpoch > plan.hyperparameters.epochs || untilEpoch <= fromEpoch) {
    throw new InvalidInputError(
      `segment epochs ${fromEpoch}→${untilEpoch} do not fit the trial budget of ${plan.hyperparameters.epochs}`,
      { field: 'untilEpoch' },
    );
  }
  const prefix = trialPrefix(input.context.outputPrefix, trialId);
  const checkpoints = `${prefix}checkpoints`;
  // head: auto keeps the base's head for its own classes, as the final fine-tune stage would (worker log only).
  const head = base
    ? await headPlan(env.store, settings, base, manifest.classes, (line) => Context.current().log.info(line))
    : {};
  const request: TrainingRequest = {
    ...(base ? { mode: 'fine-tune', baseModelUri: base.pinned } : { mode: 'from-scratch', architecture }),
    ...head,
    datasetUri: settings.data,
    outputUri: `${prefix}model`,
    // While the sweep runs, a trial keeps what a resume or promotion needs (the newest N) and its best epoch.
    // The segment's last epoch stays too: the child may train past untilEpoch before its abort lands (a busy worker),
    // and pruning then removed the very checkpoint the paused trial resumes from ("… to resume from is missing").
    checkpoint: {
      uri: checkpoints,
      everyEpochs: 1,
      keepLast: settings.checkpoint?.keepLast ?? TRIAL_KEEP_LAST,
      keep: [untilEpoch],
    },
    hyperparameters: plan.hyperparameters,
    registryBucket: input.context.bucket,
    // Not part of the request key: a segment may resume another worker's checkpoint on another backend.
    ...(env.ml ? { tfBackend: env.ml.tfBackend, engine: env.ml.trainEngine } : {}),
  };
  return { request, base, checkpoints, totalEpochs: plan.hyperparameters.epochs };
}

/**
 * One attempt of `sweepTrialSegment`: the heartbeat state it keeps (a retry resumes from it), the
 * abort of the training child at the segment's end or on cancellation, and the resources it holds.
 */
class TrialSegment {
  private readonly context = Context.current();
  private readonly startedAtMs = Date.now();
  private readonly attempt = this.context.info.attempt;
  /** Aborted on cancellation, and by the segment itself once `untilEpoch`'s checkpoint is written. */
  private readonly segment = new AbortController();
  private reachedSegmentEnd = false;
  private heartbeat: SegmentHeartbeat;
  /** The segment's epochs so far: rebuilt from the resumed checkpoint's history, then one per finished epoch. */
  private reports: TrialEpochReport[] = [];

  constructor(
    private readonly env: SegmentEnvironment,
    private readonly input: SweepTrialSegmentInput,
  ) {
    // A previous attempt's pin rides on every beat of this one until it pins (to the same base) itself.
    this.heartbeat = firstSegmentHeartbeat(input, this.context.info.heartbeatDetails);
  }

  async run(): Promise<SweepTrialSegmentResult> {
    const { context } = this;
    // The first beat at once (set-up on a starved worker may outlast the heartbeat timeout); it carries the
    // previous attempt's pin, so an attempt that dies before pinning again does not erase it.
    const keepAlive = startHeartbeatLoop(context, { details: () => this.heartbeat });
    const started = announceTrialStart(context, { trialId: this.input.trialId, fromEpoch: this.input.fromEpoch });
    const onCancel = (): void => this.segment.abort(context.cancellationSignal.reason);
    context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    let releaseResources = (): void => undefined;
    try {
      if (this.input.resources && this.env.resources)
        releaseResources = await this.env.resources.acquire(this.input.resources, this.segment.signal);
      const result = await this.train();
      await started.sent;
      return result;
    } catch (thrown) {
      throw toActivityFailure(thrown, context, this.attempt);
    } finally {
      releaseResources();
      keepAlive.stop();
      context.cancellationSignal.removeEventListener('abort', onCancel);
    }
  }

  private async train(): Promise<SweepTrialSegmentResult> {
    const { untilEpoch } = this.input;
    // The trial's outputs are this attempt's until a newer segment attempt claims them (./trial-fence.ts); the
    // training child checks the claim before each write.
    const fence = await claimTrialSegment(this.env.store, this.input, this.attempt, (line) =>
      this.context.log.warn(line),
    );
    // A retry: how Temporal ended the attempt before (bounded, quiet on failure), for the sweep log's line.
    const previous = previousAttemptNote(this.context, this.attempt);
    const trial = await trialRequest(this.env, this.input, this.heartbeat.baseModel);
    const resumed = await this.resume(trial);
    const { resumeFrom } = resumed;
    const previousAttempt = await previous;
    const common: SegmentCommon = { ...resumed.common, ...(previousAttempt ? { previousAttempt } : {}) };
    const isLastSegment = untilEpoch >= trial.totalEpochs;
    // A previous attempt reached the segment's end but did not get to return it.
    if (!isLastSegment && this.heartbeat.epochsDone >= untilEpoch) return this.unfinished(common);

    let result: TrainingResult | undefined;
    try {
      result = await this.env.runTraining(
        { ...trial.request, ...(resumeFrom ? { resumeFrom } : {}) },
        {
          onProgress: (progress) => this.onProgress(progress, isLastSegment),
          signal: this.segment.signal,
          onLog: (line) => this.context.log.debug(line),
          ...(this.env.ml ? memoryLimit(this.env.ml) : {}),
          fence,
        },
      );
    } catch (error) {
      // The child's refusal (its own line went to the debug log with its other output).
      if (isSupersededSegment(error)) this.context.log.warn(String((error as Error).message));
      if (!this.reachedSegmentEnd || this.context.cancellationSignal.aborted) throw error;
    }
    return result ? this.finished(common, result) : this.unfinished(common);
  }

  /**
   * Resume from the newest checkpoint inside this segment (what a crashed attempt got to), else
   * from the one the previous segment ended on. The store, not the heartbeat, is the record:
   * heartbeats are throttled, checkpoints are written every epoch.
   */
  private async resume(trial: TrialRequest): Promise<{ resumeFrom: string | undefined; common: SegmentCommon }> {
    const { trialId, fromEpoch, untilEpoch, metric } = this.input;
    const { checkpoints } = trial;
    const resume = await resumePoint(this.env.store, checkpoints, fromEpoch, untilEpoch, requestKeyOf(trial.request));
    if (fromEpoch > 0 && !resume)
      throw new InvalidInputError(
        `trial ${trialId}: the checkpoint of epoch ${fromEpoch} to resume from is missing under ${checkpoints}`,
        { field: 'checkpoint' },
      );
    this.reports = (resume?.history ?? [])
      .filter((epoch) => epoch.epoch > fromEpoch)
      .map((epoch) => report(metric, epoch));
    this.heartbeat = {
      ...this.heartbeat,
      ...(trial.base ? { baseModel: trial.base.pinned } : {}),
      reports: this.reports,
      epochsDone: resume?.epochsDone ?? fromEpoch,
      ...(resume ? { checkpoint: resume.directory } : {}),
    };
    this.context.heartbeat(this.heartbeat);
    const common: SegmentCommon = {
      trialId,
      reports: this.reports,
      ...(trial.base ? { baseModel: trial.base.pinned } : {}),
      worker: this.env.worker,
      startedAtMs: this.startedAtMs,
      attempt: this.attempt,
      resumedFromEpoch: this.heartbeat.epochsDone,
    };
    return { resumeFrom: resume?.directory, common };
  }

  /** Reports an epoch the child finished, and stops the child at the segment's end. */
  private onProgress(progress: TrainingProgress, isLastSegment: boolean): void {
    const { trialId, untilEpoch } = this.input;
    // Messages the killed child had already queued past the segment's end are not ours.
    if (this.reachedSegmentEnd || progress.epoch <= this.heartbeat.epochsDone || progress.epoch > untilEpoch) return;
    this.reports.push(report(this.input.metric, progress.metrics));
    this.heartbeat = {
      ...this.heartbeat,
      epochsDone: progress.epoch,
      reports: [...this.reports],
      ...(progress.checkpointUri ? { checkpoint: progress.checkpointUri } : {}),
      ...trainedOnOf(progress),
    };
    this.context.heartbeat(this.heartbeat);
    // The checkpoint of this epoch is written before progress is reported: stop here.
    if (progress.epoch >= untilEpoch && !isLastSegment) {
      this.reachedSegmentEnd = true;
      this.segment.abort(new CancelledError(`segment of trial ${trialId} reached epoch ${untilEpoch}`));
    }
  }

  /**
   * The segment ended at `untilEpoch`; the workflow decides whether the trial goes on. It says what trained it, as a
   * finished one does: for a trial pruned at its first rung this is the only record of its engine.
   */
  private unfinished(common: SegmentCommon): SweepTrialSegmentResult {
    const { trainedOn } = this.heartbeat;
    return {
      ...common,
      epochsDone: this.heartbeat.epochsDone,
      finished: false,
      ...(trainedOn ?? {}),
      endedAtMs: Date.now(),
    };
  }

  /** The trial trained its whole budget (or its own early stopping ended it): its model and final value. */
  private finished(common: SegmentCommon, result: TrainingResult): SweepTrialSegmentResult {
    // The model holds the best epoch's weights when the trial's own early stopping restores them.
    const best =
      result.epochs.find((epoch) => epoch.epoch === result.weightsEpoch) ?? result.epochs[result.epochs.length - 1];
    const finalValue = best ? objectiveValue(this.input.metric, best) : undefined;
    return {
      ...common,
      epochsDone: result.epochs.length,
      finished: true,
      model: modelJsonUri(result.modelUri),
      ...(finalValue !== undefined ? { finalValue } : {}),
      backend: result.backend,
      engine: result.engine,
      ...(result.engineFallbackReason ? { engineFallbackReason: result.engineFallbackReason } : {}),
      endedAtMs: Date.now(),
    };
  }
}

async function writeSweepResults(store: ObjectStore, input: SweepResultsInput): Promise<SweepResultsOutput> {
  const confined = confineWrites(store, input.context.outputPrefix);
  const outcome = input.outcome ?? 'completed';
  const document: SweepResultsDocument = {
    format: 'fineflow-sweep-results/v1',
    outcome,
    partial: outcome !== 'completed',
    ...input.table,
    segments: input.segments,
    ...(input.warmStart ? { warmStart: { ...input.warmStart, line: warmStartLine(input.warmStart) } } : {}),
  };
  const json = await confined.putJson(`${input.context.outputPrefix}results.json`, document);
  const csv = await confined.putBytes(
    `${input.context.outputPrefix}results.csv`,
    resultsCsv(input.table, input.segments),
    { contentType: 'text/csv; charset=utf-8' },
  );
  const modelFiles = input.bestModel
    ? await listArtifacts(store, input.bestModel.slice(0, input.bestModel.lastIndexOf('/') + 1))
    : [];
  // Last, and best effort: the results are the record of this run; the history only helps later sweeps.
  if (input.history) {
    const history = await writeSweepHistory(store, {
      context: input.context,
      subject: input.history,
      table: input.table,
      outcome,
      endedAtMs: Context.current().info.scheduledTimestampMs,
    });
    if ('error' in history)
      Context.current().log.warn('sweep history not written: later warm starts will not see this sweep', {
        stageId: input.context.stageId,
        error: history.error,
      });
  }
  return {
    json: json.uri,
    csv: csv.uri,
    artifacts: [...[json, csv].map(({ uri, sha256 }) => ({ uri, sha256 })), ...modelFiles],
  };
}

/**
 * Lines go out as one chunk of the stage log starting at line `fromLine` (the stage runner's
 * chunk layout): a retried append rewrites the same chunk, so lines are never duplicated.
 */
async function appendSweepLog(store: ObjectStore, input: SweepLogInput): Promise<SweepLogOutput> {
  const { bucket, runId, stageId, attempt } = input.context;
  if (input.lines.length === 0) return { lineCount: input.fromLine };
  const uri = stageLogChunkUri(bucket, runId, stageId, attempt, input.fromLine);
  await confineWrites(store, input.context.outputPrefix).putBytes(uri, `${input.lines.join('\n')}\n`, {
    contentType: 'text/plain; charset=utf-8',
  });
  return { lineCount: input.fromLine + input.lines.length };
}

/** The sweep's activities, with the store (and optionally the training runner) injected. */
export function createSweepTrialActivities(deps: SweepTrialDeps) {
  const env: SegmentEnvironment = {
    store: deps.store,
    runTraining: deps.runTraining ?? runTrainingInChildProcess,
    worker: deps.workerIdentity ?? `${process.pid}@${hostname()}`,
    ...(deps.ml ? { ml: deps.ml } : {}),
    ...(deps.resources ? { resources: deps.resources } : {}),
  };
  return {
    sweepTrialSegment: (input: SweepTrialSegmentInput): Promise<SweepTrialSegmentResult> =>
      new TrialSegment(env, input).run(),
    writeSweepResults: (input: SweepResultsInput): Promise<SweepResultsOutput> => writeSweepResults(deps.store, input),
    appendSweepLog: (input: SweepLogInput): Promise<SweepLogOutput> => appendSweepLog(deps.store, input),
    readSweepHistory: (input: SweepHistoryReadInput): Promise<WarmStart> => readSweepHistory(deps.store, input),
    /** The sweep's base pinned once (a registry alias to its current version), so no trial sees the alias move. */
    pinSweepBase: async (input: SweepBasePinInput): Promise<string> =>
      (await pinBaseModel(deps.store, input.model, input.context.bucket)).pinned,
  };
}

export type SweepTrialActivities = ReturnType<typeof createSweepTrialActivities>;
