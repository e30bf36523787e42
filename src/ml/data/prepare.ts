/**
 * prepare-data: raw CSV, JSONL or an image folder in the store → a cleaned, split, sharded
 * dataset plus a data report. Two streaming passes keep memory bounded by the per-example
 * bookkeeping (a label and a split byte per example, one hash per distinct example), never by
 * the data itself:
 *
 * 1. scan: parse and validate every record, drop duplicates (sha256 of the content), quarantine
 *    invalid ones, collect labels (and, for tables, categories).
 * 2. write: assign each kept example its stratified, seeded split, encode it, append it to its
 *    split's shard writer, and accumulate normalisation statistics over the training split only.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../../core/errors';
import { closest } from '../../core/spec/suggest';
import type { ObjectStore } from '../../storage/object-store';
import { mulberry32, shuffleInPlace } from '../random';
import { asPrefix, joinUri, relativeTo } from '../uri';
import { decodeImage, imageFormatOf, MAX_IMAGE_FILE_BYTES, pngHeader, type DecodedImage } from './images';
import {
  isConstantImage,
  QualityTracker,
  smallClassFindings,
  DEFAULT_QUALITY_POLICY,
  type QualityCheck,
  type QualityCheckResult,
  type QualityPolicy,
} from './quality';
import {
  DEFAULT_NA_VALUES,
  encodeRow,
  featureCountOf,
  FeatureStatistics,
  imagePixels,
  isMissingCell,
  numericCell,
  preprocessingFrom,
  rowProblem,
  statisticsGroupsOf,
  type PreprocessingSpec,
  type TableLayout,
} from './preprocessing';
import {
  ShardWriter,
  SPLIT_NAMES,
  type DatasetManifest,
  type FeatureColumn,
  type InputTransform,
  type SplitManifest,
  type SplitName,
} from './shards';
import { readCsvRecords, readLines } from './text-records';

export type DataFormat = 'csv' | 'jsonl' | 'image-folder';

export interface SplitOptions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
  /** Keep class proportions in every split. Default true. */
  readonly stratify?: boolean;
  readonly seed: number;
  /**
   * A column (CSV/JSONL) that says each row's split (`train`, `validation`/`val`, `test`): your own
   * split, e.g. by time or by patient. The fractions are then ignored and the column is not a feature.
   */
  readonly column?: string;
}

/** A fixed validation or test set: its own source, read whole into that split. */
export interface FixedSetSource {
  /** `s3://` prefix or one CSV/JSONL object, of the same format as the main source. */
  readonly source: string;
  /** Dataset version it was read at, for lineage. */
  readonly version?: string;
}

/** Fixed sets by split (src/datasets/split-sources.ts); the main source then gives that split no fraction. */
export interface FixedSets {
  readonly validation?: FixedSetSource;
  readonly test?: FixedSetSource;
}

export interface CleanOptions {
  /** Drop examples whose content (features) was already seen. Default true. */
  readonly dropDuplicates?: boolean;
  /** Quarantine unreadable / invalid records instead of failing. Default true. */
  readonly dropInvalid?: boolean;
  /** Missing numeric cells: `impute` (training mean) or `drop` the row. Default impute. */
  readonly missing?: 'impute' | 'drop';
}

export interface ImageOptions {
  /** [height, width] every image is resized to. */
  readonly size: readonly [number, number];
  readonly channels: 1 | 3;
  /** Standardise pixels with the training split's per-channel mean/std when read. Default false ([0, 1]). */
  readonly standardize?: boolean;
  /** RGB (0–255) that transparent pixels are composited onto. Default white. */
  readonly background?: readonly [number, number, number];
}

export interface PrepareDatasetOptions {
  /** `s3://` prefix (a folder) or a single CSV/JSONL object. */
  readonly source: string;
  /** Id of the dataset version `source` was read at (src/datasets), recorded in the manifest for lineage. */
  readonly sourceVersion?: string;
  readonly format: DataFormat;
  readonly image?: ImageOptions;
  /** Label column (CSV/JSONL). Default `label`. */
  readonly labelColumn?: string;
  /** Feature columns (CSV/JSONL). Default every column but the label. */
  readonly featureColumns?: readonly string[];
  /** Standardise table features with training-split statistics. Default true (images: `image.standardize`). */
  readonly normalize?: boolean;
  /** Cells read as missing besides the empty one. Default {@link DEFAULT_NA_VALUES}. */
  readonly naValues?: readonly string[];
  /** Data-quality checks and what each does when it finds something (src/ml/data/quality.ts). */
  readonly quality?: QualityPolicy;
  /** CSV field delimiter; default sniffed from the header. */
  readonly delimiter?: string;
  /** Fix the class list and its order (e.g. to match a model); other labels are invalid. */
  readonly classes?: readonly string[];
  readonly split: SplitOptions;
  /** Validation / test sets read from their own sources instead of a fraction of `source`. */
  readonly fixedSets?: FixedSets;
  readonly clean?: CleanOptions;
  /** Examples per shard. Default 1024. */
  readonly shardSize?: number;
  /** Where the manifest, shards and report go. */
  readonly outputPrefix: string;
}

export interface QuarantinedRecord {
  /** `file:line` or the object key. */
  readonly where: string;
  readonly reason: string;
}

