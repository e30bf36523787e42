/**
 * Turn generated data into the raw files prepare-data reads: an image folder (one directory
 * per class, PNG or JPEG files), CSV or JSONL. Files are plain `{path, bytes}` values that can
 * be written to a local directory (for `fineflow data push`) or straight into the store.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ObjectStore } from '../../storage/object-store';
import { forEachInFlight } from '../../core/in-flight';
import { joinUri } from '../uri';
import { featureLength, type LabelledSet } from './image-set';

export interface RawFile {
  /** Relative path with `/` separators, e.g. `scratch/00012.png`. */
  readonly path: string;
  readonly bytes: Buffer;
}

/** Grayscale or RGB pixels in [0, 1], HWC, to RGBA bytes. */
function toRgba(pixels: Float32Array, width: number, height: number, channels: number): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i += 1) {
    for (let c = 0; c < 3; c += 1) {
      const value = pixels[i * channels + (channels === 1 ? 0 : c)] ?? 0;
      rgba[i * 4 + c] = Math.round(Math.max(0, Math.min(1, value)) * 255);
    }
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

export function encodePng(pixels: Float32Array, width: number, height: number, channels: number): Buffer {
  const png = new PNG({ width, height, colorType: channels === 1 ? 0 : 2 });
  png.data = toRgba(pixels, width, height, channels);
  return PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 });
}

export function encodeJpeg(
  pixels: Float32Array,
  width: number,
  height: number,
  channels: number,
  quality = 95,
): Buffer {
  return Buffer.from(jpeg.encode({ data: toRgba(pixels, width, height, channels), width, height }, quality).data);
}

/** One file per example under `<class>/`; names are zero-padded indices so listings keep order. */
export function imageFolderFiles(set: LabelledSet, options: { readonly format?: 'png' | 'jpeg' } = {}): RawFile[] {
  const [height = 0, width = 0, channels = 1] = set.featureShape;
  const length = featureLength(set.featureShape);
  const format = options.format ?? 'png';
  const files: RawFile[] = [];
  for (let index = 0; index < set.labels.length; index += 1) {
    const pixels = set.features.subarray(index * length, (index + 1) * length);
    const className = set.classes[set.labels[index] ?? 0] ?? 'unknown';
    const bytes =
      format === 'png' ? encodePng(pixels, width, height, channels) : encodeJpeg(pixels, width, height, channels);
    files.push({ path: `${className}/${String(index).padStart(5, '0')}.${format === 'png' ? 'png' : 'jpg'}`, bytes });
  }
  return files;
}

/** One CSV field: quoted when it holds a quote, comma or line break (RFC 4180). */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV file with a header row; null/undefined cells are written empty (missing). */
export function csvFile(rows: readonly object[], name = 'data.csv'): RawFile {
  const maps = rows.map((row) => new Map<string, unknown>(Object.entries(row)));
  const columns = [...new Set(maps.flatMap((row) => [...row.keys()]))];
  const lines = [columns.map(csvCell).join(',')];
  for (const row of maps) lines.push(columns.map((column) => csvCell(row.get(column))).join(','));
  return { path: name, bytes: Buffer.from(`${lines.join('\n')}\n`) };
}

/** One JSON object per line. */
export function jsonlFile(rows: readonly unknown[], name = 'data.jsonl'): RawFile {
  return { path: name, bytes: Buffer.from(rows.map((row) => `${JSON.stringify(row)}\n`).join('')) };
}

export async function writeFilesToDirectory(directory: string, files: readonly RawFile[]): Promise<void> {
  for (const file of files) {
    const target = path.join(directory, ...file.path.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, file.bytes);
  }
}

/** Puts in flight at once: each is a round trip to the store, so one at a time waits out every latency in turn. */
const STORE_PUTS_IN_FLIGHT = 8;

/** Puts every file under `prefixUri`, a few at a time; the first failure stops the rest and is thrown. */
export async function writeFilesToStore(
  store: ObjectStore,
  prefixUri: string,
  files: readonly RawFile[],
): Promise<void> {
  await forEachInFlight(files, STORE_PUTS_IN_FLIGHT, async (file) => {
    await store.putBytes(joinUri(prefixUri, file.path), file.bytes);
  });
}
