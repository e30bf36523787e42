/**
 * select-model: rank candidate base models for a target dataset by how well their frozen
 * penultimate features separate its classes, the cheap proxy for "will fine-tune well":
 *
 * - `linear-probe`: multinomial logistic regression on the features of a sample, scored by
 *   accuracy on a held-out third of it;
 * - `knn`: leave-one-out k-nearest-neighbour accuracy (cosine, `k` neighbours) on the sample.
 *
 * A candidate that fails to load or does not fit the data's shape is reported with its error;
 * selection fails only when no candidate could be scored.
 *
 * Transfer gain: the same probe on the same architecture with fresh random weights stands for
 * "train from scratch". Pretrained minus random-weights accuracy on the same held-out examples,
 * with a paired bootstrap interval, estimates what the pretraining is worth on this data before
 * any fine-tuning compute is spent. It is a proxy: a probe on random features underestimates a
 * fully trained scratch model, so a gain at or below zero is a strong warning, a positive one a hint.
 */
import type { TfBackendPreference } from '../config';
import { ensureError, InvalidInputError } from '../core/errors';
import type { ObjectStore } from '../storage/object-store';
import { currentBackend, loadTf, type Tf } from './backend';
import { loadSplit, readManifest, type SplitName } from './data/shards';
import { concatFloat32, featureLength, type LabelledSet } from './generators/image-set';
import { FEATURE_LAYER_NAME, HEAD_LAYER_NAME, isHeadLayerName, type LayersModel } from './models/architectures';
import { loadModel } from './models/load-model';
import type { HttpLoadOptions } from './models/model-io';
import { resolveModelUri } from './models/registry';
import { bootstrapStatistics } from './eval/bootstrap';
import { mulberry32, shuffleInPlace } from './random';
import { takePerClass } from './train/fine-tune';

export type RankMethod = 'linear-probe' | 'knn';

export interface SelectModelOptions {
  readonly candidates: readonly string[];
  readonly datasetUri: string;
  readonly method?: RankMethod;
  /** Examples per class in the sample. Default 30. */
  readonly samplePerClass?: number;
  /** Split the sample comes from. Default train. */
  readonly split?: SplitName;
  readonly seed?: number;
  /** Neighbours that vote in the `knn` ranking. Default 5. */
  readonly k?: number;
  readonly registryBucket: string;
  /** Headers for http(s):// candidates (a secret `auth` input, resolved on the worker). */
  readonly modelHttp?: HttpLoadOptions;
  readonly tfBackend?: TfBackendPreference;
  /**
   * Also score each candidate's architecture with fresh random weights (the "train from scratch"
   * side) and estimate the transfer gain. Default true.
   */
  readonly fromScratch?: boolean;
  /** Coverage of the transfer gain's interval. Default 0.95. */
  readonly confidence?: number;
}

/** Pretrained minus random-weights probe accuracy on the same held-out examples, with a paired bootstrap interval. */
export interface TransferGain {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
}

export interface CandidateScore {
  readonly uri: string;
  /** The concrete location a registry URI resolved to. */
  readonly resolvedUri: string;
  readonly score: number;
  readonly featureDimension: number;
  readonly seconds: number;
  /** The same probe on the same architecture with fresh random weights (see {@link randomWeights}). */
  readonly fromScratchScore?: number;
  readonly transferGain?: TransferGain;
}

export interface CandidateFailure {
  readonly uri: string;
  readonly error: string;
}

export interface SelectModelResult {
  /** Best first. */
  readonly ranking: readonly CandidateScore[];
  readonly failures: readonly CandidateFailure[];
  readonly best: CandidateScore;
  readonly method: RankMethod;
  readonly sampleSize: number;
  readonly backend: string;
}

