/**
 * A model ready to score raw inputs: the tfjs model plus the preprocessing stored beside it
 * (src/ml/data/preprocessing.ts — the one implementation evaluate, predict, serve and export share).
 * `predict`, `serve` and the `predict` stage all go through `loadPredictor` and `predictBatch`.
 */
import { InvalidInputError, NotFoundError } from '../../core/errors';
import type { ObjectStore } from '../../storage/object-store';
import type { Tf } from '../backend';
import { applyToImages, applyToRows, type Preprocessing } from '../data/preprocessing';
import { readPreprocessingBeside } from '../data/preprocessing-file';
import type { LayersModel } from '../models/architectures';
import { loadModel, type ModelLocationOptions } from '../models/load-model';
import { modelJsonUri } from '../models/model-io';
import { resolveModelUri } from '../models/registry';
import type { PredictionRecord } from './prediction-inputs';

export interface Predictor {
  /** The URI asked for (e.g. registry://name@champion) and what it resolved to. */
  readonly uri: string;
  readonly resolvedUri: string;
  readonly classes: readonly string[];
  readonly preprocessing: Preprocessing;
  readonly model: LayersModel;
  readonly tf: Tf;
}

/** `NAME@VERSION|ALIAS` without a scheme (as `fineflow models show` takes it) names a registered model. */
export function registryUriOfBareName(uri: string): string {
  return /^[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9._-]+)?$/.test(uri) ? `registry://${uri}` : uri;
}

/** `location.signal` ends the load early (serve stopped meanwhile): the load rejects with its reason. */
export async function loadPredictor(
  tf: Tf,
  store: ObjectStore,
  asked: string,
  location: ModelLocationOptions,
): Promise<Predictor> {
  const uri = registryUriOfBareName(asked);
  const { signal } = location;
  const resolvedUri = await resolveModelUri(store, uri, location.registryBucket);
  signal?.throwIfAborted();
  if (resolvedUri.startsWith('s3://') && !(await store.stat(modelJsonUri(resolvedUri))))
    throw new NotFoundError(
      `model ${uri} does not exist (no ${modelJsonUri(resolvedUri)}); name a model a fine-tune stage wrote, or ` +
        `registry://NAME@VERSION (fineflow models list)`,
      { uri },
    );
  const preprocessing = await readPreprocessingBeside(store, resolvedUri);
  signal?.throwIfAborted();
  if (!preprocessing)
    throw new InvalidInputError(
      `${uri} has no preprocessing.json beside its weights, so raw inputs cannot be turned into what it was trained on; ` +
        'predict with a model a fine-tune stage wrote (or registered) after preprocessing was stored with models, or retrain it',
      { uri },
    );
  const model = await loadModel(tf, store, resolvedUri, location);
  if (signal?.aborted) {
    model.dispose();
    signal.throwIfAborted();
  }
  const outputs = model.outputs[0]?.shape[1];
  if (outputs !== preprocessing.classes.length) {
    model.dispose();
    throw new InvalidInputError(
      `${uri} predicts ${outputs} classes but its preprocessing names ${preprocessing.classes.length}`,
      { uri },
    );
  }
  return { uri, resolvedUri, classes: preprocessing.classes, preprocessing, model, tf };
}

/** Model inputs for a batch of records of the kind the model takes; errors name the record. */
export function inputsOf(predictor: Predictor, records: readonly PredictionRecord[]): Float32Array {
  const { preprocessing } = predictor;
  const wrong = records.find((record) => (record.kind === 'row') !== (preprocessing.kind === 'table'));
  if (wrong)
    throw new InvalidInputError(
      `${wrong.where}: ${predictor.uri} takes ` +
        `${preprocessing.kind === 'table' ? 'table rows (CSV or JSONL)' : 'images (PNG or JPEG)'}, not ${wrong.kind === 'row' ? 'table rows' : 'images'}`,
      { where: wrong.where },
    );
  if (preprocessing.kind === 'table') {
    const rows = records.map((record) => (record.kind === 'row' ? record.cells : {}));
    return applyToRows(preprocessing, rows, (index) => records[index]?.where ?? `row ${index + 1}`);
  }
  return applyToImages(
    preprocessing,
    records.map((record) => ({
      bytes: record.kind === 'image' ? record.bytes : new Uint8Array(),
      where: record.where,
    })),
  );
}

/** Class probabilities (row-major, records × classes) of one batch. */
export function predictBatch(predictor: Predictor, records: readonly PredictionRecord[]): Float32Array {
  if (records.length === 0) return new Float32Array();
  const features = inputsOf(predictor, records);
  const { tf, model } = predictor;
  return tf.tidy(() => {
    const input = tf.tensor(features, [records.length, ...predictor.preprocessing.featureShape]);
    return (model.predict(input) as ReturnType<Tf['tensor']>).dataSync() as Float32Array;
  });
}

export interface Prediction {
  readonly input: string;
  readonly predicted: string;
  readonly confidence: number;
  readonly probabilities: Readonly<Record<string, number>>;
}

/** One record's prediction from its row of probabilities. */
export function predictionOf(classes: readonly string[], where: string, row: ArrayLike<number>): Prediction {
  let best = 0;
  for (let c = 1; c < classes.length; c += 1) if ((row[c] ?? 0) > (row[best] ?? 0)) best = c;
  const probabilities: Record<string, number> = {};
  classes.forEach((name, c) => (probabilities[name] = row[c] ?? 0));
  return { input: where, predicted: classes[best] ?? String(best), confidence: row[best] ?? 0, probabilities };
}

/** Predictions in batches of `batchSize`, as records stream in (memory bounded by one batch). */
export async function* predictStream(
  predictor: Predictor,
  records: AsyncIterable<PredictionRecord>,
  batchSize: number,
): AsyncGenerator<Prediction> {
  let batch: PredictionRecord[] = [];
  const flush = function* (): Generator<Prediction> {
    const probabilities = predictBatch(predictor, batch);
    const k = predictor.classes.length;
    for (let i = 0; i < batch.length; i += 1)
      yield predictionOf(predictor.classes, batch[i]?.where ?? '', probabilities.subarray(i * k, (i + 1) * k));
    batch = [];
  };
  for await (const record of records) {
    batch.push(record);
    if (batch.length >= batchSize) yield* flush();
  }
  if (batch.length > 0) yield* flush();
}
