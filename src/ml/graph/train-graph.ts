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
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { NamedArray } from '../train/checkpoint';
import { trainableVariables, type EngineOptions, type StepEngine } from '../train/engine';
import { featureLength as size } from '../generators/image-set';
import { createGraph, loadGraphAddon, type Graph, type HostTensor, type Output, type Session } from './tf-graph';

type Layer = TfModule.layers.Layer;
type LayerVariable = TfModule.LayerVariable;

const F32 = { T: { type: 'float32' } } as const;
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
const SUPPORTED_LAYERS: ReadonlySet<string> = new Set([
  'Dense',
  'Conv2D',
  'BatchNormalization',
  'Activation',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dropout',
]);

type Config = Record<string, unknown>;

function activationOf(config: Config): string {
  const value = config.activation;
  return typeof value === 'string' ? value : 'linear';
}

function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

/** Why `layers` cannot run on the graph engine, or undefined when they can. */
export function graphEngineUnsupportedReason(layers: readonly Layer[]): string | undefined {
  if (layers.length === 0) return 'no layers to train';
  for (const [index, layer] of layers.entries()) {
    const kind = layer.getClassName();
    if (!SUPPORTED_LAYERS.has(kind)) return `layer ${layer.name} is a ${kind}, which the graph engine does not compile`;
    const config = layer.getConfig() as Config;
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
  if (activationOf(last.getConfig() as Config) !== 'softmax') return `the output layer ${last.name} is not a softmax`;
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

interface GraphVariable {
  readonly name: string;
  readonly shape: readonly number[];
  readonly handle: Output;
  readonly read: Output;
  readonly initValue: Output;
  readonly assign: string;
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

function floats(shape: readonly number[], data: Float32Array): HostTensor {
  return { dtype: 'float32', shape, data };
}

function scalarFeed(value: number): HostTensor {
  return { dtype: 'float32', shape: [], data: Float32Array.of(value) };
}

class GraphCompiler {
  readonly variables: GraphVariable[] = [];
  private readonly byLayerVariable = new Map<LayerVariable, GraphVariable>();

  constructor(readonly graph: Graph) {}

  /** A resource variable with an init placeholder and assign op; reads once per step. */
  variable(name: string, shape: readonly number[]): GraphVariable {
    const g = this.graph;
    // One unique scope per variable; its ops are named inside it (and so are unique too).
    const scope = g.uniqueName(name.replace(/[^A-Za-z0-9_./-]/g, '_'));
    const handle = g.op1(
      'VarHandleOp',
      [],
      { dtype: { type: 'float32' }, shape: { shape: [...shape] }, shared_name: { string: scope } },
      { name: `${scope}/handle` },
    );
    const initValue = g.placeholder('float32', shape, `${scope}/init_value`);
    const assign = g.target(
      'AssignVariableOp',
      [handle, initValue],
      { dtype: { type: 'float32' } },
      { name: `${scope}/assign` },
    );
    const read = g.op1('ReadVariableOp', [handle], { dtype: { type: 'float32' } }, { name: `${scope}/read` });
    const created = { name, shape, handle, read, initValue, assign };
    this.variables.push(created);
    return created;
  }

  layerVariable(weight: LayerVariable): GraphVariable {
    const existing = this.byLayerVariable.get(weight);
    if (existing) return existing;
    const created = this.variable(weight.originalName, weight.shape as number[]);
    this.byLayerVariable.set(weight, created);
    return created;
  }

  mapping(): ReadonlyMap<LayerVariable, GraphVariable> {
    return this.byLayerVariable;
  }
}

interface Forward {
  /** Pre-softmax output. */
  readonly logits: Output;
  /** Ops that must run with each training step (batch-norm moving averages). */
  readonly updates: readonly string[];
}

function weightNamed(layer: Layer, suffix: string): LayerVariable | undefined {
  return layer.weights.find((weight) => weight.originalName.endsWith(`/${suffix}`));
}

function applyActivation(g: Graph, x: Output, activation: string, isOutput: boolean): Output {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return g.op1('Relu', [x], F32);
    case 'relu6':
      return g.op1('Relu6', [x], F32);
    case 'sigmoid':
      return g.op1('Sigmoid', [x], F32);
    case 'tanh':
      return g.op1('Tanh', [x], F32);
    case 'elu':
      return g.op1('Elu', [x], F32);
    case 'softmax':
      // The output softmax is folded into the cross-entropy; logits leave the forward pass.
      if (isOutput) return x;
      return g.op1('Softmax', [x], F32);
    default:
      throw new Error(`unsupported activation ${activation}`);
  }
}

/**
 * Builds the forward pass over `layers`. `training` selects batch statistics and dropout for
 * the layers that train; `shapes` tracks the per-example shape for reshapes.
 */
function buildForward(
  compiler: GraphCompiler,
  layers: readonly Layer[],
  input: Output,
  inputShape: readonly number[],
  training: boolean,
  seed: number,
): Forward {
  const g = compiler.graph;
  let x = input;
  let shape = [...inputShape];
  const updates: string[] = [];
  layers.forEach((layer, index) => {
    const kind = layer.getClassName();
    const config = layer.getConfig() as Config;
    const isOutput = index === layers.length - 1;
    const scope = training ? `train/${layer.name}` : `infer/${layer.name}`;
    switch (kind) {
      case 'Dense': {
        const kernel = weightNamed(layer, 'kernel');
        if (!kernel) throw new Error(`dense layer ${layer.name} has no kernel`);
        if (shape.length !== 1)
          throw new Error(`dense layer ${layer.name} gets rank-${shape.length + 1} input; flatten first`);
        x = g.op1('MatMul', [x, compiler.layerVariable(kernel).read], F32, { name: `${scope}/MatMul` });
        const bias = weightNamed(layer, 'bias');
        if (bias) x = g.op1('BiasAdd', [x, compiler.layerVariable(bias).read], F32, { name: `${scope}/BiasAdd` });
        x = applyActivation(g, x, activationOf(config), isOutput);
        shape = [Number(config.units)];
        break;
      }
      case 'Conv2D': {
        const kernel = weightNamed(layer, 'kernel');
        if (!kernel) throw new Error(`conv layer ${layer.name} has no kernel`);
        const [sh, sw] = pair(config.strides, 1);
        const [kh, kw] = pair(config.kernelSize, 1);
        const padding = config.padding === 'same' ? 'SAME' : 'VALID';
        x = g.op1(
          'Conv2D',
          [x, compiler.layerVariable(kernel).read],
          { ...F32, strides: { ints: [1, sh, sw, 1] }, padding: { string: padding }, data_format: { string: 'NHWC' } },
          { name: `${scope}/Conv2D` },
        );
        const bias = weightNamed(layer, 'bias');
        if (bias) x = g.op1('BiasAdd', [x, compiler.layerVariable(bias).read], F32, { name: `${scope}/BiasAdd` });
        x = applyActivation(g, x, activationOf(config), isOutput);
        const [h = 1, w = 1] = shape;
        shape =
          padding === 'SAME'
            ? [Math.ceil(h / sh), Math.ceil(w / sw), Number(config.filters)]
            : [Math.ceil((h - kh + 1) / sh), Math.ceil((w - kw + 1) / sw), Number(config.filters)];
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [ph, pw] = pair(config.poolSize, 2);
        const [sh, sw] = config.strides === null || config.strides === undefined ? [ph, pw] : pair(config.strides, ph);
        const padding = config.padding === 'same' ? 'SAME' : 'VALID';
        x = g.op1(
          kind === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool',
          [x],
          {
            ...F32,
            ksize: { ints: [1, ph, pw, 1] },
            strides: { ints: [1, sh, sw, 1] },
            padding: { string: padding },
            data_format: { string: 'NHWC' },
          },
          { name: `${scope}/Pool` },
        );
        const [h = 1, w = 1, c = 1] = shape;
        shape =
          padding === 'SAME'
            ? [Math.ceil(h / sh), Math.ceil(w / sw), c]
            : [Math.floor((h - ph) / sh) + 1, Math.floor((w - pw) / sw) + 1, c];
        break;
      }
      case 'GlobalMaxPooling2D':
      case 'GlobalAveragePooling2D': {
        x = g.op1(
          kind === 'GlobalMaxPooling2D' ? 'Max' : 'Mean',
          [x, g.ints([1, 2])],
          { ...F32, Tidx: { type: 'int32' }, keep_dims: { bool: false } },
          { name: `${scope}/Reduce` },
        );
        shape = [shape[2] ?? 1];
        break;
      }
      case 'Flatten': {
        const length = size(shape);
        x = g.op1(
          'Reshape',
          [x, g.ints([-1, length])],
          { ...F32, Tshape: { type: 'int32' } },
          { name: `${scope}/Reshape` },
        );
        shape = [length];
        break;
      }
      case 'Activation': {
        x = applyActivation(g, x, activationOf(config), isOutput);
        break;
      }
      case 'Dropout': {
        const rate = Number(config.rate ?? 0);
        if (training && layer.trainable && rate > 0) {
          const keep = 1 - rate;
          const noise = g.op1(
            'RandomUniform',
            [g.op1('Shape', [x], { ...F32, out_type: { type: 'int32' } })],
            { dtype: { type: 'float32' }, T: { type: 'int32' }, seed: { int: seed }, seed2: { int: index + 1 } },
            { name: `${scope}/Uniform` },
          );
          const mask = g.op1('Floor', [g.op1('AddV2', [noise, g.scalar(keep)], F32)], F32);
          x = g.op1('Mul', [g.op1('Mul', [x, mask], F32), g.scalar(1 / keep)], F32, { name: `${scope}/Dropout` });
        }
        break;
      }
      case 'BatchNormalization': {
        const epsilon = Number(config.epsilon ?? 1e-3);
        const momentum = Number(config.momentum ?? 0.99);
        const channels = shape[shape.length - 1] ?? 1;
        const gammaWeight = weightNamed(layer, 'gamma');
        const betaWeight = weightNamed(layer, 'beta');
        const meanWeight = weightNamed(layer, 'moving_mean');
        const varianceWeight = weightNamed(layer, 'moving_variance');
        if (!meanWeight || !varianceWeight) throw new Error(`batch-norm layer ${layer.name} has no moving statistics`);
        const gamma = gammaWeight
          ? compiler.layerVariable(gammaWeight).read
          : g.constant(floats([channels], new Float32Array(channels).fill(1)));
        const beta = betaWeight
          ? compiler.layerVariable(betaWeight).read
          : g.constant(floats([channels], new Float32Array(channels)));
        const movingMean = compiler.layerVariable(meanWeight);
        const movingVariance = compiler.layerVariable(varianceWeight);
        if (training && layer.trainable) {
          const flat = shape.length !== 3;
          const input4d = flat
            ? g.op1('Reshape', [x, g.ints([-1, 1, 1, channels])], { ...F32, Tshape: { type: 'int32' } })
            : x;
          const empty = g.constant(floats([0], new Float32Array(0)));
          const [normalized, batchMean, batchVariance] = g.op(
            'FusedBatchNormV3',
            [input4d, gamma, beta, empty, empty],
            {
              ...F32,
              U: { type: 'float32' },
              epsilon: { float: epsilon },
              is_training: { bool: true },
              data_format: { string: 'NHWC' },
            },
            { name: `${scope}/FusedBatchNorm` },
          );
          if (!normalized || !batchMean || !batchVariance) throw new Error('FusedBatchNormV3 returned too few outputs');
          x = flat
            ? g.op1('Reshape', [normalized, g.ints([-1, channels])], { ...F32, Tshape: { type: 'int32' } })
            : normalized;
          // FusedBatchNorm reports the unbiased variance; tfjs-layers averages the biased one.
          const elements = g.op1('Cast', [g.op1('Size', [input4d], { ...F32, out_type: { type: 'int32' } })], {
            SrcT: { type: 'int32' },
            DstT: { type: 'float32' },
          });
          const count = g.op1('RealDiv', [elements, g.scalar(channels)], F32);
          const biased = g.op1(
            'Mul',
            [batchVariance, g.op1('RealDiv', [g.op1('Sub', [count, g.scalar(1)], F32), count], F32)],
            F32,
          );
          const decay = g.scalar(1 - momentum);
          const moving = (variable: GraphVariable, value: Output, name: string): string => {
            const updated = g.op1(
              'Sub',
              [variable.read, g.op1('Mul', [g.op1('Sub', [variable.read, value], F32), decay], F32)],
              F32,
            );
            return g.target(
              'AssignVariableOp',
              [variable.handle, updated],
              { dtype: { type: 'float32' } },
              { name: `${scope}/update_${name}` },
            );
          };
          updates.push(moving(movingMean, batchMean, 'mean'), moving(movingVariance, biased, 'variance'));
        } else {
          // Inference form with plain ops (differentiable w.r.t. the input when layers below train).
          const scale = g.op1(
            'Mul',
            [gamma, g.op1('Rsqrt', [g.op1('AddV2', [movingVariance.read, g.scalar(epsilon)], F32)], F32)],
            F32,
          );
          const offset = g.op1('Sub', [beta, g.op1('Mul', [movingMean.read, scale], F32)], F32);
          x = g.op1('AddV2', [g.op1('Mul', [x, scale], F32), offset], F32, { name: `${scope}/BatchNorm` });
        }
        break;
      }
      default:
        throw new Error(`layer ${layer.name}: ${kind} is not supported by the graph engine`);
    }
  });
  return { logits: x, updates };
}

interface OptimizerSlots {
  /** tfjs slot suffixes, in the order tfjs's getWeights lists them. */
  readonly suffixes: readonly string[];
}

const SLOTS: Readonly<Record<'adam' | 'sgd' | 'rmsprop', OptimizerSlots>> = {
  adam: { suffixes: ['m', 'v'] },
  sgd: { suffixes: ['momentum'] },
  rmsprop: { suffixes: ['rms', 'momentum'] },
};

/** Compiles `options.layers` into a training graph and opens a session on it. */
export function createGraphEngine(options: EngineOptions): StepEngine {
  const { layers, inputShape, numClasses, hyperparameters, tf } = options;
  const reason = graphEngineUnsupportedReason(layers);
  if (reason) throw new Error(`the graph engine cannot train this model: ${reason}`);
  const optimizerName = hyperparameters.optimizer ?? 'adam';
  const momentum = hyperparameters.momentum ?? 0.9;
  const l2 = hyperparameters.l2 ?? 0;
  const seed = (hyperparameters.seed ?? 0) + 1;
  const graph = createGraph();
  const compiler = new GraphCompiler(graph);
  const g = graph;

  const x = g.placeholder('float32', [-1, ...inputShape], 'x');
  const y = g.placeholder('int32', [-1], 'y');
  const learningRate = g.placeholder('float32', [], 'learning_rate');
  const train = buildForward(compiler, layers, x, inputShape, true, seed);
  const infer = buildForward(compiler, layers, x, inputShape, false, seed);

  const labelsOneHot = (logits: Output): Output =>
    g.op1(
      'OneHot',
      [y, g.constant({ dtype: 'int32', shape: [], data: Int32Array.of(numClasses) }), g.scalar(1), g.scalar(0)],
      { ...F32, TI: { type: 'int32' }, axis: { int: -1 } },
      { name: `${logits.op}/labels` },
    );
  const crossEntropy = (logits: Output): Output => {
    const [perExample] = g.op('SoftmaxCrossEntropyWithLogits', [logits, labelsOneHot(logits)], F32);
    if (!perExample) throw new Error('SoftmaxCrossEntropyWithLogits returned no loss');
    return perExample;
  };
  const hitsOf = (logits: Output): Output => {
    const predicted = g.op1('ArgMax', [logits, g.constant({ dtype: 'int32', shape: [], data: Int32Array.of(1) })], {
      ...F32,
      Tidx: { type: 'int32' },
      output_type: { type: 'int32' },
    });
    const equal = g.op1('Equal', [predicted, y], { T: { type: 'int32' } });
    return g.op1('Sum', [g.op1('Cast', [equal], { SrcT: { type: 'bool' }, DstT: { type: 'float32' } }), g.ints([0])], {
      ...F32,
      Tidx: { type: 'int32' },
      keep_dims: { bool: false },
    });
  };

  // Training loss.
  let perExample = crossEntropy(train.logits);
  if (options.classWeights) {
    const weights = g.constant(
      floats([options.classWeights.length], Float32Array.from(options.classWeights)),
      'class_weights',
    );
    perExample = g.op1(
      'Mul',
      [
        perExample,
        g.op1('GatherV2', [weights, y, g.constant({ dtype: 'int32', shape: [], data: Int32Array.of(0) })], {
          Tparams: { type: 'float32' },
          Tindices: { type: 'int32' },
          Taxis: { type: 'int32' },
        }),
      ],
      F32,
    );
  }
  let loss = g.op1(
    'Mean',
    [perExample, g.ints([0])],
    { ...F32, Tidx: { type: 'int32' }, keep_dims: { bool: false } },
    { name: 'loss' },
  );
  const trainables = trainableVariables(layers);
  const trainableGraphVariables = trainables.map((weight) => {
    const variable = compiler.mapping().get(weight);
    if (!variable) throw new Error(`trainable weight ${weight.originalName} is not used by the forward pass`);
    return variable;
  });
  const kernels = trainables
    .map((weight, index) => ({ weight, variable: trainableGraphVariables[index] as GraphVariable }))
    .filter(({ weight }) => /kernel/.test(variableName(weight)));
  if (l2 > 0 && kernels.length > 0) {
    const penalties = kernels.map(({ variable }) =>
      g.op1('Sum', [g.op1('Square', [variable.read], F32), g.ints(variable.shape.map((_, i) => i))], {
        ...F32,
        Tidx: { type: 'int32' },
        keep_dims: { bool: false },
      }),
    );
    const total =
      penalties.length === 1
        ? (penalties[0] as Output)
        : g.op1('AddN', [penalties], { ...F32, N: { int: penalties.length } });
    loss = g.op1('AddV2', [loss, g.op1('Mul', [total, g.scalar(l2)], F32)], F32, { name: 'loss_with_l2' });
  }
  const trainHits = hitsOf(train.logits);
  const gradients =
    trainableGraphVariables.length > 0
      ? g.gradients(
          [loss],
          trainableGraphVariables.map((variable) => variable.read),
          'gradients',
        )
      : [];
  const gradientOps = [...new Set(gradients.map((gradient) => gradient.op))];

  // Optimizer slots and updates. Every update waits for every gradient, so no variable changes
  // while another's gradient still reads it.
  const slots = SLOTS[optimizerName];
  const slotVariables = slots.suffixes.map((suffix) =>
    trainableGraphVariables.map((variable) => compiler.variable(`${variable.name}/${suffix}`, variable.shape)),
  );
  const beta1Power = g.placeholder('float32', [], 'beta1_power');
  const beta2Power = g.placeholder('float32', [], 'beta2_power');
  const adamEpsilon = g.placeholder('float32', [], 'adam_epsilon');
  const applyOps = trainableGraphVariables.map((variable, index) => {
    const gradient = gradients[index] as Output;
    const slot = (which: number): Output => ((slotVariables[which] ?? [])[index] as GraphVariable).handle;
    const control = gradientOps;
    switch (optimizerName) {
      case 'adam':
        return g.target(
          'ResourceApplyAdam',
          [
            variable.handle,
            slot(0),
            slot(1),
            beta1Power,
            beta2Power,
            learningRate,
            g.scalar(ADAM.beta1),
            g.scalar(ADAM.beta2),
            adamEpsilon,
            gradient,
          ],
          F32,
          { name: `apply/${variable.name}`, control },
        );
      case 'sgd':
        return g.target(
          'ResourceApplyMomentum',
          [variable.handle, slot(0), learningRate, gradient, g.scalar(momentum)],
          { ...F32, use_nesterov: { bool: false } },
          { name: `apply/${variable.name}`, control },
        );
      case 'rmsprop':
        // tfjs.train.rmsprop defaults: decay 0.9, momentum 0.
        return g.target(
          'ResourceApplyRMSProp',
          [
            variable.handle,
            slot(0),
            slot(1),
            learningRate,
            g.scalar(0.9),
            g.scalar(0),
            g.scalar(TFJS_EPSILON),
            gradient,
          ],
          F32,
          { name: `apply/${variable.name}`, control },
        );
    }
  });
  const trainStep = g.group([...applyOps, ...train.updates], 'train_step');

  // Inference: summed loss and hits.
  const evalLoss = g.op1(
    'Sum',
    [crossEntropy(infer.logits), g.ints([0])],
    { ...F32, Tidx: { type: 'int32' }, keep_dims: { bool: false } },
    { name: 'eval_loss' },
  );
  const evalHits = hitsOf(infer.logits);

  const session: Session = graph.session({
    intraOpThreads: threadsFromEnv('TF_NUM_INTRAOP_THREADS'),
    interOpThreads: threadsFromEnv('TF_NUM_INTEROP_THREADS'),
  });
  const layerVariables = [...compiler.mapping().entries()];
  let iterations = 0;
  let closed = false;
  /** Whether a step ran since the tfjs model last got the graph's weights. */
  let modelStale = false;

  /** Copies the tfjs weights into the graph's variables and zeroes the optimizer state. */
  const loadFromModel = (): void => {
    const feeds: [Output, HostTensor][] = layerVariables.map(([weight, variable]) => [
      variable.initValue,
      floats(variable.shape, Float32Array.from(weight.read().dataSync() as Float32Array)),
    ]);
    for (const slot of slotVariables.flat())
      feeds.push([slot.initValue, floats(slot.shape, new Float32Array(size(slot.shape)))]);
    session.run(
      feeds,
      [],
      [...layerVariables.map(([, variable]) => variable.assign), ...slotVariables.flat().map((slot) => slot.assign)],
    );
  };
  loadFromModel();

  const batchFeeds = (features: Float32Array, labels: Int32Array): [Output, HostTensor][] => [
    [x, floats([labels.length, ...inputShape], features)],
    [y, { dtype: 'int32', shape: [labels.length], data: labels }],
  ];

  return {
    kind: 'graph',
    trainBatch(features, labels, rate) {
      iterations += 1;
      const beta2 = ADAM.beta2 ** iterations;
      const feeds = batchFeeds(features, labels);
      feeds.push([learningRate, scalarFeed(rate)]);
      if (optimizerName === 'adam') {
        // tfjs: w -= lr·m̂/(√v̂ + ε); TF's Adam uses ε against √v, so pass ε·√(1-β2^t).
        feeds.push(
          [beta1Power, scalarFeed(ADAM.beta1 ** iterations)],
          [beta2Power, scalarFeed(beta2)],
          [adamEpsilon, scalarFeed(TFJS_EPSILON * Math.sqrt(1 - beta2))],
        );
      }
      const [lossValue, hits] = session.run(feeds, [loss, trainHits], [trainStep]);
      modelStale = true;
      return { loss: lossValue?.data[0] as number, correct: hits?.data[0] as number };
    },
    evaluateBatch(features, labels) {
      const [lossSum, hits] = session.run(batchFeeds(features, labels), [evalLoss, evalHits]);
      return { lossSum: lossSum?.data[0] as number, hits: hits?.data[0] as number };
    },
    syncToModel() {
      // Best-weight capture and a checkpoint often ask in the same epoch: fetch once.
      if (!modelStale) return;
      modelStale = false;
      const values = session.run(
        [],
        layerVariables.map(([, variable]) => variable.read),
      );
      layerVariables.forEach(([weight, variable], index) => {
        const tensor = tf.tensor((values[index] as HostTensor).data as Float32Array, [...variable.shape]);
        weight.write(tensor);
        tensor.dispose();
      });
    },
    async optimizerWeights(): Promise<NamedArray[]> {
      const slotList = slotVariables.flat();
      const values =
        slotList.length > 0
          ? session.run(
              [],
              slotList.map((slot) => slot.read),
            )
          : [];
      const names = slots.suffixes.flatMap((suffix) => trainables.map((weight) => `${variableName(weight)}/${suffix}`));
      return [
        { name: 'iter', shape: [], values: Float32Array.of(iterations) },
        ...slotList.map((slot, index) => ({
          name: names[index] as string,
          shape: slot.shape,
          values: (values[index] as HostTensor).data as Float32Array,
        })),
      ];
    },
    async setOptimizerWeights(arrays) {
      const [iter, ...rest] = arrays;
      const slotList = slotVariables.flat();
      if (!iter || rest.length !== slotList.length) {
        throw new Error(
          `the checkpoint's optimizer state has ${arrays.length} arrays; this ${optimizerName} optimizer over ${trainables.length} variables needs ${slotList.length + 1}`,
        );
      }
      iterations = Math.round(iter.values[0] ?? 0);
      const feeds: [Output, HostTensor][] = slotList.map((slot, index) => {
        const array = rest[index] as NamedArray;
        if (size(array.shape) !== size(slot.shape))
          throw new Error(
            `optimizer state ${array.name} has shape [${array.shape.join(', ')}], expected [${slot.shape.join(', ')}]`,
          );
        return [slot.initValue, floats(slot.shape, Float32Array.from(array.values))];
      });
      session.run(
        feeds,
        [],
        slotList.map((slot) => slot.assign),
      );
    },
    dispose() {
      if (closed) return;
      closed = true;
      session.close();
    },
  };
}
