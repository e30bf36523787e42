/**
 * Stage `fine-tune`: adapts a base model to a prepared dataset (new head, freeze/unfreeze, two
 * phases, early stopping), or trains an architecture from random weights (`architecture:`, the
 * pretraining pipelines).
 *
 * Training runs in a child process (src/ml's runner), so this worker keeps heartbeating and
 * polling while the CPU is busy. Checkpoints go to `<outputPrefix>checkpoints/` every N epochs
 * (the newest `keepLast` and the best epoch's are kept). Every attempt, whether Temporal's retry
 * or `fineflow retry`, resumes from the newest checkpoint in that prefix that verifies (complete,
 * same request fingerprint, sha256 of every part): at most the epoch in flight is trained again,
 * however far behind the throttled heartbeat details are. Cancellation kills the child at once.
 *
 * Next to the model it writes `training.json` (a {@link TrainingRecord}): what register-model
 * copies into the model card as lineage.
 */
import { Context } from '@temporalio/activity';
import type { TfBackendPreference } from '../src/config';
import { CancelledError, InvalidInputError } from '../src/core/errors';
import { readManifest } from '../src/ml/data/shards';
import { modelJsonUri } from '../src/ml/models/model-io';
import { parseRegistryUri, resolveVersion } from '../src/ml/models/registry';
import { newestVerifiedCheckpoint, resumeLogLine } from '../src/ml/train/checkpoint';
import { runTrainingInChildProcess, type TrainingRunner } from '../src/ml/train/child-runner';
import { requestKeyOf } from '../src/ml/train/fine-tune';
import type {
  Augmentation,
  EarlyStopping,
  Hyperparameters,
  LearningRateDecay,
  MonitoredMetric,
  OptimizerName,
  TrainingProgress,
  TrainingRequest,
} from '../src/ml/train/types';
import { isHeadLayerName, type ModelArchitecture } from '../src/ml/models/architectures';
import type { JsonObject, JsonValue } from '../src/core/spec/plan-types';
import { datasetVersionOf } from '../src/core/run/run-trigger';
import type { StageActivityInput, StageActivityResult, StageProgress } from '../src/core/run/run-types';
import type { ObjectStore } from '../src/storage/object-store';
import { joinS3Uri } from '../src/core/storage/uri';
import type { StageInputValues } from '../src/sdk/stage-io.generated';
import type { StageImplementation, StageRuntime } from './stage-runner';
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
import { ownValue } from '../src/core/spec/reserved';
import { crossValidate, crossValidationSettings } from './cross-validation';

/** Written beside every model this stage trains. */
export const TRAINING_RECORD_FILE = 'training.json';

/** Lineage and results of a training run, kept beside the model (register-model reads it). */
export interface TrainingRecord {
  readonly format: 'fineflow-training/v1';
  readonly runId: string;
  readonly stageId: string;
  readonly mode: 'fine-tune' | 'from-scratch';
  /** The base model as given, and as resolved (`registry://name@version`). */
  readonly baseModel?: string;
  readonly baseModelResolved?: string;
  readonly architecture?: string;
  readonly dataset: string;
  readonly datasetVersion?: string;
  /** The stage's training settings after `hyperparameters` overrides and defaults. */
  readonly hyperparameters: JsonObject;
  readonly classes: readonly string[];
  readonly inputShape: readonly number[];
  readonly backend: string;
  /** Training engine: graph or eager (src/ml/train/engine.ts). */
  readonly engine: string;
  readonly engineFallbackReason?: string;
  readonly metrics: JsonObject;
  readonly history: readonly JsonObject[];
  /** `crossValidation:`'s estimate (mean and interval per metric, every round), when asked for. */
  readonly crossValidation?: JsonObject;
}

/** The training record beside a model (`…/model.json` or its directory), when there is one. */
export async function readTrainingRecord(store: ObjectStore, modelUri: string): Promise<TrainingRecord | undefined> {
  const jsonUri = modelJsonUri(modelUri);
  const recordUri = `${jsonUri.slice(0, jsonUri.lastIndexOf('/'))}/${TRAINING_RECORD_FILE}`;
  if (!(await store.stat(recordUri))) return undefined;
  const record = await store.getJson<TrainingRecord>(recordUri);
  return record.format === 'fineflow-training/v1' ? record : undefined;
}

