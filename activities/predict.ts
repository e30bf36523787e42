/**
 * Stage `predict`: batch predictions inside a pipeline (src/spec/predict-stage-type.ts). The model
 * and its preprocessing are loaded, the records of one dataset version are streamed through the
 * scoring loop `fineflow predict` uses (src/ml/predict/write-predictions.ts), and the lines are
 * streamed into `predictions.csv|jsonl` under the stage's prefix. A failure removes the partial file.
 *
 * The source is read as one dataset version (pinned `@<id>`, the run's new-data trigger, or the
 * prefix as it is now, sealed first), so the run records exactly what it scored.
 */
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { InternalError, InvalidInputError } from '../src/core/errors';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import { joinS3Uri } from '../src/core/storage/uri';
import { pinnedDatasetStore, resolveDatasetSource } from '../src/datasets/version-store';
import { loadTf } from '../src/ml/backend';
import { predictionRecords } from '../src/ml/predict/prediction-inputs';
import type { PredictionFormat } from '../src/ml/predict/prediction-output';
import { loadPredictor, type Predictor } from '../src/ml/predict/predictor';
import { unknownCategoryLines, writePredictions, type PredictionSummary } from '../src/ml/predict/write-predictions';
import { outboundPolicy } from '../src/security/outbound';
import type { ObjectStore } from '../src/storage/object-store';
import { checkStageInputs, listStageArtifacts, modelHttpOptions } from './ml-stage-support';
import { newDataTrigger } from './prepare-data';
import type { StageImplementation, StageRuntime } from './stage-runner';

/** Streams lines into one object; `finish` waits for the upload, `abort` fails it. */
function objectWriter(store: ObjectStore, uri: string, contentType: string) {
  const body = new PassThrough();
  const upload = store.putStream(uri, body, { contentType });
  upload.catch(() => undefined); // observed by finish(); an aborted upload must not be unhandled
  return {
    async writeLine(line: string): Promise<void> {
      if (!body.write(`${line}\n`)) await Promise.race([once(body, 'drain'), upload]);
    },
    async finish(): Promise<void> {
      body.end();
      await upload;
    },
    abort(error: Error): void {
      body.destroy(error);
    },
  };
}

async function score(
  runtime: StageRuntime,
  predictor: Predictor,
  records: ReturnType<typeof predictionRecords>,
  options: { uri: string; format: PredictionFormat; batchSize: number; maxRecords: number },
): Promise<PredictionSummary> {
  const contentType = options.format === 'csv' ? 'text/csv' : 'application/x-ndjson';
  const writer = objectWriter(runtime.store, options.uri, contentType);
  try {
    const summary = await writePredictions(predictor, records, {
      format: options.format,
      batchSize: options.batchSize,
      maxRecords: options.maxRecords,
      signal: runtime.signal,
      writeLine: (line) => writer.writeLine(line),
      onProgress: (count) => runtime.heartbeat({ message: `scored ${count} records`, detail: { records: count } }),
    });
    await writer.finish();
    return summary;
  } catch (error) {
    writer.abort(error instanceof Error ? error : new Error(String(error)));
    await runtime.store.remove(options.uri).catch(() => undefined);
    throw error;
  }
}

export const predictStage: StageImplementation = async (
  input: StageActivityInput,
  runtime: StageRuntime,
): Promise<StageActivityResult> => {
  const inputs = checkStageInputs('predict', input.inputs);
  const { context } = input;
  const source = inputs.source;
  const format: PredictionFormat = inputs.format === 'jsonl' ? 'jsonl' : 'csv';
  if (!runtime.datasetVersions)
    throw new InternalError(
      'predict ran without the dataset-version writer (activities/stage-runner.ts privilegedWriters)',
    );
  const trigger = newDataTrigger(context.trigger);
  const pin = await resolveDatasetSource(runtime.datasetVersions, context.bucket, source, trigger);
  if (pin.manifest.count === 0)
    throw new InvalidInputError(`source ${source}: holds no objects; push records with \`fineflow data push\``, {
      field: 'source',
    });
  runtime.log(`dataset version ${pin.manifest.id} of ${pin.manifest.prefix}: ${pin.manifest.count} object(s)`);

  const modelUri = inputs.model;
  // Loading TensorFlow and the model blocks this worker for a while: start the heartbeat window afresh.
  runtime.heartbeat({ message: `loading ${modelUri}` });
  const { tf, backend } = loadTf({ preference: runtime.ml.tfBackend });
  const http = modelHttpOptions(inputs);
  const predictor = await loadPredictor(tf, runtime.store, modelUri, {
    registryBucket: context.bucket,
    outbound: outboundPolicy(),
    ...(http ? { http } : {}),
  });
  runtime.log(`model ${modelUri} (${predictor.resolvedUri}), classes ${predictor.classes.join(', ')}; ${backend}`);
  const uri = joinS3Uri(context.outputPrefix, `predictions.${format}`);
  const store = pinnedDatasetStore(runtime.store, pin.manifest);
  // Records are read only from the store: local paths are not a pipeline's to name (cwd is unused).
  const records = predictionRecords([pin.source], { store, outbound: outboundPolicy() }, '/');
  let summary: PredictionSummary;
  try {
    summary = await score(runtime, predictor, records, {
      uri,
      format,
      batchSize: inputs.batchSize,
      maxRecords: inputs.maxRecords,
    });
  } finally {
    predictor.model.dispose();
  }
  runtime.log(
    `${summary.count} predictions written to ${uri}: ${Object.entries(summary.classCounts)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')}; mean confidence ${summary.meanConfidence.toFixed(3)}`,
  );
  // An unknown category is scored as all zeros, like a missing cell: say so, or a typo in the data passes unseen.
  for (const line of unknownCategoryLines(summary))
    runtime.log(`warning: categories the model never saw (scored as missing) in ${line}`);
  return {
    outputs: {
      predictions: uri,
      count: summary.count,
      classCounts: summary.classCounts,
      classes: [...predictor.classes],
      meanConfidence: summary.meanConfidence,
      datasetVersion: pin.manifest.id,
    },
    artifacts: await listStageArtifacts(runtime.store, context.outputPrefix),
  };
};
