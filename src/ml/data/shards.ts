/**
 * Sharded tensors: how a prepared dataset sits in the store. A shard is one object holding a
 * fixed number of examples in a compact binary layout (little-endian):
 *
 * ```
 * 0  "FFS1"                magic
 * 4  u32 count             examples in this shard
 * 8  u32 featureLength     floats per example
 * 12 u32 reserved (0)
 * 16 f32[count*featureLength] features
 * …  i32[count]            labels (class indices)
 * ```
 *
 * The manifest lists every shard with its sha256; readers verify it, and stream one shard at a
 * time so a dataset far larger than memory trains with a small resident set.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { InvalidInputError } from '../../core/errors';
import type { ObjectStore } from '../../storage/object-store';
import type { LabelledSet } from '../generators/image-set';
import {
  applyToFeatures,
  reencodeFeatures,
  tableLayoutOf,
  type Preprocessing,
  type TableLayout,
} from './preprocessing';
import { mulberry32, shuffleInPlace } from '../random';
import { joinUri } from '../uri';

export const SHARD_MAGIC = 'FFS1';
const HEADER_BYTES = 16;
const LITTLE_ENDIAN = endianness() === 'LE';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

export interface ShardEntry {
  readonly uri: string;
  readonly count: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface SplitManifest {
  readonly count: number;
  /** Examples per class index. */
  readonly classCounts: readonly number[];
  readonly shards: readonly ShardEntry[];
}

/** How a reader turns stored features into model inputs. */
export interface InputTransform {
  /** `none`: features are used as stored; `standardize`: (x - mean) / std per feature group, NaN → 0. */
  readonly kind: 'none' | 'standardize';
  /** One entry per channel (images) or per feature (tabular); from the training split only. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface FeatureColumn {
  readonly name: string;
  readonly kind: 'numeric' | 'one-hot';
  /** For one-hot columns: the categories, one feature each. */
  readonly categories?: readonly string[];
}

export interface DatasetManifest {
  readonly format: 'fineflow-shards/v1';
  /** Shape of one example, e.g. [28, 28, 1] or [9]. */
  readonly featureShape: readonly number[];
  readonly classes: readonly string[];
  /** For tabular data: how columns became features. */
  readonly columns?: readonly FeatureColumn[];
  readonly inputTransform: InputTransform;
  /**
   * The fitted preprocessing (src/ml/data/preprocessing.ts), which fine-tune stores with the model;
   * when present it, not `inputTransform`, turns stored features into model inputs. Datasets
   * prepared before prepare-data 1.2 have none.
   */
  readonly preprocessing?: Preprocessing;
  readonly splits: Readonly<Record<SplitName, SplitManifest>>;
  readonly source?: string;
  /** Dataset version the source was read at (src/datasets/dataset-version.ts): the model card's lineage. */
  readonly sourceVersion?: string;
  /** Fixed validation / test sets (prepare-data 1.3): their sources and dataset versions, for lineage. */
  readonly fixedSets?: {
    readonly validation?: { readonly source: string; readonly version?: string };
    readonly test?: { readonly source: string; readonly version?: string };
  };
  readonly createdAt?: string;
}

export function encodeShard(features: Float32Array, labels: Int32Array, featureLength: number): Buffer {
  const count = labels.length;
  if (features.length !== count * featureLength)
    throw new Error(`shard has ${features.length} floats, expected ${count * featureLength}`);
  const buffer = Buffer.alloc(HEADER_BYTES + features.length * 4 + count * 4);
  buffer.write(SHARD_MAGIC, 0, 'ascii');
  buffer.writeUInt32LE(count, 4);
  buffer.writeUInt32LE(featureLength, 8);
  const labelOffset = HEADER_BYTES + features.length * 4;
  if (LITTLE_ENDIAN) {
    Buffer.from(features.buffer, features.byteOffset, features.byteLength).copy(buffer, HEADER_BYTES);
    Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength).copy(buffer, labelOffset);
    return buffer;
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let i = 0; i < features.length; i += 1) view.setFloat32(HEADER_BYTES + i * 4, features[i] ?? 0, true);
  for (let i = 0; i < count; i += 1) view.setInt32(labelOffset + i * 4, labels[i] ?? 0, true);
  return buffer;
}

