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
import { concatFloat32, featureLength, type LabelledSet } from '../generators/image-set';
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
  /**
   * `resume` came from another request (`inheritFrom`): its optimizer state is taken only when this phase's optimizer
   * has the same slots (same optimizer, same trainable weights), else the optimizer starts fresh.
   */
  readonly resumeOptimizerIfItFits?: boolean;
  /** `keepLast`: after each checkpoint, remove all but the newest N and the best epoch's; absent = keep all. */
  readonly checkpoint?: {
    readonly store: ObjectStore;
    readonly uri: string;
    readonly everyEpochs: number;
    readonly keepLast?: number;
    /** Epochs whose checkpoints pruning never removes (a sweep segment's boundaries). */
    readonly keep?: readonly number[];
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
      keep: [...(bestEpoch !== undefined ? [bestEpoch] : []), ...(checkpoint.keep ?? [])],
    });
  } catch {
    // see above
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new CancelledError('training was cancelled', { reason: String(signal.reason ?? 'aborted') });
}

/** Run layers [0, upTo) in inference mode over a whole in-memory set: the frozen features. */
function frozenFeatures(
  tf: Tf,
  layers: readonly Layer[],
  set: LabelledSet,
  upTo: number,
): { features: Float32Array; shape: number[] } {
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
  return { features: concatFloat32(outputs), shape };
}

/** An in-memory set replaced by its frozen features (same classes and labels). */
function frozenSource(tf: Tf, layers: readonly Layer[], set: LabelledSet, upTo: number): ExampleSource {
  const cached = frozenFeatures(tf, layers, set, upTo);
  return memorySource({
    featureShape: cached.shape,
    classes: set.classes,
    features: cached.features,
    labels: set.labels,
  });
}

/** Inference-mode mean loss and accuracy of the engine's current weights over `source`. */
async function evaluateSource(engine: StepEngine, source: ExampleSource): Promise<{ loss: number; accuracy: number }> {
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
}

/** What one phase trains on: the sources (frozen features when cached), and the layers they enter. */
interface PhaseInputs {
  readonly train: ExampleSource;
  readonly validation?: ExampleSource;
  /** Index of the first layer the engine runs (the ones below were cached away). */
  readonly from: number;
  readonly inputShape: readonly number[];
}

/** One epoch's training totals, before validation. */
interface EpochTotals {
  readonly lossSum: number;
  readonly correct: number;
  readonly seen: number;
  readonly step: number;
  readonly learningRate: number;
  readonly seconds: number;
}

/** The per-phase state a new phase starts from. */
function phaseStart(state: LoopState, phaseIndex: number): LoopState {
  return {
    ...state,
    phaseIndex,
    epochsDoneInPhase: 0,
    stepInPhase: 0,
    epochsWithoutImprovement: 0,
    bestValue: undefined,
  };
}

/**
 * One call of {@link runTrainingLoop}: the loop's state across phases and epochs (what a checkpoint
 * records), the best weights and the totals the result reports.
 */
class TrainingRun {
  private readonly tf: Tf;
  private readonly layers: Layer[];
  private readonly totalEpochs: number;
  private readonly seed: number;
  private readonly classWeights: number[] | undefined;
  private readonly monitor: MonitoredMetric;
  private readonly minimize: boolean;
  private readonly minDelta: number;
  /** As in Keras, best weights are restored only when early stopping is configured (and asks for it). */
  private readonly restoreBest: boolean;
  private state: LoopState;
  private bestWeights: readonly NamedArray[] | undefined;
  private readonly resumedFromEpoch: number;
  private lastCheckpointUri: string | undefined;
  private trainedExamples = 0;
  private trainingSeconds = 0;
  private engineKind: EngineKind = 'eager';
  private engineFallbackReason: string | undefined;
  private weightsEpoch: number;