/** What the heartbeat details of this stage carry (inside StageProgress.detail). */
export interface FineTuneHeartbeatDetail {
  readonly epoch: number;
  readonly totalEpochs: number;
  readonly checkpoint?: string;
  /** The base model pinned to a version (`registry://name@3`), so a retry fine-tunes the same one. */
  readonly baseModel?: string;
  readonly [key: string]: JsonValue | undefined;
}

/** The checkpoint and pinned base model in the last heartbeat of a previous attempt of this activity, if any. */
export function resumeFromHeartbeat(details: unknown): { readonly checkpoint?: string; readonly baseModel?: string } {
  if (details === null || typeof details !== 'object') return {};
  const detail = (details as StageProgress).detail ?? {};
  const { checkpoint, baseModel } = detail;
  return {
    ...(typeof checkpoint === 'string' && checkpoint.startsWith('s3://') ? { checkpoint } : {}),
    ...(typeof baseModel === 'string' ? { baseModel } : {}),
  };
}

const OPTIMIZERS: Readonly<Record<string, { optimizer: OptimizerName; defaultMomentum?: number } | undefined>> = {
  adam: { optimizer: 'adam' },
  sgd: { optimizer: 'sgd', defaultMomentum: 0 },
  momentum: { optimizer: 'sgd', defaultMomentum: 0.9 },
  rmsprop: { optimizer: 'rmsprop' },
};

const MONITORED: readonly MonitoredMetric[] = [
  'validation.loss',
  'validation.accuracy',
  'train.loss',
  'train.accuracy',
];

/** Keras-style names of layers that hold weights, bottom to top, without the head being replaced. */
const WEIGHT_LAYER_CLASSES = new Set([
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'BatchNormalization',
  'Dense',
  'Conv1D',
]);

interface TopologyLayer {
  readonly class_name?: string;
  readonly config?: { readonly name?: string };
}

/** Names of the base model's weight layers (bottom to top), excluding its head (`head` and `head_hidden…`). */
export function baseWeightLayers(modelJson: unknown): string[] {
  const topology = (
    modelJson as {
      modelTopology?: {
        config?: { layers?: TopologyLayer[] };
        model_config?: { config?: { layers?: TopologyLayer[] } };
      };
    }
  ).modelTopology;
  const layers = topology?.config?.layers ?? topology?.model_config?.config?.layers ?? [];
  return layers
    .filter(
      (layer) =>
        WEIGHT_LAYER_CLASSES.has(layer.class_name ?? '') && layer.config?.name && !isHeadLayerName(layer.config.name),
    )
    .map((layer) => layer.config?.name as string);
}

/** A number of layers that is at least every layer of any model we train: "all of them". */
const ALL_LAYERS = 1_000_000;

export interface TrainingPlan {
  readonly hyperparameters: Hyperparameters;
}

/**
 * Translate the stage's training settings (the spec's names) into the ML library's
 * hyperparameters. Throws InvalidInputError naming the field for a value the loop cannot run.
 */
