/**
 * The forward pass of the graph engine (train-graph.ts): each supported tfjs layer becomes the
 * TensorFlow ops that compute what tfjs-layers computes, reading the layer's weights from resource
 * variables the {@link GraphCompiler} creates once per weight (the training and the inference pass
 * share them). One small builder per layer kind; {@link buildForward} chains them.
 */
import type * as TfModule from '@tensorflow/tfjs';
import { featureLength as size } from '../generators/image-set';
import type { Graph, HostTensor, Output } from './tf-graph';

type Layer = TfModule.layers.Layer;
type LayerVariable = TfModule.LayerVariable;
export type LayerConfig = Record<string, unknown>;

export const F32 = { T: { type: 'float32' } } as const;

export function activationOf(config: LayerConfig): string {
  const value = config.activation;
  return typeof value === 'string' ? value : 'linear';
}

export function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

export function floats(shape: readonly number[], data: Float32Array): HostTensor {
  return { dtype: 'float32', shape, data };
}

export interface GraphVariable {
  readonly name: string;
  readonly shape: readonly number[];
  readonly handle: Output;
  readonly read: Output;
  readonly initValue: Output;
  readonly assign: string;
}

export class GraphCompiler {
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

export interface Forward {
  /** Pre-softmax output. */
  readonly logits: Output;
  /** Ops that must run with each training step (batch-norm moving averages). */
  readonly updates: readonly string[];
}

/** What every layer builder sees: the pass being built and the layer in it. */
interface LayerContext {
  readonly compiler: GraphCompiler;
  readonly g: Graph;
  readonly layer: Layer;
  readonly config: LayerConfig;
  /** Position of the layer in the pass (dropout's per-layer stream). */
  readonly index: number;
  readonly isOutput: boolean;
  /** Op-name prefix: `train/<layer>` or `infer/<layer>`. */
  readonly scope: string;
  readonly training: boolean;
  /** `[run seed, step]` (int32, fed at every step): what dropout masks are drawn from, with the layer's position. */
  readonly dropoutSeed: Output;
  /** Where batch norm adds its moving-average updates. */
  readonly updates: string[];
}

/** A layer's output and the per-example shape it has. */
interface Activations {
  readonly x: Output;
  readonly shape: readonly number[];
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

/** The layer's bias (when it has one) and activation on `x`. */
function biasAndActivation(context: LayerContext, x: Output): Output {
  const { g, layer, compiler, scope } = context;
  const bias = weightNamed(layer, 'bias');
  const biased = bias ? g.op1('BiasAdd', [x, compiler.layerVariable(bias).read], F32, { name: `${scope}/BiasAdd` }) : x;
  return applyActivation(g, biased, activationOf(context.config), context.isOutput);
}

function dense(context: LayerContext, { x, shape }: Activations): Activations {
  const { g, layer, compiler, scope } = context;
  const kernel = weightNamed(layer, 'kernel');
  if (!kernel) throw new Error(`dense layer ${layer.name} has no kernel`);
  if (shape.length !== 1)
    throw new Error(`dense layer ${layer.name} gets rank-${shape.length + 1} input; flatten first`);
  const product = g.op1('MatMul', [x, compiler.layerVariable(kernel).read], F32, { name: `${scope}/MatMul` });
  return { x: biasAndActivation(context, product), shape: [Number(context.config.units)] };
}

function conv2d(context: LayerContext, { x, shape }: Activations): Activations {
  const { g, layer, compiler, scope, config } = context;
  const kernel = weightNamed(layer, 'kernel');
  if (!kernel) throw new Error(`conv layer ${layer.name} has no kernel`);
  const [sh, sw] = pair(config.strides, 1);
  const [kh, kw] = pair(config.kernelSize, 1);
  const padding = config.padding === 'same' ? 'SAME' : 'VALID';
  const convolved = g.op1(
    'Conv2D',
    [x, compiler.layerVariable(kernel).read],
    { ...F32, strides: { ints: [1, sh, sw, 1] }, padding: { string: padding }, data_format: { string: 'NHWC' } },
    { name: `${scope}/Conv2D` },
  );
  const [h = 1, w = 1] = shape;
  const filters = Number(config.filters);
  return {
    x: biasAndActivation(context, convolved),
    shape:
      padding === 'SAME'
        ? [Math.ceil(h / sh), Math.ceil(w / sw), filters]
        : [Math.ceil((h - kh + 1) / sh), Math.ceil((w - kw + 1) / sw), filters],
  };
}

function pooling2d(context: LayerContext, { x, shape }: Activations): Activations {
  const { g, layer, scope, config } = context;
  const [ph, pw] = pair(config.poolSize, 2);
  const [sh, sw] = config.strides === null || config.strides === undefined ? [ph, pw] : pair(config.strides, ph);
  const padding = config.padding === 'same' ? 'SAME' : 'VALID';
  const pooled = g.op1(
    layer.getClassName() === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool',
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
  return {
    x: pooled,
    shape:
      padding === 'SAME'
        ? [Math.ceil(h / sh), Math.ceil(w / sw), c]
        : [Math.floor((h - ph) / sh) + 1, Math.floor((w - pw) / sw) + 1, c],
  };
}

function globalPooling2d(context: LayerContext, { x, shape }: Activations): Activations {
  const { g, layer, scope } = context;
  const reduced = g.op1(
    layer.getClassName() === 'GlobalMaxPooling2D' ? 'Max' : 'Mean',
    [x, g.ints([1, 2])],
    { ...F32, Tidx: { type: 'int32' }, keep_dims: { bool: false } },
    { name: `${scope}/Reduce` },
  );
  return { x: reduced, shape: [shape[2] ?? 1] };
}

function flatten(context: LayerContext, { x, shape }: Activations): Activations {
  const { g, scope } = context;
  const length = size(shape);
  const reshaped = g.op1(
    'Reshape',
    [x, g.ints([-1, length])],
    { ...F32, Tshape: { type: 'int32' } },
    { name: `${scope}/Reshape` },
  );
  return { x: reshaped, shape: [length] };
}

/** Apart in the seed's first word per layer position, so two layers of a run never share a mask stream. */
const DROPOUT_LAYER_STRIDE = 65_599;

/** Inverted dropout while the layer trains; the identity otherwise. */
function dropout(context: LayerContext, input: Activations): Activations {
  const { g, layer, scope, config, training } = context;
  const rate = Number(config.rate ?? 0);
  if (!(training && layer.trainable && rate > 0)) return input;
  const keep = 1 - rate;
  // Stateless: the mask is a function of (seed, step, layer), not of how many steps this session ran, so a run
  // resumed from a checkpoint (a new session) draws the masks an uninterrupted run would.
  const layerSeed = g.op1('AddV2', [context.dropoutSeed, g.ints([(context.index + 1) * DROPOUT_LAYER_STRIDE, 0])], {
    T: { type: 'int32' },
  });
  const noise = g.op1(
    'StatelessRandomUniform',
    [g.op1('Shape', [input.x], { ...F32, out_type: { type: 'int32' } }), layerSeed],
    { dtype: { type: 'float32' }, T: { type: 'int32' }, Tseed: { type: 'int32' } },
    { name: `${scope}/Uniform` },
  );
  const mask = g.op1('Floor', [g.op1('AddV2', [noise, g.scalar(keep)], F32)], F32);
  const x = g.op1('Mul', [g.op1('Mul', [input.x, mask], F32), g.scalar(1 / keep)], F32, { name: `${scope}/Dropout` });
  return { x, shape: input.shape };
}

/** A batch-norm layer's parameters as graph values: γ and β (constants when it has none), the statistics. */
interface BatchNormParameters {
  readonly epsilon: number;
  readonly momentum: number;
  readonly channels: number;
  readonly gamma: Output;
  readonly beta: Output;
  readonly movingMean: GraphVariable;
  readonly movingVariance: GraphVariable;
}

function batchNormParameters(context: LayerContext, shape: readonly number[]): BatchNormParameters {
  const { g, layer, compiler, config } = context;
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
  return {
    epsilon: Number(config.epsilon ?? 1e-3),
    momentum: Number(config.momentum ?? 0.99),
    channels,
    gamma,
    beta,
    movingMean: compiler.layerVariable(meanWeight),
    movingVariance: compiler.layerVariable(varianceWeight),
  };
}

/** `variable -= (variable - value) × (1 - momentum)`, as an op for the training step to run. */
function movingAverageUpdate(
  context: LayerContext,
  variable: GraphVariable,
  value: Output,
  decay: Output,
  name: string,
): string {
  const { g, scope } = context;
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
}

/** Training form: batch statistics (FusedBatchNormV3), and the moving averages updated with each step. */
function trainingBatchNorm(context: LayerContext, { x, shape }: Activations, p: BatchNormParameters): Activations {
  const { g, scope } = context;
  const { channels } = p;
  const flat = shape.length !== 3;
  const input4d = flat ? g.op1('Reshape', [x, g.ints([-1, 1, 1, channels])], { ...F32, Tshape: { type: 'int32' } }) : x;
  const empty = g.constant(floats([0], new Float32Array(0)));
  const [normalized, batchMean, batchVariance] = g.op(
    'FusedBatchNormV3',
    [input4d, p.gamma, p.beta, empty, empty],
    {
      ...F32,
      U: { type: 'float32' },
      epsilon: { float: p.epsilon },
      is_training: { bool: true },
      data_format: { string: 'NHWC' },
    },
    { name: `${scope}/FusedBatchNorm` },
  );
  if (!normalized || !batchMean || !batchVariance) throw new Error('FusedBatchNormV3 returned too few outputs');
  const output = flat
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
  const decay = g.scalar(1 - p.momentum);
  context.updates.push(
    movingAverageUpdate(context, p.movingMean, batchMean, decay, 'mean'),
    movingAverageUpdate(context, p.movingVariance, biased, decay, 'variance'),
  );
  return { x: output, shape };
}

/** Inference form with plain ops (differentiable w.r.t. the input when layers below train). */
function inferenceBatchNorm(context: LayerContext, { x, shape }: Activations, p: BatchNormParameters): Activations {
  const { g, scope } = context;
  const scale = g.op1(
    'Mul',
    [p.gamma, g.op1('Rsqrt', [g.op1('AddV2', [p.movingVariance.read, g.scalar(p.epsilon)], F32)], F32)],
    F32,
  );
  const offset = g.op1('Sub', [p.beta, g.op1('Mul', [p.movingMean.read, scale], F32)], F32);
  return { x: g.op1('AddV2', [g.op1('Mul', [x, scale], F32), offset], F32, { name: `${scope}/BatchNorm` }), shape };
}

function batchNormalization(context: LayerContext, input: Activations): Activations {
  const parameters = batchNormParameters(context, input.shape);
  return context.training && context.layer.trainable
    ? trainingBatchNorm(context, input, parameters)
    : inferenceBatchNorm(context, input, parameters);
}

const LAYER_BUILDERS: Readonly<Record<string, (context: LayerContext, input: Activations) => Activations>> = {
  Dense: dense,
  Conv2D: conv2d,
  MaxPooling2D: pooling2d,
  AveragePooling2D: pooling2d,
  GlobalMaxPooling2D: globalPooling2d,
  GlobalAveragePooling2D: globalPooling2d,
  Flatten: flatten,
  Activation: (context, { x, shape }) => ({
    x: applyActivation(context.g, x, activationOf(context.config), context.isOutput),
    shape,
  }),
  Dropout: dropout,
  BatchNormalization: batchNormalization,
};

/** The layer kinds {@link buildForward} compiles. */
export const SUPPORTED_LAYERS: ReadonlySet<string> = new Set(Object.keys(LAYER_BUILDERS));

/**
 * Builds the forward pass over `layers`. `training` selects batch statistics and dropout for
 * the layers that train; `shapes` tracks the per-example shape for reshapes.
 */
export function buildForward(
  compiler: GraphCompiler,
  layers: readonly Layer[],
  input: Output,
  inputShape: readonly number[],
  training: boolean,
  dropoutSeed: Output,
): Forward {
  let activations: Activations = { x: input, shape: [...inputShape] };
  const updates: string[] = [];
  layers.forEach((layer, index) => {
    const kind = layer.getClassName();
    const build = LAYER_BUILDERS[kind];
    if (!build) throw new Error(`layer ${layer.name}: ${kind} is not supported by the graph engine`);
    const context: LayerContext = {
      compiler,
      g: compiler.graph,
      layer,
      config: layer.getConfig() as LayerConfig,
      index,
      isOutput: index === layers.length - 1,
      scope: training ? `train/${layer.name}` : `infer/${layer.name}`,
      training,
      dropoutSeed,
      updates,
    };
    activations = build(context, activations);
  });
  return { logits: activations.x, updates };
}