/** The model's penultimate activations (the `features` layer, or whatever feeds the head). */
export function featureExtractor(tf: Tf, model: LayersModel): LayersModel {
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  let layer = layers.find((candidate) => candidate.name === FEATURE_LAYER_NAME);
  if (!layer) {
    const headIndex = layers.findIndex((candidate) => candidate.name === HEAD_LAYER_NAME);
    let index = (headIndex >= 0 ? headIndex : layers.length - 1) - 1;
    // The head's own hidden layers and dropout are not the base model's features.
    while (index > 0 && (layers[index]?.getClassName() === 'Dropout' || isHeadLayerName(layers[index]?.name ?? '')))
      index -= 1;
    layer = layers[index];
  }
  if (!layer) throw new InvalidInputError('the model has no layer below its output to take features from', {});
  return tf.model({ inputs: model.inputs, outputs: layer.output as ReturnType<Tf['input']> });
}

function standardize(features: Float32Array, count: number, dimension: number): Float32Array {
  const out = new Float32Array(features.length);
  for (let d = 0; d < dimension; d += 1) {
    let mean = 0;
    for (let i = 0; i < count; i += 1) mean += features[i * dimension + d] ?? 0;
    mean /= Math.max(1, count);
    let variance = 0;
    for (let i = 0; i < count; i += 1) variance += ((features[i * dimension + d] ?? 0) - mean) ** 2;
    const std = Math.sqrt(variance / Math.max(1, count)) || 1;
    for (let i = 0; i < count; i += 1) out[i * dimension + d] = ((features[i * dimension + d] ?? 0) - mean) / std;
  }
  return out;
}

/** Softmax regression by full-batch gradient descent (L2 1e-3); accuracy on the held-out indices. */
export function linearProbeAccuracy(
  features: Float32Array,
  labels: Int32Array,
  dimension: number,
  classes: number,
  trainIndices: readonly number[],
  testIndices: readonly number[],
): number {
  return meanOf(linearProbeCorrect(features, labels, dimension, classes, trainIndices, testIndices));
}

function meanOf(values: Uint8Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / Math.max(1, values.length);
}

/** The linear probe's verdict per held-out example (1 = right), in `testIndices` order. */
export function linearProbeCorrect(
  features: Float32Array,
  labels: Int32Array,
  dimension: number,
  classes: number,
  trainIndices: readonly number[],
  testIndices: readonly number[],
): Uint8Array {
  const weights = new Float64Array(dimension * classes);
  const bias = new Float64Array(classes);
  const rate = 0.5;
  const l2 = 1e-3;
  const logits = new Float64Array(classes);
  const scores = (index: number): Float64Array => {
    for (let c = 0; c < classes; c += 1) {
      let sum = bias[c] ?? 0;
      for (let d = 0; d < dimension; d += 1)
        sum += (features[index * dimension + d] ?? 0) * (weights[d * classes + c] ?? 0);
      logits[c] = sum;
    }
    const max = Math.max(...logits);
    let total = 0;
    for (let c = 0; c < classes; c += 1) {
      logits[c] = Math.exp((logits[c] ?? 0) - max);
      total += logits[c] ?? 0;
    }
    for (let c = 0; c < classes; c += 1) logits[c] = (logits[c] ?? 0) / total;
    return logits;
  };
  for (let iteration = 0; iteration < 150; iteration += 1) {
    const gradW = new Float64Array(dimension * classes);
    const gradB = new Float64Array(classes);
    for (const index of trainIndices) {
      const probabilities = scores(index);
      for (let c = 0; c < classes; c += 1) {
        const error = (probabilities[c] ?? 0) - (labels[index] === c ? 1 : 0);
        gradB[c] = (gradB[c] ?? 0) + error;
        for (let d = 0; d < dimension; d += 1)
          gradW[d * classes + c] = (gradW[d * classes + c] ?? 0) + error * (features[index * dimension + d] ?? 0);
      }
    }
    const n = Math.max(1, trainIndices.length);
    for (let i = 0; i < weights.length; i += 1)
      weights[i] = (weights[i] ?? 0) - rate * ((gradW[i] ?? 0) / n + l2 * (weights[i] ?? 0));
    for (let c = 0; c < classes; c += 1) bias[c] = (bias[c] ?? 0) - rate * ((gradB[c] ?? 0) / n);
  }
  return Uint8Array.from(testIndices, (index) => {
    const probabilities = scores(index);
    let best = 0;
    for (let c = 1; c < classes; c += 1) if ((probabilities[c] ?? 0) > (probabilities[best] ?? 0)) best = c;
    return best === labels[index] ? 1 : 0;
  });
}