export function trainingPlan(
  settings: FineTuneSettings,
  context: {
    readonly classes: readonly string[];
    readonly featureShape: readonly number[];
    readonly baseLayers: readonly string[] | undefined;
    readonly fromScratch: boolean;
  },
): TrainingPlan {
  const epochs = settings.epochs as number;
  const learningRate = settings.learningRate as number;
  const optimizerName = String(settings.optimizer ?? 'adam');
  const optimizer = OPTIMIZERS[optimizerName];
  if (!optimizer)
    throw new InvalidInputError(
      `optimizer ${optimizerName} is not supported by the training loop; use adam, sgd, momentum or rmsprop`,
      { field: 'optimizer', value: optimizerName },
    );
  const momentum = optionalNumber(settings, 'momentum') ?? optimizer.defaultMomentum;

  let decay: LearningRateDecay | undefined;
  const decayInput = objectInput(settings, 'decay');
  // Absent: cosine ends at 1% of the rate, exponential and step have no floor (src/ml/train/schedule.ts).
  const floor = typeof decayInput.minLearningRate === 'number' ? { minLearningRate: decayInput.minLearningRate } : {};
  switch (decayInput.type) {
    case 'exponential':
      decay = { kind: 'exponential', rate: (decayInput.rate as number | undefined) ?? 0.5, ...floor };
      break;
    case 'cosine':
      decay = { kind: 'cosine', ...floor };
      break;
    case 'step':
      decay = {
        kind: 'step',
        everyEpochs: (decayInput.everyEpochs as number | undefined) ?? 1,
        factor: (decayInput.rate as number | undefined) ?? 0.5,
        ...floor,
      };
      break;
    default:
      decay = undefined;
  }

  // Freezing. The loop trains the new head plus `unfreezeLayers` top weight layers, never `freezeLayers`.
  let unfreezeLayers: number | readonly string[] = 0;
  let freezeLayers: readonly string[] | undefined;
  const freeze = settings.freeze ?? 'all';
  const unfreeze = settings.unfreeze;
  if (context.fromScratch) {
    unfreezeLayers = ALL_LAYERS;
  } else if (freeze === 'none') {
    unfreezeLayers = ALL_LAYERS;
  } else if (freeze === 'all') {
    unfreezeLayers = typeof unfreeze === 'number' ? unfreeze : Array.isArray(unfreeze) ? (unfreeze as string[]) : 0;
  } else if (typeof freeze === 'number') {
    if (!context.baseLayers)
      throw new InvalidInputError(
        'freeze: a layer count needs a base model in the store (s3:// or registry://) to count its layers; give layer names instead',
        { field: 'freeze' },
      );
    unfreezeLayers = Math.max(0, context.baseLayers.length - freeze);
  } else if (Array.isArray(freeze)) {
    const names = freeze as string[];
    const unknown = context.baseLayers ? names.filter((name) => !context.baseLayers?.includes(name)) : [];
    if (unknown.length > 0)
      throw new InvalidInputError(
        `freeze: the base model has no weight layer ${unknown.join(', ')}; its layers are ${context.baseLayers?.join(', ')}`,
        { field: 'freeze', unknown },
      );
    freezeLayers = names;
    unfreezeLayers = ALL_LAYERS;
  }

  let headEpochs: number | undefined;
  let fineTuneLearningRate: number | undefined;
  const twoPhase = settings.twoPhase;
  if (twoPhase === true || (twoPhase !== null && typeof twoPhase === 'object' && !Array.isArray(twoPhase))) {
    const options = twoPhase === true ? {} : (twoPhase as JsonObject);
    headEpochs = (options.headEpochs as number | undefined) ?? 3;
    if (headEpochs >= epochs)
      throw new InvalidInputError(
        `twoPhase.headEpochs (${headEpochs}) must be less than epochs (${epochs}), or there is no second phase`,
        { field: 'twoPhase.headEpochs' },
      );
    const phaseTwoUnfreeze = options.unfreeze ?? 2;
    unfreezeLayers = typeof phaseTwoUnfreeze === 'number' ? phaseTwoUnfreeze : (phaseTwoUnfreeze as string[]);
    fineTuneLearningRate = learningRate * ((options.learningRateFactor as number | undefined) ?? 0.1);
  }

  let earlyStopping: EarlyStopping | undefined;
  if (settings.earlyStopping !== undefined && settings.earlyStopping !== null) {
    const stopping = objectInput(settings, 'earlyStopping');
    const monitor = String(stopping.monitor ?? 'validation.loss');
    if (!(MONITORED as readonly string[]).includes(monitor)) {
      throw new InvalidInputError(
        `earlyStopping.monitor ${monitor} is not tracked by the training loop; use one of ${MONITORED.join(', ')}`,
        { field: 'earlyStopping.monitor', value: monitor },
      );
    }
    earlyStopping = {
      monitor: monitor as MonitoredMetric,
      patience: (stopping.patience as number | undefined) ?? 3,
      minDelta: (stopping.minDelta as number | undefined) ?? 0,
      restoreBestWeights: stopping.restoreBest !== false,
    };
  }

  let classWeights: Hyperparameters['classWeights'];
  const weights = settings.classWeights;
  if (weights === 'balanced') classWeights = 'balanced';
  else if (weights !== null && typeof weights === 'object' && !Array.isArray(weights)) {
    const byName = weights as JsonObject;
    const unknown = Object.keys(byName).filter((name) => !context.classes.includes(name));
    if (unknown.length > 0)
      throw new InvalidInputError(
        `classWeights names unknown classes ${unknown.join(', ')}; the dataset's classes are ${context.classes.join(', ')}`,
        { field: 'classWeights', unknown },
      );
    // Class names come from the dataset: look them up as own keys only (a class named `constructor`).
    classWeights = context.classes.map((name) =>
      typeof ownValue(byName, name) === 'number' ? (ownValue(byName, name) as number) : 1,
    );
  }

  let augmentation: Augmentation | undefined;
  const augment = objectInput(settings, 'augmentation');
  if (Object.keys(augment).length > 0) {
    const imageSize = Math.min(context.featureShape[0] ?? 0, context.featureShape[1] ?? 0);
    const translate = typeof augment.translate === 'number' ? augment.translate : 0;
    const positive = (name: 'rotate' | 'zoom' | 'brightness' | 'noise'): { [key: string]: number } => {
      const value = augment[name];
      return typeof value === 'number' && value > 0 ? { [name]: value } : {};
    };
    augmentation = {
      ...(translate > 0 ? { shift: Math.max(1, Math.round(translate * imageSize)) } : {}),
      ...(augment.flipHorizontal === true ? { flipHorizontal: true } : {}),
      ...(augment.flipVertical === true ? { flipVertical: true } : {}),
      ...positive('rotate'),
      ...positive('zoom'),
      ...positive('brightness'),
      ...positive('noise'),
    };
  }
  const headUnits = Array.isArray(settings.headUnits) ? (settings.headUnits as number[]) : [];

  const hyperparameters: Hyperparameters = {
    epochs,
    batchSize: settings.batchSize as number,
    learningRate,
    optimizer: optimizer.optimizer,
    ...(momentum !== undefined && optimizer.optimizer !== 'adam' ? { momentum } : {}),
    ...(typeof settings.warmupEpochs === 'number' && settings.warmupEpochs > 0
      ? { warmupEpochs: settings.warmupEpochs }
      : {}),
    ...(decay ? { decay } : {}),
    unfreezeLayers,
    ...(freezeLayers ? { freezeLayers } : {}),
    ...(headEpochs !== undefined ? { headEpochs } : {}),
    ...(fineTuneLearningRate !== undefined ? { fineTuneLearningRate } : {}),
    ...(earlyStopping ? { earlyStopping } : {}),
    ...(classWeights ? { classWeights } : {}),
    ...(augmentation && Object.keys(augmentation).length > 0 ? { augmentation } : {}),
    ...(typeof settings.dropout === 'number' && settings.dropout > 0 ? { dropout: settings.dropout } : {}),
    ...(typeof settings.l2 === 'number' && settings.l2 > 0 ? { l2: settings.l2 } : {}),
    ...(headUnits.length > 0 ? { headUnits } : {}),
    seed: (settings.seed as number | undefined) ?? 0,
  };
  return { hyperparameters };
}

