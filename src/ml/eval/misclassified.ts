/**
 * The examples a model got wrong, most confident mistakes first, as a reviewer wants to see them:
 * a PNG thumbnail for an image (downscaled to at most 64 px a side, so 24 of them stay small in the
 * report) or the row's values for a table (numeric columns as stored, one-hot columns as their
 * category).
 */
import { PNG } from 'pngjs';
import type { FeatureColumn } from '../data/shards';

export interface MisclassifiedExample {
  /** Position in the evaluated split. */
  readonly index: number;
  readonly actual: string;
  readonly predicted: string;
  /** Probability the model gave its (wrong) prediction. */
  readonly confidence: number;
  /** Probability it gave the right class. */
  readonly actualProbability: number;
  /** data:image/png;base64,… for images. */
  readonly thumbnail?: string;
  /** Column → value for tables. */
  readonly values?: Readonly<Record<string, string | number>>;
}

export interface RawExamples {
  /** Untransformed features (images in [0, 1]), row-major. */
  readonly features: Float32Array;
  readonly featureShape: readonly number[];
  readonly columns?: readonly FeatureColumn[];
}

const THUMBNAIL_SIDE = 64;
const MAX_TABLE_VALUES = 24;

/** Indices of wrong predictions, most confident first (ties: lower index first). */
export function misclassifiedIndices(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  limit: number,
): { index: number; predicted: number; confidence: number }[] {
  const wrong: { index: number; predicted: number; confidence: number }[] = [];
  for (let i = 0; i < labels.length; i += 1) {
    let best = 0;
    for (let c = 1; c < classes; c += 1)
      if ((probabilities[i * classes + c] ?? 0) > (probabilities[i * classes + best] ?? 0)) best = c;
    if (best !== labels[i])
      wrong.push({ index: i, predicted: best, confidence: probabilities[i * classes + best] ?? 0 });
  }
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return wrong.slice(0, Math.max(0, limit));
}

/** A PNG data URI of one [height, width, channels] example (1 channel: grey; 3 or 4: colour). */
export function imageThumbnail(features: Float32Array, offset: number, shape: readonly number[]): string {
  const [height = 1, width = 1, channels = 1] = shape;
  const factor = Math.max(1, Math.ceil(Math.max(height, width) / THUMBNAIL_SIDE));
  const outHeight = Math.ceil(height / factor);
  const outWidth = Math.ceil(width / factor);
  const png = new PNG({ width: outWidth, height: outHeight });
  const byte = (value: number | undefined): number => Math.round(Math.min(1, Math.max(0, value ?? 0)) * 255);
  for (let y = 0; y < outHeight; y += 1)
    for (let x = 0; x < outWidth; x += 1) {
      const source = offset + (y * factor * width + x * factor) * channels;
      const target = (y * outWidth + x) * 4;
      const r = byte(features[source]);
      png.data[target] = r;
      png.data[target + 1] = channels >= 3 ? byte(features[source + 1]) : r;
      png.data[target + 2] = channels >= 3 ? byte(features[source + 2]) : r;
      png.data[target + 3] = 255;
    }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** Column → value of one tabular example; without column metadata, the first features by position. */
export function tableValues(
  features: Float32Array,
  offset: number,
  length: number,
  columns: readonly FeatureColumn[] | undefined,
): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  if (!columns || columns.length === 0) {
    for (let f = 0; f < Math.min(length, MAX_TABLE_VALUES); f += 1) values[`feature ${f}`] = features[offset + f] ?? 0;
    return values;
  }
  let position = offset;
  for (const column of columns.slice(0, MAX_TABLE_VALUES)) {
    if (column.kind === 'one-hot') {
      const categories = column.categories ?? [];
      let best = -1;
      let bestValue = 0;
      categories.forEach((_, i) => {
        const value = features[position + i] ?? 0;
        if (value > bestValue) [best, bestValue] = [i, value];
      });
      values[column.name] = best >= 0 ? (categories[best] ?? '?') : '(missing)';
      position += categories.length;
    } else {
      const value = features[position] ?? Number.NaN;
      values[column.name] = Number.isFinite(value) ? value : '(missing)';
      position += 1;
    }
  }
  return values;
}

/** The most confident mistakes with a thumbnail (images: rank-3 shapes) or their values (tables). */
export function misclassifiedExamples(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: readonly string[],
  raw: RawExamples,
  limit: number,
): MisclassifiedExample[] {
  const k = classes.length;
  const length = raw.featureShape.reduce((a, b) => a * b, 1);
  const isImage = raw.featureShape.length === 3;
  return misclassifiedIndices(probabilities, labels, k, limit).map(({ index, predicted, confidence }) => {
    const actual = labels[index] ?? 0;
    const offset = index * length;
    return {
      index,
      actual: classes[actual] ?? String(actual),
      predicted: classes[predicted] ?? String(predicted),
      confidence,
      actualProbability: probabilities[index * k + actual] ?? 0,
      ...(isImage
        ? { thumbnail: imageThumbnail(raw.features, offset, raw.featureShape) }
        : { values: tableValues(raw.features, offset, length, raw.columns) }),
    };
  });
}