const DEFAULT_NEIGHBOURS = 5;

/**
 * Leave-one-out k-NN accuracy with cosine similarity: each example is predicted by the majority
 * of its `k` most similar others (ties go to the more similar side). `k` above the sample size
 * minus one means every other example votes.
 */
export function knnAccuracy(
  features: Float32Array,
  labels: Int32Array,
  dimension: number,
  classes: number,
  k = DEFAULT_NEIGHBOURS,
): number {
  return meanOf(knnCorrect(features, labels, dimension, classes, k));
}

/** Leave-one-out k-NN verdict per example (1 = right). */
export function knnCorrect(
  features: Float32Array,
  labels: Int32Array,
  dimension: number,
  classes: number,
  k = DEFAULT_NEIGHBOURS,
): Uint8Array {
  const count = labels.length;
  const norms = Array.from({ length: count }, (_, i) => {
    let sum = 0;
    for (let d = 0; d < dimension; d += 1) sum += (features[i * dimension + d] ?? 0) ** 2;
    return Math.sqrt(sum) || 1;
  });
  const correct = new Uint8Array(count);
  for (let i = 0; i < count; i += 1) {
    const similarities: [number, number][] = [];
    for (let j = 0; j < count; j += 1) {
      if (j === i) continue;
      let dot = 0;
      for (let d = 0; d < dimension; d += 1)
        dot += (features[i * dimension + d] ?? 0) * (features[j * dimension + d] ?? 0);
      similarities.push([dot / ((norms[i] ?? 1) * (norms[j] ?? 1)), labels[j] ?? 0]);
    }
    similarities.sort((a, b) => b[0] - a[0]);
    const votes = new Array<number>(classes).fill(0);
    for (const [similarity, label] of similarities.slice(0, k))
      votes[label] = (votes[label] ?? 0) + 1 + similarity * 1e-3;
    const predicted = votes.indexOf(Math.max(...votes));
    correct[i] = predicted === labels[i] ? 1 : 0;
  }
  return correct;
}

/**
 * Fresh weights for `model`'s variables in order, as a newly built model would get them (Keras'
 * defaults: Glorot-uniform kernels, zero biases and shifts, unit scales and variances), but seeded,
 * so the from-scratch score reproduces.
 */
export function randomWeights(tf: Tf, model: LayersModel, seed: number): ReturnType<Tf['tensor']>[] {
  const random = mulberry32(seed);
  return model.weights.map((weight) => {
    const shape = weight.shape.map((size) => size ?? 1);
    const size = shape.reduce((product, dimension) => product * dimension, 1);
    const name = weight.originalName ?? weight.name;
    if (/(gamma|moving_variance)(_\d+)?$/.test(name)) return tf.ones(shape);
    if (shape.length < 2 || /(bias|beta|moving_mean)(_\d+)?$/.test(name)) return tf.zeros(shape);
    const receptive = shape.slice(0, -2).reduce((product, dimension) => product * dimension, 1);
    const fanIn = (shape[shape.length - 2] ?? 1) * receptive;
    const fanOut = (shape[shape.length - 1] ?? 1) * receptive;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const values = new Float32Array(size);
    for (let i = 0; i < size; i += 1) values[i] = (random() * 2 - 1) * limit;
    return tf.tensor(values, shape);
  });
}

/** Mean of pretrained − scratch verdicts on the same examples, with a paired percentile bootstrap interval. */
export function transferGainOf(
  pretrained: Uint8Array,
  scratch: Uint8Array,
  confidence: number,
  seed: number,
): TransferGain {
  const difference = Float64Array.from(pretrained, (value, i) => value - (scratch[i] ?? 0));
  const mean = (indices: ArrayLike<number>): number => {
    let sum = 0;
    for (let i = 0; i < indices.length; i += 1) sum += difference[indices[i] ?? 0] ?? 0;
    return sum / Math.max(1, indices.length);
  };
  const estimate = mean(Array.from(difference.keys()));
  const interval = bootstrapStatistics(difference.length, (indices) => ({ gain: mean(indices) }), {
    resamples: 2000,
    confidence,
    seed,
  }).gain ?? { low: estimate, high: estimate };
  return { estimate, low: interval.low, high: interval.high, confidence };
}

