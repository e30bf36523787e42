/**
 * Stage `evaluate`: scores a model on a held-out split (src/ml/eval/evaluate.ts): accuracy,
 * precision/recall/F1 (macro and per class), confusion matrix, ROC-AUC, calibration error, per
 * slice; compares it with a baseline (e.g. `registry://NAME@champion`; a baseline that does not
 * exist yet, as on a first run, is reported and is not an error; one that exists but cannot be read
 * fails the stage with the reason) and, with `fromScratch`, with
 * the same architecture trained from random weights on the same training examples (in a child
 * process, like fine-tune); applies the gate; writes report.html and report.json under
 * `<outputPrefix>report/`.
 */
import type { TfBackendPreference } from '../src/config';
import { CancelledError, InvalidInputError, NotFoundError } from '../src/core/errors';
import { loadSplit, readManifest, type DatasetManifest } from '../src/ml/data/shards';
import { CLASSIC_BASELINES } from '../src/ml/eval/classic-baselines';
import { externalProbabilities } from '../src/ml/eval/external-predictions';
import { evaluateModel } from '../src/ml/eval/evaluate';
import {
  classificationMetrics,
  compareMetrics,
  higherIsBetter,
  metricValue,
  type ClassificationMetrics,
  type GateSpec,
} from '../src/ml/eval/metrics';
import { parseRegistryUri, resolveVersion } from '../src/ml/models/registry';
import { findCheckpoint } from '../src/ml/train/checkpoint';
import { runTrainingInChildProcess } from '../src/ml/train/child-runner';
import type { EpochMetrics, TrainingProgress, TrainingRequest, TrainingResult } from '../src/ml/train/types';
import type { JsonObject, JsonValue } from '../src/core/spec/plan-types';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import type { ObjectStore } from '../src/storage/object-store';
import { joinS3Uri } from '../src/core/storage/uri';
import type { TrainingRunner } from '../src/ml/train/child-runner';
import { readTrainingRecord } from './fine-tune';
import type { StageImplementation, StageRuntime } from './stage-runner';
import { GATE_METRICS } from '../src/spec/stage-types';
import {
  checkStageInputs,
  formatMetrics,
  listStageArtifacts,
  modelHttpOptions,
  memoryLimit,
  objectInput,
  optionalNumber,
  optionalString,
  requiredString,
  toJsonValue,
} from './ml-stage-support';

/** The stage's metric names → src/ml's. */
// The spec's names (also the schema's `gate.metric` values) → the names src/ml computes.
const METRIC_NAMES = GATE_METRICS;

const BASELINE = 'baseline';
const FROM_SCRATCH = 'from-scratch';

/** The gate as src/ml applies it. `min` is "at least" for higher-is-better metrics, "at most" for losses. */
export function gateSpec(gate: JsonObject): GateSpec | undefined {
  if (Object.keys(gate).length === 0) return undefined;
  const metric = String(gate.metric ?? 'accuracy');
  const mlName = METRIC_NAMES[metric] ?? (Object.values(METRIC_NAMES).includes(metric) ? metric : undefined);
  if (mlName === undefined) {
    throw new InvalidInputError(
      `gate.metric ${metric} is not a metric evaluate computes; use one of ${Object.keys(METRIC_NAMES).join(', ')}`,
      { field: 'gate.metric', value: metric },
    );
  }
  const higher = higherIsBetter(mlName);
  const min = typeof gate.min === 'number' ? gate.min : undefined;
  const max = typeof gate.max === 'number' ? gate.max : undefined;
  if (higher && max !== undefined)
    throw new InvalidInputError(`gate.max bounds ${metric} from above, but higher ${metric} is better; use gate.min`, {
      field: 'gate.max',
    });
  if (!higher && min !== undefined)
    throw new InvalidInputError(`gate.min bounds ${metric} from below, but lower ${metric} is better; use gate.max`, {
      field: 'gate.min',
    });
  const bound = higher ? min : max;
  return {
    metric: mlName,
    ...(bound !== undefined ? { min: bound } : {}),
    ...(gate.beatBaseline === true ? { beatBaseline: true } : {}),
    ...(Array.isArray(gate.beat) && gate.beat.length > 0 ? { beat: gate.beat.map(String) } : {}),
    ...(typeof gate.minImprovement === 'number' && gate.minImprovement > 0
      ? { minImprovement: gate.minImprovement }
      : {}),
  };
}