  constructor(private readonly options: LoopOptions) {
    const { hyperparameters } = options;
    this.tf = options.tf;
    this.layers = options.model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
    this.totalEpochs = options.phases.reduce((sum, phase) => sum + phase.epochs, 0);
    this.seed = hyperparameters.seed ?? 0;
    this.classWeights = classWeightsOf(hyperparameters, options.train.classCounts);
    this.monitor = hyperparameters.earlyStopping?.monitor ?? (options.validation ? 'validation.loss' : 'train.loss');
    this.minimize = !this.monitor.endsWith('accuracy');
    this.minDelta = hyperparameters.earlyStopping?.minDelta ?? 0;
    this.restoreBest =
      hyperparameters.earlyStopping !== undefined && hyperparameters.earlyStopping.restoreBestWeights !== false;
    this.state = options.resume?.state ?? {
      epochsDone: 0,
      phaseIndex: 0,
      epochsDoneInPhase: 0,
      history: [],
      epochsWithoutImprovement: 0,
      stoppedEarly: false,
      stepInPhase: 0,
    };
    this.bestWeights = options.resume?.bestWeights;
    if (options.resume) writeWeights(this.tf, options.model, options.resume.weights);
    this.resumedFromEpoch = this.state.epochsDone;
    this.weightsEpoch = this.state.epochsDone;
  }

  async run(): Promise<LoopResult> {
    // Early stopping ends the phase it triggers in, as a separate Keras fit() per phase would: the
    // head phase stopping early moves on to unfreezing (with its best weights), rather than skipping
    // the fine-tuning the request asked for. `stoppedEarly` in the state means "this phase ended".
    for (let phaseIndex = this.state.phaseIndex; phaseIndex < this.options.phases.length; phaseIndex += 1)
      await this.runPhase(phaseIndex);
    for (const layer of this.layers) layer.trainable = true;
    const { state } = this;
    return {
      history: state.history,
      bestEpoch: state.bestEpoch ?? state.epochsDone,
      weightsEpoch: this.weightsEpoch,
      stoppedEarly: state.stoppedEarly,
      samplesPerSecond: this.trainedExamples / Math.max(this.trainingSeconds, 1e-9),
      resumedFromEpoch: this.resumedFromEpoch,
      ...(this.lastCheckpointUri ? { lastCheckpointUri: this.lastCheckpointUri } : {}),
      engine: this.engineKind,
      ...(this.engineFallbackReason ? { engineFallbackReason: this.engineFallbackReason } : {}),
    };
  }

  private async runPhase(phaseIndex: number): Promise<void> {
    const { options } = this;
    const phase = options.phases[phaseIndex] as PhasePlan;
    const trainable = new Set(phase.trainableLayers);
    // Weightless layers (dropout, pooling) stay "trainable" so dropout is active while training.
    for (const layer of this.layers) layer.trainable = trainable.has(layer.name) || layer.weights.length === 0;
    const resumingThisPhase = options.resume !== undefined && phaseIndex === options.resume.state.phaseIndex;
    if (!resumingThisPhase) this.state = phaseStart(this.state, phaseIndex);
    const inputs = this.phaseInputs();
    const { engine, fallbackReason } = createEngine(options.engine ?? 'auto', {
      tf: this.tf,
      layers: this.layers.slice(inputs.from),
      inputShape: inputs.inputShape,
      numClasses: options.numClasses,
      hyperparameters: options.hyperparameters,
      learningRate: phase.learningRate,
      phaseIndex,
      ...(this.classWeights ? { classWeights: this.classWeights } : {}),
    });
    this.engineKind = engine.kind;
    this.engineFallbackReason = fallbackReason;
    try {
      if (resumingThisPhase && options.resume && options.resume.optimizer.length > 0)
        await this.resumeOptimizer(engine, options.resume.optimizer);
      const phaseAlreadyEnded = resumingThisPhase && this.state.stoppedEarly; // resumed from its last checkpoint
      for (
        let epochInPhase = this.state.epochsDoneInPhase;
        epochInPhase < phase.epochs && !phaseAlreadyEnded;
        epochInPhase += 1
      ) {
        const stoppedEarly = await this.runEpoch(engine, phaseIndex, epochInPhase, inputs);
        if (stoppedEarly) break;
      }
      engine.syncToModel();
    } finally {
      engine.dispose();
    }
    this.endPhase(phaseIndex);
  }