function extractFeatures(
  tf: Tf,
  extractor: LayersModel,
  set: LabelledSet,
): { features: Float32Array; dimension: number } {
  const length = featureLength(set.featureShape);
  const chunks: Float32Array[] = [];
  let dimension = 0;
  for (let start = 0; start < set.labels.length; start += 256) {
    const end = Math.min(set.labels.length, start + 256);
    chunks.push(
      tf.tidy(() => {
        const output = extractor.predict(
          tf.tensor(set.features.subarray(start * length, end * length), [end - start, ...set.featureShape]),
        ) as ReturnType<Tf['tensor']>;
        const flat = output.reshape([end - start, -1]);
        dimension = flat.shape[1] ?? 0;
        return flat.dataSync() as Float32Array;
      }),
    );
  }
  return { features: concatFloat32(chunks), dimension };
}

/** The examples candidates are ranked on, and the probe's train/held-out split of them. */
interface RankingSample {
  readonly sample: LabelledSet;
  readonly trainIndices: readonly number[];
  readonly testIndices: readonly number[];
}

async function rankingSample(store: ObjectStore, options: SelectModelOptions, seed: number): Promise<RankingSample> {
  const manifest = await readManifest(store, options.datasetUri);
  const sample = takePerClass(
    await loadSplit(store, manifest, options.split ?? 'train'),
    options.samplePerClass ?? 30,
    seed,
  );
  if (sample.labels.length < 4)
    throw new InvalidInputError(
      `the ${options.split ?? 'train'} split has only ${sample.labels.length} examples; too few to rank models`,
      {},
    );
  const order = shuffleInPlace(
    Array.from({ length: sample.labels.length }, (_, i) => i),
    mulberry32(seed + 1),
  );
  const cut = Math.round((order.length * 2) / 3);
  return { sample, trainIndices: order.slice(0, cut), testIndices: order.slice(cut) };
}

function checkInputShape(model: LayersModel, sample: LabelledSet): void {
  const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
  if (
    inputShape.length !== sample.featureShape.length ||
    inputShape.some((size, i) => size !== null && size !== sample.featureShape[i])
  ) {
    throw new InvalidInputError(
      `takes inputs of shape [${inputShape.join(', ')}], the data is [${sample.featureShape.join(', ')}]`,
      {},
    );
  }
}

/** How candidates are scored: the method and its settings, the same for every candidate. */
interface Probe extends RankingSample {
  readonly tf: Tf;
  readonly method: RankMethod;
  readonly k: number;
  readonly seed: number;
}

/** Which sample examples the probe on the model's current features gets right, and the features' width. */
function probeVerdicts(probe: Probe, model: LayersModel): { correct: Uint8Array; dimension: number } {
  const { tf, sample } = probe;
  const { features, dimension } = extractFeatures(tf, featureExtractor(tf, model), sample);
  const normalized = standardize(features, sample.labels.length, dimension);
  const classes = sample.classes.length;
  return {
    dimension,
    correct:
      probe.method === 'knn'
        ? knnCorrect(normalized, sample.labels, dimension, classes, probe.k)
        : linearProbeCorrect(normalized, sample.labels, dimension, classes, probe.trainIndices, probe.testIndices),
  };
}

/** One candidate's score, and (unless turned off) the same probe on its architecture with fresh weights. */
async function scoreCandidate(
  store: ObjectStore,
  options: SelectModelOptions,
  probe: Probe,
  uri: string,
): Promise<CandidateScore> {
  const started = performance.now();
  const resolvedUri = await resolveModelUri(store, uri, options.registryBucket);
  const model = await loadModel(probe.tf, store, resolvedUri, {
    registryBucket: options.registryBucket,
    ...(options.modelHttp ? { http: options.modelHttp } : {}),
  });
  // A candidate that cannot be scored (its input shape does not fit the data) is freed too: one per candidate.
  try {
    checkInputShape(model, probe.sample);
    const { score, featureDimension, ...fromScratch } = scoreLoaded(options, probe, model);
    return { uri, resolvedUri, score, featureDimension, seconds: (performance.now() - started) / 1000, ...fromScratch };
  } finally {
    model.dispose();
  }
}

