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
import { evaluateModel, type EvaluateResult } from '../src/ml/eval/evaluate';
import type { BaselineEntry } from '../src/ml/eval/report';
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
import { engineFallbackWarning } from '../src/ml/graph/graph-addon';
import type { JsonObject, JsonValue } from '../src/core/spec/plan-types';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import type { ObjectStore } from '../src/storage/object-store';
import { joinS3Uri } from '../src/core/storage/uri';
import type { TrainingRunner } from '../src/ml/train/child-runner';
import { readTrainingRecord, type TrainingRecord } from './fine-tune';
import type { StageInputValues } from '../src/sdk/stage-io.generated';
import type { StageImplementation, StageRuntime } from './stage-runner';
import { GATE_METRICS } from '../src/spec/stage-types';
import {
  checkStageInputs,
  formatMetrics,
  listStageArtifacts,
  modelHttpOptions,
  memoryLimit,
  trainingFence,
  toJsonValue,
} from './ml-stage-support';

/** The stage's metric names → src/ml's. */
// The spec's names (also the schema's `gate.metric` values) → the names src/ml computes.
const METRIC_NAMES = GATE_METRICS;

const BASELINE = 'baseline';
const FROM_SCRATCH = 'from-scratch';

/** The `evaluate` stage's inputs as its implementation reads them (checked, defaults filled in). */
export type EvaluateInputs = StageInputValues['evaluate'];

/** `gate:` as written or with its defaults: a direct call may leave out what the schema fills in. */
export type GateInput = Partial<NonNullable<EvaluateInputs['gate']>>;

/** The gate as src/ml applies it. `min` is "at least" for higher-is-better metrics, "at most" for losses. */
export function gateSpec(gate: GateInput | undefined): GateSpec | undefined {
  if (!gate || Object.keys(gate).length === 0) return undefined;
  const metric: string = gate.metric ?? 'accuracy';
  const mlName = METRIC_NAMES[metric] ?? (Object.values(METRIC_NAMES).includes(metric) ? metric : undefined);
  if (mlName === undefined) {
    throw new InvalidInputError(
      `gate.metric ${metric} is not a metric evaluate computes; use one of ${Object.keys(METRIC_NAMES).join(', ')}`,
      { field: 'gate.metric', value: metric },
    );
  }
  const higher = higherIsBetter(mlName);
  const { min, max } = gate;
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
    ...(gate.beat && gate.beat.length > 0 ? { beat: [...gate.beat] } : {}),
    ...(gate.minImprovement !== undefined && gate.minImprovement > 0 ? { minImprovement: gate.minImprovement } : {}),
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
  /**
   * TensorFlow backend of the from-scratch training and the scoring. Default: the worker's (`runtime.ml.tfBackend`).
   */
  readonly tfBackend?: TfBackendPreference;
}

/** What every step of one evaluate attempt reads. */
interface EvaluateJob {
  readonly input: StageActivityInput;
  readonly runtime: StageRuntime;
  readonly inputs: EvaluateInputs;
  readonly manifest: DatasetManifest;
  readonly gate: GateSpec | undefined;
  readonly tfBackend: TfBackendPreference;
  readonly runTraining: TrainingRunner;
}

/**
 * `baseline:` when it exists, as the baseline to score. A registry baseline that does not exist yet
 * (a first run) is no error: the returned note goes into `comparison.baseline` instead.
 */
async function baselineToScore(
  job: EvaluateJob,
): Promise<{ readonly uri?: string; readonly missingNote?: JsonObject }> {
  const baselineUri = job.inputs.baseline;
  if (!baselineUri) return {};
  const found = await baselineExists(job.runtime.store, baselineUri, job.input.context.bucket);
  if (found.exists) return { uri: baselineUri };
  job.runtime.log(
    `baseline ${baselineUri} does not exist yet (${found.reason}); nothing to compare with, which is expected on a first run`,
  );
  return {
    missingNote: {
      uri: baselineUri,
      found: false,
      note: `${baselineUri} does not exist yet (first run?): no comparison, and beatBaseline has nothing to beat`,
    },
  };
}