export interface DataReport {
  readonly source: string;
  readonly format: DataFormat;
  readonly records: number;
  readonly kept: number;
  readonly duplicates: number;
  /** Duplicates whose label differed from the first copy's. */
  readonly conflictingDuplicates: number;
  readonly quarantined: {
    readonly count: number;
    readonly examples: readonly QuarantinedRecord[];
    readonly uri?: string;
  };
  readonly classes: readonly {
    readonly name: string;
    readonly count: number;
    readonly train: number;
    readonly validation: number;
    readonly test: number;
  }[];
  /** Largest class count / smallest class count. */
  readonly imbalanceRatio: number;
  /** Missing cells per column (tables). */
  readonly missing: Readonly<Record<string, number>>;
  readonly splits: Readonly<Record<SplitName, number>>;
  readonly inputTransform: InputTransform;
  /** Every data-quality check, its policy, count, outcome and examples. */
  readonly quality: readonly QualityCheckResult[];
  /** Fixed validation / test sets: where each came from and how many records it had. */
  readonly fixedSets?: {
    readonly validation?: FixedSetSource & { readonly records: number };
    readonly test?: FixedSetSource & { readonly records: number };
    /** Examples of the main source identical to one in a fixed set: dropped, never trained on. */
    readonly overlapDropped: number;
    readonly overlapExamples: readonly string[];
  };
  /** Images: how many of each decoded size (`WxH`) and colour mode, before resizing. */
  readonly images?: {
    readonly sizes: Readonly<Record<string, number>>;
    readonly modes: Readonly<Record<string, number>>;
  };
  /**
   * The checks whose policy is `fail` that found something and stopped the stage after its scan, before it split or
   * wrote the data: then every split count is 0, each class's count is what the scan kept, and `quality` holds the
   * findings (a few examples per check).
   */
  readonly stoppedBy?: readonly string[];
}

export interface PrepareProgress {
  readonly pass: 'scan' | 'write';
  readonly records: number;
  /** Total records, known in the write pass. */
  readonly total?: number;
}

export interface PreparedDataset {
  readonly datasetUri: string;
  readonly manifestUri: string;
  readonly manifest: DatasetManifest;
  readonly report: DataReport;
  readonly reportUri: string;
}

/** One raw example before encoding. */
interface RawRecord {
  readonly where: string;
  readonly label: string | undefined;
  /** Tables: cell values by column; images: the object's bytes. */
  readonly cells?: Readonly<Record<string, unknown>>;
  readonly image?: { readonly bytes: Buffer; readonly format: 'png' | 'jpeg' };
  /** Set when the record could not be parsed at all. */
  readonly error?: string;
  /** The quality check an `error` belongs to (default: corruptFiles). */
  readonly check?: QualityCheck;
  /** The split (1 validation, 2 test) of a record from a fixed set. */
  readonly fixed?: 1 | 2;
}

const EXAMPLES_KEPT = 20;
const SCHEMA_SAMPLE_ROWS = 1000;

async function sourceObjects(store: ObjectStore, source: string, format: DataFormat): Promise<string[]> {
  const extension = format === 'csv' ? '.csv' : format === 'jsonl' ? '.jsonl' : undefined;
  if (extension && source.endsWith(extension)) return [source];
  const prefix = asPrefix(source);
  const infos = await store.list(prefix);
  const uris = infos.map((info) => `s3://${info.bucket}/${info.key}`);
  const matching = extension
    ? uris.filter((uri) => uri.endsWith(extension) || (extension === '.jsonl' && uri.endsWith('.ndjson')))
    : uris;
  if (matching.length === 0) throw new InvalidInputError(`no ${format} data under ${source}`, { source });
  return matching;
}

/** The first CSV file's header, which every other file under the prefix must match (one per pass). */
interface HeaderReference {
  file?: string;
  header?: readonly string[];
}

/** Why `header` does not match the reference, or undefined when it does (same names; order may differ). */
function headerDifference(reference: HeaderReference, header: readonly string[]): string | undefined {
  if (!reference.header) return undefined;
  const expected = new Set(reference.header);
  const actual = new Set(header);
  const missing = reference.header.filter((column) => !actual.has(column));
  const extra = header.filter((column) => !expected.has(column));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts = [missing.length ? `lacks ${missing.join(', ')}` : '', extra.length ? `adds ${extra.join(', ')}` : ''];
  return `has other columns than ${reference.file}: ${parts.filter(Boolean).join('; ')}`;
}

/** ` (did you mean `x`?)` when a column name looks like a typo of one the data has. */
function didYouMean(name: string, columns: readonly string[]): string {
  const near = closest(name, columns);
  return near ? ` (did you mean \`${near}\`?)` : '';
}

async function* csvRecords(
  store: ObjectStore,
  uri: string,
  labelColumn: string,
  reference: HeaderReference,
  delimiter: string | undefined,
): AsyncGenerator<RawRecord> {
  let header: readonly string[] | undefined;
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  const limits = { source: name, ...(delimiter ? { delimiter } : {}) };
  for await (const record of readCsvRecords(await store.getStream(uri), limits)) {
    if (!header) {
      header = record.fields.map((field) => field.trim());
      if (!header.includes(labelColumn))
        throw new InvalidInputError(
          `${name}:${record.line}: no label column ${labelColumn}${didYouMean(labelColumn, header)}; columns: ` +
            `${header.join(', ')} (fix labelColumn in the prepare stage, or check the delimiter)`,
          { uri, field: 'labelColumn' },
        );
      const difference = headerDifference(reference, header);
      if (difference) {
        // One finding for the whole file: its rows are not read.
        yield { where: `${name}:${record.line}`, label: undefined, error: difference, check: 'headerMismatch' };
        return;
      }
      reference.file ??= name;
      reference.header ??= header;
      continue;
    }
    const where = `${name}:${record.line}`;
    if (record.fields.length !== header.length) {
      yield { where, label: undefined, error: `has ${record.fields.length} fields, the header has ${header.length}` };
      continue;
    }
    const cells: Record<string, unknown> = {};
    header.forEach((column, i) => {
      cells[column] = record.fields[i];
    });
    const label = String(cells[labelColumn] ?? '').trim();
    yield { where, label: label === '' ? undefined : label, cells };
  }
}

async function* jsonlRecords(store: ObjectStore, uri: string, labelColumn: string): AsyncGenerator<RawRecord> {
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  for await (const line of readLines(await store.getStream(uri), { source: name })) {
    const where = `${name}:${line.line}`;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      yield { where, label: undefined, error: 'is not valid JSON' };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { where, label: undefined, error: 'is not a JSON object' };
      continue;
    }
    const cells = value as Record<string, unknown>;
    const raw = cells[labelColumn];
    yield { where, label: raw === undefined || raw === null || raw === '' ? undefined : String(raw), cells };
  }
}

/**
 * Image files as records: the label is the first folder below the source; a file below a nested
 * folder is a finding (or, with nestedFolders: flatten, labelled by its first folder); a file that
 * is not PNG/JPEG is a finding and is not read.
 */
