/**
 * Records in, prediction lines out: the loop `fineflow predict` and the `predict` stage share (one
 * implementation). Streams — one batch in memory — and keeps the counts a caller reports: records,
 * predictions per class, mean confidence. Bounded by `maxRecords`, cancellable between batches.
 */
import { CancelledError, ResourceLimitError } from '../../core/errors';
import type { PredictionRecord } from './prediction-inputs';
import { predictionHeader, predictionLine, type PredictionFormat } from './prediction-output';
import { predictStream, type Predictor } from './predictor';

export interface WritePredictionsOptions {
  readonly format: PredictionFormat;
  readonly batchSize: number;
  /** Receives each line (without its newline); awaited, so a slow sink applies back-pressure. */
  readonly writeLine: (line: string) => Promise<void> | void;
  /** Fails with ResourceLimitError once more records than this arrive. Default: no bound. */
  readonly maxRecords?: number;
  /** Called after every batch with the records scored so far. */
  readonly onProgress?: (count: number) => void;
  readonly signal?: AbortSignal;
}

export interface PredictionSummary {
  readonly count: number;
  /** Predicted class → records, every class of the model listed (0 when never predicted). */
  readonly classCounts: Readonly<Record<string, number>>;
  readonly meanConfidence: number;
}

async function* bounded(
  records: AsyncIterable<PredictionRecord>,
  maxRecords: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<PredictionRecord> {
  let count = 0;
  for await (const record of records) {
    if (signal?.aborted) throw new CancelledError('prediction cancelled', { records: count });
    count += 1;
    if (count > maxRecords)
      throw new ResourceLimitError(
        `${record.where}: more than ${maxRecords} records to predict on; raise maxRecords or predict on a smaller prefix`,
        { maxRecords },
      );
    yield record;
  }
}

/** Score every record and write the header (CSV) and one line per prediction. */
export async function writePredictions(
  predictor: Predictor,
  records: AsyncIterable<PredictionRecord>,
  options: WritePredictionsOptions,
): Promise<PredictionSummary> {
  const { format, batchSize, writeLine } = options;
  const header = predictionHeader(format, predictor.classes);
  if (header) await writeLine(header);
  const classCounts: Record<string, number> = Object.fromEntries(predictor.classes.map((name) => [name, 0]));
  let count = 0;
  let confidence = 0;
  const input = bounded(records, options.maxRecords ?? Number.POSITIVE_INFINITY, options.signal);
  for await (const prediction of predictStream(predictor, input, batchSize)) {
    await writeLine(predictionLine(format, predictor.classes, prediction));
    classCounts[prediction.predicted] = (classCounts[prediction.predicted] ?? 0) + 1;
    confidence += prediction.confidence;
    count += 1;
    if (count % batchSize === 0) options.onProgress?.(count);
  }
  options.onProgress?.(count);
  return { count, classCounts, meanConfidence: count === 0 ? 0 : confidence / count };
}