export function decodeShard(
  bytes: Uint8Array,
  where = 'shard',
): { features: Float32Array; labels: Int32Array; featureLength: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = Buffer.from(bytes.subarray(0, 4)).toString('ascii');
  if (bytes.byteLength < HEADER_BYTES || magic !== SHARD_MAGIC)
    throw new InvalidInputError(`${where} is not a Fineflow shard (magic ${JSON.stringify(magic)})`, { where });
  const count = view.getUint32(4, true);
  const featureLength = view.getUint32(8, true);
  const expected = HEADER_BYTES + count * featureLength * 4 + count * 4;
  if (bytes.byteLength !== expected)
    throw new InvalidInputError(`${where} has ${bytes.byteLength} bytes, expected ${expected}`, { where });
  const features = new Float32Array(count * featureLength);
  const labels = new Int32Array(count);
  const labelOffset = HEADER_BYTES + features.length * 4;
  if (LITTLE_ENDIAN) {
    // Copy (not view): the source may be unaligned, and callers may keep the arrays.
    Buffer.from(features.buffer).set(bytes.subarray(HEADER_BYTES, labelOffset));
    Buffer.from(labels.buffer).set(bytes.subarray(labelOffset, labelOffset + count * 4));
    return { features, labels, featureLength };
  }
  for (let i = 0; i < features.length; i += 1) features[i] = view.getFloat32(HEADER_BYTES + i * 4, true);
  for (let i = 0; i < count; i += 1) labels[i] = view.getInt32(labelOffset + i * 4, true);
  return { features, labels, featureLength };
}

/** Buffers examples and writes a shard to the store every `shardSize` examples. */
export class ShardWriter {
  private readonly shards: ShardEntry[] = [];
  private readonly classCounts: number[];
  private features: Float32Array;
  private labels: Int32Array;
  private filled = 0;
  private total = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly prefixUri: string,
    private readonly featureLength: number,
    private readonly shardSize: number,
    numClasses: number,
  ) {
    this.features = new Float32Array(shardSize * featureLength);
    this.labels = new Int32Array(shardSize);
    this.classCounts = new Array<number>(numClasses).fill(0);
  }

  async add(features: Float32Array, label: number): Promise<void> {
    this.features.set(features, this.filled * this.featureLength);
    this.labels[this.filled] = label;
    this.classCounts[label] = (this.classCounts[label] ?? 0) + 1;
    this.filled += 1;
    this.total += 1;
    if (this.filled === this.shardSize) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.filled === 0) return;
    const bytes = encodeShard(
      this.features.subarray(0, this.filled * this.featureLength),
      this.labels.subarray(0, this.filled),
      this.featureLength,
    );
    const uri = joinUri(this.prefixUri, `shard-${String(this.shards.length).padStart(5, '0')}.bin`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await this.store.putBytes(uri, bytes, { contentType: 'application/octet-stream' });
    this.shards.push({ uri, count: this.filled, bytes: bytes.length, sha256 });
    this.filled = 0;
  }

  async finish(): Promise<SplitManifest> {
    await this.flush();
    return { count: this.total, classCounts: [...this.classCounts], shards: [...this.shards] };
  }
}

/** Read and verify one shard. */
export async function readShard(
  store: ObjectStore,
  shard: ShardEntry,
): Promise<{ features: Float32Array; labels: Int32Array }> {
  const bytes = await store.getBytes(shard.uri);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== shard.sha256) {
    throw new InvalidInputError(
      `shard ${shard.uri} is corrupt: sha256 ${sha256} does not match the manifest's ${shard.sha256}`,
      { uri: shard.uri },
    );
  }
  return decodeShard(bytes, shard.uri);
}

