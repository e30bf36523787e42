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
 * A `registry://name@alias` base is pinned once per run's stage and recorded beside the checkpoints
 * (activities/base-model-pin.ts), so every attempt trains on that version and its checkpoints still apply.
 *
 * Next to the model it writes `training.json` (a {@link TrainingRecord}): what register-model
 * copies into the model card as lineage.
 */
import { Context } from '@temporalio/activity';
import type { TfBackendPreference } from '../src/config';
import { CancelledError, InvalidInputError } from '../src/core/errors';
import { readManifest, type DatasetManifest } from '../src/ml/data/shards';
import { modelJsonUri } from '../src/ml/models/model-io';
import { parseRegistryUri, resolveVersion } from '../src/ml/models/registry';
import { newestVerifiedCheckpoint, resumeLogLine } from '../src/ml/train/checkpoint';
import { listStageLogs, readStageLog } from '../src/client/run-logs';
import { runTrainingInChildProcess, type TrainingRunner } from '../src/ml/train/child-runner';
import { requestKeyOf } from '../src/ml/train/fine-tune';
import { decideHead } from '../src/ml/train/head-choice';
import { readPreprocessingBeside } from '../src/ml/data/preprocessing-file';
import { engineFallbackWarning } from '../src/ml/graph/graph-addon';
import type {
  Augmentation,
  EarlyStopping,
  EpochMetrics,
  Hyperparameters,
  LearningRateDecay,
  OptimizerName,
  TrainingProgress,
  TrainingRequest,
  TrainingResult,
} from '../src/ml/train/types';
import { describeArchitecture, isHeadLayerName, type ModelArchitecture } from '../src/ml/models/architectures';
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
  trainingFence,
  toJsonValue,
} from './ml-stage-support';
import { ownValue } from '../src/core/spec/reserved';
import { trainingPhaseLabel } from '../src/ml/eval/epoch-markers';
import { crossValidate, crossValidationSettings } from './cross-validation';
import { needsPin, readBasePin, writeBasePin } from './base-model-pin';
import { formatHumanDuration } from '../src/core/spec/durations';

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
  return layers.flatMap((layer) => {
    const name = layer.config?.name;
    return name && WEIGHT_LAYER_CLASSES.has(layer.class_name ?? '') && !isHeadLayerName(name) ? [name] : [];
  });
}

/** A number of layers that is at least every layer of any model we train: "all of them". */
const ALL_LAYERS = 1_000_000;

export interface TrainingPlan {
  readonly hyperparameters: Hyperparameters;
}

/** What trainingPlan needs to know about the data and the base model beyond the settings. */
export interface TrainingPlanContext {
  readonly classes: readonly string[];
  readonly featureShape: readonly number[];
  readonly baseLayers: readonly string[] | undefined;
  readonly fromScratch: boolean;
}

type LayerSelection = Pick<Hyperparameters, 'unfreezeLayers' | 'freezeLayers'>;

/** The loop's optimizer for the spec's name (`momentum` is SGD with momentum 0.9 unless `momentum:` says). */
function optimizerOf(settings: FineTuneSettings): Pick<Hyperparameters, 'optimizer' | 'momentum'> {
  const optimizer = OPTIMIZERS[settings.optimizer];
  if (!optimizer)
    throw new InvalidInputError(
      `optimizer ${settings.optimizer} is not supported by the training loop; use adam, sgd, momentum or rmsprop`,
      { field: 'optimizer', value: settings.optimizer },
    );
  const momentum = settings.momentum ?? optimizer.defaultMomentum;
  return {
    optimizer: optimizer.optimizer,
    ...(momentum !== undefined && optimizer.optimizer !== 'adam' ? { momentum } : {}),
  };
}

function learningRateDecay(decay: FineTuneSettings['decay']): LearningRateDecay | undefined {
  // Absent: cosine ends at 1% of the rate, exponential and step have no floor (src/ml/train/schedule.ts).
  const floor = decay?.minLearningRate !== undefined ? { minLearningRate: decay.minLearningRate } : {};
  switch (decay?.type) {
    case 'exponential':
      return { kind: 'exponential', rate: decay.rate, ...floor };
    case 'cosine':
      return { kind: 'cosine', ...floor };
    case 'step':
      return { kind: 'step', everyEpochs: decay.everyEpochs, factor: decay.rate, ...floor };
    default:
      return undefined;
  }
}

