/**
 * The model's preprocessing: everything that turns a raw example (a table row, an image file)
 * into the tensor the model was trained on, stored with the model so that evaluate, predict,
 * serve and exports apply the same function prepare-data fitted (one implementation, not four).
 *
 * Stored as `preprocessing.json` next to `model.json` (fine-tune writes it, register-model copies
 * it into the registry version and its model card). Format `fineflow-preprocessing/v1`
 * (docs/preprocessing.md):
 *
 * - table: `columns` in feature order; a numeric column is one feature, imputed with its training
 *   mean when missing (a cell in `naValues` or empty), then standardised with mean/std when
 *   `normalize`; a categorical column is one-hot over its stored vocabulary (an unknown category
 *   is all zeros).
 * - image: decode PNG/JPEG, composite any alpha onto `background`, resize (bilinear) to `size`,
 *   convert to `channels` (luminance or RGB), scale to [0, 1], then standardise per channel with
 *   mean/std when `normalize`.
 *
 * The file is read from places a pipeline author controls, so {@link parsePreprocessing} checks
 * every field and bounds every list before anything uses it.
 */
import { InvalidInputError } from '../../core/errors';
import { decodeImage, type DecodedImage, type ImageFormat } from './images';

export const PREPROCESSING_FORMAT = 'fineflow-preprocessing/v1';
/** File name next to model.json. */
export const PREPROCESSING_FILE = 'preprocessing.json';

/** Cells read as missing unless a pipeline says otherwise (`naValues`); the empty cell always is. */
export const DEFAULT_NA_VALUES: readonly string[] = ['NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?', '-'];

/** Bounds of a preprocessing file (it may come from an untrusted model directory). */
export const PREPROCESSING_LIMITS = {
  bytes: 16 * 1024 * 1024,
  columns: 10_000,
  categoriesPerColumn: 10_000,
  features: 1_000_000,
  classes: 100_000,
  nameChars: 1_000,
  naValues: 100,
  imageSide: 4096,
} as const;

export interface NumericColumnPreprocessing {
  readonly name: string;
  readonly kind: 'numeric';
  /** Training-split mean: the imputed value, and the centre when normalising. */
  readonly mean: number;
  /** Training-split standard deviation (1 when the column is constant). */
  readonly std: number;
}

export interface CategoricalColumnPreprocessing {
  readonly name: string;
  readonly kind: 'categorical';
  /** One feature per category, in this order. */
  readonly categories: readonly string[];
}

export type ColumnPreprocessing = NumericColumnPreprocessing | CategoricalColumnPreprocessing;

export interface TablePreprocessing {
  readonly format: typeof PREPROCESSING_FORMAT;
  readonly kind: 'table';
  readonly classes: readonly string[];
  /** `[features]`. */
  readonly featureShape: readonly number[];
  /** Column holding the label in training data (ignored when present in inputs to predict). */
  readonly labelColumn: string;
  /** Cells that mean "missing", besides the empty cell. */
  readonly naValues: readonly string[];
  /** Standardise numeric columns; false keeps raw values (missing ones are still imputed). */
  readonly normalize: boolean;
  readonly columns: readonly ColumnPreprocessing[];
}

export interface ImagePreprocessing {
  readonly format: typeof PREPROCESSING_FORMAT;
  readonly kind: 'image';
  readonly classes: readonly string[];
  /** `[height, width, channels]`. */
  readonly featureShape: readonly number[];
  readonly size: readonly [number, number];
  readonly channels: 1 | 3;
  /** RGB (0–255) that transparent pixels are composited onto. */
  readonly background: readonly [number, number, number];
  readonly normalize: boolean;
  /** Per channel, of [0, 1] pixels of the training split. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export type Preprocessing = TablePreprocessing | ImagePreprocessing;

/** Table columns before statistics are known: what prepare-data encodes while scanning. */
export interface TableLayout {
  readonly columns: readonly (
    | { readonly name: string; readonly kind: 'numeric' }
    | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] }
  )[];
  readonly naValues: readonly string[];
}

export function featureCountOf(layout: TableLayout): number {
  return layout.columns.reduce((sum, column) => sum + (column.kind === 'numeric' ? 1 : column.categories.length), 0);
}

/** Whether a cell is missing: absent, null, empty, or one of `naValues` (trimmed, case-sensitive). */
export function isMissingCell(value: unknown, naValues: readonly string[]): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  const text = String(value).trim();
  return text === '' || naValues.includes(text);
}

