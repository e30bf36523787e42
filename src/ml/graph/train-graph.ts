/**
 * The graph training engine: compiles a phase's tfjs layers into one TensorFlow graph (forward
 * in training and inference mode, TF_AddGradients, fused optimizer ops on resource variables)
 * and runs one session call per batch. Same mathematics as the eager engine (engine.ts):
 *   - loss: mean over the batch of class-weighted softmax cross-entropy (from the head's logits,
 *     which is what -log(softmax) computes), plus l2 × Σ‖kernel‖² over trainable kernels;
 *   - batch norm: batch statistics when the layer trains, moving statistics otherwise; moving
 *     averages updated with the biased batch variance, as tfjs-layers does;
 *   - optimizers with tfjs's update rules (Adam's epsilon is rescaled so the bias-corrected form
 *     matches tfjs exactly), and tfjs's names and order for their state.
 * `graphEngineSupport` says whether a layer stack compiles; the loop falls back to eager when not.
 * The forward pass is forward-pass.ts; this file adds the loss, gradients, optimizer and session.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { NamedArray } from '../train/checkpoint';
import {
  dropoutSeedOf,
  trainableVariables,
  type EngineOptions,
  type EvaluationResult,
  type StepEngine,
  type StepResult,
} from '../train/engine';
import type { OptimizerName } from '../train/types';
import { featureLength as size } from '../generators/image-set';
import {
  activationOf,
  buildForward,
  F32,
  floats,
  GraphCompiler,
  pair,
  SUPPORTED_LAYERS,
  type GraphVariable,
  type LayerConfig,
} from './forward-pass';
import { createGraph, loadGraphAddon, type Graph, type HostTensor, type Output, type Session } from './tf-graph';

type Layer = TfModule.layers.Layer;
type LayerVariable = TfModule.LayerVariable;

const ADAM = { beta1: 0.9, beta2: 0.999 } as const;
/** tfjs's float32 epsilon (KernelBackend.epsilon()), used by its optimizers. */
const TFJS_EPSILON = 1e-7;

type Activation = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'elu' | 'relu6';
const ACTIVATIONS: ReadonlySet<string> = new Set<Activation>([
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'softmax',
  'elu',
  'relu6',
]);

/** Why `layers` cannot run on the graph engine, or undefined when they can. */
export function graphEngineUnsupportedReason(layers: readonly Layer[]): string | undefined {
  if (layers.length === 0) return 'no layers to train';
  for (const [index, layer] of layers.entries()) {
    const kind = layer.getClassName();
    if (!SUPPORTED_LAYERS.has(kind)) return `layer ${layer.name} is a ${kind}, which the graph engine does not compile`;
    const config = layer.getConfig() as LayerConfig;
    const activation = activationOf(config);
    if (!ACTIVATIONS.has(activation)) return `layer ${layer.name} uses activation ${activation}`;
    if (activation === 'softmax' && index !== layers.length - 1)
      return `layer ${layer.name} applies softmax below the output`;
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast')
      return `layer ${layer.name} is channelsFirst`;
    if (kind === 'Conv2D' && pair(config.dilationRate, 1).some((rate) => rate !== 1))
      return `layer ${layer.name} is dilated`;
    if (
      kind === 'BatchNormalization' &&
      config.axis !== -1 &&
      config.axis !== undefined &&
      !(Array.isArray(config.axis) && config.axis[0] === -1)
    ) {
      return `layer ${layer.name} normalises axis ${JSON.stringify(config.axis)}`;
    }
    if (kind === 'Dropout' && Array.isArray(config.noiseShape)) return `layer ${layer.name} has a noise shape`;
    for (const weight of layer.weights)
      if (weight.dtype !== 'float32') return `weight ${weight.originalName} is ${weight.dtype}`;
  }
  const last = layers[layers.length - 1] as Layer;
  if (activationOf(last.getConfig() as LayerConfig) !== 'softmax')
    return `the output layer ${last.name} is not a softmax`;
  return undefined;
}

/** Whether the graph engine can train `layers` here: native backend, addon built, layers supported. */
export function graphEngineSupport(
  backend: string,
  layers: readonly Layer[],
): { readonly supported: true } | { readonly supported: false; readonly reason: string } {
  if (backend !== 'tensorflow') return { supported: false, reason: `the ${backend} backend has no graph runtime` };
  const { addon, error } = loadGraphAddon();
  if (!addon) return { supported: false, reason: error ?? 'the graph addon does not load' };
  const reason = graphEngineUnsupportedReason(layers);
  return reason ? { supported: false, reason } : { supported: true };
}