/** `fromScratch:` the same (default) architecture, random weights, the same training examples. */
async function trainFromScratch(job: EvaluateJob): Promise<TrainingResult | undefined> {
  const { runtime, inputs } = job;
  const { context } = job.input;
  if (inputs.fromScratch === undefined || inputs.fromScratch === false) return undefined;
  const settings =
    inputs.fromScratch === true
      ? { epochs: 10, batchSize: 32, learningRate: 0.001, seed: inputs.seed }
      : inputs.fromScratch;
  const checkpointPrefix = `${context.outputPrefix}checkpoints/from-scratch`;
  const request: TrainingRequest = {
    mode: 'from-scratch',
    datasetUri: inputs.data,
    outputUri: joinS3Uri(context.outputPrefix, 'from-scratch/model'),
    checkpoint: { uri: checkpointPrefix, everyEpochs: 1 },
    hyperparameters: {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      learningRate: settings.learningRate,
      seed: settings.seed,
    },
    registryBucket: context.bucket,
    tfBackend: job.tfBackend,
    engine: runtime.ml.trainEngine,
  };
  // A retry continues the from-scratch training where the failed attempt left it.
  const resumeFrom = await findCheckpoint(runtime.store, checkpointPrefix);
  runtime.log(
    `training the from-scratch comparison model: ${settings.epochs} ` +
      `epochs${resumeFrom ? `, resuming from ${resumeFrom}` : ''}`,
  );
  const runOptions = {
    onProgress: (progress: TrainingProgress): void => {
      const m = progress.metrics;
      const message =
        `from-scratch epoch ${progress.epoch}/${progress.totalEpochs} ` +
        `${formatMetrics({ loss: m.trainLoss, acc: m.trainAccuracy, val_acc: m.validationAccuracy })}`;
      runtime.log(message);
      runtime.heartbeat({
        message,
        fraction: 0.1 + (0.7 * progress.epoch) / Math.max(1, progress.totalEpochs),
        detail: { fromScratchEpoch: progress.epoch, totalEpochs: progress.totalEpochs },
      });
    },
    signal: runtime.signal,
    onLog: (line: string) => runtime.log(`[from-scratch] ${line}`),
    ...memoryLimit(runtime.ml),
    ...(await trainingFence(runtime, 'start the from-scratch comparison')),
  };
  // An `auto` engine that fell back to eager says so, as fine-tune's log does: the comparison trained slower.
  const warned = (result: TrainingResult): TrainingResult => {
    if (result.engineFallbackReason)
      runtime.log(`[from-scratch] ${engineFallbackWarning(result.engineFallbackReason)}`);
    return result;
  };
  try {
    return warned(await job.runTraining({ ...request, ...(resumeFrom ? { resumeFrom } : {}) }, runOptions));
  } catch (error) {
    // A checkpoint from different settings (a retry with other inputs) is not reused: start over once.
    if (!(error instanceof InvalidInputError) || !resumeFrom || !/different training request/.test(error.message))
      throw error;
    await runtime.store.removePrefix(`${checkpointPrefix}/`);
    return warned(await job.runTraining(request, runOptions));
  }
}

/** Scores the model (and every baseline) on the split: src/ml's evaluation, report and gate. */
async function scoreModel(
  job: EvaluateJob,
  baselines: Readonly<Record<string, string>>,
  record: TrainingRecord | undefined,
): Promise<EvaluateResult> {
  const { inputs, runtime } = job;
  const { context } = job.input;
  const { gate } = job;
  const weightsEpoch = record?.metrics.weightsEpoch;
  const modelHttp = modelHttpOptions(inputs);
  return evaluateModel(runtime.store, {
    origin: { pipeline: context.pipeline, runId: context.runId, stageId: context.stageId },
    classicBaselines: inputs.classicBaselines,
    bootstrap: { resamples: inputs.bootstrap?.resamples ?? 1000, confidence: inputs.bootstrap?.confidence ?? 0.95 },
    misclassified: inputs.misclassified,
    seed: inputs.seed,
    ...(typeof weightsEpoch === 'number' ? { bestEpoch: weightsEpoch } : {}),
    modelUri: inputs.model,
    datasetUri: inputs.data,
    split: inputs.split,
    slices: inputs.slices,
    baselines,
    ...(gate ? { gate } : {}),
    reportPrefix: joinS3Uri(context.outputPrefix, 'report'),
    registryBucket: context.bucket,
    ...(modelHttp ? { modelHttp } : {}),
    tfBackend: job.tfBackend,
    ...(record ? { history: record.history as unknown as EpochMetrics[] } : {}),
  });
}