  private async resumeOptimizer(engine: StepEngine, arrays: readonly NamedArray[]): Promise<void> {
    if (!this.options.resumeOptimizerIfItFits) return engine.setOptimizerWeights(arrays);
    const fresh = await engine.optimizerWeights();
    const fits =
      fresh.length === arrays.length &&
      fresh.every((slot, i) => slot.shape.join('x') === (arrays[i] as NamedArray).shape.join('x'));
    if (fits) await engine.setOptimizerWeights(arrays);
  }

  /**
   * The sources a phase trains on. With no augmentation and in-memory data, the frozen prefix gives
   * the same output every epoch: compute it once (the head-only phase then trains as fast as a
   * logistic regression).
   */
  private phaseInputs(): PhaseInputs {
    const { options, layers } = this;
    const firstTrainable = Math.max(
      0,
      layers.findIndex((layer: Layer) => layer.trainable && layer.trainableWeights.length > 0),
    );
    const canCache =
      firstTrainable > 0 &&
      !options.hyperparameters.augmentation &&
      options.train.inMemory !== undefined &&
      (!options.validation || options.validation.inMemory !== undefined);
    if (!canCache || !options.train.inMemory) {
      return {
        train: options.train,
        ...(options.validation ? { validation: options.validation } : {}),
        from: 0,
        inputShape: options.train.featureShape,
      };
    }
    const train = frozenSource(this.tf, layers, options.train.inMemory, firstTrainable);
    const validation = options.validation?.inMemory
      ? frozenSource(this.tf, layers, options.validation.inMemory, firstTrainable)
      : options.validation;
    return { train, ...(validation ? { validation } : {}), from: firstTrainable, inputShape: train.featureShape };
  }

  /** Trains one epoch, validates, updates early stopping, checkpoints and reports; true when the phase stops early. */
  private async runEpoch(
    engine: StepEngine,
    phaseIndex: number,
    epochInPhase: number,
    inputs: PhaseInputs,
  ): Promise<boolean> {
    const { options } = this;
    const phase = options.phases[phaseIndex] as PhasePlan;
    checkAborted(options.signal);
    const epoch = this.state.epochsDone + 1;
    const totals = await this.trainEpoch(engine, phase, epoch, inputs);
    this.trainedExamples += totals.seen;
    this.trainingSeconds += totals.seconds;
    const validation = inputs.validation ? await evaluateSource(engine, inputs.validation) : undefined;
    const metrics: EpochMetrics = {
      epoch,
      phase: phase.name,
      learningRate: totals.learningRate,
      trainLoss: totals.lossSum / Math.max(1, totals.seen),
      trainAccuracy: totals.correct / Math.max(1, totals.seen),
      ...(validation ? { validationLoss: validation.loss, validationAccuracy: validation.accuracy } : {}),
      seconds: totals.seconds,
      samplesPerSecond: totals.seen / Math.max(totals.seconds, 1e-9),
    };
    const stoppedEarly = this.recordEpoch(engine, metrics, phaseIndex, epochInPhase, totals.step);
    const lastEpoch = stoppedEarly || (phaseIndex === options.phases.length - 1 && epochInPhase + 1 === phase.epochs);
    if (options.checkpoint && (epoch % Math.max(1, options.checkpoint.everyEpochs) === 0 || lastEpoch))
      await this.writeCheckpoint(engine, options.checkpoint);
    await options.onEpoch?.({
      epoch,
      totalEpochs: this.totalEpochs,
      phase: phase.name,
      metrics,
      ...(this.lastCheckpointUri ? { checkpointUri: this.lastCheckpointUri } : {}),
      backend: currentBackend(this.tf),
      engine: this.engineKind,
      ...(this.engineFallbackReason ? { engineFallbackReason: this.engineFallbackReason } : {}),
    });
    return stoppedEarly;
  }