/** The `fine-tune` stage's inputs as its implementation reads them (checked, defaults filled in). */
export type FineTuneSettings = StageInputValues['fine-tune'];

/** `fine-tune` inputs with `hyperparameters` merged over the top-level settings, validated again. */
export function effectiveSettings(rawInputs: JsonObject): FineTuneSettings {
  const checked = checkStageInputs('fine-tune', rawInputs);
  const overrides = checked.hyperparameters ?? {};
  if (Object.keys(overrides).length === 0) return checked;
  const { hyperparameters: _overrides, ...rest } = checked;
  // Validate the merged settings, so a bad override (e.g. from a sweep) is named like any input.
  return checkStageInputs('fine-tune', { ...rest, ...overrides });
}

/** A base model as training reads it: `registry://name@alias` pinned to a version, and its model.json in the store. */
export interface PinnedBaseModel {
  readonly pinned: string;
  /** Absent for a base outside the store (http(s)://), whose layers cannot be listed before training. */
  readonly modelJsonUri?: string;
}

/**
 * Pin a `registry://name@alias` base to its current version: a retry (or every segment of every
 * sweep trial) must fine-tune the same base even if the alias moved meanwhile.
 */
export async function pinBaseModel(store: ObjectStore, model: string, bucket: string): Promise<PinnedBaseModel> {
  if (!model.startsWith('registry://'))
    return { pinned: model, ...(model.startsWith('s3://') ? { modelJsonUri: modelJsonUri(model) } : {}) };
  const reference = parseRegistryUri(model);
  const version = await resolveVersion(store, bucket, reference);
  return {
    pinned: `registry://${reference.name}@${version}`,
    modelJsonUri: `s3://${bucket}/models/${reference.name}/${version}/model.json`,
  };
}