/** The probe's verdicts on a loaded candidate, pretrained and (unless turned off) with fresh weights. */
function scoreLoaded(
  options: SelectModelOptions,
  probe: Probe,
  model: LayersModel,
): Omit<CandidateScore, 'uri' | 'resolvedUri' | 'seconds'> {
  const { tf, seed } = probe;
  const pretrained = probeVerdicts(probe, model);
  let scratch: Uint8Array | undefined;
  if (options.fromScratch !== false) {
    // The same layers with fresh weights: what training this architecture from scratch starts from.
    const fresh = randomWeights(tf, model, seed);
    model.setWeights(fresh);
    tf.dispose(fresh);
    scratch = probeVerdicts(probe, model).correct;
  }
  return {
    score: meanOf(pretrained.correct),
    featureDimension: pretrained.dimension,
    ...(scratch
      ? {
          fromScratchScore: meanOf(scratch),
          transferGain: transferGainOf(pretrained.correct, scratch, options.confidence ?? 0.95, seed),
        }
      : {}),
  };
}

export async function selectModel(store: ObjectStore, options: SelectModelOptions): Promise<SelectModelResult> {
  if (options.candidates.length === 0) throw new InvalidInputError('select-model needs at least one candidate', {});
  const { tf } = loadTf({ preference: options.tfBackend ?? 'auto' });
  const method = options.method ?? 'linear-probe';
  const k = options.k ?? DEFAULT_NEIGHBOURS;
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidInputError(`k must be a whole number of neighbours of at least 1, got ${k}`, { field: 'k' });
  const seed = options.seed ?? 0;
  const probe: Probe = { tf, method, k, seed, ...(await rankingSample(store, options, seed)) };

  const ranking: CandidateScore[] = [];
  const failures: CandidateFailure[] = [];
  for (const uri of options.candidates) {
    try {
      ranking.push(await scoreCandidate(store, options, probe, uri));
    } catch (thrown) {
      failures.push({ uri, error: ensureError(thrown).message });
    }
  }
  ranking.sort((a, b) => b.score - a.score || a.uri.localeCompare(b.uri));
  const best = ranking[0];
  if (!best) {
    throw new InvalidInputError(
      `no candidate model could be scored: ${failures.map((failure) => `${failure.uri}: ${failure.error}`).join('; ')}`,
      { failures: failures.map((f) => f.uri) },
    );
  }
  return { ranking, failures, best, method, sampleSize: probe.sample.labels.length, backend: currentBackend(tf) };
}

export interface TransferVerdict {
  /** `fine-tune` when the winner's gain estimate is positive, `from-scratch` when it is not. */
  readonly recommendation: 'fine-tune' | 'from-scratch';
  /** Set when transfer is not expected to help, or its gain cannot be told from zero on this sample. */
  readonly warning?: string;
}

/** What the winner's transfer gain says about spending compute on fine-tuning it. */
export function transferVerdict(candidate: string, gain: TransferGain, sampleSize: number): TransferVerdict {
  const percent = (value: number): string => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} points`;
  const interval = `${Math.round(gain.confidence * 100)}% interval ${percent(gain.low)} to ${percent(gain.high)}`;
  const stated = `${percent(gain.estimate)} (${interval})`;
  if (gain.estimate <= 0) {
    return {
      recommendation: 'from-scratch',
      warning:
        `no candidate base is expected to beat training from scratch on this data: the best, ${candidate}, ` +
        `probes ${stated} against the same architecture with random weights. Consider architecture: (from scratch), another base, or evaluate's fromScratch comparison before spending the compute`,
    };
  }
  if (gain.low <= 0) {
    return {
      recommendation: 'fine-tune',
      warning:
        `the transfer gain of ${candidate} over training from scratch is ${stated}: not distinguishable from ` +
        `zero on a sample of ${sampleSize}; raise sampleSize for a tighter estimate, or compare with evaluate's fromScratch`,
    };
  }
  return { recommendation: 'fine-tune' };
}