async function* imageRecords(
  store: ObjectStore,
  uris: readonly string[],
  sourcePrefix: string,
  nestedFolders: QualityPolicy['nestedFolders'],
): AsyncGenerator<RawRecord> {
  for (const uri of uris) {
    const where = relativeTo(sourcePrefix, uri) ?? uri;
    const format = imageFormatOf(where);
    const parts = where.split('/');
    if (!format) {
      const extension = /\.[^./]+$/.exec(where)?.[0] ?? '(no extension)';
      const error = `is ${extension}, not PNG or JPEG`;
      yield { where, label: undefined, error, check: 'unsupportedFiles' };
      continue;
    }
    if (parts.length > 2 && nestedFolders !== 'flatten') {
      const error = `is ${parts.length - 2} folder(s) below class folder ${parts[0]}`;
      yield { where, label: undefined, error, check: 'nestedFolders' };
      continue;
    }
    const label = parts.length >= 2 ? parts[0] : undefined;
    yield { where, label, image: { bytes: await store.getBytes(uri, { maxBytes: MAX_IMAGE_FILE_BYTES }), format } };
  }
}

/** `WxH` and colour mode of a decoded image, for the report's size/mode counts. */
function imageShapeOf(bytes: Uint8Array, format: 'png' | 'jpeg', image: DecodedImage): [string, string] {
  const modes: Readonly<Record<number, string>> = { 1: 'grey', 2: 'grey+alpha', 3: 'rgb', 4: 'rgba' };
  const mode = format === 'png' ? (modes[pngHeader(bytes).channels] ?? 'png') : 'jpeg';
  return [`${image.width}x${image.height}`, mode];
}

/** Column types of a table, inferred from a sample of rows. */
interface TableSchema {
  readonly numeric: readonly string[];
  readonly categorical: readonly string[];
}

function inferSchema(
  sample: readonly RawRecord[],
  featureColumns: readonly string[],
  naValues: readonly string[],
): TableSchema {
  const numeric: string[] = [];
  const categorical: string[] = [];
  for (const column of featureColumns) {
    let present = 0;
    let numbers = 0;
    for (const record of sample) {
      const value = record.cells?.[column];
      if (isMissingCell(value, naValues)) continue;
      present += 1;
      if (numericCell(value) !== undefined) numbers += 1;
    }
    // A few stray words in a numeric column are bad cells, not a categorical column.
    if (present > 0 && numbers / present >= 0.9) numeric.push(column);
    else categorical.push(column);
  }
  return { numeric, categorical };
}

function contentHash(record: RawRecord, featureColumns: readonly string[]): string {
  const hash = createHash('sha256');
  if (record.image) hash.update(record.image.bytes);
  else for (const column of featureColumns) hash.update(`${JSON.stringify(record.cells?.[column] ?? null)}\u0000`);
  return hash.digest('hex');
}

const SPLIT_WORDS: Readonly<Record<string, number>> = {
  train: 0,
  training: 0,
  validation: 1,
  valid: 1,
  val: 1,
  test: 2,
  testing: 2,
};

/** The split (0 train, 1 validation, 2 test) a split-column cell names, if any. */
function splitNamed(value: unknown): number | undefined {
  return typeof value === 'string' || typeof value === 'number'
    ? SPLIT_WORDS[String(value).trim().toLowerCase()]
    : undefined;
}

/** Split sizes that sum to `count`, following the fractions (train takes the rounding remainder). */
function splitCounts(count: number, options: SplitOptions): [number, number, number] {
  const total = options.train + options.validation + options.test;
  const validation = Math.round((count * options.validation) / total);
  const test = Math.round((count * options.test) / total);
  const train = Math.max(0, count - validation - test);
  return [train, validation, test];
}

/** Quality findings about the classes: too small for the split, or too imbalanced. */
function checkClasses(
  quality: QualityTracker,
  classes: readonly string[],
  kept: readonly number[],
  recordLabels: Int32Array,
  split: SplitOptions,
  columnSplits?: Uint8Array,
): void {
  const counts = new Array<number>(classes.length).fill(0);
  for (const i of kept) counts[recordLabels[i] ?? 0] = (counts[recordLabels[i] ?? 0] ?? 0) + 1;
  const perClass = classes.map((name, label) => ({ name, count: counts[label] ?? 0 }));
  const fractions: [number, number, number] = [split.train, split.validation, split.test];
  if (columnSplits) {
    // Your own split: a class must appear in every split that has rows.
    const cells = classes.map(() => [0, 0, 0]);
    const used = [0, 0, 0];
    for (const i of kept) {
      const s = columnSplits[i] ?? 0;
      (cells[recordLabels[i] ?? 0] as number[])[s] = ((cells[recordLabels[i] ?? 0] as number[])[s] ?? 0) + 1;
      used[s] = (used[s] ?? 0) + 1;
    }
    classes.forEach((name, label) => {
      const row = cells[label] ?? [0, 0, 0];
      const empty = SPLIT_NAMES.filter((_, s) => (used[s] ?? 0) > 0 && (row[s] ?? 0) === 0);
      if (empty.length > 0)
        quality.record(
          'smallClasses',
          `class ${name}`,
          `has ${counts[label] ?? 0} example(s), none in ${empty.join(' and ')} (split column)`,
        );
    });
  } else if (split.stratify !== false)
    // Stratified splits cut each class on its own; otherwise the split sizes are only known for the whole set.
    for (const finding of smallClassFindings(perClass, fractions, (n) => splitCounts(n, split)))
      quality.record('smallClasses', finding.where, finding.reason);
  const sorted = [...perClass].filter((c) => c.count > 0).sort((a, b) => b.count - a.count);
  const [largest, smallest] = [sorted[0], sorted[sorted.length - 1]];
  if (largest && smallest && largest.count / smallest.count > quality.policy.maxImbalance)
    quality.record(
      'imbalance',
      'classes',
      `largest ${largest.name} (${largest.count}) / smallest ${smallest.name} (${smallest.count}) = ` +
        `${(largest.count / smallest.count).toFixed(1)} > maxImbalance ${quality.policy.maxImbalance}`,
    );
}