/** The `metrics` output: the requested metrics, per slice group, and their intervals by the stage's names. */
function stageMetrics(result: EvaluateResult, requested: readonly string[]): JsonObject {
  const metrics: Record<string, JsonValue> = selectedMetrics(result.metrics, requested);
  if (result.report.slices) {
    const perGroup = requested.filter((name) => name !== 'confusionMatrix');
    metrics.slices = Object.fromEntries(
      Object.entries(result.report.slices).map(([attribute, groups]) => [
        attribute,
        Object.fromEntries(Object.entries(groups).map(([group, m]) => [group, selectedMetrics(m, perGroup)])),
      ]),
    );
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
  return metrics;
}

/** `comparison.model`: how the evaluated model was trained, from its training record. */
function trainedModel(modelUri: string, record: TrainingRecord): JsonValue {
  const trained = record.metrics as { trainSeconds?: number; epochs?: number; trainExamples?: number };
  return toJsonValue({
    uri: modelUri,
    baseModel: record.baseModelResolved ?? record.baseModel,
    trainSeconds: trained.trainSeconds,
    epochs: trained.epochs,
    trainExamples: trained.trainExamples,
    backend: record.backend,
  });
}

/** `comparison.fromScratch`: the from-scratch model's scores and what training it took. */
function fromScratchComparison(evaluated: BaselineEntry, scratch: TrainingResult): JsonValue {
  return toJsonValue({
    model: evaluated.uri,
    ...(evaluated.metrics ? { metrics: headline(evaluated.metrics), accuracy: evaluated.metrics.accuracy } : {}),
    ...(evaluated.comparison ? { comparison: evaluated.comparison } : {}),
    ...(evaluated.error ? { error: evaluated.error } : {}),
    trainSeconds: scratch.epochs.reduce((sum, epoch) => sum + epoch.seconds, 0),
    epochs: scratch.epochs.length,
    trainExamples: scratch.trainExamples,
    backend: scratch.backend,
    engine: scratch.engine,
  });
}

/** The `comparison` output: the model, the baseline, from-scratch and classic baselines, in that order. */
function comparisonOf(
  result: EvaluateResult,
  modelUri: string,
  compared: {
    readonly record: TrainingRecord | undefined;
    readonly scratch: TrainingResult | undefined;
    readonly missingBaseline: JsonObject | undefined;
  },
): Record<string, JsonValue> {
  const comparison: Record<string, JsonValue> = {};
  if (compared.missingBaseline) comparison.baseline = compared.missingBaseline;
  if (compared.record) comparison.model = trainedModel(modelUri, compared.record);
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
  if (compared.scratch && evaluatedScratch)
    comparison.fromScratch = fromScratchComparison(evaluatedScratch, compared.scratch);
  for (const name of CLASSIC_BASELINES) {
    const classic = result.report.baselines?.[name];
    if (classic?.metrics)
      comparison[name] = toJsonValue({
        model: classic.uri,
        metrics: headline(classic.metrics),
        ...(classic.differences ? { difference: classic.differences } : {}),
      });
  }
  return comparison;
}

async function evaluate(job: EvaluateJob): Promise<StageActivityResult> {
  const { runtime, inputs, manifest } = job;
  const { context } = job.input;
  const { model: modelUri, split } = inputs;
  const baseline = await baselineToScore(job);
  const scratch = await trainFromScratch(job);
  const baselines: Record<string, string> = {
    ...(baseline.uri ? { [BASELINE]: baseline.uri } : {}),
    ...(scratch ? { [FROM_SCRATCH]: `${scratch.modelUri}/model.json` } : {}),
  };
  if (runtime.signal.aborted) throw new CancelledError('evaluate was cancelled', {});
  runtime.heartbeat({
    message: `scoring ${modelUri}${Object.keys(baselines).length ? ` and ${Object.keys(baselines).join(', ')}` : ''}`,
    fraction: 0.85,
  });
  const record = await readTrainingRecord(runtime.store, modelUri);
  const result = await scoreModel(job, baselines, record);
  const metrics = stageMetrics(result, inputs.metrics);
  const comparison = comparisonOf(result, modelUri, { record, scratch, missingBaseline: baseline.missingNote });
  const external = await scoreExternalPredictions(runtime.store, inputs.predictions ?? {}, manifest, split, result);
  if (external) comparison.predictions = external;
  comparison.gate = toJsonValue({ passed: result.passed, reasons: result.reasons });
  for (const reason of result.reasons) runtime.log(`gate: ${reason}`);
  runtime.log(
    `${modelUri}: ${formatMetrics({ accuracy: result.metrics.accuracy, f1: result.metrics.f1Macro })} on ` +
      `${result.metrics.count} ${split} examples; gate ${result.passed ? 'passed' : 'not passed'}; report ${result.htmlUri}`,
  );
  runtime.heartbeat({
    message: `accuracy ${result.metrics.accuracy.toFixed(3)}; gate ${result.passed ? 'passed' : 'not passed'}`,
    fraction: 1,
  });
  return {
    outputs: { passed: result.passed, metrics, report: result.htmlUri, comparison },
    artifacts: await listStageArtifacts(runtime.store, context.outputPrefix),
  };
}

export function createEvaluateStage(options: EvaluateStageOptions = {}): StageImplementation {
  const runTraining = options.runTraining ?? runTrainingInChildProcess;
  return async (input: StageActivityInput, runtime: StageRuntime): Promise<StageActivityResult> => {
    const inputs = checkStageInputs('evaluate', input.inputs);
    // Checked before anything trains or downloads: bad gates and empty splits fail at once.
    const gate = gateSpec(inputs.gate);
    const manifest = await readManifest(runtime.store, inputs.data);
    const count = manifest.splits[inputs.split].count;
    if (count === 0)
      throw new InvalidInputError(`dataset ${inputs.data} has no ${inputs.split} examples to evaluate on`, {
        field: 'split',
        split: inputs.split,
      });
    runtime.heartbeat({ message: `evaluating ${inputs.model} on ${count} ${inputs.split} examples`, fraction: 0.05 });
    const tfBackend = options.tfBackend ?? runtime.ml.tfBackend;
    return evaluate({ input, runtime, inputs, manifest, gate, tfBackend, runTraining });
  };
}

/** Cap on one predictions file: probabilities of a large test split, not a dataset. */
const MAX_PREDICTIONS_BYTES = 64 * 1024 * 1024;

/** `predictions` input: each file scored with the model's metrics on the same split, compared with the model. */
async function scoreExternalPredictions(
  store: ObjectStore,
  files: Readonly<Record<string, string>>,
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