/** Turn stored features into model inputs, in place: the manifest's preprocessing, else its legacy transform. */
export function transformFeatures(features: Float32Array, manifest: DatasetManifest): void {
  if (manifest.preprocessing) applyToFeatures(manifest.preprocessing, features);
  else applyInputTransform(features, manifest.inputTransform);
}

/** How a dataset's stored table features are laid out (datasets from before prepare-data 1.2 included). */
function datasetTableLayout(manifest: DatasetManifest): TableLayout {
  if (manifest.preprocessing?.kind === 'table') return tableLayoutOf(manifest.preprocessing);
  const columns = (manifest.columns ?? []).map((column) =>
    column.kind === 'one-hot'
      ? { name: column.name, kind: 'categorical' as const, categories: column.categories ?? [] }
      : { name: column.name, kind: 'numeric' as const },
  );
  return { columns, naValues: [] };
}

/**
 * Raw (untransformed) features of a dataset as the inputs of a model that carries `preprocessing`:
 * its own statistics and vocabularies, columns aligned by name. A model that expects other classes
 * or another image shape is refused with both named.
 */
export function modelInputsOf(
  preprocessing: Preprocessing,
  manifest: DatasetManifest,
  raw: Float32Array,
  model: string,
): Float32Array {
  if (preprocessing.classes.join('\u0000') !== manifest.classes.join('\u0000'))
    throw new InvalidInputError(
      `model ${model} was trained on classes ${preprocessing.classes.join(', ')}; the dataset has ` +
        `${manifest.classes.join(', ')} (prepare it with classes: in the model's order)`,
      { model },
    );
  if (preprocessing.kind === 'image') {
    if (preprocessing.featureShape.join('x') !== manifest.featureShape.join('x'))
      throw new InvalidInputError(
        `model ${model} takes images of shape [${preprocessing.featureShape.join(', ')}]; the dataset has ` +
          `[${manifest.featureShape.join(', ')}] (set image.size and image.channels to match)`,
        { model },
      );
    return applyToFeatures(preprocessing, Float32Array.from(raw));
  }
  if (manifest.featureShape.length !== 1)
    throw new InvalidInputError(`model ${model} takes table rows; the dataset holds images`, { model });
  return applyToFeatures(
    preprocessing,
    reencodeFeatures(datasetTableLayout(manifest), tableLayoutOf(preprocessing), raw),
  );
}

/** Apply a legacy (pre-preprocessing) input transform in place. */
export function applyInputTransform(features: Float32Array, transform: InputTransform): void {
  if (transform.kind === 'none') return;
  const groups = transform.mean.length;
  for (let i = 0; i < features.length; i += 1) {
    const group = i % groups;
    const value = features[i] ?? 0;
    features[i] = Number.isNaN(value) ? 0 : (value - (transform.mean[group] ?? 0)) / (transform.std[group] || 1);
  }
}

export interface Batch {
  readonly features: Float32Array;
  readonly labels: Int32Array;
}

export interface StreamOptions {
  readonly batchSize: number;
  /** Shuffle shard order and examples within a window of shards. */
  readonly shuffle?: boolean;
  readonly seed?: number;
  /** Shards held in memory at once for shuffling; default 2. Memory ≈ window × shard bytes. */
  readonly shuffleWindowShards?: number;
  /** Apply the manifest's input transform; default true. */
  readonly transform?: boolean;
}

function featureLengthOf(manifest: DatasetManifest): number {
  return manifest.featureShape.reduce((a, b) => a * b, 1);
}

/**
 * Batches of one split, streamed shard by shard: at most `shuffleWindowShards` shards are
 * resident at any time, whatever the dataset's size.
 */