/** A class of a fixed validation/test set must have examples to train on. */
function checkFixedSetClasses(
  quality: QualityTracker,
  classes: readonly string[],
  kept: readonly number[],
  recordLabels: Int32Array,
  recordSplits: Uint8Array,
): void {
  const main = new Array<number>(classes.length).fill(0);
  const fixed = new Array<number>(classes.length).fill(0);
  for (const i of kept) {
    const label = recordLabels[i] ?? 0;
    if (recordSplits[i] === 255) main[label] = (main[label] ?? 0) + 1;
    else fixed[label] = (fixed[label] ?? 0) + 1;
  }
  classes.forEach((name, label) => {
    if ((fixed[label] ?? 0) > 0 && (main[label] ?? 0) === 0)
      quality.record(
        'smallClasses',
        `class ${name}`,
        `has ${fixed[label] ?? 0} example(s) in the fixed validation/test sets and none in the source to train on`,
      );
  });
}

/** The options' defaults, resolved once. */
interface PrepareSettings {
  readonly labelColumn: string;
  readonly dropDuplicates: boolean;
  readonly dropInvalid: boolean;
  readonly missingPolicy: 'impute' | 'drop';
  readonly naValues: readonly string[];
  readonly shardSize: number;
}

function prepareSettings(options: PrepareDatasetOptions): PrepareSettings {
  return {
    labelColumn: options.labelColumn ?? 'label',
    dropDuplicates: options.clean?.dropDuplicates !== false,
    dropInvalid: options.clean?.dropInvalid !== false,
    missingPolicy: options.clean?.missing ?? 'impute',
    naValues: options.naValues ?? DEFAULT_NA_VALUES,
    shardSize: options.shardSize ?? 1024,
  };
}

function checkPrepareOptions(options: PrepareDatasetOptions): void {
  if (options.split.train <= 0 || options.split.validation < 0 || options.split.test < 0) {
    throw new InvalidInputError('split fractions must be train > 0, validation >= 0, test >= 0', {
      split: { ...options.split },
    });
  }
  if (options.format === 'image-folder' && !options.image)
    throw new InvalidInputError('image-folder data needs image: {size, channels}', {});
  if (options.split.column !== undefined && (options.fixedSets?.validation || options.fixedSets?.test))
    throw new InvalidInputError('split.column and a fixed validation/test source both decide the split; use one', {
      field: 'split',
    });
}

/** A source read in full: the main one, or a fixed validation (1) / test (2) set. */
interface SourceSet {
  readonly source: string;
  readonly objects: string[];
  readonly fixed?: 1 | 2;
}

/**
 * Every source's objects. Fixed sets come first, so a copy of one of their examples in the main
 * source is the duplicate that goes: the test set stays what it is, and nothing in it is trained on.
 */
async function sourceSets(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  random: () => number,
): Promise<SourceSet[]> {
  // Image files are separate objects: visiting them in a seeded random order spreads classes over every shard.
  const ordered = async (source: string): Promise<string[]> => {
    const objects = await sourceObjects(store, source, options.format);
    return options.format === 'image-folder' ? shuffleInPlace(objects, random) : objects;
  };
  const sets: SourceSet[] = [{ source: options.source, objects: await ordered(options.source) }];
  for (const [name, fixed] of [
    ['validation', 1],
    ['test', 2],
  ] as const) {
    const set = options.fixedSets?.[name];
    if (set) sets.unshift({ source: set.source, objects: await ordered(set.source), fixed });
  }
  return sets;
}

/** Every record of every set, fixed-set ones marked with their split and named by their set. */
async function* allRecords(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  labelColumn: string,
  sets: readonly SourceSet[],
): AsyncGenerator<RawRecord> {
  const reference: HeaderReference = {};
  for (const set of sets) {
    const label = set.fixed === 2 ? 'test set ' : set.fixed === 1 ? 'validation set ' : '';
    for await (const record of setRecords(store, options, labelColumn, set, reference))
      yield set.fixed === undefined ? record : { ...record, where: `${label}${record.where}`, fixed: set.fixed };
  }
}

async function* setRecords(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  labelColumn: string,
  set: SourceSet,
  reference: HeaderReference,
): AsyncGenerator<RawRecord> {
  if (options.format === 'image-folder') {
    const policy = options.quality ?? DEFAULT_QUALITY_POLICY;
    yield* imageRecords(store, set.objects, asPrefix(set.source), policy.nestedFolders);
    return;
  }
  for (const uri of set.objects)
    yield* options.format === 'csv'
      ? csvRecords(store, uri, labelColumn, reference, options.delimiter)
      : jsonlRecords(store, uri, labelColumn);
}

/** Tables: the feature columns and their kinds, inferred from the first rows. */
async function tableColumns(
  records: () => AsyncGenerator<RawRecord>,
  options: PrepareDatasetOptions,
  settings: PrepareSettings,
): Promise<{ readonly featureColumns: string[]; readonly schema: TableSchema }> {
  if (options.format === 'image-folder') return { featureColumns: [], schema: { numeric: [], categorical: [] } };
  const sample: RawRecord[] = [];
  for await (const record of records()) {
    if (record.cells) sample.push(record);
    if (sample.length >= SCHEMA_SAMPLE_ROWS) break;
  }
  const columns = [...new Set(sample.flatMap((record) => Object.keys(record.cells ?? {})))].filter(
    (column) => column !== settings.labelColumn && column !== options.split.column,
  );
  const featureColumns = options.featureColumns ? [...options.featureColumns] : columns;
  const known = new Set(columns); // a Set: wide tables must not make this quadratic
  const unknown = featureColumns.filter((column) => !known.has(column));
  if (unknown.length > 0)
    throw new InvalidInputError(
      `feature columns ${unknown.map((column) => `${column}${didYouMean(column, columns)}`).join(', ')} are not in ` +
        `${options.source}; columns: ${columns.join(', ')} (fix featureColumns in the prepare stage, or leave it out ` +
        'to use every column but the label)',
      { field: 'featureColumns', unknown },
    );
  return { featureColumns, schema: inferSchema(sample, featureColumns, settings.naValues) };
}

