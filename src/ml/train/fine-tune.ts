/**
 * Fine-tune a base model on a prepared dataset, or train the same kind of model from scratch
 * (the baseline). Both take a {@link TrainingRequest} and return a {@link TrainingResult}; they
 * run in-process, and {@link runTrainingInChildProcess} runs them in a child.
 */
import { createHash } from 'node:crypto';
import type * as TfModule from '@tensorflow/tfjs';
import { InvalidInputError } from '../../core/errors';
import type { ObjectStore } from '../../storage/object-store';
import { currentBackend, loadTf, type Tf } from '../backend';
import { loadSplit, readManifest, streamBatches, type DatasetManifest, type SplitName } from '../data/shards';
import { concatSets, featureLength, subsetOf, type LabelledSet } from '../generators/image-set';
import { foldIndices, stratifiedFolds } from '../eval/cross-validation';
import {
  buildModel,
  HEAD_LAYER_NAME,
  headLayers,
  isHeadLayerName,
  type HeadOptions,
  type LayersModel,
  type ModelArchitecture,
} from '../models/architectures';
import { loadModel, saveModel } from '../models/load-model';
import { writePreprocessingBeside } from '../data/preprocessing-file';
import { mulberry32, shuffleInPlace } from '../random';
import { findCheckpoint, readCheckpoint, type Checkpoint } from './checkpoint';
import { memorySource, runTrainingLoop, type ExampleSource, type LoopOptions, type PhasePlan } from './loop';
import type { Hyperparameters, TrainingProgress, TrainingRequest, TrainingResult } from './types';
import type { TrainingRunner } from './child-runner';
import { fencedTrainingStore } from './training-fence';

type Layer = TfModule.layers.Layer;