/** The requested metrics of `m` (stage names), plus count, per-class numbers and, if asked, the confusion matrix. */
export function selectedMetrics(m: ClassificationMetrics, requested: readonly string[]): JsonObject {
  const out: Record<string, JsonValue> = { count: m.count };
  for (const name of requested) {
    if (name === 'confusionMatrix') out.confusionMatrix = m.confusionMatrix.map((row) => [...row]);
    else {
      const value = metricValue(m, METRIC_NAMES[name] ?? name);
      if (value !== undefined) out[name] = value;
    }
  }
  out.logLoss = m.logLoss;
  out.perClass = Object.fromEntries(
    m.perClass.map((c) => [
      c.name,
      toJsonValue({
        precision: c.precision,
        recall: c.recall,
        f1: c.f1,
        support: c.support,
        ...(c.rocAuc !== undefined ? { rocAuc: c.rocAuc } : {}),
      }),
    ]),
  );
  return out;
}

function headline(m: ClassificationMetrics): JsonObject {
  return toJsonValue({
    accuracy: m.accuracy,
    f1: m.f1Macro,
    rocAuc: m.rocAucMacro,
    calibrationError: m.expectedCalibrationError,
    count: m.count,
  }) as JsonObject;
}

/**
 * Whether a registry baseline exists (a missing name or alias is the normal state of a first run).
 * Only NotFoundError means "not yet": a registry that cannot be read (access denied, corrupt
 * aliases, store down) fails the stage, so a gate never passes because the champion was unreadable.
 */
async function baselineExists(
  store: ObjectStore,
  uri: string,
  bucket: string,
): Promise<{ exists: boolean; reason?: string }> {
  if (!uri.startsWith('registry://')) return { exists: true };
  try {
    await resolveVersion(store, bucket, parseRegistryUri(uri));
    return { exists: true };
  } catch (error) {
    if (error instanceof NotFoundError) return { exists: false, reason: error.message };
    throw error;
  }
}

export interface EvaluateStageOptions {
  /** Trains the from-scratch comparison; default: in a child process. */
  readonly runTraining?: TrainingRunner;
  /** TensorFlow backend of the from-scratch training and the scoring. Default: the worker's (`runtime.ml.tfBackend`). */
  readonly tfBackend?: TfBackendPreference;
}