type RecordProblem = { readonly check?: QualityCheck; readonly reason: string };

/** The first copy of a distinct example: its label and where it was (index -1 once dropped). */
interface FirstCopy {
  readonly label: string | undefined;
  index: number;
  readonly where: string;
  readonly fixed?: 1 | 2;
}

/**
 * Pass 1's bookkeeping: a label (-1: dropped) and a split byte (255: none) per record, one hash per
 * distinct example, the quarantine, and what the report counts.
 */
class RecordScanner {
  readonly quarantine: QuarantinedRecord[] = [];
  readonly missing: Record<string, number> = {};
  readonly categories: Map<string, Set<string>>;
  readonly overlapExamples: string[] = [];
  readonly fixedRecords = [0, 0, 0];
  readonly imageSizes: Record<string, number> = {};
  readonly imageModes: Record<string, number> = {};
  /** Labels in the order first seen; `recordLabels` index into it until {@link relabel}. */
  readonly labelNames: string[] = [];
  recordLabels = new Int32Array(1024);
  recordSplits = new Uint8Array(1024).fill(255);
  recordCount = 0;
  duplicates = 0;
  conflictingDuplicates = 0;
  overlapDropped = 0;
  private readonly seen = new Map<string, FirstCopy>();
  private readonly labelOf = new Map<string, number>();
  private readonly fixedClasses: ReadonlySet<string> | undefined;
  private readonly numericLayout: TableLayout;
  private readonly background: readonly [number, number, number];

  constructor(
    private readonly options: PrepareDatasetOptions,
    private readonly settings: PrepareSettings,
    private readonly schema: TableSchema,
    private readonly featureColumns: readonly string[],
    private readonly quality: QualityTracker,
  ) {
    this.categories = new Map(schema.categorical.map((column) => [column, new Set<string>()]));
    this.fixedClasses = options.classes ? new Set(options.classes) : undefined;
    this.numericLayout = {
      columns: schema.numeric.map((name) => ({ name, kind: 'numeric' as const })),
      naValues: settings.naValues,
    };
    this.background = options.image?.background ?? [255, 255, 255];
  }

  add(record: RawRecord, onProgress?: (progress: PrepareProgress) => void): void {
    const index = this.nextIndex();
    if (this.recordCount % 500 === 0) onProgress?.({ pass: 'scan', records: this.recordCount });
    const problem = this.validate(record) ?? (record.image ? this.imageProblem(record.image) : undefined);
    if (problem?.check) this.quality.record(problem.check, record.where, problem.reason);
    if (!this.takeSplit(record, index, problem)) return;
    if (problem && !(problem.check === 'blankImages' && this.quality.policy.blankImages === 'warn')) {
      if (!this.settings.dropInvalid && !problem.check)
        throw new InvalidInputError(`${record.where} ${problem.reason}`, { where: record.where });
      this.quarantine.push({ where: record.where, reason: problem.reason });
      return;
    }
    for (const column of this.featureColumns)
      if (isMissingCell(record.cells?.[column], this.settings.naValues))
        this.missing[column] = (this.missing[column] ?? 0) + 1;
    const label = record.label as string;
    // Registered before duplicates are dropped: a class whose every example goes is still listed (with 0).
    if (!this.labelOf.has(label)) {
      this.labelOf.set(label, this.labelNames.length);
      this.labelNames.push(label);
    }
    if (!this.keepDistinct(record, index)) return;
    for (const column of this.schema.categorical) {
      const value = record.cells?.[column];
      if (!isMissingCell(value, this.settings.naValues)) this.categories.get(column)?.add(String(value).trim());
    }
    this.recordLabels[index] = this.labelOf.get(label) as number;
  }

  /** The scan is over: the per-example hashes go (the write pass needs only the per-record bytes). */
  finish(): void {
    this.seen.clear();
  }

  /** Maps each kept record's label onto `classes`; returns the indexes of the records kept. */
  relabel(classes: readonly string[]): number[] {
    const remap = this.labelNames.map((name) => classes.indexOf(name));
    const labels = this.recordLabels;
    for (let i = 0; i < this.recordCount; i += 1)
      if ((labels[i] ?? -1) >= 0) labels[i] = remap[labels[i] as number] ?? -1;
    return Array.from({ length: this.recordCount }, (_, i) => i).filter((i) => (labels[i] ?? -1) >= 0);
  }

  private nextIndex(): number {
    if (this.recordCount === this.recordLabels.length) {
      const grown = new Int32Array(this.recordLabels.length * 2);
      grown.set(this.recordLabels);
      this.recordLabels = grown;
      const grownSplits = new Uint8Array(this.recordSplits.length * 2).fill(255);
      grownSplits.set(this.recordSplits);
      this.recordSplits = grownSplits;
    }
    const index = this.recordCount;
    this.recordCount += 1;
    this.recordLabels[index] = -1;
    return index;
  }

  /** A finding of a quality check, or a problem that quarantines the record (dropInvalid). */
  private validate(record: RawRecord): RecordProblem | undefined {
    if (record.error) return { check: record.check ?? 'corruptFiles', reason: record.error };
    const reason = this.invalidReason(record);
    return reason === undefined ? undefined : { reason };
  }

  private invalidReason(record: RawRecord): string | undefined {
    if (record.label === undefined) {
      const why =
        this.options.format === 'image-folder'
          ? 'file is not inside a class folder'
          : `column ${this.settings.labelColumn} is empty`;
      return `has no label (${why})`;
    }
    if (this.fixedClasses && !this.fixedClasses.has(record.label))
      return `has label ${JSON.stringify(record.label)}, not one of ${[...this.fixedClasses].join(', ')}`;
    if (record.image) return undefined;
    const cells = record.cells ?? {};
    if (this.settings.missingPolicy === 'drop') {
      const absent = this.schema.numeric.find((column) => isMissingCell(cells[column], this.settings.naValues));
      if (absent !== undefined) return `column ${absent} is missing (missing: drop)`;
    }
    return rowProblem(this.numericLayout, cells);
  }

