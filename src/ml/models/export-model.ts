/**
 * `fineflow models export`: a model and its preprocessing as files another runtime loads.
 * - `tfjs`: the TensorFlow.js layers format (`model.json` + `weights.bin`), for `tf.loadLayersModel`.
 * - `keras`: a Keras 3 `model.keras`, for `keras.models.load_model`.
 * - `savedmodel`: a TensorFlow SavedModel directory `savedmodel/` (endpoint `serve`, signature
 *   `serving_default`), for `tf.saved_model.load`, TensorFlow Serving or TFLite conversion.
 * The Keras formats are written by Keras itself: the tfjs files go to a scratch directory and the
 * bundled converter (keras-export.py, see its docblock) rebuilds the model in a Python with
 * TensorFlow (src/ml/models/export-python.ts), saves it, loads the result back and checks it
 * predicts what the tfjs model predicts on a seeded probe batch; the export fails otherwise.
 * Every export writes, beside the model:
 * - `preprocessing.json`: the `fineflow-preprocessing/v1` document (src/ml/data/preprocessing.ts):
 *   column order, scaling, vocabularies, image size and channels, class names — what turns a raw
 *   record into the model's input, so the exported model predicts what Fineflow predicts;
 * - `export.json`: the format, the model it came from, the sha256 of every file written and, for
 *   the Keras formats, the probe check's result.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '../../core/errors';
import { PREPROCESSING_FILE, serializePreprocessing } from '../data/preprocessing';
import type { Predictor } from '../predict/predictor';
import { mulberry32, randomNormal } from '../random';
import { runKerasExport, type KerasCheck } from './export-python';
import { fileModelHandler } from './model-io';

export const EXPORT_FORMATS = ['tfjs', 'keras', 'savedmodel'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_RECORD_FILE = 'export.json';
/** What the Keras formats write into the export directory. */
export const KERAS_FILE = 'model.keras';
export const SAVED_MODEL_DIR = 'savedmodel';
/** Examples in the probe batch the reloaded Keras model must reproduce. */
export const PROBE_EXAMPLES = 8;
/** Largest difference in any class probability the probe check accepts (float32 kernels differ in rounding only). */
export const PROBE_TOLERANCE = 1e-5;
/** Bound on the files an export lists (a SavedModel is a small tree; anything bigger is not ours). */
const MAX_EXPORT_FILES = 1000;

export interface ExportRecord {
  readonly format: ExportFormat;
  /** The model as asked for (e.g. registry://name@champion) and what it resolved to. */
  readonly model: string;
  readonly resolved: string;
  readonly classes: readonly string[];
  readonly exportedAt: string;
  /** File path (relative to the export directory, `/`-separated) → sha256 of its bytes. */
  readonly files: Readonly<Record<string, string>>;
  /** Keras formats: the reloaded model against the tfjs model on the probe batch. */
  readonly verification?: KerasCheck & { readonly tolerance: number };
}

export interface ExportOptions {
  /** Python with TensorFlow 2.16+ for the keras and savedmodel formats. */
  readonly python?: string;
  /** Stops the converter (e.g. Ctrl-C); the partial export is removed. */
  readonly signal?: AbortSignal;
}

/** An export goes into a new or empty directory: never over someone's files. */
async function ensureEmptyDirectory(directory: string): Promise<void> {
  const entries = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR')
      throw new InvalidInputError(`${directory} is a file; export into a new or empty directory`, {
        output: directory,
      });
    throw error;
  });
  if (entries.length > 0)
    throw new InvalidInputError(`${directory} is not empty; export into a new or empty directory`, {
      output: directory,
    });
  await mkdir(directory, { recursive: true });
}

/** Every file under `directory`, relative and `/`-separated, sorted. */
async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  if (files.length > MAX_EXPORT_FILES)
    throw new InvalidInputError(`${directory} holds more than ${MAX_EXPORT_FILES} files after the export`, {
      output: directory,
    });
  return files.sort();
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** A seeded batch of inputs and the tfjs model's probabilities for it: what the reloaded Keras model must reproduce. */
export function probeBatch(predictor: Predictor): {
  inputShape: number[];
  inputs: number[];
  outputShape: number[];
  outputs: number[];
} {
  const { tf, model, preprocessing } = predictor;
  const inputShape = [PROBE_EXAMPLES, ...preprocessing.featureShape];
  const random = mulberry32(20261205);
  const size = inputShape.reduce((a, b) => a * b, 1);
  // Standardised features are roughly N(0, 1); unnormalised images are [0, 1]: N(0.5, 0.5) covers both.
  const inputs = Array.from({ length: size }, () => Math.fround(0.5 + 0.5 * randomNormal(random)));
  const outputs = tf.tidy(() =>
    Array.from((model.predict(tf.tensor(inputs, inputShape)) as ReturnType<typeof tf.tensor>).dataSync()),
  );
  return { inputShape, inputs, outputShape: [PROBE_EXAMPLES, predictor.classes.length], outputs };
}

async function writeKerasFormat(
  predictor: Predictor,
  format: 'keras' | 'savedmodel',
  directory: string,
  options: ExportOptions,
): Promise<KerasCheck> {
  if (!options.python)
    throw new InvalidInputError(`--format ${format} needs a Python with TensorFlow; none configured`, { format });
  const scratch = await mkdtemp(path.join(tmpdir(), 'fineflow-export-'));
  try {
    const tfjsDir = path.join(scratch, 'tfjs');
    await mkdir(tfjsDir);
    await predictor.model.save(fileModelHandler(predictor.tf, pathToFileURL(tfjsDir).href));
    const probeFile = path.join(scratch, 'probe.json');
    await writeFile(probeFile, JSON.stringify(probeBatch(predictor)));
    return await runKerasExport({
      python: options.python,
      tfjsDir,
      format,
      output: path.join(directory, format === 'keras' ? KERAS_FILE : SAVED_MODEL_DIR),
      probeFile,
      tolerance: PROBE_TOLERANCE,
      scratch,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Write `predictor`'s model in `format` with its preprocessing into `directory`; returns the record written. */
export async function exportModel(
  predictor: Predictor,
  format: ExportFormat,
  directory: string,
  options: ExportOptions = {},
): Promise<ExportRecord> {
  await ensureEmptyDirectory(directory);
  let verification: ExportRecord['verification'];
  try {
    if (format === 'tfjs') await predictor.model.save(fileModelHandler(predictor.tf, pathToFileURL(directory).href));
    else
      verification = { ...(await writeKerasFormat(predictor, format, directory, options)), tolerance: PROBE_TOLERANCE };
    await writeFile(path.join(directory, PREPROCESSING_FILE), serializePreprocessing(predictor.preprocessing));
  } catch (error) {
    // The directory was new or empty: leave it so, not half an export.
    await emptyDirectory(directory);
    throw error;
  }
  const files: Record<string, string> = {};
  for (const name of await filesUnder(directory)) files[name] = await sha256Of(path.join(directory, name));
  const record: ExportRecord = {
    format,
    model: predictor.uri,
    resolved: predictor.resolvedUri,
    classes: predictor.classes,
    exportedAt: new Date().toISOString(),
    files,
    ...(verification ? { verification } : {}),
  };
  await writeFile(path.join(directory, EXPORT_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

async function emptyDirectory(directory: string): Promise<void> {
  for (const entry of await readdir(directory).catch(() => []))
    await rm(path.join(directory, entry), { recursive: true, force: true });
}