export function createEvaluateStage(options: EvaluateStageOptions = {}): StageImplementation {
  const runTraining = options.runTraining ?? runTrainingInChildProcess;
  return async (input: StageActivityInput, runtime: StageRuntime): Promise<StageActivityResult> => {
    const inputs = checkStageInputs('evaluate', input.inputs);
    const tfBackend = options.tfBackend ?? runtime.ml.tfBackend;
    const { context } = input;
    const store = runtime.store;
    const modelUri = requiredString(inputs, 'model');
    const datasetUri = requiredString(inputs, 'data');
    const split = inputs.split;
    const requested = inputs.metrics;
    const slices = inputs.slices;
    const gate = gateSpec(objectInput(inputs, 'gate'));
    const manifest = await readManifest(store, datasetUri);
    if (manifest.splits[split].count === 0)
      throw new InvalidInputError(`dataset ${datasetUri} has no ${split} examples to evaluate on`, {
        field: 'split',
        split,
      });
    runtime.heartbeat({
      message: `evaluating ${modelUri} on ${manifest.splits[split].count} ${split} examples`,
      fraction: 0.05,
    });

    const comparison: Record<string, JsonValue> = {};
    const baselines: Record<string, string> = {};
    const baselineUri = optionalString(inputs, 'baseline');
    if (baselineUri) {
      const found = await baselineExists(store, baselineUri, context.bucket);
      if (found.exists) baselines[BASELINE] = baselineUri;
      else {
        runtime.log(
          `baseline ${baselineUri} does not exist yet (${found.reason}); nothing to compare with, which is expected on a first run`,
        );
        comparison.baseline = {
          uri: baselineUri,
          found: false,
          note: `${baselineUri} does not exist yet (first run?): no comparison, and beatBaseline has nothing to beat`,
        };
      }
    }

    // From scratch: the same (default) architecture, random weights, the same training examples.
    const fromScratchInput = inputs.fromScratch;
    let scratch: TrainingResult | undefined;
    if (
      fromScratchInput === true ||
      (fromScratchInput !== null && typeof fromScratchInput === 'object' && !Array.isArray(fromScratchInput))
    ) {
      const settings = fromScratchInput === true ? {} : (fromScratchInput as JsonObject);
      const epochs = optionalNumber(settings, 'epochs') ?? 10;
      const checkpointPrefix = `${context.outputPrefix}checkpoints/from-scratch`;
      const request: TrainingRequest = {
        mode: 'from-scratch',
        datasetUri,
        outputUri: joinS3Uri(context.outputPrefix, 'from-scratch/model'),
        checkpoint: { uri: checkpointPrefix, everyEpochs: 1 },
        hyperparameters: {
          epochs,
          batchSize: optionalNumber(settings, 'batchSize') ?? 32,
          learningRate: optionalNumber(settings, 'learningRate') ?? 0.001,
          seed: optionalNumber(settings, 'seed') ?? optionalNumber(inputs, 'seed') ?? 0,
        },
        registryBucket: context.bucket,
        tfBackend,
        engine: runtime.ml.trainEngine,
      };
      // A retry continues the from-scratch training where the failed attempt left it.
      const resumeFrom = await findCheckpoint(store, checkpointPrefix);
      runtime.log(
        `training the from-scratch comparison model: ${epochs} epochs${resumeFrom ? `, resuming from ${resumeFrom}` : ''}`,
      );
      const onProgress = (progress: TrainingProgress): void => {
        const m = progress.metrics;
        const message = `from-scratch epoch ${progress.epoch}/${progress.totalEpochs} ${formatMetrics({ loss: m.trainLoss, acc: m.trainAccuracy, val_acc: m.validationAccuracy })}`;
        runtime.log(message);
        runtime.heartbeat({
          message,
          fraction: 0.1 + (0.7 * progress.epoch) / Math.max(1, progress.totalEpochs),
          detail: { fromScratchEpoch: progress.epoch, totalEpochs: progress.totalEpochs },
        });
      };
      try {
        scratch = await runTraining(
          { ...request, ...(resumeFrom ? { resumeFrom } : {}) },
          {
            onProgress,
            signal: runtime.signal,
            onLog: (line) => runtime.log(`[from-scratch] ${line}`),
            ...memoryLimit(runtime.ml),
          },
        );
      } catch (error) {
        // A checkpoint from different settings (a retry with other inputs) is not reused: start over once.
        if (!(error instanceof InvalidInputError) || !resumeFrom || !/different training request/.test(error.message))
          throw error;
        await store.removePrefix(`${checkpointPrefix}/`);
        scratch = await runTraining(request, {
          onProgress,
          signal: runtime.signal,
          onLog: (line) => runtime.log(`[from-scratch] ${line}`),
          ...memoryLimit(runtime.ml),
        });
      }
      baselines[FROM_SCRATCH] = `${scratch.modelUri}/model.json`;
    }

    if (runtime.signal.aborted) throw new CancelledError('evaluate was cancelled', {});
    runtime.heartbeat({
      message: `scoring ${modelUri}${Object.keys(baselines).length ? ` and ${Object.keys(baselines).join(', ')}` : ''}`,
      fraction: 0.85,
    });
    const record = await readTrainingRecord(store, modelUri);
    const bootstrapInput = objectInput(inputs, 'bootstrap');
    const weightsEpoch = record?.metrics.weightsEpoch;
    const result = await evaluateModel(store, {
      origin: { pipeline: context.pipeline, runId: context.runId, stageId: context.stageId },
      classicBaselines: inputs.classicBaselines,
      bootstrap: {
        resamples: optionalNumber(bootstrapInput, 'resamples') ?? 1000,
        confidence: optionalNumber(bootstrapInput, 'confidence') ?? 0.95,
      },
      misclassified: optionalNumber(inputs, 'misclassified') ?? 12,
      seed: optionalNumber(inputs, 'seed') ?? 0,
      ...(typeof weightsEpoch === 'number' ? { bestEpoch: weightsEpoch } : {}),
      modelUri,
      datasetUri,
      split,
      slices,
      baselines,
      ...(gate ? { gate } : {}),
      reportPrefix: joinS3Uri(context.outputPrefix, 'report'),
      registryBucket: context.bucket,
      ...(modelHttpOptions(inputs) ? { modelHttp: modelHttpOptions(inputs) } : {}),
      tfBackend,
      ...(record ? { history: record.history as unknown as EpochMetrics[] } : {}),
    });

    const metrics: Record<string, JsonValue> = selectedMetrics(result.metrics, requested);
    if (result.report.slices) {
      metrics.slices = Object.fromEntries(
        Object.entries(result.report.slices).map(([attribute, groups]) => [
          attribute,
          Object.fromEntries(
            Object.entries(groups).map(([group, m]) => [
              group,
              selectedMetrics(
                m,
                requested.filter((name) => name !== 'confusionMatrix'),
              ),
            ]),
          ),
        ]),
      );
    }
    if (record) {
      const trained = record.metrics as { trainSeconds?: number; epochs?: number; trainExamples?: number };
      comparison.model = toJsonValue({
        uri: modelUri,
        baseModel: record.baseModelResolved ?? record.baseModel,
        trainSeconds: trained.trainSeconds,
        epochs: trained.epochs,
        trainExamples: trained.trainExamples,
        backend: record.backend,
      });
    }
    const evaluatedBaseline = result.report.baselines?.[BASELINE];
    if (evaluatedBaseline) {
      comparison.baseline = toJsonValue({
        uri: evaluatedBaseline.uri,
        found: true,
        ...(evaluatedBaseline.metrics ? { metrics: headline(evaluatedBaseline.metrics) } : {}),
        ...(evaluatedBaseline.comparison ? { comparison: evaluatedBaseline.comparison } : {}),
        ...(evaluatedBaseline.error ? { error: evaluatedBaseline.error } : {}),
      });
    }
    const evaluatedScratch = result.report.baselines?.[FROM_SCRATCH];
    if (scratch && evaluatedScratch) {
      comparison.fromScratch = toJsonValue({
        model: evaluatedScratch.uri,
        ...(evaluatedScratch.metrics
          ? { metrics: headline(evaluatedScratch.metrics), accuracy: evaluatedScratch.metrics.accuracy }
          : {}),
        ...(evaluatedScratch.comparison ? { comparison: evaluatedScratch.comparison } : {}),
        ...(evaluatedScratch.error ? { error: evaluatedScratch.error } : {}),
        trainSeconds: scratch.epochs.reduce((sum, epoch) => sum + epoch.seconds, 0),
        epochs: scratch.epochs.length,
        trainExamples: scratch.trainExamples,
        backend: scratch.backend,
        engine: scratch.engine,
      });
    }
    for (const name of CLASSIC_BASELINES) {
      const classic = result.report.baselines?.[name];
      if (classic?.metrics)
        comparison[name] = toJsonValue({
          model: classic.uri,
          metrics: headline(classic.metrics),
          ...(classic.differences ? { difference: classic.differences } : {}),
        });
    }
    const intervals = result.report.intervals;
    if (intervals) {
      // Keyed by the stage's metric names, as a gate and `metrics` name them: {accuracy: {low, high}, …}.
      metrics.intervals = toJsonValue(
        Object.fromEntries(
          Object.entries(METRIC_NAMES).flatMap(([name, mlName]) =>
            intervals[mlName] ? [[name, intervals[mlName]]] : [],
          ),
        ),
      );
    }
    const external = await scoreExternalPredictions(store, objectInput(inputs, 'predictions'), manifest, split, result);
    if (external) comparison.predictions = external;
    comparison.gate = toJsonValue({ passed: result.passed, reasons: result.reasons });
    for (const reason of result.reasons) runtime.log(`gate: ${reason}`);
    runtime.log(
      `${modelUri}: ${formatMetrics({ accuracy: result.metrics.accuracy, f1: result.metrics.f1Macro })} on ${result.metrics.count} ${split} examples; gate ${result.passed ? 'passed' : 'not passed'}; report ${result.htmlUri}`,
    );
    runtime.heartbeat({
      message: `accuracy ${result.metrics.accuracy.toFixed(3)}; gate ${result.passed ? 'passed' : 'not passed'}`,
      fraction: 1,
    });
    return {
      outputs: { passed: result.passed, metrics, report: result.htmlUri, comparison },
      artifacts: await listStageArtifacts(store, context.outputPrefix),
    };
  };
}

/** Cap on one predictions file: probabilities of a large test split, not a dataset. */
const MAX_PREDICTIONS_BYTES = 64 * 1024 * 1024;

/** `predictions` input: each file scored with the model's metrics on the same split, compared with the model. */
async function scoreExternalPredictions(
  store: ObjectStore,
  files: JsonObject,
  manifest: DatasetManifest,
  split: 'test' | 'validation',
  result: { readonly metrics: ClassificationMetrics },
): Promise<JsonObject | undefined> {
  const entries = Object.entries(files);
  if (entries.length === 0) return undefined;
  const { labels } = await loadSplit(store, manifest, split, { transform: false });
  const scored: Record<string, JsonValue> = {};
  for (const [name, uri] of entries) {
    const value = await store.getJson(String(uri), { maxBytes: MAX_PREDICTIONS_BYTES });
    const probabilities = externalProbabilities(value, String(uri), { split, classes: manifest.classes, labels });
    const metrics = classificationMetrics(probabilities, labels, manifest.classes);
    scored[name] = toJsonValue({
      uri,
      metrics: headline(metrics),
      comparison: compareMetrics(result.metrics, metrics),
    });
  }
  return scored;
}

export const evaluateStage: StageImplementation = createEvaluateStage();