  /** A corrupt or blank image (decoded here once; counted by size and colour mode). */
  private imageProblem(image: NonNullable<RawRecord['image']>): RecordProblem | undefined {
    let decoded: DecodedImage;
    try {
      decoded = decodeImage(image.bytes, image.format);
    } catch (error) {
      const what = image.format.toUpperCase();
      return { check: 'corruptFiles', reason: `is a corrupt or truncated ${what} (${(error as Error).message})` };
    }
    const [size, mode] = imageShapeOf(image.bytes, image.format, decoded);
    this.imageSizes[size] = (this.imageSizes[size] ?? 0) + 1;
    this.imageModes[mode] = (this.imageModes[mode] ?? 0) + 1;
    if (isConstantImage(decoded, this.background))
      return { check: 'blankImages', reason: 'is one colour (blank) once transparency is composited' };
    return undefined;
  }

  /**
   * Records the split a split column or a fixed set gives the record; false when the split
   * column names no split (the record is quarantined).
   */
  private takeSplit(record: RawRecord, index: number, problem: RecordProblem | undefined): boolean {
    const splitColumn = this.options.split.column;
    const named = splitColumn === undefined ? undefined : splitNamed(record.cells?.[splitColumn]);
    if (!problem && splitColumn !== undefined && named === undefined) {
      const value = JSON.stringify(String(record.cells?.[splitColumn] ?? '').slice(0, 40));
      this.quarantine.push({
        where: record.where,
        reason: `split column ${splitColumn} is ${value}; use train, validation or test`,
      });
      return false;
    }
    if (named !== undefined) this.recordSplits[index] = named;
    if (record.fixed !== undefined) {
      this.recordSplits[index] = record.fixed;
      this.fixedRecords[record.fixed] = (this.fixedRecords[record.fixed] ?? 0) + 1;
    }
    return true;
  }

  /** False when the record repeats an example already kept (or conflicts with one) and goes. */
  private keepDistinct(record: RawRecord, index: number): boolean {
    const hash = contentHash(record, this.featureColumns);
    const first = this.seen.get(hash);
    if (first && first.label !== record.label && this.dropConflict(record, first)) return false;
    if (first?.fixed !== undefined && record.fixed === undefined) {
      // Whatever dropDuplicates says: training on an example of the fixed validation/test set leaks it.
      this.overlapDropped += 1;
      if (this.overlapExamples.length < EXAMPLES_KEPT) this.overlapExamples.push(`${record.where} = ${first.where}`);
      return false;
    }
    if (first && this.settings.dropDuplicates) {
      this.duplicates += 1;
      return false;
    }
    if (!first)
      this.seen.set(hash, {
        label: record.label,
        index,
        where: record.where,
        ...(record.fixed !== undefined ? { fixed: record.fixed } : {}),
      });
    return true;
  }

  /** Counts a copy labelled differently; true when the policy drops every copy of it. */
  private dropConflict(record: RawRecord, first: FirstCopy): boolean {
    this.conflictingDuplicates += 1;
    const reason = `same content as ${first.where}, labelled ${first.label} there and ${record.label} here`;
    this.quality.record('conflictingLabels', record.where, reason);
    if (this.quality.policy.conflictingLabels !== 'drop') return false;
    // Neither label can be trusted: every copy goes.
    if (first.index >= 0) {
      this.recordLabels[first.index] = -1;
      this.quarantine.push({ where: first.where, reason: `conflicting labels (${reason})` });
      first.index = -1;
    }
    this.quarantine.push({ where: record.where, reason: `conflicting labels (${reason})` });
    return true;
  }
}

/** Each record's split (0 train, 1 validation, 2 test, 255 none): stratified and seeded, unless given. */
function assignSplits(
  scan: RecordScanner,
  options: PrepareDatasetOptions,
  classes: readonly string[],
  kept: readonly number[],
  mainKept: number[],
  hasFixedSets: boolean,
  random: () => number,
): Uint8Array {
  const assignment = new Uint8Array(scan.recordCount).fill(255);
  const splitColumn = options.split.column;
  const groups =
    options.split.stratify === false
      ? [mainKept]
      : classes.map((_, label) => mainKept.filter((i) => scan.recordLabels[i] === label));
  for (const group of splitColumn ? [] : groups) {
    shuffleInPlace(group, random);
    const [train, validation] = splitCounts(group.length, options.split);
    group.forEach((recordIndex, position) => {
      assignment[recordIndex] = position < train ? 0 : position < train + validation ? 1 : 2;
    });
  }
  if (splitColumn || hasFixedSets)
    for (const i of kept) if (scan.recordSplits[i] !== 255) assignment[i] = scan.recordSplits[i] ?? 255;
  return assignment;
}

/** How records become feature vectors: the columns, the stored preprocessing and the shape. */
interface Encoding {
  readonly columns: FeatureColumn[];
  readonly layout: TableLayout;
  readonly spec: PreprocessingSpec;
  readonly normalize: boolean;
  readonly featureShape: number[];
  readonly length: number;
}

function encodingOf(
  options: PrepareDatasetOptions,
  settings: PrepareSettings,
  schema: TableSchema,
  categories: ReadonlyMap<string, ReadonlySet<string>>,
  classes: string[],
): Encoding {
  const categoryLists = schema.categorical.map((column) => [...(categories.get(column) ?? [])].sort());
  const columns: FeatureColumn[] = [
    ...schema.numeric.map((name): FeatureColumn => ({ name, kind: 'numeric' })),
    ...schema.categorical.map((name, i): FeatureColumn => ({
      name,
      kind: 'one-hot',
      categories: categoryLists[i] ?? [],
    })),
  ];
  const layout: TableLayout = {
    columns: [
      ...schema.numeric.map((name) => ({ name, kind: 'numeric' as const })),
      ...schema.categorical.map((name, i) => ({
        name,
        kind: 'categorical' as const,
        categories: categoryLists[i] ?? [],
      })),
    ],
    naValues: settings.naValues,
  };
  const normalize =
    options.format === 'image-folder' ? options.image?.standardize === true : options.normalize !== false;
  const spec: PreprocessingSpec =
    options.format === 'image-folder' && options.image
      ? {
          kind: 'image',
          size: options.image.size,
          channels: options.image.channels,
          background: options.image.background ?? [255, 255, 255],
          classes,
          normalize,
        }
      : { kind: 'table', layout, classes, labelColumn: settings.labelColumn, normalize };
  const featureShape = spec.kind === 'image' ? [spec.size[0], spec.size[1], spec.channels] : [featureCountOf(layout)];
  const length = featureShape.reduce((a, b) => a * b, 1);
  if (length === 0) throw new InvalidInputError(`${options.source} has no feature columns`, { source: options.source });
  return { columns, layout, spec, normalize, featureShape, length };
}

