/**
 * `fineflow models export`: a model and its preprocessing as files another runtime loads. Format
 * `tfjs` is the TensorFlow.js layers format (`model.json` + `weights.bin`), loadable by
 * `tf.loadLayersModel` in tfjs-node or a browser. Every export writes, beside the model:
 * - `preprocessing.json`: the `fineflow-preprocessing/v1` document (src/ml/data/preprocessing.ts):
 *   column order, scaling, vocabularies, image size and channels, class names — what turns a raw
 *   record into the model's input, so the exported model predicts what Fineflow predicts;
 * - `export.json`: the format, the model it came from, and the sha256 of every file written.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '../../core/errors';
import { PREPROCESSING_FILE, serializePreprocessing } from '../data/preprocessing';
import type { Predictor } from '../predict/predictor';
import { fileModelHandler, MODEL_JSON, WEIGHTS_BIN } from './model-io';

export const EXPORT_FORMATS = ['tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_RECORD_FILE = 'export.json';

export interface ExportRecord {
  readonly format: ExportFormat;
  /** The model as asked for (e.g. registry://name@champion) and what it resolved to. */
  readonly model: string;
  readonly resolved: string;
  readonly classes: readonly string[];
  readonly exportedAt: string;
  /** File name → sha256 of its bytes. */
  readonly files: Readonly<Record<string, string>>;
}

/** An export goes into a new or empty directory: never over someone's files. */
async function ensureEmptyDirectory(directory: string): Promise<void> {
  const entries = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0)
    throw new InvalidInputError(`${directory} is not empty; export into a new or empty directory`, {
      output: directory,
    });
  await mkdir(directory, { recursive: true });
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Write `predictor`'s model in `format` with its preprocessing into `directory`; returns the record written. */
export async function exportModel(
  predictor: Predictor,
  format: ExportFormat,
  directory: string,
): Promise<ExportRecord> {
  await ensureEmptyDirectory(directory);
  await predictor.model.save(fileModelHandler(predictor.tf, pathToFileURL(directory).href));
  await writeFile(path.join(directory, PREPROCESSING_FILE), serializePreprocessing(predictor.preprocessing));
  const files: Record<string, string> = {};
  for (const name of [MODEL_JSON, WEIGHTS_BIN, PREPROCESSING_FILE])
    files[name] = await sha256Of(path.join(directory, name));
  const record: ExportRecord = {
    format,
    model: predictor.uri,
    resolved: predictor.resolvedUri,
    classes: predictor.classes,
    exportedAt: new Date().toISOString(),
    files,
  };
  await writeFile(path.join(directory, EXPORT_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
