/**
 * `preprocessing.json` next to a model: parse it with every field checked and every list bounded
 * (it may come from a model directory a pipeline author wrote), and read/write it beside
 * `model.json` in the store. The format is src/ml/data/preprocessing.ts's.
 */
import { InvalidInputError } from '../../core/errors';
import type { ObjectStore } from '../../storage/object-store';
import { modelJsonUri } from '../models/model-io';
import {
  PREPROCESSING_FILE,
  PREPROCESSING_FORMAT,
  PREPROCESSING_LIMITS as LIMITS,
  serializePreprocessing,
  type ColumnPreprocessing,
  type ImagePreprocessing,
  type Preprocessing,
  type TablePreprocessing,
} from './preprocessing';

type Json = Record<string, unknown>;

/** A reader that names the file and field of every problem, with what would fix it. */
class FieldReader {
  constructor(private readonly where: string) {}

  fail(field: string, problem: string): never {
    throw new InvalidInputError(
      `${this.where}: field ${field} ${problem}; rewrite the file with a current fineflow (fine-tune writes it) or fix the field`,
      { where: this.where, field },
    );
  }

  object(value: unknown, field: string): Json {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(field, 'must be an object');
    return value as Json;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length > LIMITS.nameChars)
      this.fail(field, `must be a string of at most ${LIMITS.nameChars} characters`);
    return value;
  }

  number(value: unknown, field: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, 'must be a finite number');
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, 'must be true or false');
    return value;
  }

  array(value: unknown, field: string, max: number): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'must be a list');
    if (value.length > max) this.fail(field, `has ${value.length} entries, at most ${max} are accepted`);
    return value;
  }

  strings(value: unknown, field: string, max: number): string[] {
    return this.array(value, field, max).map((item, i) => this.string(item, `${field}[${i}]`));
  }

  numbers(value: unknown, field: string, length: number): number[] {
    const list = this.array(value, field, length).map((item, i) => this.number(item, `${field}[${i}]`));
    if (list.length !== length) this.fail(field, `must have ${length} entries`);
    return list;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    const n = this.number(value, field);
    if (!Number.isInteger(n) || n < min || n > max) this.fail(field, `must be an integer from ${min} to ${max}`);
    return n;
  }
}

function parseColumn(read: FieldReader, value: unknown, field: string): ColumnPreprocessing {
  const column = read.object(value, field);
  const name = read.string(column.name, `${field}.name`);
  if (column.kind === 'numeric') {
    const std = read.number(column.std, `${field}.std`);
    if (std <= 0) read.fail(`${field}.std`, 'must be positive');
    return { name, kind: 'numeric', mean: read.number(column.mean, `${field}.mean`), std };
  }
  if (column.kind === 'categorical')
    return {
      name,
      kind: 'categorical',
      categories: read.strings(column.categories, `${field}.categories`, LIMITS.categoriesPerColumn),
    };
  return read.fail(`${field}.kind`, 'must be numeric or categorical');
}

function parseTable(read: FieldReader, json: Json, classes: string[]): TablePreprocessing {
  const columns = read
    .array(json.columns, 'columns', LIMITS.columns)
    .map((column, i) => parseColumn(read, column, `columns[${i}]`));
  const features = columns.reduce((sum, c) => sum + (c.kind === 'numeric' ? 1 : c.categories.length), 0);
  if (features === 0 || features > LIMITS.features)
    read.fail('columns', `encode ${features} features; from 1 to ${LIMITS.features} are accepted`);
  const shape = read.numbers(json.featureShape, 'featureShape', 1);
  if (shape[0] !== features) read.fail('featureShape', `is [${shape.join(', ')}] but the columns encode ${features}`);
  return {
    format: PREPROCESSING_FORMAT,
    kind: 'table',
    classes,
    featureShape: [features],
    labelColumn: read.string(json.labelColumn, 'labelColumn'),
    naValues: read.strings(json.naValues, 'naValues', LIMITS.naValues),
    normalize: read.boolean(json.normalize, 'normalize'),
    columns,
  };
}

function parseImage(read: FieldReader, json: Json, classes: string[]): ImagePreprocessing {
  const size = read.numbers(json.size, 'size', 2);
  const height = read.integer(size[0], 'size[0]', 1, LIMITS.imageSide);
  const width = read.integer(size[1], 'size[1]', 1, LIMITS.imageSide);
  const channels = read.integer(json.channels, 'channels', 1, 3);
  if (channels === 2) read.fail('channels', 'must be 1 or 3');
  const background = read.numbers(json.background, 'background', 3);
  background.forEach((value, i) => read.integer(value, `background[${i}]`, 0, 255));
  const mean = read.numbers(json.mean, 'mean', channels);
  const std = read.numbers(json.std, 'std', channels);
  if (std.some((value) => value <= 0)) read.fail('std', 'must be positive');
  const shape = read.numbers(json.featureShape, 'featureShape', 3);
  if (shape[0] !== height || shape[1] !== width || shape[2] !== channels)
    read.fail('featureShape', `is [${shape.join(', ')}] but size and channels say [${height}, ${width}, ${channels}]`);
  return {
    format: PREPROCESSING_FORMAT,
    kind: 'image',
    classes,
    featureShape: [height, width, channels],
    size: [height, width],
    channels: channels as 1 | 3,
    background: [background[0] ?? 255, background[1] ?? 255, background[2] ?? 255],
    normalize: read.boolean(json.normalize, 'normalize'),
    mean,
    std,
  };
}

/** Parse and check a preprocessing file; `where` names it in errors. */
export function parsePreprocessing(bytes: Uint8Array | string, where: string): Preprocessing {
  const read = new FieldReader(where);
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > LIMITS.bytes) read.fail('(file)', `is ${size} bytes; at most ${LIMITS.bytes} are read`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    return read.fail('(file)', 'is not JSON');
  }
  const json = read.object(parsed, '(top level)');
  if (json.format !== PREPROCESSING_FORMAT)
    read.fail('format', `is ${JSON.stringify(json.format)}; this fineflow reads ${PREPROCESSING_FORMAT}`);
  const classes = read.strings(json.classes, 'classes', LIMITS.classes);
  if (classes.length < 1) read.fail('classes', 'must name at least one class');
  if (json.kind === 'table') return parseTable(read, json, classes);
  if (json.kind === 'image') return parseImage(read, json, classes);
  return read.fail('kind', 'must be table or image');
}

/** `…/preprocessing.json` beside a model (its model.json URI or directory). */
export function preprocessingUriOf(modelUri: string): string {
  const jsonUri = modelJsonUri(modelUri);
  return `${jsonUri.slice(0, jsonUri.lastIndexOf('/'))}/${PREPROCESSING_FILE}`;
}

/** The preprocessing stored beside an `s3://` model, or undefined for a model saved without one. */
export async function readPreprocessingBeside(
  store: ObjectStore,
  modelUri: string,
): Promise<Preprocessing | undefined> {
  if (!modelUri.startsWith('s3://')) return undefined;
  const uri = preprocessingUriOf(modelUri);
  if (!(await store.stat(uri))) return undefined;
  return parsePreprocessing(await store.getBytes(uri, { maxBytes: LIMITS.bytes }), uri);
}

export async function writePreprocessingBeside(
  store: ObjectStore,
  modelUri: string,
  preprocessing: Preprocessing,
): Promise<string> {
  const uri = preprocessingUriOf(modelUri);
  await store.putBytes(uri, serializePreprocessing(preprocessing), { contentType: 'application/json' });
  return uri;
}