/** Freezing: the loop trains the new head plus `unfreezeLayers` top weight layers, never `freezeLayers`. */
function layerSelection(settings: FineTuneSettings, context: TrainingPlanContext): LayerSelection {
  const { freeze, unfreeze } = settings;
  if (context.fromScratch || freeze === 'none') return { unfreezeLayers: ALL_LAYERS };
  if (freeze === 'all') return { unfreezeLayers: unfreeze ?? 0 };
  if (typeof freeze === 'number') {
    if (!context.baseLayers)
      throw new InvalidInputError(
        'freeze: a layer count needs a base model in the store (s3:// or registry://) to count its layers; give ' +
          'layer names instead',
        { field: 'freeze' },
      );
    return { unfreezeLayers: Math.max(0, context.baseLayers.length - freeze) };
  }
  const unknown = context.baseLayers ? freeze.filter((name) => !context.baseLayers?.includes(name)) : [];
  if (unknown.length > 0)
    throw new InvalidInputError(
      `freeze: the base model has no weight layer ${unknown.join(', ')}; its layers are ` +
        `${context.baseLayers?.join(', ')}`,
      { field: 'freeze', unknown },
    );
  return { freezeLayers: freeze, unfreezeLayers: ALL_LAYERS };
}

/** `twoPhase:` — the head trains alone for `headEpochs`, then the top of the base joins at a lower rate. */
function twoPhasePlan(
  settings: FineTuneSettings,
): Pick<Hyperparameters, 'headEpochs' | 'fineTuneLearningRate' | 'unfreezeLayers'> | undefined {
  const { twoPhase, epochs } = settings;
  if (twoPhase === undefined || twoPhase === false) return undefined;
  const options = twoPhase === true ? { headEpochs: 3, unfreeze: 2, learningRateFactor: 0.1 } : twoPhase;
  if (options.headEpochs >= epochs)
    throw new InvalidInputError(
      `twoPhase.headEpochs (${options.headEpochs}) must be less than epochs (${epochs}), or there is no second phase`,
      { field: 'twoPhase.headEpochs' },
    );
  return {
    headEpochs: options.headEpochs,
    unfreezeLayers: options.unfreeze,
    fineTuneLearningRate: settings.learningRate * options.learningRateFactor,
  };
}

function earlyStoppingOf(stopping: FineTuneSettings['earlyStopping']): EarlyStopping | undefined {
  if (!stopping) return undefined;
  return {
    monitor: stopping.monitor,
    patience: stopping.patience,
    minDelta: stopping.minDelta,
    restoreBestWeights: stopping.restoreBest !== false,
  };
}

/** `classWeights:` as the loop's per-class list (dataset order); names must be the dataset's classes. */
function classWeightsOf(
  weights: FineTuneSettings['classWeights'],
  classes: readonly string[],
): Hyperparameters['classWeights'] {
  if (weights === 'balanced') return 'balanced';
  if (weights === undefined || weights === 'none') return undefined;
  const unknown = Object.keys(weights).filter((name) => !classes.includes(name));
  if (unknown.length > 0)
    throw new InvalidInputError(
      `classWeights names unknown classes ${unknown.join(', ')}; the dataset's classes are ${classes.join(', ')}`,
      { field: 'classWeights', unknown },
    );
  // Class names come from the dataset: look them up as own keys only (a class named `constructor`).
  return classes.map((name) => ownValue(weights, name) ?? 1);
}

/** `augmentation:` with only the transforms it turns on; `translate` becomes a shift in pixels. */
function augmentationOf(
  augment: FineTuneSettings['augmentation'],
  featureShape: readonly number[],
): Augmentation | undefined {
  if (!augment) return undefined;
  const imageSize = Math.min(featureShape[0] ?? 0, featureShape[1] ?? 0);
  const positive = (name: 'rotate' | 'zoom' | 'brightness' | 'noise'): { [key: string]: number } =>
    augment[name] > 0 ? { [name]: augment[name] } : {};
  const augmentation: Augmentation = {
    ...(augment.translate > 0 ? { shift: Math.max(1, Math.round(augment.translate * imageSize)) } : {}),
    ...(augment.flipHorizontal ? { flipHorizontal: true } : {}),
    ...(augment.flipVertical ? { flipVertical: true } : {}),
    ...positive('rotate'),
    ...positive('zoom'),
    ...positive('brightness'),
    ...positive('noise'),
  };
  return Object.keys(augmentation).length > 0 ? augmentation : undefined;
}