export interface TrainingCallbacks {
  readonly onEpoch?: (progress: TrainingProgress) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

/** Splits larger than this are streamed from their shards instead of loaded. */
const IN_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;

function shardSource(store: ObjectStore, manifest: DatasetManifest, split: SplitName): ExampleSource {
  return {
    count: manifest.splits[split].count,
    featureShape: manifest.featureShape,
    classCounts: manifest.splits[split].classCounts,
    batches: ({ batchSize, shuffle, seed }) => streamBatches(store, manifest, split, { batchSize, shuffle, seed }),
  };
}

/** The first `perClass` examples of each class after a seeded shuffle. */
export function takePerClass(set: LabelledSet, perClass: number, seed: number): LabelledSet {
  const order = shuffleInPlace(
    Array.from({ length: set.labels.length }, (_, i) => i),
    mulberry32(seed),
  );
  const taken = new Array<number>(set.classes.length).fill(0);
  const picked: number[] = [];
  for (const index of order) {
    const label = set.labels[index] ?? 0;
    if ((taken[label] ?? 0) < perClass) {
      taken[label] = (taken[label] ?? 0) + 1;
      picked.push(index);
    }
  }
  return subsetOf(set, picked);
}

async function exampleSource(
  store: ObjectStore,
  manifest: DatasetManifest,
  split: SplitName,
  labelsPerClass: number | undefined,
  seed: number,
): Promise<ExampleSource> {
  const bytes = manifest.splits[split].count * featureLength(manifest.featureShape) * 4;
  if (labelsPerClass === undefined && bytes > IN_MEMORY_LIMIT_BYTES) return shardSource(store, manifest, split);
  const set = await loadSplit(store, manifest, split);
  return memorySource(labelsPerClass === undefined ? set : takePerClass(set, labelsPerClass, seed));
}

/**
 * One round of k-fold cross-validation: the train and validation splits pooled (the test split stays
 * untouched), fold `fold` held out for validation, the other folds trained on. In memory: the pool
 * must fit, like any split below {@link IN_MEMORY_LIMIT_BYTES}.
 */
async function crossValidationSources(
  store: ObjectStore,
  manifest: DatasetManifest,
  round: NonNullable<TrainingRequest['crossValidationFold']>,
  labelsPerClass: number | undefined,
  seed: number,
): Promise<{ train: ExampleSource; validation: ExampleSource }> {
  const bytes =
    (manifest.splits.train.count + manifest.splits.validation.count) * featureLength(manifest.featureShape) * 4;
  if (bytes > IN_MEMORY_LIMIT_BYTES)
    throw new InvalidInputError(
      `cross-validation holds the train and validation splits in memory; together they are ` +
        `${Math.round(bytes / 2 ** 20)} MiB, above ${IN_MEMORY_LIMIT_BYTES / 2 ** 20} MiB. Use labelsPerClass or a smaller dataset, or drop crossValidation`,
      { field: 'crossValidation' },
    );
  const splits = [await loadSplit(store, manifest, 'train')];
  if (manifest.splits.validation.count > 0) splits.push(await loadSplit(store, manifest, 'validation'));
  const pool = concatSets(splits);
  const { train, test } = foldIndices(stratifiedFolds(pool.labels, round.folds, round.seed), round.fold);
  const trainSet = subsetOf(pool, train);
  return {
    train: memorySource(labelsPerClass === undefined ? trainSet : takePerClass(trainSet, labelsPerClass, seed)),
    validation: memorySource(subsetOf(pool, test)),
  };
}

/**
 * A model whose head is replaced by a fresh one described by `head`. The old head goes whole:
 * the `head` layer (or, in a model without one, its last layer) and, below it, any head hidden
 * layers and dropout (`head_hidden1`…, `head_dropout`, or unnamed Dropout layers).
 */
export function replaceHead(tf: Tf, base: LayersModel, head: HeadOptions): LayersModel {
  const layers = base.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const headIndex = layers.findIndex((layer) => layer.name === HEAD_LAYER_NAME);
  let end = headIndex >= 0 ? headIndex : layers.length - 1;
  const belongsToOldHead = (layer: Layer | undefined): boolean =>
    layer !== undefined && (layer.getClassName() === 'Dropout' || isHeadLayerName(layer.name));
  while (end > 0 && belongsToOldHead(layers[end - 1])) end -= 1;
  const body = layers.slice(0, end);
  if (body.length === 0) throw new InvalidInputError('the base model has no layers below its head to fine-tune', {});
  const model = tf.sequential({ name: 'fine_tuned' });
  const inputShape = base.inputs[0]?.shape.slice(1) ?? [];
  model.add(tf.layers.inputLayer({ inputShape: inputShape.map((size) => size ?? 1) }));
  for (const layer of [...body, ...headLayers(tf, head)]) model.add(layer);
  return model;
}

/**
 * The base model as it is, head included (a copy of its layers in a new sequential model, as replaceHead builds),
 * with the head's outputs reordered so output i scores the dataset's class i (`classOrder[i]` is the base's output).
 */
export function keepHead(tf: Tf, base: LayersModel, classOrder: readonly number[]): LayersModel {
  const layers = base.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const head = layers.find((layer) => layer.name === HEAD_LAYER_NAME) ?? layers[layers.length - 1];
  const [kernel, bias] = head?.getWeights() ?? [];
  const outputs = kernel?.shape[1];
  if (!head || head.getClassName() !== 'Dense' || !kernel || !bias || outputs !== classOrder.length)
    throw new InvalidInputError(
      `the base model's head cannot be kept: it is not a dense layer with one output per class (${classOrder.length})`,
      { field: 'head' },
    );
  const model = tf.sequential({ name: 'fine_tuned' });
  const inputShape = base.inputs[0]?.shape.slice(1) ?? [];
  model.add(tf.layers.inputLayer({ inputShape: inputShape.map((size) => size ?? 1) }));
  for (const layer of layers) model.add(layer);
  if (classOrder.some((index, position) => index !== position)) {
    const reordered = tf.tidy(() => {
      const order = tf.tensor1d([...classOrder], 'int32');
      return [tf.gather(kernel, order, 1), tf.gather(bias, order)];
    });
    head.setWeights(reordered);
    tf.dispose(reordered);
  }
  return model;
}

/** The head options a request's hyperparameters describe. */
function headOptionsOf(hyperparameters: Hyperparameters, numClasses: number): HeadOptions {
  return {
    numClasses,
    ...(hyperparameters.dropout !== undefined ? { dropout: hyperparameters.dropout } : {}),
    ...(hyperparameters.seed !== undefined ? { seed: hyperparameters.seed } : {}),
    ...(hyperparameters.headUnits && hyperparameters.headUnits.length > 0
      ? { headUnits: hyperparameters.headUnits }
      : {}),
  };
}

function weightLayerNames(layers: readonly Layer[]): string[] {
  return layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name);
}

