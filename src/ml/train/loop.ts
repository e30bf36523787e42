/**
 * The training loop shared by fine-tuning and training from scratch: phases with their own
 * trainable layers and learning rate, a custom step (class-weighted cross-entropy + L2) so frozen
 * layers run in inference mode (their batch-norm statistics stay those of the base domain),
 * warmup/decay, early stopping with best-weight restore, checkpoints, resume and cancellation.
 */
import type * as TfModule from '@tensorflow/tfjs';
import { CancelledError, DependencyUnavailableError } from '../../core/errors';
import { currentBackend } from '../backend';
import { createGraphEngine, graphEngineSupport } from '../graph/train-graph';
import type { ObjectStore } from '../../storage/object-store';
import type { Tf } from '../backend';
import type { Batch } from '../data/shards';
import { featureLength, type LabelledSet } from '../generators/image-set';
import type { LayersModel } from '../models/architectures';
import { deriveSeed, mulberry32, shuffleInPlace } from '../random';
import { augmentBatch } from './augment';
import { pruneCheckpoints, writeCheckpoint, type Checkpoint, type LoopState, type NamedArray } from './checkpoint';
import {
  createEagerEngine,
  type EngineKind,
  type EngineOptions,
  type EnginePreference,
  type StepEngine,
} from './engine';
import { learningRateAt } from './schedule';
import type { EpochMetrics, Hyperparameters, MonitoredMetric, TrainingProgress } from './types';

type Tensor = TfModule.Tensor;
type Layer = TfModule.layers.Layer;

/** Examples to train or validate on: in memory, or streamed from shards. */
export interface ExampleSource {
  readonly count: number;
  readonly featureShape: readonly number[];
  readonly classCounts: readonly number[];
  /** Present when the examples are in memory (enables caching frozen features). */
  readonly inMemory?: LabelledSet;
  batches(options: {
    readonly batchSize: number;
    readonly shuffle: boolean;
    readonly seed: number;
  }): AsyncIterable<Batch>;
}

export function memorySource(set: LabelledSet): ExampleSource {
  const length = featureLength(set.featureShape);
  const classCounts = new Array<number>(set.classes.length).fill(0);
  for (const label of set.labels) classCounts[label] = (classCounts[label] ?? 0) + 1;
  return {
    count: set.labels.length,
    featureShape: set.featureShape,
    classCounts,
    inMemory: set,
    async *batches({ batchSize, shuffle, seed }) {
      const order = Array.from({ length: set.labels.length }, (_, i) => i);
      if (shuffle) shuffleInPlace(order, mulberry32(seed));
      for (let start = 0; start < order.length; start += batchSize) {
        const indices = order.slice(start, start + batchSize);
        const features = new Float32Array(indices.length * length);
        const labels = new Int32Array(indices.length);
        indices.forEach((source, target) => {
          features.set(set.features.subarray(source * length, (source + 1) * length), target * length);
          labels[target] = set.labels[source] ?? 0;
        });
        yield { features, labels };
      }
    },
  };
}

export interface PhasePlan {
  readonly name: string;
  readonly epochs: number;
  readonly learningRate: number;
  /** Names of the layers that train in this phase; all others are frozen. */
  readonly trainableLayers: readonly string[];
}

export interface LoopOptions {
  readonly tf: Tf;
  readonly model: LayersModel;
  readonly phases: readonly PhasePlan[];
  readonly hyperparameters: Hyperparameters;
  readonly train: ExampleSource;
  readonly validation?: ExampleSource;
  readonly numClasses: number;
  readonly requestKey: string;
  readonly resume?: Checkpoint;
  /** `keepLast`: after each checkpoint, remove all but the newest N and the best epoch's; absent = keep all. */
  readonly checkpoint?: {
    readonly store: ObjectStore;
    readonly uri: string;
    readonly everyEpochs: number;
    readonly keepLast?: number;
  };
  readonly onEpoch?: (progress: TrainingProgress) => void | Promise<void>;
  readonly signal?: AbortSignal;
  /** How steps execute; default `auto` (graph when it can). */
  readonly engine?: EnginePreference;
}