/**
 * Translate the stage's training settings (the spec's names) into the ML library's
 * hyperparameters. Throws InvalidInputError naming the field for a value the loop cannot run.
 */
export function trainingPlan(settings: FineTuneSettings, context: TrainingPlanContext): TrainingPlan {
  const optimizer = optimizerOf(settings);
  const layers = layerSelection(settings, context);
  const twoPhase = twoPhasePlan(settings);
  const decay = learningRateDecay(settings.decay);
  const earlyStopping = earlyStoppingOf(settings.earlyStopping);
  const classWeights = classWeightsOf(settings.classWeights, context.classes);
  const augmentation = augmentationOf(settings.augmentation, context.featureShape);
  const hyperparameters: Hyperparameters = {
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    ...optimizer,
    ...(settings.warmupEpochs > 0 ? { warmupEpochs: settings.warmupEpochs } : {}),
    ...(decay ? { decay } : {}),
    unfreezeLayers: twoPhase?.unfreezeLayers ?? layers.unfreezeLayers,
    ...(layers.freezeLayers ? { freezeLayers: layers.freezeLayers } : {}),
    ...(twoPhase ? { headEpochs: twoPhase.headEpochs, fineTuneLearningRate: twoPhase.fineTuneLearningRate } : {}),
    ...(earlyStopping ? { earlyStopping } : {}),
    ...(classWeights ? { classWeights } : {}),
    ...(augmentation ? { augmentation } : {}),
    ...(settings.dropout > 0 ? { dropout: settings.dropout } : {}),
    ...(settings.l2 > 0 ? { l2: settings.l2 } : {}),
    ...(settings.headUnits.length > 0 ? { headUnits: settings.headUnits } : {}),
    seed: settings.seed,
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

/**
 * Whether training keeps the base's head (`head:`, src/ml/train/head-choice.ts), decided from the classes the base
 * records beside it (preprocessing.json) and the dataset's; logged, so a user sees which and why.
 */
export async function headPlan(
  store: ObjectStore,
  settings: Pick<FineTuneSettings, 'head' | 'headUnits' | 'dropout'>,
  base: PinnedBaseModel,
  dataClasses: readonly string[],
  log: (line: string) => void,
): Promise<Pick<TrainingRequest, 'keepHead'>> {
  const baseClasses = base.modelJsonUri
    ? (await readPreprocessingBeside(store, base.modelJsonUri))?.classes
    : undefined;
  const decision = decideHead(settings.head, {
    baseClasses,
    dataClasses,
    newHeadSettings: [
      ...(settings.headUnits.length > 0 ? ['headUnits'] : []),
      ...(settings.dropout > 0 ? ['dropout'] : []),
    ],
  });
  log(
    decision.keep
      ? `head: keeping the base model's head: ${decision.reason}`
      : `head: a new head with random weights (${decision.reason})`,
  );
  return decision.keep ? { keepHead: { classOrder: decision.classOrder } } : {};
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

/** What every step of one fine-tune attempt reads. */
interface FineTuneJob {
  readonly input: StageActivityInput;
  readonly runtime: StageRuntime;
  readonly settings: FineTuneSettings;
  readonly manifest: DatasetManifest;
  /** Absent when training from scratch (`architecture:`). */
  readonly base: PinnedBaseModel | undefined;
  readonly request: TrainingRequest;
  /** `<outputPrefix>model/`: the model and its training record. */
  readonly modelDirectory: string;
  /** `<outputPrefix>checkpoints`: where training checkpoints go and an attempt resumes from. */
  readonly checkpoints: string;
}

/**
 * The built-in architecture `architecture:` names, shaped for the dataset's examples and by the settings that shape a
 * network trained from scratch: an mlp's `hiddenLayers` × `hiddenUnits` (neither set keeps the default [32, 16]), a
 * small CNN's `convFilters` and `denseUnits` (default [8, 16] and 32). Shared by fine-tune and sweep trials.
 */
export function architectureFor(
  settings: Pick<FineTuneSettings, 'architecture' | 'hiddenLayers' | 'hiddenUnits' | 'convFilters' | 'denseUnits'>,
  manifest: DatasetManifest,
  datasetUri: string,
): ModelArchitecture | undefined {
  const { architecture, hiddenLayers, hiddenUnits } = settings;
  if (architecture === 'mlp') {
    const inputShape: [number] = [manifest.featureShape.reduce((a, b) => a * b, 1)];
    if (hiddenLayers === undefined && hiddenUnits === undefined) return { kind: 'mlp', inputShape };
    return { kind: 'mlp', inputShape, hidden: new Array<number>(hiddenLayers ?? 2).fill(hiddenUnits ?? 32) };
  }
  if (architecture === undefined) return undefined;
  const [height, width, channels] = manifest.featureShape;
  if (manifest.featureShape.length !== 3 || height === undefined || width === undefined || channels === undefined) {
    throw new InvalidInputError(
      `architecture ${architecture} needs image data ([height, width, channels]); ${datasetUri} has examples of ` +
        `shape [${manifest.featureShape.join(', ')}]`,
      { field: 'architecture' },
    );
  }
  const shape = {
    ...(settings.convFilters !== undefined ? { filters: settings.convFilters } : {}),
    ...(settings.denseUnits !== undefined ? { featureUnits: settings.denseUnits } : {}),
  };
  const blocks = settings.convFilters?.length ?? 2;
  // Every block halves the image (2×2 pooling, rounding down): the last one needs at least one pixel left.
  if (Math.min(height, width) < 2 ** blocks)
    throw new InvalidInputError(
      `convFilters: ${blocks} conv blocks halve the image ${blocks} times, which needs at least ` +
        `${2 ** blocks}×${2 ** blocks} pixels; ${datasetUri} has ${height}×${width}`,
      { field: 'convFilters' },
    );
  return architecture === 'small-cnn'
    ? { kind: 'cnn', inputShape: [height, width, channels], ...shape }
    : // Global max pooling: a defect counts wherever it sits on the surface.
      {
        kind: 'cnn',
        inputShape: [height, width, channels],
        filters: [8, 16],
        featureUnits: 32,
        pooling: 'max',
        ...shape,
      };
}

/**
 * The base pinned to the version this run's stage pinned first: the one recorded under the stage's output prefix (any
 * earlier attempt, also a new activity after a dependency outage or `fineflow retry`), else the one in the previous
 * attempt's heartbeat, else the current one, which is then recorded before anything trains on it.
 */
async function pinnedBase(
  runtime: StageRuntime,
  context: StageActivityInput['context'],
  model: string,
  fromHeartbeat: string | undefined,
): Promise<PinnedBaseModel> {
  const recorded = await readBasePin(runtime.store, context.outputPrefix, model);
  const base = await pinBaseModel(runtime.store, recorded ?? fromHeartbeat ?? model, context.bucket);
  if (recorded)
    runtime.log(`base model ${model}: ${recorded}, as pinned by this stage's first attempt in run ${context.runId}`);
  else if (needsPin(model)) await writeBasePin(runtime.store, context.outputPrefix, model, base.pinned);
  return base;
}

/**
 * Everything training needs, checked before it starts: the settings, the dataset's manifest, the
 * base model pinned (to the version a previous attempt pinned, if any) and the training request.
 */
async function planFineTune(
  input: StageActivityInput,
  runtime: StageRuntime,
  options: FineTuneStageOptions,
  pinnedBefore: string | undefined,
): Promise<FineTuneJob> {
  const settings = effectiveSettings(input.inputs);
  const { context } = input;
  const manifest = await readManifest(runtime.store, settings.data);
  const fromScratch = settings.model === undefined;
  const base =
    settings.model === undefined ? undefined : await pinnedBase(runtime, context, settings.model, pinnedBefore);
  const baseLayers =
    base && settings.model !== undefined ? await baseModelLayers(runtime.store, base, settings.model) : undefined;
  const architecture = architectureFor(settings, manifest, settings.data);
  if (architecture) runtime.log(`from random weights: ${describeArchitecture(architecture)}`);
  const plan = trainingPlan(settings, {
    classes: manifest.classes,
    featureShape: manifest.featureShape,
    baseLayers,
    fromScratch,
  });
  const modelDirectory = joinS3Uri(context.outputPrefix, 'model/');
  const checkpoints = `${context.outputPrefix}checkpoints`;
  const modelHttp = modelHttpOptions(input.inputs);
  const head = base ? await headPlan(runtime.store, settings, base, manifest.classes, (l) => runtime.log(l)) : {};
  const request: TrainingRequest = {
    mode: fromScratch ? 'from-scratch' : 'fine-tune',
    ...(base ? { baseModelUri: base.pinned } : {}),
    ...head,
    ...(architecture ? { architecture } : {}),
    datasetUri: settings.data,
    outputUri: modelDirectory.replace(/\/$/, ''),
    checkpoint: {
      uri: checkpoints,
      everyEpochs: settings.checkpoint?.everyEpochs ?? 1,
      keepLast: settings.checkpoint?.keepLast ?? 2,
    },
    hyperparameters: plan.hyperparameters,
    registryBucket: context.bucket,
    ...(modelHttp ? { modelHttp } : {}),
    tfBackend: options.tfBackend ?? runtime.ml.tfBackend,
    engine: runtime.ml.trainEngine,
  };
  return { input, runtime, settings, manifest, base, request, modelDirectory, checkpoints };
}

/**
 * Resume from the newest verified checkpoint this stage wrote for this very request (after
 * `--set epochs=…` the old checkpoints do not apply). The last heartbeat only hints: heartbeats
 * are throttled, so the one that reached Temporal can be many epochs behind the store.
 */
async function resumePointOf(job: FineTuneJob, hint: string | undefined): Promise<string | undefined> {
  const { runtime, request } = job;
  const found = await newestVerifiedCheckpoint(runtime.store, job.checkpoints, {
    requestKey: requestKeyOf(request),
    ...(hint ? { hint } : {}),
  });
  if (found) {
    const hinted = hint ? `; the last heartbeat of the previous attempt named ${hint}` : '';
    runtime.log(
      resumeLogLine(found.directory, found.state.epochsDone, `the newest verified checkpoint in the store${hinted}`),
    );
    await logUnreportedEpochs(job, found.state.history);
  } else if (hint) {
    runtime.log(
      `not resuming from ${hint}: no checkpoint in the store verifies for these inputs; training from the start`,
    );
  }
  return found?.directory;
}

/** How much of the previous attempt's log a retry reads for its last epoch line: its tail, where that line is. */
const PREVIOUS_LOG_TAIL_BYTES = 64 * 1024;

/** Where the newest earlier attempt's log leaves off: its last epoch, and that epoch's metrics as the line shows them. */
export interface LastLogged {
  /** The last epoch its log accounts for: an epoch line, or the epoch it resumed at; 0 when it started from nothing. */
  readonly epoch: number;
  /** The metrics text of that epoch's line (absent for a resume or start line). */
  readonly metrics?: string;
}

/** Where an attempt's log (its tail) leaves off; undefined when the tail holds no epoch, resume or start line. */
export function lastEpochLogged(tail: string): LastLogged | undefined {
  let last: LastLogged | undefined;
  for (const line of tail.split('\n')) {
    const epochLine = / epoch (\d{1,7})\/\d{1,7} \([^)]*\) (.*?)(?: checkpoint s3:\/\/\S+)?$/.exec(line);
    const resumed = /resuming from checkpoint \S+ at epoch (\d{1,7}) \(/.exec(line);
    if (epochLine) last = { epoch: Number(epochLine[1]), metrics: epochLine[2] ?? '' };
    else if (resumed) last = { epoch: Number(resumed[1]) };
    else if (/ started on /.test(line) && last === undefined) last = { epoch: 0 };
  }
  return last;
}

const epochMetricsText = (epoch: EpochMetrics): string =>
  formatMetrics({
    loss: epoch.trainLoss,
    acc: epoch.trainAccuracy,
    val_loss: epoch.validationLoss,
    val_acc: epoch.validationAccuracy,
  });

/**
 * Epochs an earlier attempt trained and checkpointed but never reported. The training child writes an epoch's
 * checkpoint before it reports the epoch, so a child killed between the two leaves that epoch in the checkpoint the
 * retry resumes after and in no attempt's log (seen as epochs 1…6, then 8…16). The retry logs such epochs from the
 * checkpoint's history, saying where the line comes from. It reads the tail of the newest earlier attempt's log only
 * (each retry mends its predecessor's gap), and fills nothing when that log's last epoch line shows other metrics than
 * the checkpoint has for that epoch (it trained other settings, as after a `retry --set`) or cannot be read.
 */
async function logUnreportedEpochs(job: FineTuneJob, history: readonly EpochMetrics[]): Promise<void> {
  const { runtime, input, request } = job;
  const { context } = input;
  let previous: { readonly attempt: number; readonly last: LastLogged | undefined };
  try {
    const logs = (await listStageLogs(runtime.store, context.bucket, context.runId, context.stageId)).filter(
      (log) => log.attempt < runtime.attempt,
    );
    const newest = logs.reduce<(typeof logs)[number] | undefined>(
      (latest, log) => (latest === undefined || log.attempt > latest.attempt ? log : latest),
      undefined,
    );
    if (!newest) return;
    const { text } = await readStageLog(runtime.store, newest, 0, PREVIOUS_LOG_TAIL_BYTES);
    previous = { attempt: newest.attempt, last: lastEpochLogged(text) };
  } catch (error) {
    runtime.log(`could not read the previous attempt's log to check its last epoch: ${runtime.redact(String(error))}`);
    return;
  }
  const { last } = previous;
  if (last === undefined) return;
  const atLast = history.find((epoch) => epoch.epoch === last.epoch);
  if (last.metrics !== undefined && (atLast === undefined || epochMetricsText(atLast) !== last.metrics)) return;
  for (const epoch of history) {
    if (epoch.epoch <= last.epoch) continue;
    runtime.log(
      `epoch ${epoch.epoch}/${request.hyperparameters.epochs} (${trainingPhaseLabel(epoch.phase)}) ` +
        `${epochMetricsText(epoch)} (trained by attempt ${previous.attempt}, which checkpointed it and was stopped ` +
        `before reporting it; from the checkpoint)`,
    );
  }
}

/** Per-epoch log lines and heartbeats; remembers the newest checkpoint so every heartbeat names it. */
class FineTuneProgress {
  private readonly pinned: JsonObject;

  constructor(
    private readonly runtime: StageRuntime,
    base: PinnedBaseModel | undefined,
    public lastCheckpoint: string | undefined,
  ) {
    this.pinned = base ? { baseModel: base.pinned } : {};
  }

  start(mode: TrainingRequest['mode'], totalEpochs: number): void {
    const { lastCheckpoint } = this;
    this.runtime.heartbeat({
      message: lastCheckpoint ? `resuming from ${lastCheckpoint}` : `starting ${mode} (${totalEpochs} epochs)`,
      fraction: 0,
      detail: { epoch: 0, totalEpochs, ...this.pinned, ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}) },
    });
  }

  readonly onProgress = (progress: TrainingProgress): void => {
    if (progress.checkpointUri) this.lastCheckpoint = progress.checkpointUri;
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
      ...this.pinned,
      ...(this.lastCheckpoint ? { checkpoint: this.lastCheckpoint } : {}),
    };
    const message =
      `epoch ${progress.epoch}/${progress.totalEpochs} (${trainingPhaseLabel(progress.phase)}) ` + epochMetricsText(m);
    this.runtime.log(message + (progress.checkpointUri ? ` checkpoint ${progress.checkpointUri}` : ''));
    this.runtime.heartbeat({
      message,
      fraction: Math.min(1, progress.epoch / Math.max(1, progress.totalEpochs)),
      detail: toJsonValue(detail) as JsonObject,
    });
  };
}