/** The training phases a request asks for, with the layers each one trains. */
export function planPhases(
  model: LayersModel,
  mode: TrainingRequest['mode'],
  hyperparameters: Hyperparameters,
): PhasePlan[] {
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const all = weightLayerNames(layers);
  if (mode === 'from-scratch')
    return [
      {
        name: 'scratch',
        epochs: hyperparameters.epochs,
        learningRate: hyperparameters.learningRate,
        trainableLayers: all,
      },
    ];
  // The new head (hidden layers and softmax) always trains; `unfreezeLayers` counts base layers only.
  const head = all.filter(isHeadLayerName);
  const base = all.filter((name) => !isHeadLayerName(name));
  const frozen = new Set(hyperparameters.freezeLayers ?? []);
  const unfreeze = hyperparameters.unfreezeLayers ?? 0;
  let unfrozen: string[];
  if (typeof unfreeze === 'number') unfrozen = unfreeze <= 0 ? [] : base.slice(Math.max(0, base.length - unfreeze));
  else {
    const unknown = unfreeze.filter((name) => !base.includes(name));
    if (unknown.length > 0)
      throw new InvalidInputError(
        `unfreezeLayers names ${unknown.join(', ')}, which the base model does not have; its weight layers are ` +
          `${base.join(', ')}`,
        { unknown },
      );
    unfrozen = [...unfreeze];
  }
  const topTrainable = [...unfrozen.filter((name) => !frozen.has(name)), ...head];
  const headEpochs = hyperparameters.headEpochs;
  if (headEpochs !== undefined && headEpochs > 0 && unfrozen.length > 0 && headEpochs < hyperparameters.epochs) {
    return [
      { name: 'head', epochs: headEpochs, learningRate: hyperparameters.learningRate, trainableLayers: head },
      {
        name: 'fine-tune',
        epochs: hyperparameters.epochs - headEpochs,
        learningRate: hyperparameters.fineTuneLearningRate ?? hyperparameters.learningRate / 10,
        trainableLayers: topTrainable,
      },
    ];
  }
  return [
    {
      name: unfrozen.length > 0 ? 'fine-tune' : 'head',
      epochs: hyperparameters.epochs,
      learningRate: hyperparameters.learningRate,
      trainableLayers: topTrainable,
    },
  ];
}

function defaultArchitecture(shape: readonly number[]): ModelArchitecture {
  if (shape.length === 3) return { kind: 'cnn', inputShape: [shape[0] ?? 28, shape[1] ?? 28, shape[2] ?? 1] };
  return { kind: 'mlp', inputShape: [featureLength(shape)] };
}

/** Where an `inheritFrom` request started: the other request's key and the epoch its checkpoint ended. */
export interface InheritedStart {
  readonly requestKey: string;
  readonly epoch: number;
}