export interface LoopResult {
  readonly history: readonly EpochMetrics[];
  /** Epoch with the best monitored value (of the last phase). */
  readonly bestEpoch: number;
  /** Epoch whose weights the model holds at the end: bestEpoch when they were restored, else the last one trained. */
  readonly weightsEpoch: number;
  /** The last phase ended by early stopping (an earlier phase stopping early only ends that phase). */
  readonly stoppedEarly: boolean;
  readonly samplesPerSecond: number;
  readonly resumedFromEpoch: number;
  readonly lastCheckpointUri?: string;
  /** The engine of the last phase that ran. */
  readonly engine: EngineKind;
  /** Why `auto` fell back to the eager engine, when it did. */
  readonly engineFallbackReason?: string;
}

/**
 * The engine for a phase: `graph` when preferred or possible, else `eager`. A `graph`
 * preference that cannot be met is an error, so a benchmark or test never silently measures
 * the other engine. Under `auto`, a graph that fails to build (say, a libtensorflow without a
 * gradient the model needs) also falls back, with TensorFlow's message as the reason.
 */
export function createEngine(
  preference: EnginePreference,
  options: EngineOptions,
  buildGraphEngine: (options: EngineOptions) => StepEngine = createGraphEngine,
): { engine: StepEngine; fallbackReason?: string } {
  if (preference === 'eager') return { engine: createEagerEngine(options) };
  const required = (reason: string): DependencyUnavailableError =>
    new DependencyUnavailableError(
      `the graph training engine was required (FINEFLOW_TRAIN_ENGINE=graph), but ${reason}`,
      { reason },
    );
  const support = graphEngineSupport(currentBackend(options.tf), options.layers);
  if (!support.supported) {
    if (preference === 'graph') throw required(support.reason);
    return { engine: createEagerEngine(options), fallbackReason: support.reason };
  }
  try {
    return { engine: buildGraphEngine(options) };
  } catch (error) {
    const reason = `building the training graph failed: ${error instanceof Error ? error.message : String(error)}`;
    if (preference === 'graph') throw required(reason);
    return { engine: createEagerEngine(options), fallbackReason: reason };
  }
}

/**
 * Weights in layer order, matched by name. `model.weights` lists trainable weights first, so
 * its order changes when layers are frozen: a checkpoint written with frozen layers and
 * restored into a fresh (all-trainable) model would put kernels in the wrong slots.
 */
function weightsInLayerOrder(model: LayersModel): TfModule.LayerVariable[] {
  return model.layers.flatMap((layer) => layer.weights);
}

function readWeights(model: LayersModel): NamedArray[] {
  return weightsInLayerOrder(model).map((weight) => {
    const tensor = weight.read();
    return { name: weight.originalName, shape: tensor.shape, values: tensor.dataSync() as Float32Array };
  });
}

function writeWeights(tf: Tf, model: LayersModel, arrays: readonly NamedArray[]): void {
  const byName = new Map(arrays.map((array) => [array.name, array]));
  for (const weight of weightsInLayerOrder(model)) {
    const array = byName.get(weight.originalName);
    if (!array) throw new Error(`the saved weights have no ${weight.originalName}`);
    const tensor = tf.tensor(array.values, [...array.shape]);
    weight.write(tensor);
    tensor.dispose();
  }
}

function monitoredValue(metrics: EpochMetrics, monitor: MonitoredMetric): number | undefined {
  switch (monitor) {
    case 'validation.loss':
      return metrics.validationLoss;
    case 'validation.accuracy':
      return metrics.validationAccuracy;
    case 'train.loss':
      return metrics.trainLoss;
    case 'train.accuracy':
      return metrics.trainAccuracy;
  }
}

function classWeightsOf(hyperparameters: Hyperparameters, classCounts: readonly number[]): number[] | undefined {
  const spec = hyperparameters.classWeights;
  if (!spec) return undefined;
  if (spec !== 'balanced') return [...spec];
  const total = classCounts.reduce((a, b) => a + b, 0);
  return classCounts.map((count) => (count > 0 ? total / (classCounts.length * count) : 0));
}