  /** One pass over the training source with the schedule's learning rate at each step. */
  private async trainEpoch(
    engine: StepEngine,
    phase: PhasePlan,
    epoch: number,
    inputs: PhaseInputs,
  ): Promise<EpochTotals> {
    const { hyperparameters, signal } = this.options;
    const stepsPerEpoch = Math.ceil(inputs.train.count / hyperparameters.batchSize);
    const epochSeed = deriveSeed(this.seed, `epoch-${epoch}`);
    const augmentRandom = mulberry32(deriveSeed(this.seed, `augment-${epoch}`));
    const started = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let step = this.state.stepInPhase;
    let learningRate = phase.learningRate;
    for await (const batch of inputs.train.batches({
      batchSize: hyperparameters.batchSize,
      shuffle: true,
      seed: epochSeed,
    })) {
      checkAborted(signal);
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
        hyperparameters.augmentation && inputs.from === 0
          ? augmentBatch(batch.features, n, inputs.inputShape, hyperparameters.augmentation, augmentRandom)
          : batch.features;
      const result = engine.trainBatch(features, batch.labels, learningRate, step);
      lossSum += result.loss * n;
      correct += result.correct;
      seen += n;
      step += 1;
      // Yield to the event loop so IPC, heartbeats and abort signals are handled mid-epoch.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const seconds = (performance.now() - started) / 1000;
    return { lossSum, correct, seen, step, learningRate, seconds };
  }

  /** Early-stopping bookkeeping (capturing the best weights) and the new state; true when patience ran out. */
  private recordEpoch(
    engine: StepEngine,
    metrics: EpochMetrics,
    phaseIndex: number,
    epochInPhase: number,
    step: number,
  ): boolean {
    const { hyperparameters } = this.options;
    const value = monitoredValue(metrics, this.monitor);
    let { bestValue, bestEpoch, epochsWithoutImprovement } = this.state;
    if (
      value !== undefined &&
      (bestValue === undefined ||
        (this.minimize ? value < bestValue - this.minDelta : value > bestValue + this.minDelta))
    ) {
      bestValue = value;
      bestEpoch = metrics.epoch;
      epochsWithoutImprovement = 0;
      if (this.restoreBest) {
        engine.syncToModel();
        this.bestWeights = readWeights(this.options.model);
      }
    } else epochsWithoutImprovement += 1;
    const patience = hyperparameters.earlyStopping?.patience;
    const stoppedEarly = patience !== undefined && epochsWithoutImprovement >= patience;
    this.state = {
      epochsDone: metrics.epoch,
      phaseIndex,
      epochsDoneInPhase: epochInPhase + 1,
      history: [...this.state.history, metrics],
      bestValue,
      bestEpoch,
      epochsWithoutImprovement,
      stoppedEarly,
      stepInPhase: step,
    };
    return stoppedEarly;
  }

  private async writeCheckpoint(engine: StepEngine, checkpoint: NonNullable<LoopOptions['checkpoint']>): Promise<void> {
    engine.syncToModel();
    const optimizerArrays = await engine.optimizerWeights();
    this.lastCheckpointUri = await writeCheckpoint(checkpoint.store, checkpoint.uri, {
      requestKey: this.options.requestKey,
      state: this.state,
      weights: readWeights(this.options.model),
      optimizer: optimizerArrays,
      ...(this.bestWeights ? { bestWeights: this.bestWeights } : {}),
    });
    if (checkpoint.keepLast !== undefined) await pruneQuietly(checkpoint, this.state.bestEpoch);
  }

  /** Each phase ends on its best weights, so the next phase starts from them. */
  private endPhase(phaseIndex: number): void {
    this.weightsEpoch = this.state.epochsDone;
    if (this.restoreBest && this.bestWeights) {
      writeWeights(this.tf, this.options.model, this.bestWeights);
      this.weightsEpoch = this.state.bestEpoch ?? this.state.epochsDone;
    }
    if (phaseIndex + 1 < this.options.phases.length) {
      this.state = { ...phaseStart(this.state, phaseIndex + 1), stoppedEarly: false };
      this.bestWeights = undefined;
    }
  }
}

export async function runTrainingLoop(options: LoopOptions): Promise<LoopResult> {
  return new TrainingRun(options).run();
}
