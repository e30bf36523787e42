/**
 * How a training phase executes its batches. The loop (loop.ts) owns epochs, schedules, early
 * stopping and checkpoints; an engine owns the step itself:
 *   - `graph`: the whole step (forward, gradients, optimizer update) is one TensorFlow graph run
 *     through the C API (src/ml/graph/train-graph.ts): native backend only, Keras-like speed;
 *   - `eager`: tfjs ops one at a time (`optimizer.minimize`): every backend, every layer type.
 * Both compute the same loss (class-weighted cross-entropy + L2 on trainable kernels), update
 * batch-norm statistics the same way and name optimizer state as tfjs does, so a checkpoint
 * written by one resumes in the other.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Tf } from '../backend';
import type { NamedArray } from './checkpoint';
import { deriveSeed } from '../random';
import type { Hyperparameters } from './types';

type Tensor = TfModule.Tensor;
type Layer = TfModule.layers.Layer;

export type EngineKind = 'graph' | 'eager';
/** `auto`: graph when the native backend, the graph addon and every layer support it. */
export type EnginePreference = EngineKind | 'auto';

export interface StepResult {
  /** Mean loss over the batch (including the L2 term). */
  readonly loss: number;
  /** Examples whose arg-max prediction equals the label. */
  readonly correct: number;
}

export interface EvaluationResult {
  /** Sum over the batch of the unweighted cross-entropy. */
  readonly lossSum: number;
  readonly hits: number;
}

export interface StepEngine {
  readonly kind: EngineKind;
  /**
   * One optimizer step on a batch of `labels.length` examples. `stepInPhase` counts the phase's steps before this
   * one (the loop state a checkpoint keeps): dropout masks are drawn from the run's seed, it and the layer's position,
   * so a run resumed from a checkpoint draws the masks an uninterrupted one would.
   */
  trainBatch(features: Float32Array, labels: Int32Array, learningRate: number, stepInPhase: number): StepResult;
  /** Inference-mode loss and hits on a batch (no update). */
  evaluateBatch(features: Float32Array, labels: Int32Array): EvaluationResult;
  /** Makes the tfjs model's weights current (the graph engine keeps its own copy while training). */
  syncToModel(): void;
  /** Optimizer state, tfjs-style: `iter`, then the slots of each variable in training order. */
  optimizerWeights(): Promise<NamedArray[]>;
  setOptimizerWeights(arrays: readonly NamedArray[]): Promise<void>;
  dispose(): void;
}

export interface EngineOptions {
  readonly tf: Tf;
  /** The layers this phase runs, input to output (the frozen prefix may have been cached away). */
  readonly layers: readonly Layer[];
  /** Shape of one example entering `layers[0]`. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly hyperparameters: Hyperparameters;
  readonly learningRate: number;
  readonly classWeights?: readonly number[];
  /**
   * The training phase this engine runs (default 0). Each phase counts its steps from 0, so dropout's seed is
   * {@link dropoutSeedOf} the run's seed and the phase: phase 2 does not repeat phase 1's masks step by step.
   */
  readonly phaseIndex?: number;
}

/**
 * The seed a phase's dropout masks are drawn from (with the step in the phase and the layer's position). Phase 0
 * keeps the run's seed itself, so a single-phase run draws the masks it always did; a later phase derives its own.
 * A checkpoint keeps the phase and the step, so a resumed run draws the masks an uninterrupted one would.
 */
export function dropoutSeedOf(options: Pick<EngineOptions, 'hyperparameters' | 'phaseIndex'>): number {
  const seed = options.hyperparameters.seed ?? 0;
  const phase = options.phaseIndex ?? 0;
  return phase === 0 ? seed : deriveSeed(seed, `dropout-phase-${phase}`) | 0;
}

/** The variables a phase trains, in the order optimizers see them. */
export function trainableVariables(layers: readonly Layer[]): TfModule.LayerVariable[] {
  return layers.filter((layer) => layer.trainable).flatMap((layer) => layer.trainableWeights);
}