/**
 * Apply `keepLast` (the best epoch's checkpoint stays too). Retention must never fail training:
 * what a failed removal leaves behind the next checkpoint's pruning, or `fineflow gc`, removes.
 */
async function pruneQuietly(
  checkpoint: NonNullable<LoopOptions['checkpoint']>,
  bestEpoch: number | undefined,
): Promise<void> {
  try {
    await pruneCheckpoints(checkpoint.store, checkpoint.uri, {
      keepLast: checkpoint.keepLast ?? 1,
      keep: bestEpoch !== undefined ? [bestEpoch] : [],
    });
  } catch {
    // see above
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new CancelledError('training was cancelled', { reason: String(signal.reason ?? 'aborted') });
}

export async function runTrainingLoop(options: LoopOptions): Promise<LoopResult> {
  const { tf, model, hyperparameters } = options;
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const totalEpochs = options.phases.reduce((sum, phase) => sum + phase.epochs, 0);
  const seed = hyperparameters.seed ?? 0;
  const enginePreference = options.engine ?? 'auto';
  const classWeights = classWeightsOf(hyperparameters, options.train.classCounts);
  const monitor = hyperparameters.earlyStopping?.monitor ?? (options.validation ? 'validation.loss' : 'train.loss');
  const minimize = !monitor.endsWith('accuracy');
  const minDelta = hyperparameters.earlyStopping?.minDelta ?? 0;
  // As in Keras, best weights are restored only when early stopping is configured (and asks for it).
  const restoreBest =
    hyperparameters.earlyStopping !== undefined && hyperparameters.earlyStopping.restoreBestWeights !== false;

  let state: LoopState = options.resume?.state ?? {
    epochsDone: 0,
    phaseIndex: 0,
    epochsDoneInPhase: 0,
    history: [],
    epochsWithoutImprovement: 0,
    stoppedEarly: false,
    stepInPhase: 0,
  };
  let bestWeights: readonly NamedArray[] | undefined = options.resume?.bestWeights;
  if (options.resume) writeWeights(tf, model, options.resume.weights);
  const resumedFromEpoch = state.epochsDone;
  let lastCheckpointUri: string | undefined;
  let trainedExamples = 0;
  let trainingSeconds = 0;

  /** Run layers [0, upTo) in inference mode over a whole in-memory set: the frozen features. */
  const cacheFrozen = (set: LabelledSet, upTo: number): { features: Float32Array; shape: number[] } => {
    const length = featureLength(set.featureShape);
    const outputs: Float32Array[] = [];
    let shape: number[] = [];
    for (let start = 0; start < set.labels.length; start += 256) {
      const end = Math.min(set.labels.length, start + 256);
      const values = tf.tidy(() => {
        let output: Tensor = tf.tensor(set.features.subarray(start * length, end * length), [
          end - start,
          ...set.featureShape,
        ]);
        for (const layer of layers.slice(0, upTo)) output = layer.apply(output, { training: false }) as Tensor;
        shape = output.shape.slice(1);
        return output.dataSync() as Float32Array;
      });
      outputs.push(values);
    }
    const total = outputs.reduce((sum, values) => sum + values.length, 0);
    const features = new Float32Array(total);
    let offset = 0;
    for (const values of outputs) {
      features.set(values, offset);
      offset += values.length;
    }
    return { features, shape };
  };

  const evaluate = async (engine: StepEngine, source: ExampleSource): Promise<{ loss: number; accuracy: number }> => {
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    for await (const batch of source.batches({ batchSize: 256, shuffle: false, seed: 0 })) {
      const result = engine.evaluateBatch(batch.features, batch.labels);
      lossSum += result.lossSum;
      correct += result.hits;
      count += batch.labels.length;
    }
    return { loss: lossSum / Math.max(1, count), accuracy: correct / Math.max(1, count) };
  };

  let engineKind: EngineKind = 'eager';
  let engineFallbackReason: string | undefined;
  let weightsEpoch = state.epochsDone;
  // Early stopping ends the phase it triggers in, as a separate Keras fit() per phase would: the
  // head phase stopping early moves on to unfreezing (with its best weights), rather than skipping
  // the fine-tuning the request asked for. `stoppedEarly` in the state means "this phase ended".
  for (let phaseIndex = state.phaseIndex; phaseIndex < options.phases.length; phaseIndex += 1) {
    const phase = options.phases[phaseIndex] as PhasePlan;
    const trainable = new Set(phase.trainableLayers);
    // Weightless layers (dropout, pooling) stay "trainable" so dropout is active while training.
    for (const layer of layers) layer.trainable = trainable.has(layer.name) || layer.weights.length === 0;
    const resumingThisPhase = options.resume !== undefined && phaseIndex === options.resume.state.phaseIndex;
    if (!resumingThisPhase)
      state = {
        ...state,
        phaseIndex,
        epochsDoneInPhase: 0,
        stepInPhase: 0,
        epochsWithoutImprovement: 0,
        bestValue: undefined,
      };
    const firstTrainable = Math.max(
      0,
      layers.findIndex((layer: Layer) => layer.trainable && layer.trainableWeights.length > 0),
    );
    // With no augmentation and in-memory data, the frozen prefix gives the same output every
    // epoch: compute it once (the head-only phase then trains as fast as a logistic regression).
    const canCache =
      firstTrainable > 0 &&
      !hyperparameters.augmentation &&
      options.train.inMemory !== undefined &&
      (!options.validation || options.validation.inMemory !== undefined);
    let trainSource = options.train;
    let validationSource = options.validation;
    let from = 0;
    let inputShape = options.train.featureShape;
    if (canCache && options.train.inMemory) {
      const cached = cacheFrozen(options.train.inMemory, firstTrainable);
      trainSource = memorySource({
        featureShape: cached.shape,
        classes: options.train.inMemory.classes,
        features: cached.features,
        labels: options.train.inMemory.labels,
      });
      if (options.validation?.inMemory) {
        const cachedValidation = cacheFrozen(options.validation.inMemory, firstTrainable);
        validationSource = memorySource({
          featureShape: cachedValidation.shape,
          classes: options.validation.inMemory.classes,
          features: cachedValidation.features,
          labels: options.validation.inMemory.labels,
        });
      }
      from = firstTrainable;
      inputShape = cached.shape;
    }
    const stepsPerEpoch = Math.ceil(trainSource.count / hyperparameters.batchSize);
    const { engine, fallbackReason } = createEngine(enginePreference, {
      tf,
      layers: layers.slice(from),
      inputShape,
      numClasses: options.numClasses,
      hyperparameters,
      learningRate: phase.learningRate,
      ...(classWeights ? { classWeights } : {}),
    });
    engineKind = engine.kind;
    engineFallbackReason = fallbackReason;
    try {
      if (resumingThisPhase && options.resume && options.resume.optimizer.length > 0)
        await engine.setOptimizerWeights(options.resume.optimizer);

      const phaseAlreadyEnded = resumingThisPhase && state.stoppedEarly; // resumed from its last checkpoint
      for (
        let epochInPhase = state.epochsDoneInPhase;
        epochInPhase < phase.epochs && !phaseAlreadyEnded;
        epochInPhase += 1
      ) {
        checkAborted(options.signal);
        const epoch = state.epochsDone + 1;
        const epochSeed = deriveSeed(seed, `epoch-${epoch}`);
        const augmentRandom = mulberry32(deriveSeed(seed, `augment-${epoch}`));
        const started = performance.now();
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        let step = state.stepInPhase;
        let learningRate = phase.learningRate;
        for await (const batch of trainSource.batches({
          batchSize: hyperparameters.batchSize,
          shuffle: true,
          seed: epochSeed,
        })) {
          checkAborted(options.signal);
          const n = batch.labels.length;
          learningRate = learningRateAt({
            baseRate: phase.learningRate,
            step,
            stepsPerEpoch,
            totalEpochs: phase.epochs,
            warmupEpochs: hyperparameters.warmupEpochs,
            decay: hyperparameters.decay,
          });
          const features =
            hyperparameters.augmentation && from === 0
              ? augmentBatch(batch.features, n, inputShape, hyperparameters.augmentation, augmentRandom)
              : batch.features;
          const result = engine.trainBatch(features, batch.labels, learningRate);
          lossSum += result.loss * n;
          correct += result.correct;
          seen += n;
          step += 1;
          // Yield to the event loop so IPC, heartbeats and abort signals are handled mid-epoch.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const seconds = (performance.now() - started) / 1000;
        trainedExamples += seen;
        trainingSeconds += seconds;
        const validation = validationSource ? await evaluate(engine, validationSource) : undefined;
        const metrics: EpochMetrics = {
          epoch,
          phase: phase.name,
          learningRate,
          trainLoss: lossSum / Math.max(1, seen),
          trainAccuracy: correct / Math.max(1, seen),
          ...(validation ? { validationLoss: validation.loss, validationAccuracy: validation.accuracy } : {}),
          seconds,
          samplesPerSecond: seen / Math.max(seconds, 1e-9),
        };
        const value = monitoredValue(metrics, monitor);
        let { bestValue, bestEpoch, epochsWithoutImprovement } = state;
        if (
          value !== undefined &&
          (bestValue === undefined || (minimize ? value < bestValue - minDelta : value > bestValue + minDelta))
        ) {
          bestValue = value;
          bestEpoch = epoch;
          epochsWithoutImprovement = 0;
          if (restoreBest) {
            engine.syncToModel();
            bestWeights = readWeights(model);
          }
        } else epochsWithoutImprovement += 1;
        const patience = hyperparameters.earlyStopping?.patience;
        const stoppedEarly = patience !== undefined && epochsWithoutImprovement >= patience;
        state = {
          epochsDone: epoch,
          phaseIndex,
          epochsDoneInPhase: epochInPhase + 1,
          history: [...state.history, metrics],
          bestValue,
          bestEpoch,
          epochsWithoutImprovement,
          stoppedEarly,
          stepInPhase: step,
        };
        const lastEpoch =
          stoppedEarly || (phaseIndex === options.phases.length - 1 && epochInPhase + 1 === phase.epochs);
        if (options.checkpoint && (epoch % Math.max(1, options.checkpoint.everyEpochs) === 0 || lastEpoch)) {
          engine.syncToModel();
          const optimizerArrays = await engine.optimizerWeights();
          lastCheckpointUri = await writeCheckpoint(options.checkpoint.store, options.checkpoint.uri, {
            requestKey: options.requestKey,
            state,
            weights: readWeights(model),
            optimizer: optimizerArrays,
            ...(bestWeights ? { bestWeights } : {}),
          });
          if (options.checkpoint.keepLast !== undefined) await pruneQuietly(options.checkpoint, state.bestEpoch);
        }
        await options.onEpoch?.({
          epoch,
          totalEpochs,
          phase: phase.name,
          metrics,
          ...(lastCheckpointUri ? { checkpointUri: lastCheckpointUri } : {}),
        });
        if (stoppedEarly) break;
      }
      engine.syncToModel();
    } finally {
      engine.dispose();
    }
    // Each phase ends on its best weights, so the next phase starts from them.
    weightsEpoch = state.epochsDone;
    if (restoreBest && bestWeights) {
      writeWeights(tf, model, bestWeights);
      weightsEpoch = state.bestEpoch ?? state.epochsDone;
    }
    if (phaseIndex + 1 < options.phases.length) {
      state = {
        ...state,
        phaseIndex: phaseIndex + 1,
        stoppedEarly: false,
        epochsDoneInPhase: 0,
        stepInPhase: 0,
        epochsWithoutImprovement: 0,
        bestValue: undefined,
      };
      bestWeights = undefined;
    }
  }
  for (const layer of layers) layer.trainable = true;
  return {
    history: state.history,
    bestEpoch: state.bestEpoch ?? state.epochsDone,
    weightsEpoch,
    stoppedEarly: state.stoppedEarly,
    samplesPerSecond: trainedExamples / Math.max(trainingSeconds, 1e-9),
    resumedFromEpoch,
    ...(lastCheckpointUri ? { lastCheckpointUri } : {}),
    engine: engineKind,
    ...(engineFallbackReason ? { engineFallbackReason } : {}),
  };
}