/**
 * The `metrics` output. Every metric describes the saved weights (weightsEpoch): the best epoch's
 * when early stopping restored them, else the last epoch's. bestEpoch is the monitor's best, for reference.
 */
function trainingMetrics(result: TrainingResult): JsonObject {
  const saved =
    result.epochs.find((epoch) => epoch.epoch === result.weightsEpoch) ?? result.epochs[result.epochs.length - 1];
  return toJsonValue({
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
}

/** The lineage register-model copies into the model card. */
function trainingRecordOf(
  job: FineTuneJob,
  result: TrainingResult,
  outputs: {
    readonly metrics: JsonObject;
    readonly history: readonly JsonObject[];
    readonly crossValidation?: JsonObject;
  },
): TrainingRecord {
  const { context } = job.input;
  const { settings, base } = job;
  // The version prepare-data actually read (a run's trigger only says which one it asked for).
  const datasetVersion = job.manifest.sourceVersion ?? datasetVersionOf(context.trigger);
  return {
    format: 'fineflow-training/v1',
    runId: context.runId,
    stageId: context.stageId,
    mode: job.request.mode,
    ...(settings.model ? { baseModel: settings.model } : {}),
    ...(base ? { baseModelResolved: base.pinned } : {}),
    ...(settings.architecture ? { architecture: settings.architecture } : {}),
    dataset: settings.data,
    ...(datasetVersion ? { datasetVersion } : {}),
    hyperparameters: toJsonValue({
      ...settings,
      data: undefined,
      model: undefined,
      architecture: undefined,
    }) as JsonObject,
    classes: result.classes,
    inputShape: job.manifest.featureShape,
    backend: result.backend,
    engine: result.engine,
    ...(result.engineFallbackReason ? { engineFallbackReason: result.engineFallbackReason } : {}),
    metrics: outputs.metrics,
    history: outputs.history,
    ...(outputs.crossValidation ? { crossValidation: outputs.crossValidation } : {}),
  };
}

function logTrained(runtime: StageRuntime, result: TrainingResult): void {
  runtime.log(
    `trained ${result.epochs.length - result.resumedFromEpoch} ` +
      `epoch(s)${result.resumedFromEpoch ? ` after resuming at epoch ${result.resumedFromEpoch}` : ''} on ${result.backend} (${result.engine} engine, ${Math.round(result.samplesPerSecond)} examples/s) in ${formatHumanDuration(result.seconds * 1000)}; model ${result.modelUri}`,
  );
  if (result.engineFallbackReason) runtime.log(engineFallbackWarning(result.engineFallbackReason));
  runtime.heartbeat({
    message:
      `trained on ${result.backend}: ` +
      `${formatMetrics({ val_acc: result.final.validationAccuracy, val_loss: result.final.validationLoss })}`,
    fraction: 1,
  });
}

async function fineTune(
  input: StageActivityInput,
  runtime: StageRuntime,
  options: FineTuneStageOptions,
  runTraining: TrainingRunner,
): Promise<StageActivityResult> {
  const { context } = input;
  const previous = resumeFromHeartbeat(heartbeatDetails());
  const job = await planFineTune(input, runtime, options, previous.baseModel);
  const { request } = job;
  const resumeFrom = await resumePointOf(job, previous.checkpoint);
  const crossValidationInput = crossValidationSettings(job.settings);
  const crossValidation = crossValidationInput
    ? await crossValidate(request, crossValidationInput, context.outputPrefix, runtime, runTraining)
    : undefined;

  const progress = new FineTuneProgress(runtime, job.base, resumeFrom);
  progress.start(request.mode, request.hyperparameters.epochs);
  const result = await runTraining(
    { ...request, ...(resumeFrom ? { resumeFrom } : {}) },
    {
      onProgress: progress.onProgress,
      signal: runtime.signal,
      onLog: (line: string) => runtime.log(`[training] ${line}`),
      ...memoryLimit(runtime.ml),
      ...(await trainingFence(runtime, 'start training')),
    },
  );
  // Cancelled as training returned: write nothing more (the run is ending).
  if (runtime.signal.aborted)
    throw new CancelledError(`training finished but the stage was cancelled: ${String(runtime.signal.reason)}`, {});

  const metrics = trainingMetrics(result);
  const history = result.epochs.map((epoch) => toJsonValue(epoch) as JsonObject);
  const record = trainingRecordOf(job, result, { metrics, history, ...(crossValidation ? { crossValidation } : {}) });
  await runtime.store.putJson(joinS3Uri(job.modelDirectory, TRAINING_RECORD_FILE), record);
  logTrained(runtime, result);
  const checkpoint = result.lastCheckpointUri ?? progress.lastCheckpoint;
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
    artifacts: await listStageArtifacts(runtime.store, context.outputPrefix),
  };
}

/** The fine-tune stage, with its training runner injected. */
export function createFineTuneStage(options: FineTuneStageOptions = {}): StageImplementation {
  const runTraining = options.runTraining ?? runTrainingInChildProcess;
  return (input: StageActivityInput, runtime: StageRuntime): Promise<StageActivityResult> =>
    fineTune(input, runtime, options, runTraining);
}

export const fineTuneStage: StageImplementation = createFineTuneStage();
