/**
 * The model families Fineflow trains: a small CNN for 28×28×1 images and an MLP for tabular
 * rows. Layers have stable names so fine-tuning can freeze or unfreeze by name, and the last
 * layer is always the classification head (`head`). Below it sit the head's optional hidden
 * layers (`head_hidden1`, …) and dropout (`head_dropout`), then the feature layer (`features`)
 * whose activations the linear probe and kNN ranking use.
 */
import type * as TfModule from '@tensorflow/tfjs';
import { InvalidInputError } from '../../core/errors';
import type { Tf } from '../backend';

export type LayersModel = TfModule.LayersModel;

export const HEAD_LAYER_NAME = 'head';
export const FEATURE_LAYER_NAME = 'features';

export interface CnnArchitecture {
  readonly kind: 'cnn';
  /** Example shape, [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  /** Filters of each conv→bn→relu→pool block. Default [8, 16]. */
  readonly filters?: readonly number[];
  /** Units of the feature (penultimate) dense layer. Default 32. */
  readonly featureUnits?: number;
  /**
   * How the last conv block becomes a vector: `flatten` keeps positions (centred objects such
   * as digits); `max` / `average` pool globally, so a feature found anywhere counts the same
   * (defects that can sit anywhere on a surface). Default flatten.
   */
  readonly pooling?: 'flatten' | 'max' | 'average';
}

export interface MlpArchitecture {
  readonly kind: 'mlp';
  readonly inputShape: readonly [number];
  /** Units of each hidden layer; the last one is the feature layer. Default [32, 16]. */
  readonly hidden?: readonly number[];
}

export type ModelArchitecture = CnnArchitecture | MlpArchitecture;

export interface HeadOptions {
  readonly numClasses: number;
  /** Seeds the weight initialisers, so a run with the same seed starts from the same weights. */
  readonly seed?: number;
  /**
   * Dropout before the softmax `head` layer; 0 = none. (L2 is applied by the training loop, not stored in the model.)
   */
  readonly dropout?: number;
  /** Units of hidden dense relu layers between the features and the softmax (`head_hidden1`, …). Default none. */
  readonly headUnits?: readonly number[];
}

/** Name of the `index`-th (1-based) hidden layer of a head. */
export function headHiddenLayerName(index: number): string {
  return `${HEAD_LAYER_NAME}_hidden${index}`;
}

export const HEAD_DROPOUT_LAYER_NAME = `${HEAD_LAYER_NAME}_dropout`;

/** Whether a layer belongs to the classification head (replaced and trained as a whole when fine-tuning). */
export function isHeadLayerName(name: string): boolean {
  return name === HEAD_LAYER_NAME || name === HEAD_DROPOUT_LAYER_NAME || /^head_hidden\d+$/.test(name);
}

/** A classification head (hidden dense relu layers → dropout → dense softmax) for `numClasses`. */
export function headLayers(tf: Tf, options: HeadOptions): TfModule.layers.Layer[] {
  const layers: TfModule.layers.Layer[] = [];
  (options.headUnits ?? []).forEach((units, index) => {
    if (!Number.isInteger(units) || units < 1)
      throw new InvalidInputError(`headUnits[${index}] must be a positive whole number of units, got ${units}`, {
        field: 'headUnits',
      });
    layers.push(
      tf.layers.dense({
        units,
        activation: 'relu',
        name: headHiddenLayerName(index + 1),
        ...initializer(tf, options.seed, 100 + index),
      }),
    );
  });
  if (options.dropout && options.dropout > 0)
    layers.push(tf.layers.dropout({ rate: options.dropout, name: HEAD_DROPOUT_LAYER_NAME }));
  layers.push(
    tf.layers.dense({
      units: options.numClasses,
      activation: 'softmax',
      name: HEAD_LAYER_NAME,
      ...initializer(tf, options.seed, 99),
    }),
  );
  return layers;
}

function initializer(
  tf: Tf,
  seed: number | undefined,
  layerIndex: number,
): { kernelInitializer?: ReturnType<Tf['initializers']['glorotUniform']> } {
  return seed === undefined
    ? {}
    : { kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + layerIndex }) };
}

/** The architecture without its head: input → … → `features`. */
function bodyLayers(tf: Tf, architecture: ModelArchitecture, seed: number | undefined): TfModule.layers.Layer[] {
  const layers: TfModule.layers.Layer[] = [];
  if (architecture.kind === 'cnn') {
    const filters = architecture.filters ?? [8, 16];
    filters.forEach((count, index) => {
      const block = index + 1;
      layers.push(
        tf.layers.conv2d({
          ...(index === 0 ? { inputShape: [...architecture.inputShape] } : {}),
          filters: count,
          kernelSize: 3,
          padding: 'same',
          useBias: false,
          name: `conv${block}`,
          ...initializer(tf, seed, block),
        }),
        // Momentum 0.9 (not 0.99): small datasets give few steps, and the moving statistics must
        // converge within them or inference drifts from training.
        tf.layers.batchNormalization({ name: `bn${block}`, momentum: 0.9 }),
        tf.layers.activation({ activation: 'relu', name: `relu${block}` }),
        tf.layers.maxPooling2d({ poolSize: 2, name: `pool${block}` }),
      );
    });
    const pooling = architecture.pooling ?? 'flatten';
    if (pooling === 'max') layers.push(tf.layers.globalMaxPooling2d({ name: 'global_pool' }));
    else if (pooling === 'average') layers.push(tf.layers.globalAveragePooling2d({ name: 'global_pool' }));
    else layers.push(tf.layers.flatten({ name: 'flatten' }));
    layers.push(
      tf.layers.dense({
        units: architecture.featureUnits ?? 32,
        activation: 'relu',
        name: FEATURE_LAYER_NAME,
        ...initializer(tf, seed, 50),
      }),
    );
    return layers;
  }
  const hidden = architecture.hidden ?? [32, 16];
  hidden.forEach((units, index) => {
    const last = index === hidden.length - 1;
    layers.push(
      tf.layers.dense({
        ...(index === 0 ? { inputShape: [...architecture.inputShape] } : {}),
        units,
        activation: 'relu',
        name: last ? FEATURE_LAYER_NAME : `dense${index + 1}`,
        ...initializer(tf, seed, 60 + index),
      }),
    );
  });
  return layers;
}

/** The network an architecture builds, in a log line's words: `mlp, hidden layers [32, 32]`. */
export function describeArchitecture(architecture: ModelArchitecture): string {
  if (architecture.kind === 'mlp') return `mlp, hidden layers [${(architecture.hidden ?? [32, 16]).join(', ')}]`;
  const pooling = architecture.pooling ?? 'flatten';
  const toVector = pooling === 'flatten' ? 'flatten' : `global ${pooling} pooling`;
  const filters = (architecture.filters ?? [8, 16]).join(', ');
  return `cnn, conv filters [${filters}], ${toVector}, ${architecture.featureUnits ?? 32} feature units`;
}

/** A freshly initialised model of `architecture` with a head for `numClasses`. */
export function buildModel(tf: Tf, architecture: ModelArchitecture, options: HeadOptions): LayersModel {
  if (architecture.kind === 'cnn' && architecture.inputShape.length !== 3)
    throw new Error('a cnn input shape is [height, width, channels]');
  const model = tf.sequential({ name: architecture.kind });
  for (const layer of [...bodyLayers(tf, architecture, options.seed), ...headLayers(tf, options)]) model.add(layer);
  return model;
}