/** The same encoding predict and serve apply (src/ml/data/preprocessing.ts): one function, not two. */
function encodeRecord(record: RawRecord, encoding: Encoding): Float32Array {
  return record.image && encoding.spec.kind === 'image'
    ? imagePixels(decodeImage(record.image.bytes, record.image.format), encoding.spec)
    : encodeRow(encoding.layout, record.cells ?? {});
}

/** Pass 2: every assigned record into its split's shards; statistics from the training split only. */
async function writeShards(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  records: () => AsyncGenerator<RawRecord>,
  write: {
    readonly encoding: Encoding;
    readonly shardSize: number;
    readonly classCount: number;
    readonly assignment: Uint8Array;
    readonly scan: RecordScanner;
  },
  onProgress?: (progress: PrepareProgress) => void,
): Promise<{ readonly splits: SplitManifest[]; readonly statistics: FeatureStatistics }> {
  const { encoding, assignment, scan } = write;
  const recordCount = scan.recordCount;
  const statistics = new FeatureStatistics(statisticsGroupsOf(encoding.spec));
  const writers = SPLIT_NAMES.map(
    (split) =>
      new ShardWriter(store, joinUri(options.outputPrefix, split), encoding.length, write.shardSize, write.classCount),
  );
  let index = 0;
  for await (const record of records()) {
    const recordIndex = index;
    index += 1;
    if (index % 500 === 0) onProgress?.({ pass: 'write', records: index, total: recordCount });
    const split = assignment[recordIndex] ?? 255;
    if (split === 255) continue;
    const features = encodeRecord(record, encoding);
    if (split === 0) statistics.add(features);
    await (writers[split] as ShardWriter).add(features, scan.recordLabels[recordIndex] ?? 0);
  }
  if (index !== recordCount)
    throw new InvalidInputError(
      `${options.source} changed while it was being prepared (${recordCount} records, then ${index})`,
      { source: options.source },
    );
  const splits = await Promise.all(writers.map((writer) => writer.finish()));
  onProgress?.({ pass: 'write', records: index, total: recordCount });
  return { splits, statistics };
}

/** The quarantined records, one JSON line each; undefined when there are none. */
async function writeQuarantine(
  store: ObjectStore,
  outputPrefix: string,
  quarantine: readonly QuarantinedRecord[],
): Promise<string | undefined> {
  if (quarantine.length === 0) return undefined;
  const uri = joinUri(outputPrefix, 'quarantine.jsonl');
  await store.putBytes(uri, quarantine.map((entry) => `${JSON.stringify(entry)}\n`).join(''), {
    contentType: 'application/x-ndjson',
  });
  return uri;
}

/** What the data report needs beside the options and the scan. */
interface ReportInputs {
  readonly classes: readonly string[];
  readonly kept: number;
  readonly splits: readonly [SplitManifest, SplitManifest, SplitManifest];
  readonly inputTransform: InputTransform;
  readonly quality: QualityTracker;
  readonly quarantineUri: string | undefined;
  readonly hasFixedSets: boolean;
}

function dataReport(options: PrepareDatasetOptions, scan: RecordScanner, inputs: ReportInputs): DataReport {
  const [train, validation, test] = inputs.splits;
  const classCounts = inputs.classes.map(
    (_, label) =>
      (train.classCounts[label] ?? 0) + (validation.classCounts[label] ?? 0) + (test.classCounts[label] ?? 0),
  );
  const nonZero = classCounts.filter((count) => count > 0);
  return {
    source: options.source,
    format: options.format,
    records: scan.recordCount,
    kept: inputs.kept,
    duplicates: scan.duplicates,
    conflictingDuplicates: scan.conflictingDuplicates,
    quarantined: {
      count: scan.quarantine.length,
      examples: scan.quarantine.slice(0, EXAMPLES_KEPT),
      ...(inputs.quarantineUri ? { uri: inputs.quarantineUri } : {}),
    },
    classes: inputs.classes.map((name, label) => ({
      name,
      count: classCounts[label] ?? 0,
      train: train.classCounts[label] ?? 0,
      validation: validation.classCounts[label] ?? 0,
      test: test.classCounts[label] ?? 0,
    })),
    imbalanceRatio: nonZero.length > 0 ? Math.max(...nonZero) / Math.min(...nonZero) : 0,
    missing: scan.missing,
    splits: { train: train.count, validation: validation.count, test: test.count },
    inputTransform: inputs.inputTransform,
    quality: inputs.quality.results(),
    ...(inputs.hasFixedSets ? { fixedSets: fixedSetsReport(options, scan) } : {}),
    ...(options.format === 'image-folder' ? { images: { sizes: scan.imageSizes, modes: scan.imageModes } } : {}),
  };
}

function fixedSetsReport(options: PrepareDatasetOptions, scan: RecordScanner): NonNullable<DataReport['fixedSets']> {
  const { validation, test } = options.fixedSets ?? {};
  return {
    ...(validation ? { validation: { ...validation, records: scan.fixedRecords[1] ?? 0 } } : {}),
    ...(test ? { test: { ...test, records: scan.fixedRecords[2] ?? 0 } } : {}),
    overlapDropped: scan.overlapDropped,
    overlapExamples: scan.overlapExamples,
  };
}

/**
 * The classes (given, or the labels seen, sorted) and the records kept under them; checks every split can hold each
 * class ({@link enforceQuality} then applies the policy, before anything is written).
 */
