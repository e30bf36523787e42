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
 *
 * Training runs in a child process by default (src/ml's child runner), so this worker keeps
 * heartbeating while the CPU is busy; the segment stops the child right after the checkpoint of
 * `untilEpoch` is written. A retry of a segment (worker crash, heartbeat timeout) resumes from
 * the newest checkpoint the failed attempt wrote inside the segment and rebuilds the epochs it
 * already reported from that checkpoint's history, so it still returns every epoch of the
 * segment. Heartbeats (per epoch, plus a keep-alive timer) carry the progress for `describe`.
 *
 * Storage: `<stage outputPrefix>trials/trial-NNNN/checkpoints/epoch-NNNN/` and, for a trial that
 * trained its whole budget, `…/trial-NNNN/model/model.json`.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { CancelledError, InvalidInputError } from '../src/core/errors';
import { readManifest } from '../src/ml/data/shards';
import { modelJsonUri } from '../src/ml/models/model-io';
import { parseRegistryUri, resolveVersion } from '../src/ml/models/registry';
import { newestVerifiedCheckpoint } from '../src/ml/train/checkpoint';
import { runTrainingInChildProcess } from '../src/ml/train/child-runner';
import { requestKeyOf } from '../src/ml/train/fine-tune';
import type { EpochMetrics, TrainingProgress, TrainingRequest, TrainingResult } from '../src/ml/train/types';
import { objectiveValue, trialPrefix } from '../src/core/sweep/sweep-plan';
import { resultsCsv, type SweepResultsDocument } from '../src/core/sweep/sweep-results';
import type {
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
import { baseWeightLayers, effectiveSettings, trainingPlan } from './fine-tune';
import { listArtifacts, memoryLimit, requiredString } from './ml-stage-support';
import { toActivityFailure, type MlSettings } from './stage-runner';
import type { ResourceLedger } from '../src/worker/resource-ledger';

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

/** What a segment's heartbeats carry; a retry of the same segment resumes from it. */
interface SegmentHeartbeat {
  readonly trialId: number;
  readonly fromEpoch: number;
  readonly untilEpoch: number;
  readonly epochsDone: number;
  readonly checkpoint?: string;
  readonly baseModel?: string;
  readonly reports: readonly TrialEpochReport[];
}

/** The base model a previous attempt of this segment pinned, if its heartbeat says. */
function pinnedByPreviousAttempt(details: unknown, input: SweepTrialSegmentInput): string | undefined {
  if (details === null || typeof details !== 'object') return undefined;
  const beat = details as Partial<SegmentHeartbeat>;
  return beat.trialId === input.trialId && typeof beat.baseModel === 'string' ? beat.baseModel : undefined;
}

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

/** `registry://name@alias` pinned to a version, so every segment of every trial fine-tunes the same base. */
async function pinBaseModel(
  store: ObjectStore,
  model: string,
  bucket: string,
): Promise<{ pinned: string; modelJson?: string }> {
  if (!model.startsWith('registry://'))
    return { pinned: model, ...(model.startsWith('s3://') ? { modelJson: modelJsonUri(model) } : {}) };
  const reference = parseRegistryUri(model);
  const version = await resolveVersion(store, bucket, reference);
  return {
    pinned: `registry://${reference.name}@${version}`,
    modelJson: `s3://${bucket}/models/${reference.name}/${version}/model.json`,
  };
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

/** The sweep's activities, with the store (and optionally the training runner) injected. */
export function createSweepTrialActivities(deps: SweepTrialDeps) {
  const runTraining = deps.runTraining ?? runTrainingInChildProcess;
  const worker = deps.workerIdentity ?? `${process.pid}@${hostname()}`;

  async function sweepTrialSegment(input: SweepTrialSegmentInput): Promise<SweepTrialSegmentResult> {
    const context = Context.current();
    const startedAtMs = Date.now();
    const attempt = context.info.attempt;
    const { trialId, fromEpoch, untilEpoch } = input;
    let heartbeat: SegmentHeartbeat = { trialId, fromEpoch, untilEpoch, epochsDone: fromEpoch, reports: [] };
    const keepAlive = setInterval(
      () => context.heartbeat(heartbeat),
      Math.max(200, Math.min(5_000, (context.info.heartbeatTimeoutMs ?? 30_000) / 3)),
    );
    keepAlive.unref();
    const segment = new AbortController();
    let reachedSegmentEnd = false;
    const onCancel = (): void => segment.abort(context.cancellationSignal.reason);
    context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    let releaseResources = (): void => undefined;
    try {
      if (input.resources && deps.resources)
        releaseResources = await deps.resources.acquire(input.resources, segment.signal);
      const settings = effectiveSettings(input.settings);
      const datasetUri = requiredString(settings, 'data');
      const manifest = await readManifest(deps.store, datasetUri);
      const pinned = pinnedByPreviousAttempt(context.info.heartbeatDetails, input);
      const base = await pinBaseModel(deps.store, pinned ?? requiredString(settings, 'model'), input.context.bucket);
      const baseLayers =
        base.modelJson && (await deps.store.stat(base.modelJson))
          ? baseWeightLayers(await deps.store.getJson(base.modelJson))
          : undefined;
      if (base.modelJson && !baseLayers)
        throw new InvalidInputError(`base model ${base.pinned} does not exist (${base.modelJson})`, { field: 'model' });
      const plan = trainingPlan(settings, {
        classes: manifest.classes,
        featureShape: manifest.featureShape,
        baseLayers,
        fromScratch: false,
      });
      if (untilEpoch > plan.hyperparameters.epochs || untilEpoch <= fromEpoch) {
        throw new InvalidInputError(
          `segment epochs ${fromEpoch}→${untilEpoch} do not fit the trial budget of ${plan.hyperparameters.epochs}`,
          { field: 'untilEpoch' },
        );
      }
      const prefix = trialPrefix(input.context.outputPrefix, trialId);
      const checkpoints = `${prefix}checkpoints`;
      const request: TrainingRequest = {
        mode: 'fine-tune',
        baseModelUri: base.pinned,
        datasetUri,
        outputUri: `${prefix}model`,
        checkpoint: { uri: checkpoints, everyEpochs: 1 },
        hyperparameters: plan.hyperparameters,
        registryBucket: input.context.bucket,
        // Not part of the request key: a segment may resume another worker's checkpoint on another backend.
        ...(deps.ml ? { tfBackend: deps.ml.tfBackend, engine: deps.ml.trainEngine } : {}),
      };
      // Resume from the newest checkpoint inside this segment (what a crashed attempt got to),
      // else from the one the previous segment ended on. The store, not the heartbeat, is the
      // record: heartbeats are throttled, checkpoints are written every epoch.
      const resume = await resumePoint(deps.store, checkpoints, fromEpoch, untilEpoch, requestKeyOf(request));
      if (fromEpoch > 0 && !resume)
        throw new InvalidInputError(
          `trial ${trialId}: the checkpoint of epoch ${fromEpoch} to resume from is missing under ${checkpoints}`,
          { field: 'checkpoint' },
        );
      const reports = (resume?.history ?? [])
        .filter((epoch) => epoch.epoch > fromEpoch)
        .map((epoch) => report(input.metric, epoch));
      heartbeat = {
        ...heartbeat,
        baseModel: base.pinned,
        reports,
        epochsDone: resume?.epochsDone ?? fromEpoch,
        ...(resume ? { checkpoint: resume.directory } : {}),
      };
      context.heartbeat(heartbeat);
      const resumeFrom = resume?.directory;

      const common = {
        trialId,
        reports,
        baseModel: base.pinned,
        worker,
        startedAtMs,
        attempt,
        resumedFromEpoch: heartbeat.epochsDone,
      };
      const isLastSegment = untilEpoch >= plan.hyperparameters.epochs;
      // A previous attempt reached the segment's end but did not get to return it.
      if (!isLastSegment && heartbeat.epochsDone >= untilEpoch)
        return { ...common, epochsDone: heartbeat.epochsDone, finished: false, endedAtMs: Date.now() };

      const onProgress = (progress: TrainingProgress): void => {
        // Messages the killed child had already queued past the segment's end are not ours.
        if (reachedSegmentEnd || progress.epoch <= heartbeat.epochsDone || progress.epoch > untilEpoch) return;
        reports.push(report(input.metric, progress.metrics));
        heartbeat = {
          ...heartbeat,
          epochsDone: progress.epoch,
          reports: [...reports],
          ...(progress.checkpointUri ? { checkpoint: progress.checkpointUri } : {}),
        };
        context.heartbeat(heartbeat);
        // The checkpoint of this epoch is written before progress is reported: stop here.
        if (progress.epoch >= untilEpoch && !isLastSegment) {
          reachedSegmentEnd = true;
          segment.abort(new CancelledError(`segment of trial ${trialId} reached epoch ${untilEpoch}`));
        }
      };
      let result: TrainingResult | undefined;
      try {
        result = await runTraining(
          { ...request, ...(resumeFrom ? { resumeFrom } : {}) },
          {
            onProgress,
            signal: segment.signal,
            onLog: (line) => context.log.debug(line),
            ...(deps.ml ? memoryLimit(deps.ml) : {}),
          },
        );
      } catch (error) {
        if (!reachedSegmentEnd || context.cancellationSignal.aborted) throw error;
      }
      if (!result) return { ...common, epochsDone: heartbeat.epochsDone, finished: false, endedAtMs: Date.now() };
      // The model holds the best epoch's weights when the trial's own early stopping restores them.
      const best =
        result.epochs.find((epoch) => epoch.epoch === result.weightsEpoch) ?? result.epochs[result.epochs.length - 1];
      const finalValue = best ? objectiveValue(input.metric, best) : undefined;
      return {
        ...common,
        epochsDone: result.epochs.length,
        finished: true,
        model: modelJsonUri(result.modelUri),
        ...(finalValue !== undefined ? { finalValue } : {}),
        backend: result.backend,
        engine: result.engine,
        endedAtMs: Date.now(),
      };
    } catch (thrown) {
      throw toActivityFailure(thrown, context, attempt);
    } finally {
      releaseResources();
      clearInterval(keepAlive);
      context.cancellationSignal.removeEventListener('abort', onCancel);
    }
  }

  async function writeSweepResults(input: SweepResultsInput): Promise<SweepResultsOutput> {
    const store = confineWrites(deps.store, input.context.outputPrefix);
    const outcome = input.outcome ?? 'completed';
    const document: SweepResultsDocument = {
      format: 'fineflow-sweep-results/v1',
      outcome,
      partial: outcome !== 'completed',
      ...input.table,
      segments: input.segments,
    };
    const json = await store.putJson(`${input.context.outputPrefix}results.json`, document);
    const csv = await store.putBytes(
      `${input.context.outputPrefix}results.csv`,
      resultsCsv(input.table, input.segments),
      { contentType: 'text/csv; charset=utf-8' },
    );
    const modelFiles = input.bestModel
      ? await listArtifacts(deps.store, input.bestModel.slice(0, input.bestModel.lastIndexOf('/') + 1))
      : [];
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
  async function appendSweepLog(input: SweepLogInput): Promise<SweepLogOutput> {
    const { bucket, runId, stageId, attempt } = input.context;
    if (input.lines.length === 0) return { lineCount: input.fromLine };
    const uri = stageLogChunkUri(bucket, runId, stageId, attempt, input.fromLine);
    await confineWrites(deps.store, input.context.outputPrefix).putBytes(uri, `${input.lines.join('\n')}\n`, {
      contentType: 'text/plain; charset=utf-8',
    });
    return { lineCount: input.fromLine + input.lines.length };
  }

  return { sweepTrialSegment, writeSweepResults, appendSweepLog };
}

export type SweepTrialActivities = ReturnType<typeof createSweepTrialActivities>;