export async function* streamBatches(
  store: ObjectStore,
  manifest: DatasetManifest,
  split: SplitName,
  options: StreamOptions,
): AsyncGenerator<Batch> {
  const length = featureLengthOf(manifest);
  const random = mulberry32(options.seed ?? 0);
  const shards = [...manifest.splits[split].shards];
  if (options.shuffle) shuffleInPlace(shards, random);
  const window = Math.max(1, options.shuffleWindowShards ?? 2);
  const emit = function* (
    features: Float32Array,
    labels: Int32Array,
    order: readonly number[],
    from: number,
    to: number,
  ): Generator<Batch> {
    for (let start = from; start < to; start += options.batchSize) {
      const end = Math.min(to, start + options.batchSize);
      const batchFeatures = new Float32Array((end - start) * length);
      const batchLabels = new Int32Array(end - start);
      for (let i = start; i < end; i += 1) {
        const source = order[i] ?? 0;
        batchFeatures.set(features.subarray(source * length, (source + 1) * length), (i - start) * length);
        batchLabels[i - start] = labels[source] ?? 0;
      }
      yield { features: batchFeatures, labels: batchLabels };
    }
  };
  // Examples left over from the previous window that did not fill a batch.
  let carryFeatures = new Float32Array(0);
  let carryLabels = new Int32Array(0);
  for (let start = 0; start < shards.length; start += window) {
    const loaded = await Promise.all(shards.slice(start, start + window).map((shard) => readShard(store, shard)));
    const count = carryLabels.length + loaded.reduce((sum, shard) => sum + shard.labels.length, 0);
    const features = new Float32Array(count * length);
    const labels = new Int32Array(count);
    features.set(carryFeatures);
    labels.set(carryLabels);
    let offset = carryLabels.length;
    for (const shard of loaded) {
      features.set(shard.features, offset * length);
      labels.set(shard.labels, offset);
      offset += shard.labels.length;
    }
    if (options.transform !== false) transformFeatures(features.subarray(carryFeatures.length), manifest);
    const order = Array.from({ length: count }, (_, i) => i);
    if (options.shuffle) shuffleInPlace(order, random);
    const last = start + window >= shards.length;
    const full = last ? count : count - (count % options.batchSize);
    yield* emit(features, labels, order, 0, full);
    const rest = order.slice(full);
    carryFeatures = new Float32Array(rest.length * length);
    carryLabels = new Int32Array(rest.length);
    rest.forEach((source, target) => {
      carryFeatures.set(features.subarray(source * length, (source + 1) * length), target * length);
      carryLabels[target] = labels[source] ?? 0;
    });
  }
}

/** A whole split in memory, for splits that fit (fine-tuning on a small labelled set). */
export async function loadSplit(
  store: ObjectStore,
  manifest: DatasetManifest,
  split: SplitName,
  options: { readonly transform?: boolean } = {},
): Promise<LabelledSet> {
  const length = featureLengthOf(manifest);
  const count = manifest.splits[split].count;
  const features = new Float32Array(count * length);
  const labels = new Int32Array(count);
  let offset = 0;
  for (const shard of manifest.splits[split].shards) {
    const data = await readShard(store, shard);
    features.set(data.features, offset * length);
    labels.set(data.labels, offset);
    offset += data.labels.length;
  }
  if (options.transform !== false) transformFeatures(features, manifest);
  return { featureShape: manifest.featureShape, classes: manifest.classes, features, labels };
}

export async function readManifest(store: ObjectStore, uri: string): Promise<DatasetManifest> {
  const manifestUri = uri.endsWith('.json') ? uri : joinUri(uri, 'manifest.json');
  const manifest = await store.getJson<DatasetManifest>(manifestUri);
  if (manifest.format !== 'fineflow-shards/v1') {
    throw new InvalidInputError(
      `${manifestUri} is not a Fineflow dataset manifest (format ${String(manifest.format)})`,
      { uri: manifestUri },
    );
  }
  return manifest;
}