/** A cell as a finite number, or undefined. */
export function numericCell(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** Why a row cannot be encoded (a numeric cell that is not a number), or undefined. */
export function rowProblem(layout: TableLayout, cells: Readonly<Record<string, unknown>>): string | undefined {
  for (const column of layout.columns) {
    if (column.kind !== 'numeric') continue;
    const value = cells[column.name];
    if (!isMissingCell(value, layout.naValues) && numericCell(value) === undefined)
      return (
        `column ${column.name} is ${JSON.stringify(String(value).slice(0, 80))}, not a number (add it to ` +
        `naValues if it means missing)`
      );
  }
  return undefined;
}

/**
 * Raw features of one row: numbers as they are (NaN when missing), one-hot categories. No
 * statistics are applied: that is {@link applyToFeatures}'s job, so shards keep raw values.
 */
export function encodeRow(
  layout: TableLayout,
  cells: Readonly<Record<string, unknown>>,
  out = new Float32Array(featureCountOf(layout)),
): Float32Array {
  let offset = 0;
  for (const column of layout.columns) {
    const value = cells[column.name];
    if (column.kind === 'numeric') {
      out[offset] = isMissingCell(value, layout.naValues) ? Number.NaN : (numericCell(value) ?? Number.NaN);
      offset += 1;
      continue;
    }
    const position = isMissingCell(value, layout.naValues) ? -1 : column.categories.indexOf(String(value).trim());
    for (let i = 0; i < column.categories.length; i += 1) out[offset + i] = i === position ? 1 : 0;
    offset += column.categories.length;
  }
  return out;
}

/** PNG/JPEG by magic bytes (names lie; content decides). */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/**
 * Pixels in [0, 1], HWC, at `size` and `channels`: alpha composited onto `background` first (a
 * transparent background must not turn black), then a bilinear resize and channel conversion.
 */
export function imagePixels(
  image: DecodedImage,
  spec: Pick<ImagePreprocessing, 'size' | 'channels' | 'background'>,
): Float32Array {
  const [height, width] = spec.size;
  const { channels } = spec;
  const composited = compositeOnto(image, spec.background);
  const out = new Float32Array(height * width * channels);
  const scaleY = image.height / height;
  const scaleX = image.width / width;
  const sample = (x: number, y: number, c: number): number => composited[(y * image.width + x) * 3 + c] ?? 0;
  for (let y = 0; y < height; y += 1) {
    const sy = Math.min(image.height - 1, Math.max(0, (y + 0.5) * scaleY - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(image.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x += 1) {
      const sx = Math.min(image.width - 1, Math.max(0, (x + 0.5) * scaleX - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(image.width - 1, x0 + 1);
      const fx = sx - x0;
      const at = (c: number): number => {
        const top = sample(x0, y0, c) * (1 - fx) + sample(x1, y0, c) * fx;
        const bottom = sample(x0, y1, c) * (1 - fx) + sample(x1, y1, c) * fx;
        return (top * (1 - fy) + bottom * fy) / 255;
      };
      const index = (y * width + x) * channels;
      if (channels === 1) out[index] = 0.299 * at(0) + 0.587 * at(1) + 0.114 * at(2);
      else for (let c = 0; c < 3; c += 1) out[index + c] = at(c);
    }
  }
  return out;
}

/** RGB bytes (3 per pixel) of an RGBA image composited onto an opaque background. */
function compositeOnto(image: DecodedImage, background: readonly [number, number, number]): Float32Array {
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p += 1) {
    const alpha = (image.rgba[p * 4 + 3] ?? 255) / 255;
    for (let c = 0; c < 3; c += 1)
      out[p * 3 + c] = (image.rgba[p * 4 + c] ?? 0) * alpha + (background[c] ?? 255) * (1 - alpha);
  }
  return out;
}

/** Apply the fitted statistics to raw (encoded) features of any number of examples, in place. */
export function applyToFeatures(preprocessing: Preprocessing, features: Float32Array): Float32Array {
  const length = preprocessing.featureShape.reduce((a, b) => a * b, 1);
  if (features.length % length !== 0)
    throw new InvalidInputError(`features have ${features.length} values, not a multiple of ${length} per example`, {
      featureShape: [...preprocessing.featureShape],
    });
  if (preprocessing.kind === 'image') {
    if (!preprocessing.normalize) return features;
    const groups = preprocessing.channels;
    for (let i = 0; i < features.length; i += 1) {
      const c = i % groups;
      features[i] = ((features[i] ?? 0) - (preprocessing.mean[c] ?? 0)) / (preprocessing.std[c] || 1);
    }
    return features;
  }
  let offset = 0;
  for (const column of preprocessing.columns) {
    if (column.kind === 'categorical') {
      offset += column.categories.length;
      continue;
    }
    for (let i = offset; i < features.length; i += length) {
      const value = features[i] ?? Number.NaN;
      const filled = Number.isNaN(value) ? column.mean : value;
      features[i] = preprocessing.normalize ? (filled - column.mean) / (column.std || 1) : filled;
    }
    offset += 1;
  }
  return features;
}

/**
 * Model inputs for table rows (objects keyed by column name, e.g. parsed CSV with its header or
 * JSONL): every feature column must be present (extra ones, like the label, are ignored); missing
 * cells are imputed. `where(i)` names a row in errors (e.g. `input.csv:12`).
 */
export function applyToRows(
  preprocessing: TablePreprocessing,
  rows: readonly Readonly<Record<string, unknown>>[],
  where: (index: number) => string = (index) => `row ${index + 1}`,
): Float32Array {
  const layout = tableLayoutOf(preprocessing);
  const length = featureCountOf(layout);
  const features = new Float32Array(rows.length * length);
  rows.forEach((cells, index) => {
    const absent = preprocessing.columns.find((column) => !(column.name in cells));
    if (absent)
      throw new InvalidInputError(
        `${where(index)}: column ${absent.name} is absent; the model takes columns ` +
          `${preprocessing.columns.map((c) => c.name).join(', ')} (leave a cell empty to have it imputed)`,
        { where: where(index), column: absent.name },
      );
    const problem = rowProblem(layout, cells);
    if (problem) throw new InvalidInputError(`${where(index)}: ${problem}`, { where: where(index) });
    encodeRow(layout, cells, features.subarray(index * length, (index + 1) * length));
  });
  return applyToFeatures(preprocessing, features);
}

export interface ImageInput {
  readonly bytes: Uint8Array;
  /** Named in errors, e.g. the file name. */
  readonly where: string;
}

/** Model inputs for image files (PNG or JPEG, told by their bytes), decoded with the image-size caps. */
export function applyToImages(preprocessing: ImagePreprocessing, images: readonly ImageInput[]): Float32Array {
  const length = preprocessing.featureShape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(images.length * length);
  images.forEach((image, index) => {
    const format = sniffImageFormat(image.bytes);
    if (!format)
      throw new InvalidInputError(`${image.where} is not a PNG or JPEG image; convert it (e.g. to PNG) first`, {
        where: image.where,
      });
    let decoded: DecodedImage;
    try {
      decoded = decodeImage(image.bytes, format);
    } catch (error) {
      throw new InvalidInputError(`${image.where} is a corrupt ${format.toUpperCase()}: ${(error as Error).message}`, {
        where: image.where,
      });
    }
    features.set(imagePixels(decoded, preprocessing), index * length);
  });
  return applyToFeatures(preprocessing, features);
}

/** Running mean and standard deviation per feature group (Welford), NaN skipped. */
export class FeatureStatistics {
  private readonly count: Float64Array;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(private readonly groups: number) {
    this.count = new Float64Array(groups);
    this.mean = new Float64Array(groups);
    this.m2 = new Float64Array(groups);
  }

  /** Values of one or more examples; value i belongs to group i % groups. */
  add(values: Float32Array): void {
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i] ?? Number.NaN;
      if (Number.isNaN(value)) continue;
      const group = i % this.groups;
      const n = (this.count[group] ?? 0) + 1;
      this.count[group] = n;
      const delta = value - (this.mean[group] ?? 0);
      this.mean[group] = (this.mean[group] ?? 0) + delta / n;
      this.m2[group] = (this.m2[group] ?? 0) + delta * (value - (this.mean[group] ?? 0));
    }
  }

  /** Means and sample standard deviations; a group with no spread (or no values) gets std 1. */
  result(): { mean: number[]; std: number[] } {
    const mean = Array.from(this.mean, (value) => Number(value.toFixed(6)));
    const std = Array.from(this.m2, (m2, i) => {
      const n = this.count[i] ?? 0;
      const deviation = n > 1 ? Math.sqrt(m2 / (n - 1)) : 1;
      return Number((deviation > 1e-8 ? deviation : 1).toFixed(6));
    });
    return { mean, std };
  }
}

export type PreprocessingSpec =
  | {
      readonly kind: 'table';
      readonly layout: TableLayout;
      readonly classes: readonly string[];
      readonly labelColumn: string;
      readonly normalize: boolean;
    }
  | {
      readonly kind: 'image';
      readonly size: readonly [number, number];
      readonly channels: 1 | 3;
      readonly background: readonly [number, number, number];
      readonly classes: readonly string[];
      readonly normalize: boolean;
    };

/** The statistics groups of a spec: one per feature (tables) or per channel (images). */
export function statisticsGroupsOf(spec: PreprocessingSpec): number {
  return spec.kind === 'image' ? spec.channels : featureCountOf(spec.layout);
}

/** The preprocessing of `spec` with statistics gathered in `statistics` (over training examples only). */
export function preprocessingFrom(spec: PreprocessingSpec, statistics: FeatureStatistics): Preprocessing {
  const { mean, std } = statistics.result();
  if (spec.kind === 'image') {
    return {
      format: PREPROCESSING_FORMAT,
      kind: 'image',
      classes: [...spec.classes],
      featureShape: [spec.size[0], spec.size[1], spec.channels],
      size: [spec.size[0], spec.size[1]],
      channels: spec.channels,
      background: [spec.background[0], spec.background[1], spec.background[2]],
      normalize: spec.normalize,
      mean,
      std,
    };
  }
  let offset = 0;
  const columns = spec.layout.columns.map((column): ColumnPreprocessing => {
    if (column.kind === 'categorical') {
      offset += column.categories.length;
      return { name: column.name, kind: 'categorical', categories: [...column.categories] };
    }
    const index = offset;
    offset += 1;
    return { name: column.name, kind: 'numeric', mean: mean[index] ?? 0, std: std[index] ?? 1 };
  });
  return {
    format: PREPROCESSING_FORMAT,
    kind: 'table',
    classes: [...spec.classes],
    featureShape: [offset],
    labelColumn: spec.labelColumn,
    naValues: [...spec.layout.naValues],
    normalize: spec.normalize,
    columns,
  };
}

/** Fit on encoded training examples in memory (prepare-data streams the same statistics itself). */
export function fitPreprocessing(spec: PreprocessingSpec, trainingFeatures: Iterable<Float32Array>): Preprocessing {
  const statistics = new FeatureStatistics(statisticsGroupsOf(spec));
  for (const features of trainingFeatures) statistics.add(features);
  return preprocessingFrom(spec, statistics);
}

/** Stable, readable JSON of a preprocessing (what is written next to the model). */
export function serializePreprocessing(preprocessing: Preprocessing): string {
  return `${JSON.stringify(preprocessing, null, 2)}\n`;
}

/**
 * Raw features encoded in layout `from` (a dataset's) re-encoded in layout `to` (a model's):
 * numeric columns by name, one-hot categories by name (a category the model never saw is all
 * zeros, as in predict). A numeric column the model needs and the data lacks is an error.
 */
export function reencodeFeatures(from: TableLayout, to: TableLayout, features: Float32Array): Float32Array {
  const fromLength = featureCountOf(from);
  const toLength = featureCountOf(to);
  const offsets = new Map<string, { offset: number; categories?: readonly string[] }>();
  let offset = 0;
  for (const column of from.columns) {
    offsets.set(column.name, { offset, ...(column.kind === 'categorical' ? { categories: column.categories } : {}) });
    offset += column.kind === 'numeric' ? 1 : column.categories.length;
  }
  // For every target feature: the source feature it copies, or -1 (missing numeric → NaN, absent category → 0).
  const sourceOf: number[] = [];
  for (const column of to.columns) {
    const found = offsets.get(column.name);
    if (column.kind === 'numeric') {
      if (!found || found.categories)
        throw new InvalidInputError(
          `the model takes numeric column ${column.name}, which the data ${found ? 'has as categorical' : 'lacks'}; ` +
            `prepare the data with the columns the model was trained on`,
          { column: column.name },
        );
      sourceOf.push(found.offset);
      continue;
    }
    for (const category of column.categories) {
      const position = found?.categories?.indexOf(category) ?? -1;
      sourceOf.push(found && position >= 0 ? found.offset + position : -1);
    }
  }
  const count = features.length / Math.max(1, fromLength);
  const out = new Float32Array(count * toLength);
  for (let example = 0; example < count; example += 1)
    sourceOf.forEach((source, target) => {
      out[example * toLength + target] = source >= 0 ? (features[example * fromLength + source] ?? 0) : 0;
    });
  return out;
}

/** The table layout of a preprocessing (what its raw features look like). */
export function tableLayoutOf(preprocessing: TablePreprocessing): TableLayout {
  return { columns: preprocessing.columns, naValues: preprocessing.naValues };
}