function keptRecords(
  options: PrepareDatasetOptions,
  scan: RecordScanner,
  quality: QualityTracker,
  hasFixedSets: boolean,
): { classes: string[]; kept: number[]; mainKept: number[] } {
  const classes = options.classes ? [...options.classes] : [...scan.labelNames].sort();
  const kept = scan.relabel(classes);
  const mainKept = hasFixedSets ? kept.filter((i) => scan.recordSplits[i] === 255) : kept;
  const splitColumn = options.split.column;
  checkClasses(
    quality,
    classes,
    mainKept,
    scan.recordLabels,
    options.split,
    splitColumn ? scan.recordSplits : undefined,
  );
  if (hasFixedSets) checkFixedSetClasses(quality, classes, kept, scan.recordLabels, scan.recordSplits);
  return { classes, kept, mainKept };
}

/**
 * Enforce the quality policy on what the scan kept. When a check stops the stage, its data report is written first,
 * as a finished stage's is (its findings, counts and classes; no splits), and the error names it (`report`), so the
 * run's stage and the dataset version's page link to what stopped it rather than only to the log.
 */
async function enforceQuality(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  scan: RecordScanner,
  quality: QualityTracker,
  found: { readonly classes: readonly string[]; readonly kept: readonly number[]; readonly hasFixedSets: boolean },
): Promise<void> {
  const { classes, kept } = found;
  try {
    quality.enforce(options.source, { records: scan.recordCount, kept: kept.length, classes: classes.length });
  } catch (thrown) {
    if (!(thrown instanceof InvalidInputError) || thrown.details.code !== 'data-quality') throw thrown;
    const quarantineUri = await writeQuarantine(store, options.outputPrefix, scan.quarantine);
    const counts = new Array<number>(classes.length).fill(0);
    for (const i of kept) counts[scan.recordLabels[i] ?? 0] = (counts[scan.recordLabels[i] ?? 0] ?? 0) + 1;
    const empty = (classCounts: number[]): SplitManifest => ({ count: 0, classCounts, shards: [] });
    const report: DataReport = {
      ...dataReport(options, scan, {
        classes,
        kept: kept.length,
        splits: [empty(counts), empty([]), empty([])],
        inputTransform: { kind: 'none', mean: [], std: [] },
        quality,
        quarantineUri,
        hasFixedSets: found.hasFixedSets,
      }),
      splits: { train: 0, validation: 0, test: 0 },
      stoppedBy: quality
        .results()
        .filter((result) => result.outcome === 'failed')
        .map((result) => result.check),
    };
    const reportUri = joinUri(options.outputPrefix, 'data-report.json');
    await store.putJson(reportUri, report);
    throw new InvalidInputError(`${thrown.message}\ndata report: ${reportUri}`, {
      ...thrown.details,
      report: reportUri,
    });
  }
  if (kept.length === 0)
    throw new InvalidInputError(`no usable examples in ${options.source} (${scan.quarantine.length} quarantined)`, {
      source: options.source,
    });
}

function datasetManifest(
  options: PrepareDatasetOptions,
  encoding: Encoding,
  statistics: FeatureStatistics,
  classes: readonly string[],
  splits: readonly SplitManifest[],
  hasFixedSets: boolean,
): DatasetManifest {
  const { mean, std } = statistics.result();
  const inputTransform: InputTransform = { kind: encoding.normalize ? 'standardize' : 'none', mean, std };
  const [train, validation, test] = splits as [SplitManifest, SplitManifest, SplitManifest];
  return {
    format: 'fineflow-shards/v1',
    featureShape: encoding.featureShape,
    classes: [...classes],
    ...(options.format !== 'image-folder' ? { columns: encoding.columns } : {}),
    inputTransform,
    preprocessing: preprocessingFrom(encoding.spec, statistics),
    splits: { train, validation, test },
    source: options.source,
    ...(options.sourceVersion ? { sourceVersion: options.sourceVersion } : {}),
    ...(hasFixedSets ? { fixedSets: { ...options.fixedSets } } : {}),
    createdAt: new Date().toISOString(),
  };
}

export async function prepareDataset(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  onProgress?: (progress: PrepareProgress) => void,
): Promise<PreparedDataset> {
  checkPrepareOptions(options);
  const settings = prepareSettings(options);
  const random = mulberry32(options.split.seed);
  const sets = await sourceSets(store, options, random);
  const quality = new QualityTracker(options.quality ?? DEFAULT_QUALITY_POLICY);
  const records = (): AsyncGenerator<RawRecord> => allRecords(store, options, settings.labelColumn, sets);
  const { featureColumns, schema } = await tableColumns(records, options, settings);

  // Pass 1: scan.
  const scan = new RecordScanner(options, settings, schema, featureColumns, quality);
  for await (const record of records()) scan.add(record, onProgress);
  scan.finish();
  onProgress?.({ pass: 'scan', records: scan.recordCount });

  const hasFixedSets = sets.some((set) => set.fixed !== undefined);
  const { classes, kept, mainKept } = keptRecords(options, scan, quality, hasFixedSets);
  await enforceQuality(store, options, scan, quality, { classes, kept, hasFixedSets });
  const assignment = assignSplits(scan, options, classes, kept, mainKept, hasFixedSets, random);
  const encoding = encodingOf(options, settings, schema, scan.categories, classes);

  // Pass 2: write shards.
  const { splits, statistics } = await writeShards(
    store,
    options,
    records,
    { encoding, shardSize: settings.shardSize, classCount: classes.length, assignment, scan },
    onProgress,
  );
  const manifest = datasetManifest(options, encoding, statistics, classes, splits, hasFixedSets);
  const { inputTransform } = manifest;
  const { train, validation, test } = manifest.splits;
  const manifestUri = joinUri(options.outputPrefix, 'manifest.json');
  await store.putJson(manifestUri, manifest);
  const quarantineUri = await writeQuarantine(store, options.outputPrefix, scan.quarantine);
  const report = dataReport(options, scan, {
    classes,
    kept: kept.length,
    splits: [train, validation, test],
    inputTransform,
    quality,
    quarantineUri,
    hasFixedSets,
  });
  const reportUri = joinUri(options.outputPrefix, 'data-report.json');
  await store.putJson(reportUri, report);
  return { datasetUri: manifestUri, manifestUri, manifest, report, reportUri };
}