/**
 * The weight layers of a pinned base in the store (undefined for one outside it). Throws
 * InvalidInputError naming `model` (shown as `shownAs`) when the store has no such model.
 */
export async function baseModelLayers(
  store: ObjectStore,
  base: PinnedBaseModel,
  shownAs: string,
): Promise<string[] | undefined> {
  if (!base.modelJsonUri) return undefined;
  if (!(await store.stat(base.modelJsonUri)))
    throw new InvalidInputError(`base model ${shownAs} does not exist (${base.modelJsonUri})`, {
      field: 'model',
      uri: shownAs,
    });
  return baseWeightLayers(await store.getJson(base.modelJsonUri));
}

function heartbeatDetails(): unknown {
  try {
    return Context.current().info.heartbeatDetails;
  } catch {
    return undefined; // not inside an activity (direct calls in tests)
  }
}

export interface FineTuneStageOptions {
  /** Default: {@link runTrainingInChildProcess}. Tests with an in-memory store train in-process. */
  readonly runTraining?: TrainingRunner;
  /** TensorFlow backend training runs on. Default: the worker's (`runtime.ml.tfBackend`). */
  readonly tfBackend?: TfBackendPreference;
}

/** The fine-tune stage, with its training runner injected. */
export function createFineTuneStage(options: FineTuneStageOptions = {}): StageImplementation {
  const runTraining = options.runTraining ?? runTrainingInChildProcess;
  return async (input: StageActivityInput, runtime: StageRuntime): Promise<StageActivityResult> => {
    const settings = effectiveSettings(input.inputs);
    const { context } = input;
    const store = runtime.store;
    const datasetUri = requiredString(settings, 'data');
    const manifest = await readManifest(store, datasetUri);
    const baseInput = optionalString(settings, 'model');
    const architectureInput = optionalString(settings, 'architecture');
    const fromScratch = baseInput === undefined;
    const previous = resumeFromHeartbeat(heartbeatDetails());

    let base: PinnedBaseModel | undefined;
    let baseLayers: string[] | undefined;
    if (baseInput !== undefined) {
      base = await pinBaseModel(store, previous.baseModel ?? baseInput, context.bucket);
      baseLayers = await baseModelLayers(store, base, baseInput);
    }
    let architecture: ModelArchitecture | undefined;
    if (architectureInput === 'small-cnn' || architectureInput === 'small-cnn-global-pool') {
      const [height, width, channels] = manifest.featureShape;
      if (manifest.featureShape.length !== 3 || height === undefined || width === undefined || channels === undefined) {
        throw new InvalidInputError(
          `architecture small-cnn needs image data ([height, width, channels]); ${datasetUri} has examples of shape [${manifest.featureShape.join(', ')}]`,
          { field: 'architecture' },
        );
      }
      architecture =
        architectureInput === 'small-cnn'
          ? { kind: 'cnn', inputShape: [height, width, channels] }
          : // Global max pooling: a defect counts wherever it sits on the surface.
            { kind: 'cnn', inputShape: [height, width, channels], filters: [8, 16], featureUnits: 32, pooling: 'max' };
    } else if (architectureInput === 'mlp') {
      architecture = { kind: 'mlp', inputShape: [manifest.featureShape.reduce((a, b) => a * b, 1)] };
    }

    const plan = trainingPlan(settings, {
      classes: manifest.classes,
      featureShape: manifest.featureShape,
      baseLayers,
      fromScratch,
    });
    const checkpointOptions = objectInput(settings, 'checkpoint');
    const checkpointPrefix = `${context.outputPrefix}checkpoints`;
    const modelDirectory = joinS3Uri(context.outputPrefix, 'model/');
    const request: TrainingRequest = {
      mode: fromScratch ? 'from-scratch' : 'fine-tune',
      ...(base ? { baseModelUri: base.pinned } : {}),
      ...(architecture ? { architecture } : {}),
      datasetUri,
      outputUri: modelDirectory.replace(/\/$/, ''),
      checkpoint: {
        uri: checkpointPrefix,
        everyEpochs: (checkpointOptions.everyEpochs as number | undefined) ?? 1,
        keepLast: (checkpointOptions.keepLast as number | undefined) ?? 2,
      },
      hyperparameters: plan.hyperparameters,
      registryBucket: context.bucket,
      ...(modelHttpOptions(input.inputs) ? { modelHttp: modelHttpOptions(input.inputs) } : {}),
      tfBackend: options.tfBackend ?? runtime.ml.tfBackend,
      engine: runtime.ml.trainEngine,
    };

    // Resume from the newest verified checkpoint this stage wrote for this very request (after
    // `--set epochs=…` the old checkpoints do not apply). The last heartbeat only hints: heartbeats
    // are throttled, so the one that reached Temporal can be many epochs behind the store.
    const requestKey = requestKeyOf(request);
    const found = await newestVerifiedCheckpoint(store, checkpointPrefix, {
      requestKey,
      ...(previous.checkpoint ? { hint: previous.checkpoint } : {}),
    });
    const resumeFrom = found?.directory;
    if (found) {
      const hinted = previous.checkpoint
        ? `; the last heartbeat of the previous attempt named ${previous.checkpoint}`
        : '';
      runtime.log(
        resumeLogLine(found.directory, found.state.epochsDone, `the newest verified checkpoint in the store${hinted}`),
      );
    } else if (previous.checkpoint) {
      runtime.log(
        `not resuming from ${previous.checkpoint}: no checkpoint in the store verifies for these inputs; training from the start`,
      );
    }

    const crossValidationInput = crossValidationSettings(settings);
    const crossValidation = crossValidationInput
      ? await crossValidate(request, crossValidationInput, context.outputPrefix, runtime, runTraining)
      : undefined;

    let lastCheckpoint: string | undefined = resumeFrom;
    const totalEpochs = plan.hyperparameters.epochs;
    const pinned: JsonObject = base ? { baseModel: base.pinned } : {};
    runtime.heartbeat({
      message: resumeFrom ? `resuming from ${resumeFrom}` : `starting ${request.mode} (${totalEpochs} epochs)`,
      fraction: 0,
      detail: { epoch: 0, totalEpochs, ...pinned, ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}) },
    });
    const onProgress = (progress: TrainingProgress): void => {
      if (progress.checkpointUri) lastCheckpoint = progress.checkpointUri;
      const m = progress.metrics;
      const detail: FineTuneHeartbeatDetail = {
        epoch: progress.epoch,
        totalEpochs: progress.totalEpochs,
        phase: progress.phase,
        trainLoss: m.trainLoss,
        trainAccuracy: m.trainAccuracy,
        ...(m.validationLoss !== undefined ? { validationLoss: m.validationLoss } : {}),
        ...(m.validationAccuracy !== undefined ? { validationAccuracy: m.validationAccuracy } : {}),
        samplesPerSecond: m.samplesPerSecond,
        ...pinned,
        ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}),
      };
      const message = `epoch ${progress.epoch}/${progress.totalEpochs} ${progress.phase} ${formatMetrics({ loss: m.trainLoss, acc: m.trainAccuracy, val_loss: m.validationLoss, val_acc: m.validationAccuracy })}`;
      runtime.log(message + (progress.checkpointUri ? ` checkpoint ${progress.checkpointUri}` : ''));
      runtime.heartbeat({
        message,
        fraction: Math.min(1, progress.epoch / Math.max(1, progress.totalEpochs)),
        detail: toJsonValue(detail) as JsonObject,
      });
    };

    const result = await runTraining(
      { ...request, ...(resumeFrom ? { resumeFrom } : {}) },
      {
        onProgress,
        signal: runtime.signal,
        onLog: (line: string) => runtime.log(`[training] ${line}`),
        ...memoryLimit(runtime.ml),
      },
    );
    // Cancelled as training returned: write nothing more (the run is ending).
    if (runtime.signal.aborted)
      throw new CancelledError(`training finished but the stage was cancelled: ${String(runtime.signal.reason)}`, {});

    // Every metric describes the saved weights (weightsEpoch): the best epoch's when early
    // stopping restored them, else the last epoch's. bestEpoch is the monitor's best, for reference.
    const saved =
      result.epochs.find((epoch) => epoch.epoch === result.weightsEpoch) ?? result.epochs[result.epochs.length - 1];
    const metrics: JsonObject = toJsonValue({
      train: { loss: saved?.trainLoss, accuracy: saved?.trainAccuracy },
      validation: { loss: result.final.validationLoss, accuracy: result.final.validationAccuracy },
      weightsEpoch: result.weightsEpoch,
      bestEpoch: result.bestEpoch,
      epochs: result.epochs.length,
      epochsTrained: result.epochs.length - result.resumedFromEpoch,
      resumedFromEpoch: result.resumedFromEpoch,
      stoppedEarly: result.stoppedEarly,
      trainExamples: result.trainExamples,
      trainSeconds: result.epochs.reduce((sum, epoch) => sum + epoch.seconds, 0),
      seconds: result.seconds,
      samplesPerSecond: result.samplesPerSecond,
    }) as JsonObject;
    const history = result.epochs.map((epoch) => toJsonValue(epoch) as JsonObject);
    // The version prepare-data actually read (a run's trigger only says which one it asked for).
    const datasetVersion = manifest.sourceVersion ?? datasetVersionOf(context.trigger);
    const record: TrainingRecord = {
      format: 'fineflow-training/v1',
      runId: context.runId,
      stageId: context.stageId,
      mode: request.mode,
      ...(baseInput ? { baseModel: baseInput } : {}),
      ...(base ? { baseModelResolved: base.pinned } : {}),
      ...(architectureInput ? { architecture: architectureInput } : {}),
      dataset: datasetUri,
      ...(datasetVersion ? { datasetVersion } : {}),
      hyperparameters: toJsonValue({
        ...settings,
        data: undefined,
        model: undefined,
        architecture: undefined,
      }) as JsonObject,
      classes: result.classes,
      inputShape: manifest.featureShape,
      backend: result.backend,
      engine: result.engine,
      ...(result.engineFallbackReason ? { engineFallbackReason: result.engineFallbackReason } : {}),
      metrics,
      history,
      ...(crossValidation ? { crossValidation } : {}),
    };
    await store.putJson(joinS3Uri(modelDirectory, TRAINING_RECORD_FILE), record);
    runtime.log(
      `trained ${result.epochs.length - result.resumedFromEpoch} epoch(s)${result.resumedFromEpoch ? ` after resuming at epoch ${result.resumedFromEpoch}` : ''} on ${result.backend} (${result.engine} engine, ${Math.round(result.samplesPerSecond)} examples/s) in ${result.seconds.toFixed(1)} s; model ${result.modelUri}`,
    );
    if (result.engineFallbackReason) runtime.log(`graph engine not used: ${result.engineFallbackReason}`);
    runtime.heartbeat({
      message: `trained on ${result.backend}: ${formatMetrics({ val_acc: result.final.validationAccuracy, val_loss: result.final.validationLoss })}`,
      fraction: 1,
    });

    const checkpoint = result.lastCheckpointUri ?? lastCheckpoint;
    return {
      outputs: {
        model: modelJsonUri(result.modelUri),
        metrics,
        history,
        backend: result.backend,
        engine: result.engine,
        ...(checkpoint ? { checkpoint } : {}),
        ...(crossValidation ? { crossValidation } : {}),
      },
      artifacts: await listStageArtifacts(store, context.outputPrefix),
    };
  };
}

export const fineTuneStage: StageImplementation = createFineTuneStage();