/**
 * TensorFlow's own thread variables, which libtensorflow's eager runtime (tfjs-node) reads when it
 * loads: graph sessions follow them too, so both engines use the same pools' sizes.
 */
function threadsFromEnv(name: 'TF_NUM_INTRAOP_THREADS' | 'TF_NUM_INTEROP_THREADS'): number {
  const value = Number(process.env[name] ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** The tfjs variable's registered name, which tfjs optimizers use for their state. */
function variableName(weight: LayerVariable): string {
  return (weight.read() as TfModule.Variable).name;
}

function scalarFeed(value: number): HostTensor {
  return { dtype: 'float32', shape: [], data: Float32Array.of(value) };
}

/** tfjs slot suffixes of each optimizer, in the order tfjs's getWeights lists them. */
const SLOT_SUFFIXES: Readonly<Record<OptimizerName, readonly string[]>> = {
  adam: ['m', 'v'],
  sgd: ['momentum'],
  rmsprop: ['rms', 'momentum'],
};

const SUM_OVER_AXES = { ...F32, Tidx: { type: 'int32' }, keep_dims: { bool: false } } as const;

/** Per-example softmax cross-entropy and hit counts of one pass's logits against the labels `y`. */
class LossOps {
  constructor(
    private readonly g: Graph,
    private readonly y: Output,
    private readonly numClasses: number,
  ) {}

  crossEntropy(logits: Output): Output {
    const g = this.g;
    const labels = g.op1(
      'OneHot',
      [
        this.y,
        g.constant({ dtype: 'int32', shape: [], data: Int32Array.of(this.numClasses) }),
        g.scalar(1),
        g.scalar(0),
      ],
      { ...F32, TI: { type: 'int32' }, axis: { int: -1 } },
      { name: `${logits.op}/labels` },
    );
    const [perExample] = g.op('SoftmaxCrossEntropyWithLogits', [logits, labels], F32);
    if (!perExample) throw new Error('SoftmaxCrossEntropyWithLogits returned no loss');
    return perExample;
  }

  /** How many examples' arg-max equals their label (a float32 scalar). */
  hits(logits: Output): Output {
    const g = this.g;
    const predicted = g.op1('ArgMax', [logits, g.constant({ dtype: 'int32', shape: [], data: Int32Array.of(1) })], {
      ...F32,
      Tidx: { type: 'int32' },
      output_type: { type: 'int32' },
    });
    const equal = g.op1('Equal', [predicted, this.y], { T: { type: 'int32' } });
    const asFloat = g.op1('Cast', [equal], { SrcT: { type: 'bool' }, DstT: { type: 'float32' } });
    return g.op1('Sum', [asFloat, g.ints([0])], SUM_OVER_AXES);
  }
}

/** `perExample` scaled by the weight of each example's class. */
function classWeighted(g: Graph, perExample: Output, y: Output, classWeights: readonly number[]): Output {
  const weights = g.constant(floats([classWeights.length], Float32Array.from(classWeights)), 'class_weights');
  const gathered = g.op1('GatherV2', [weights, y, g.constant({ dtype: 'int32', shape: [], data: Int32Array.of(0) })], {
    Tparams: { type: 'float32' },
    Tindices: { type: 'int32' },
    Taxis: { type: 'int32' },
  });
  return g.op1('Mul', [perExample, gathered], F32);
}

/** `loss + l2 × Σ‖kernel‖²` over the trainable kernels (tfjs names them …/kernel). */
function withL2Penalty(
  g: Graph,
  loss: Output,
  l2: number,
  trainables: readonly LayerVariable[],
  variables: readonly GraphVariable[],
): Output {
  const kernels = variables.filter((_, index) => /kernel/.test(variableName(trainables[index] as LayerVariable)));
  if (!(l2 > 0) || kernels.length === 0) return loss;
  const penalties = kernels.map((variable) =>
    g.op1('Sum', [g.op1('Square', [variable.read], F32), g.ints(variable.shape.map((_, i) => i))], SUM_OVER_AXES),
  );
  const total =
    penalties.length === 1
      ? (penalties[0] as Output)
      : g.op1('AddN', [penalties], { ...F32, N: { int: penalties.length } });
  return g.op1('AddV2', [loss, g.op1('Mul', [total, g.scalar(l2)], F32)], F32, { name: 'loss_with_l2' });
}

/** Placeholders fed at every step besides the batch: the learning rate, Adam's bias corrections, dropout's seed. */
interface StepFeeds {
  readonly learningRate: Output;
  /** int32 `[dropout seed of the phase (dropoutSeedOf + 1), step in the phase]`. */
  readonly dropoutSeed: Output;
  readonly beta1Power: Output;
  readonly beta2Power: Output;
  readonly adamEpsilon: Output;
}

/** The fused update op of one variable, with tfjs's rules for `optimizer`. */
function applyOptimizer(
  g: Graph,
  optimizer: OptimizerName,
  momentum: number,
  variable: GraphVariable,
  slots: readonly Output[],
  gradient: Output,
  feeds: StepFeeds,
  control: readonly string[],
): string {
  const options = { name: `apply/${variable.name}`, control };
  const [first, second] = slots as [Output, Output];
  switch (optimizer) {
    case 'adam':
      return g.target(
        'ResourceApplyAdam',
        [
          variable.handle,
          first,
          second,
          feeds.beta1Power,
          feeds.beta2Power,
          feeds.learningRate,
          g.scalar(ADAM.beta1),
          g.scalar(ADAM.beta2),
          feeds.adamEpsilon,
          gradient,
        ],
        F32,
        options,
      );
    case 'sgd':
      return g.target(
        'ResourceApplyMomentum',
        [variable.handle, first, feeds.learningRate, gradient, g.scalar(momentum)],
        { ...F32, use_nesterov: { bool: false } },
        options,
      );
    case 'rmsprop':
      // tfjs.train.rmsprop defaults: decay 0.9, momentum 0.
      return g.target(
        'ResourceApplyRMSProp',
        [
          variable.handle,
          first,
          second,
          feeds.learningRate,
          g.scalar(0.9),
          g.scalar(0),
          g.scalar(TFJS_EPSILON),
          gradient,
        ],
        F32,
        options,
      );
  }
}

/** Everything a graph engine runs: built once per phase by {@link buildTrainingGraph}. */
interface TrainingGraph {
  readonly graph: Graph;
  /** The phase's dropout seed: the first word of {@link StepFeeds.dropoutSeed}. */
  readonly seed: number;
  readonly x: Output;
  readonly y: Output;
  readonly feeds: StepFeeds;
  readonly loss: Output;
  readonly trainHits: Output;
  /** Runs the optimizer updates and the batch-norm moving averages. */
  readonly trainStep: string;
  /** Summed (not mean) inference-mode cross-entropy, and hits. */
  readonly evalLoss: Output;
  readonly evalHits: Output;
  readonly trainables: readonly LayerVariable[];
  /** Every layer weight the graph reads, with its graph variable, in creation order. */
  readonly layerVariables: readonly (readonly [LayerVariable, GraphVariable])[];
  /** Optimizer slots: for each suffix of {@link SLOT_SUFFIXES}, one variable per trainable. */
  readonly slotVariables: readonly (readonly GraphVariable[])[];
}

function buildTrainingGraph(options: EngineOptions, optimizer: OptimizerName): TrainingGraph {
  const { layers, inputShape, hyperparameters } = options;
  const g = createGraph();
  const compiler = new GraphCompiler(g);
  const x = g.placeholder('float32', [-1, ...inputShape], 'x');
  const y = g.placeholder('int32', [-1], 'y');
  const learningRate = g.placeholder('float32', [], 'learning_rate');
  const dropoutSeed = g.placeholder('int32', [2], 'dropout_seed');
  const train = buildForward(compiler, layers, x, inputShape, true, dropoutSeed);
  const infer = buildForward(compiler, layers, x, inputShape, false, dropoutSeed);
  const lossOps = new LossOps(g, y, options.numClasses);

  // Training loss.
  let perExample = lossOps.crossEntropy(train.logits);
  if (options.classWeights) perExample = classWeighted(g, perExample, y, options.classWeights);
  const meanLoss = g.op1('Mean', [perExample, g.ints([0])], SUM_OVER_AXES, { name: 'loss' });
  const trainables = trainableVariables(layers);
  const variables = trainables.map((weight) => {
    const variable = compiler.mapping().get(weight);
    if (!variable) throw new Error(`trainable weight ${weight.originalName} is not used by the forward pass`);
    return variable;
  });
  const loss = withL2Penalty(g, meanLoss, hyperparameters.l2 ?? 0, trainables, variables);
  const trainHits = lossOps.hits(train.logits);
  const gradients =
    variables.length > 0
      ? g.gradients(
          [loss],
          variables.map((variable) => variable.read),
          'gradients',
        )
      : [];
  // Every update waits for every gradient, so no variable changes while another's gradient still reads it.
  const gradientOps = [...new Set(gradients.map((gradient) => gradient.op))];

  const slotVariables = SLOT_SUFFIXES[optimizer].map((suffix) =>
    variables.map((variable) => compiler.variable(`${variable.name}/${suffix}`, variable.shape)),
  );
  const feeds: StepFeeds = {
    learningRate,
    dropoutSeed,
    beta1Power: g.placeholder('float32', [], 'beta1_power'),
    beta2Power: g.placeholder('float32', [], 'beta2_power'),
    adamEpsilon: g.placeholder('float32', [], 'adam_epsilon'),
  };
  const momentum = hyperparameters.momentum ?? 0.9;
  const applyOps = variables.map((variable, index) => {
    const slots = slotVariables.map((perVariable) => (perVariable[index] as GraphVariable).handle);
    return applyOptimizer(g, optimizer, momentum, variable, slots, gradients[index] as Output, feeds, gradientOps);
  });
  const trainStep = g.group([...applyOps, ...train.updates], 'train_step');

  const evalLoss = g.op1('Sum', [lossOps.crossEntropy(infer.logits), g.ints([0])], SUM_OVER_AXES, {
    name: 'eval_loss',
  });
  const evalHits = lossOps.hits(infer.logits);
  return {
    seed: dropoutSeedOf(options) + 1,
    graph: g,
    x,
    y,
    feeds,
    loss,
    trainHits,
    trainStep,
    evalLoss,
    evalHits,
    trainables,
    layerVariables: [...compiler.mapping().entries()],
    slotVariables,
  };
}

/** One session on a {@link TrainingGraph}; the graph's variables hold the weights while it trains. */
class GraphStepEngine implements StepEngine {
  readonly kind = 'graph';
  private readonly session: Session;
  private iterations = 0;
  private closed = false;
  /** Whether a step ran since the tfjs model last got the graph's weights. */
  private modelStale = false;

  constructor(
    private readonly tf: EngineOptions['tf'],
    private readonly inputShape: readonly number[],
    private readonly optimizer: OptimizerName,
    private readonly built: TrainingGraph,
  ) {
    this.session = built.graph.session({
      intraOpThreads: threadsFromEnv('TF_NUM_INTRAOP_THREADS'),
      interOpThreads: threadsFromEnv('TF_NUM_INTEROP_THREADS'),
    });
    this.loadFromModel();
  }

  private get slotList(): GraphVariable[] {
    return this.built.slotVariables.flat();
  }

  /** Copies the tfjs weights into the graph's variables and zeroes the optimizer state. */
  private loadFromModel(): void {
    const { layerVariables } = this.built;
    const feeds: [Output, HostTensor][] = layerVariables.map(([weight, variable]) => [
      variable.initValue,
      floats(variable.shape, Float32Array.from(weight.read().dataSync() as Float32Array)),
    ]);
    for (const slot of this.slotList)
      feeds.push([slot.initValue, floats(slot.shape, new Float32Array(size(slot.shape)))]);
    this.session.run(
      feeds,
      [],
      [...layerVariables.map(([, variable]) => variable.assign), ...this.slotList.map((slot) => slot.assign)],
    );
  }

  private batchFeeds(features: Float32Array, labels: Int32Array): [Output, HostTensor][] {
    return [
      [this.built.x, floats([labels.length, ...this.inputShape], features)],
      [this.built.y, { dtype: 'int32', shape: [labels.length], data: labels }],
    ];
  }

  trainBatch(features: Float32Array, labels: Int32Array, rate: number, stepInPhase: number): StepResult {
    const { feeds: step, loss, trainHits, trainStep, seed } = this.built;
    this.iterations += 1;
    const beta2 = ADAM.beta2 ** this.iterations;
    const feeds = this.batchFeeds(features, labels);
    feeds.push([step.learningRate, scalarFeed(rate)]);
    feeds.push([step.dropoutSeed, { dtype: 'int32', shape: [2], data: Int32Array.of(seed, stepInPhase) }]);
    if (this.optimizer === 'adam') {
      // tfjs: w -= lr·m̂/(√v̂ + ε); TF's Adam uses ε against √v, so pass ε·√(1-β2^t).
      feeds.push(
        [step.beta1Power, scalarFeed(ADAM.beta1 ** this.iterations)],
        [step.beta2Power, scalarFeed(beta2)],
        [step.adamEpsilon, scalarFeed(TFJS_EPSILON * Math.sqrt(1 - beta2))],
      );
    }
    const [lossValue, hits] = this.session.run(feeds, [loss, trainHits], [trainStep]);
    this.modelStale = true;
    return { loss: lossValue?.data[0] as number, correct: hits?.data[0] as number };
  }

  evaluateBatch(features: Float32Array, labels: Int32Array): EvaluationResult {
    const [lossSum, hits] = this.session.run(this.batchFeeds(features, labels), [
      this.built.evalLoss,
      this.built.evalHits,
    ]);
    return { lossSum: lossSum?.data[0] as number, hits: hits?.data[0] as number };
  }

  syncToModel(): void {
    // Best-weight capture and a checkpoint often ask in the same epoch: fetch once.
    if (!this.modelStale) return;
    this.modelStale = false;
    const { layerVariables } = this.built;
    const values = this.session.run(
      [],
      layerVariables.map(([, variable]) => variable.read),
    );
    layerVariables.forEach(([weight, variable], index) => {
      const tensor = this.tf.tensor((values[index] as HostTensor).data as Float32Array, [...variable.shape]);
      weight.write(tensor);
      tensor.dispose();
    });
  }

  async optimizerWeights(): Promise<NamedArray[]> {
    const slotList = this.slotList;
    const values =
      slotList.length > 0
        ? this.session.run(
            [],
            slotList.map((slot) => slot.read),
          )
        : [];
    const names = SLOT_SUFFIXES[this.optimizer].flatMap((suffix) =>
      this.built.trainables.map((weight) => `${variableName(weight)}/${suffix}`),
    );
    return [
      { name: 'iter', shape: [], values: Float32Array.of(this.iterations) },
      ...slotList.map((slot, index) => ({
        name: names[index] as string,
        shape: slot.shape,
        values: (values[index] as HostTensor).data as Float32Array,
      })),
    ];
  }

  async setOptimizerWeights(arrays: readonly NamedArray[]): Promise<void> {
    const [iter, ...rest] = arrays;
    const slotList = this.slotList;
    if (!iter || rest.length !== slotList.length) {
      const optimizer = `this ${this.optimizer} optimizer over ${this.built.trainables.length} variables`;
      throw new Error(
        `the checkpoint's optimizer state has ${arrays.length} arrays; ${optimizer} needs ${slotList.length + 1}`,
      );
    }
    this.iterations = Math.round(iter.values[0] ?? 0);
    const feeds: [Output, HostTensor][] = slotList.map((slot, index) => {
      const array = rest[index] as NamedArray;
      if (size(array.shape) !== size(slot.shape))
        throw new Error(
          `optimizer state ${array.name} has shape [${array.shape.join(', ')}], expected [${slot.shape.join(', ')}]`,
        );
      return [slot.initValue, floats(slot.shape, Float32Array.from(array.values))];
    });
    this.session.run(
      feeds,
      [],
      slotList.map((slot) => slot.assign),
    );
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }
}

/** Compiles `options.layers` into a training graph and opens a session on it. */
export function createGraphEngine(options: EngineOptions): StepEngine {
  const reason = graphEngineUnsupportedReason(options.layers);
  if (reason) throw new Error(`the graph engine cannot train this model: ${reason}`);
  const optimizer = options.hyperparameters.optimizer ?? 'adam';
  return new GraphStepEngine(options.tf, options.inputShape, optimizer, buildTrainingGraph(options, optimizer));
}