/** Fingerprint of what determines a run's trajectory; a checkpoint only resumes into the same request. */
export function requestKeyOf(request: TrainingRequest, inherited?: InheritedStart): string {
  const identity = {
    mode: request.mode,
    baseModelUri: request.baseModelUri ?? null,
    architecture: request.architecture ?? null,
    datasetUri: request.datasetUri,
    labelsPerClass: request.labelsPerClass ?? null,
    hyperparameters: request.hyperparameters,
    // Only when set, so the keys (and checkpoints) of ordinary requests stay as they were.
    ...(request.crossValidationFold ? { crossValidationFold: request.crossValidationFold } : {}),
    ...(request.keepHead ? { keepHead: request.keepHead } : {}),
    ...(inherited ? { inheritedFrom: { requestKey: inherited.requestKey, epoch: inherited.epoch } } : {}),
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

function checkShape(model: LayersModel, shape: readonly number[], where: string): void {
  const modelShape = model.inputs[0]?.shape.slice(1) ?? [];
  if (modelShape.length !== shape.length || modelShape.some((size, i) => size !== null && size !== shape[i])) {
    throw new InvalidInputError(
      `${where} takes inputs of shape [${modelShape.join(', ')}] but the dataset's examples are [${shape.join(', ')}]`,
      {
        modelShape,
        datasetShape: [...shape],
      },
    );
  }
}

/**
 * A {@link TrainingRunner} that trains in this process, with no child: for tests with an in-memory store
 * (a child cannot see it) and the bench. `overrides` replace fields of every request (tests pin `tfBackend`).
 */
export function inProcessTrainingRunner(store: ObjectStore, overrides: Partial<TrainingRequest> = {}): TrainingRunner {
  return (request, options) =>
    trainModel(
      fencedTrainingStore(store, options.fence, options.onLog ?? (() => undefined)),
      { ...request, ...overrides },
      {
        ...(options.onProgress ? { onEpoch: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
}

function checkHyperparameters(hyperparameters: Hyperparameters): void {
  if (!(hyperparameters.epochs >= 1) || !(hyperparameters.batchSize >= 1) || !(hyperparameters.learningRate > 0)) {
    throw new InvalidInputError('epochs and batchSize must be at least 1 and learningRate positive', {
      hyperparameters: { ...hyperparameters },
    });
  }
}

/** The examples a request trains and validates on: the dataset's splits, or a cross-validation round. */
async function trainingSources(
  store: ObjectStore,
  request: TrainingRequest,
  manifest: DatasetManifest,
): Promise<{ train: ExampleSource; validation: ExampleSource | undefined }> {
  const seed = request.hyperparameters.seed ?? 0;
  const { train, validation } = request.crossValidationFold
    ? await crossValidationSources(store, manifest, request.crossValidationFold, request.labelsPerClass, seed)
    : {
        train: await exampleSource(store, manifest, 'train', request.labelsPerClass, seed),
        validation:
          manifest.splits.validation.count > 0
            ? await exampleSource(store, manifest, 'validation', undefined, seed)
            : undefined,
      };
  if (train.count === 0)
    throw new InvalidInputError(`dataset ${request.datasetUri} has no training examples`, { uri: request.datasetUri });
  return { train, validation };
}

/** The model training starts from: the base model with a new head, or a fresh architecture. */
async function initialModel(
  tf: Tf,
  store: ObjectStore,
  request: TrainingRequest,
  manifest: DatasetManifest,
): Promise<LayersModel> {
  const head = headOptionsOf(request.hyperparameters, manifest.classes.length);
  if (request.mode === 'fine-tune') {
    if (!request.baseModelUri) throw new InvalidInputError('fine-tune needs baseModelUri', {});
    const base = await loadModel(tf, store, request.baseModelUri, {
      registryBucket: request.registryBucket,
      ...(request.modelHttp ? { http: request.modelHttp } : {}),
    });
    checkShape(base, manifest.featureShape, `base model ${request.baseModelUri}`);
    return request.keepHead ? keepHead(tf, base, request.keepHead.classOrder) : replaceHead(tf, base, head);
  }
  const architecture = request.architecture ?? defaultArchitecture(manifest.featureShape);
  const model = buildModel(tf, architecture, head);
  checkShape(model, manifest.featureShape, `architecture ${architecture.kind}`);
  return model;
}

/** The checkpoint `resumeFrom` names, when there is one; it must belong to this very request. */
async function checkpointToResume(
  store: ObjectStore,
  request: TrainingRequest,
  requestKey: string,
): Promise<Checkpoint | undefined> {
  if (!request.resumeFrom) return undefined;
  const directory = await findCheckpoint(store, request.resumeFrom);
  if (!directory) return undefined;
  const resume = await readCheckpoint(store, directory);
  if (resume.requestKey !== requestKey) {
    throw new InvalidInputError(
      `checkpoint ${directory} belongs to a different training request (inputs or hyperparameters changed); start ` +
        `without resumeFrom`,
      { uri: directory },
    );
  }
  return resume;
}

/**
 * The start an `inheritFrom` request takes from another request's checkpoint: its weights, its best weights and its
 * place in training, with a fresh optimizer and fresh early-stopping counters. Refused, naming the checkpoint, when
 * this request's model or phases cannot take it.
 */
async function checkpointToInherit(
  store: ObjectStore,
  request: TrainingRequest,
  model: LayersModel,
  hyperparameters: Hyperparameters,
): Promise<{ readonly origin: InheritedStart; readonly start: Omit<Checkpoint, 'requestKey'> } | undefined> {
  if (!request.inheritFrom) return undefined;
  const directory = await findCheckpoint(store, request.inheritFrom);
  if (!directory)
    throw new InvalidInputError(`inheritFrom names ${request.inheritFrom}, where no checkpoint is`, {
      uri: request.inheritFrom,
    });
  const parent = await readCheckpoint(store, directory);
  const refuse = (why: string) =>
    new InvalidInputError(`checkpoint ${directory} cannot start this request: ${why}`, { uri: directory });
  const saved = new Map(parent.weights.map((array) => [array.name, array.shape.join('x')]));
  for (const weight of model.weights) {
    const shape = saved.get(weight.originalName);
    if (shape === undefined) throw refuse(`it has no weights ${weight.originalName} (another architecture)`);
    if (shape !== weight.shape.join('x'))
      throw refuse(`its ${weight.originalName} is ${shape}, this model's is ${weight.shape.join('x')}`);
  }
  if (saved.size !== model.weights.length) throw refuse('it holds weights this model does not have');
  const phases = planPhases(model, request.mode, hyperparameters);
  const phase = phases[parent.state.phaseIndex];
  if (!phase || parent.state.epochsDoneInPhase >= phase.epochs)
    throw refuse(
      `it ended epoch ${parent.state.epochsDone} (phase ${parent.state.phaseIndex + 1}), where this request's ` +
        `${phases.reduce((sum, each) => sum + each.epochs, 0)} epochs leave nothing to train`,
    );
  return {
    origin: { requestKey: parent.requestKey, epoch: parent.state.epochsDone },
    start: {
      state: { ...parent.state, epochsWithoutImprovement: 0, stoppedEarly: false },
      weights: parent.weights,
      optimizer: request.inheritOptimizer === true ? parent.optimizer : [],
      ...(parent.bestWeights ? { bestWeights: parent.bestWeights } : {}),
    },
  };
}

/** The loop's checkpoint settings for the request's `checkpoint` option. */
function loopCheckpointOf(store: ObjectStore, request: TrainingRequest): Pick<LoopOptions, 'checkpoint'> {
  if (!request.checkpoint) return {};
  return {
    checkpoint: {
      store,
      uri: request.checkpoint.uri,
      everyEpochs: request.checkpoint.everyEpochs ?? 1,
      ...(request.checkpoint.keepLast !== undefined ? { keepLast: request.checkpoint.keepLast } : {}),
      ...(request.checkpoint.keep !== undefined ? { keep: request.checkpoint.keep } : {}),
    },
  };
}

/** Train per `request` in this process: fine-tune a base model, or train from scratch. */
export async function trainModel(
  store: ObjectStore,
  request: TrainingRequest,
  callbacks: TrainingCallbacks = {},
): Promise<TrainingResult> {
  const started = performance.now();
  const { tf } = loadTf({ preference: request.tfBackend ?? 'auto' });
  const hyperparameters = request.hyperparameters;
  checkHyperparameters(hyperparameters);
  const manifest = await readManifest(store, request.datasetUri);
  const { train, validation } = await trainingSources(store, request, manifest);
  const model = await initialModel(tf, store, request, manifest);
  const inherited = await checkpointToInherit(store, request, model, hyperparameters);
  const requestKey = requestKeyOf(request, inherited?.origin);
  const inheritedResume = inherited && { ...inherited.start, requestKey };
  const resume = (await checkpointToResume(store, request, requestKey)) ?? inheritedResume;

  const loop = await runTrainingLoop({
    tf,
    model,
    phases: planPhases(model, request.mode, hyperparameters),
    hyperparameters,
    train,
    ...(validation ? { validation } : {}),
    numClasses: manifest.classes.length,
    requestKey,
    ...(resume ? { resume } : {}),
    ...(resume && resume === inheritedResume ? { resumeOptimizerIfItFits: true } : {}),
    ...loopCheckpointOf(store, request),
    ...(callbacks.onEpoch ? { onEpoch: callbacks.onEpoch } : {}),
    ...(callbacks.signal ? { signal: callbacks.signal } : {}),
    ...(request.engine ? { engine: request.engine } : {}),
  });

  await saveModel(tf, store, model, request.outputUri);
  // The model carries its preprocessing: evaluate, predict and exports read it from beside model.json.
  if (manifest.preprocessing && request.outputUri.startsWith('s3://'))
    await writePreprocessingBeside(store, request.outputUri, manifest.preprocessing);
  // The metrics reported are those of the weights just saved, whichever epoch they come from.
  const saved =
    loop.history.find((epoch) => epoch.epoch === loop.weightsEpoch) ?? loop.history[loop.history.length - 1];
  model.dispose();
  return {
    modelUri: request.outputUri,
    classes: manifest.classes,
    epochs: loop.history,
    bestEpoch: loop.bestEpoch,
    weightsEpoch: loop.weightsEpoch,
    stoppedEarly: loop.stoppedEarly,
    resumedFromEpoch: loop.resumedFromEpoch,
    backend: currentBackend(tf),
    engine: loop.engine,
    ...(loop.engineFallbackReason ? { engineFallbackReason: loop.engineFallbackReason } : {}),
    samplesPerSecond: loop.samplesPerSecond,
    seconds: (performance.now() - started) / 1000,
    trainExamples: train.count,
    ...(loop.lastCheckpointUri ? { lastCheckpointUri: loop.lastCheckpointUri } : {}),
    final: {
      ...(saved?.validationLoss !== undefined ? { validationLoss: saved.validationLoss } : {}),
      ...(saved?.validationAccuracy !== undefined ? { validationAccuracy: saved.validationAccuracy } : {}),
    },
  };
}