function createOptimizer(tf: Tf, hyperparameters: Hyperparameters, learningRate: number): TfModule.Optimizer {
  switch (hyperparameters.optimizer ?? 'adam') {
    case 'sgd':
      return tf.train.momentum(learningRate, hyperparameters.momentum ?? 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
    case 'adam':
      return tf.train.adam(learningRate);
  }
}

/** tfjs ops, one at a time, on the layers' own variables. */
class EagerStepEngine implements StepEngine {
  readonly kind = 'eager';
  private readonly tf: Tf;
  private readonly layers: readonly Layer[];
  private readonly inputShape: readonly number[];
  private readonly numClasses: number;
  private readonly l2: number;
  private readonly optimizer: TfModule.Optimizer;
  private readonly variables: TfModule.Variable[];
  private readonly kernels: TfModule.Variable[];
  private readonly weightTensor: TfModule.Tensor1D | undefined;
  private currentLearningRate: number;
  /**
   * Dropout's seed for this phase ({@link dropoutSeedOf}): with the step and a layer's position, what a mask is drawn
   * from.
   */
  private readonly seed: number;

  constructor(options: EngineOptions) {
    const { tf, hyperparameters } = options;
    this.tf = tf;
    this.layers = options.layers;
    this.inputShape = options.inputShape;
    this.numClasses = options.numClasses;
    this.l2 = hyperparameters.l2 ?? 0;
    this.optimizer = createOptimizer(tf, hyperparameters, options.learningRate);
    this.currentLearningRate = options.learningRate;
    this.variables = trainableVariables(options.layers).map((weight) => weight.read() as TfModule.Variable);
    this.kernels = this.variables.filter((variable) => /kernel/.test(variable.name));
    this.weightTensor = options.classWeights ? tf.tensor1d([...options.classWeights]) : undefined;
    this.seed = dropoutSeedOf(options);
  }

  /** `step`: the phase's step while training (dropout's), undefined in evaluation. */
  private forward(input: Tensor, step: number | undefined): Tensor {
    let output = input;
    this.layers.forEach((layer, index) => {
      const active = step !== undefined && layer.trainable;
      output =
        active && layer.getClassName() === 'Dropout'
          ? this.dropout(layer, output, `${this.seed}:${step}:${index}`)
          : (layer.apply(output, { training: active }) as Tensor);
    });
    return output;
  }

  /**
   * Inverted dropout (as tfjs's Dropout layer does it) with a mask drawn from the run's seed, the step and the
   * layer's position, as the graph engine seeds its own: the layer draws from an unseeded generator, so two runs
   * with the same seed ended with different weights.
   */
  private dropout(layer: Layer, input: Tensor, seed: string): Tensor {
    const { rate, noiseShape } = layer.getConfig() as { rate?: number; noiseShape?: readonly (number | null)[] };
    if (!rate || rate <= 0) return input;
    const shape = noiseShape?.map((size, axis) => size ?? input.shape[axis] ?? 1);
    return this.tf.dropout(input, rate, shape, seed);
  }

  /** Mean class-weighted cross-entropy of `probabilities` against `y`, plus the L2 term. */
  private loss(probabilities: Tensor, y: Tensor): TfModule.Scalar {
    const tf = this.tf;
    const picked = tf.sum(tf.mul(probabilities, tf.oneHot(y as TfModule.Tensor1D, this.numClasses)), -1);
    let perExample = tf.neg(tf.log(tf.clipByValue(picked, 1e-7, 1)));
    if (this.weightTensor) perExample = tf.mul(perExample, tf.gather(this.weightTensor, y));
    let loss = tf.mean(perExample) as TfModule.Scalar;
    if (this.l2 > 0 && this.kernels.length > 0)
      loss = tf.add(
        loss,
        tf.mul(this.l2, tf.addN(this.kernels.map((kernel) => tf.sum(tf.square(kernel))))),
      ) as TfModule.Scalar;
    return loss;
  }

  /**
   * Adam and RMSProp read their `learningRate` field at every step; SGD and momentum read a scalar that only
   * `setLearningRate` updates (assigning the field left warm-up and decay without effect for them).
   */
  private setLearningRate(learningRate: number): void {
    if (learningRate === this.currentLearningRate) return;
    this.currentLearningRate = learningRate;
    const optimizer = this.optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
    if (typeof optimizer.setLearningRate === 'function') optimizer.setLearningRate(learningRate);
    else optimizer.learningRate = learningRate;
  }

  trainBatch(features: Float32Array, labels: Int32Array, learningRate: number, stepInPhase: number): StepResult {
    const tf = this.tf;
    const n = labels.length;
    this.setLearningRate(learningRate);
    let predictions: Tensor | undefined;
    const x = tf.tensor(features, [n, ...this.inputShape]);
    const y = tf.tensor1d(labels, 'int32');
    const cost = this.optimizer.minimize(
      () => {
        const probabilities = this.forward(x, stepInPhase);
        predictions = tf.keep(tf.argMax(probabilities, -1));
        return this.loss(probabilities, y);
      },
      true,
      this.variables,
    );
    const loss = cost?.dataSync()[0] ?? 0;
    cost?.dispose();
    let correct = 0;
    if (predictions) {
      const predicted = predictions.dataSync();
      for (let i = 0; i < n; i += 1) if (predicted[i] === labels[i]) correct += 1;
      predictions.dispose();
    }
    x.dispose();
    y.dispose();
    return { loss, correct };
  }

  evaluateBatch(features: Float32Array, labels: Int32Array): EvaluationResult {
    const tf = this.tf;
    const n = labels.length;
    const [lossSum, hits] = tf.tidy(() => {
      const probabilities = this.forward(tf.tensor(features, [n, ...this.inputShape]), undefined);
      const y = tf.tensor1d(labels, 'int32');
      const picked = tf.sum(tf.mul(probabilities, tf.oneHot(y, this.numClasses)), -1);
      const lossTotal = tf.sum(tf.neg(tf.log(tf.clipByValue(picked, 1e-7, 1))));
      const hitsTotal = tf.sum(tf.cast(tf.equal(tf.argMax(probabilities, -1), y), 'float32'));
      return [lossTotal.dataSync()[0] ?? 0, hitsTotal.dataSync()[0] ?? 0];
    });
    return { lossSum, hits };
  }

  syncToModel(): void {}

  async optimizerWeights(): Promise<NamedArray[]> {
    const weights = await this.optimizer.getWeights();
    return weights.map((entry) => ({
      name: entry.name,
      shape: entry.tensor.shape,
      values: Float32Array.from(entry.tensor.dataSync()),
    }));
  }

  async setOptimizerWeights(arrays: readonly NamedArray[]): Promise<void> {
    await this.optimizer.setWeights(
      arrays.map((array) => ({ name: array.name, tensor: this.tf.tensor(array.values, [...array.shape]) })),
    );
  }

  dispose(): void {
    this.weightTensor?.dispose();
    this.optimizer.dispose();
  }
}

/** tfjs ops, one at a time: the reference implementation and the fallback. */
export function createEagerEngine(options: EngineOptions): StepEngine {
  return new EagerStepEngine(options);
}
