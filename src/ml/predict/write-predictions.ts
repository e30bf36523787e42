/**
 * Records in, prediction lines out: the loop `fineflow predict` and the `predict` stage share (one
 * implementation). Streams — one batch in memory — and keeps the counts a caller reports: records,
 * predictions per class, mean confidence. Bounded by `maxRecords`, cancellable between batches.
 */
import { CancelledError, ResourceLimitError } from '../../core/errors';
import { isMissingCell, type Preprocessing } from '../data/preprocessing';
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
  /**
   * Table models: per categorical column, the values the model never saw (encoded as all zeros, like a missing
   * cell) with how many records had each; at most {@link UNKNOWN_VALUES_KEPT} values a column, each cut to
   * {@link UNKNOWN_VALUE_CHARS} characters. Empty when none.
   */
  readonly unknownCategories: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Distinct unknown values kept per column: the summary stays small whatever the data holds. */
export const UNKNOWN_VALUES_KEPT = 20;
/** Characters kept of an unknown value (a serve answer carries them, and a cell can be long). */
export const UNKNOWN_VALUE_CHARS = 80;

/** Counts the categories a table model never saw, as the records stream past (predict, the stage and serve). */
export class UnknownCategoryTally {
  // Maps, not objects: a cell of `__proto__` or `toString` is data, never an inherited property.
  private readonly tally = new Map<string, Map<string, number>>();
  private readonly columns: readonly { readonly name: string; readonly known: ReadonlySet<string> }[];

  constructor(private readonly preprocessing: Preprocessing) {
    this.columns =
      preprocessing.kind === 'table'
        ? preprocessing.columns.flatMap((column) =>
            column.kind === 'categorical' ? [{ name: column.name, known: new Set(column.categories) }] : [],
          )
        : [];
  }

  /** Counts `record`'s unknown cells; returns them (column → value, cut as the tally keeps it), or undefined. */
  add(record: PredictionRecord): Readonly<Record<string, string>> | undefined {
    if (record.kind !== 'row' || this.preprocessing.kind !== 'table') return undefined;
    let unknown: Map<string, string> | undefined;
    for (const { name, known } of this.columns) {
      const value = record.cells[name];
      if (value === undefined || isMissingCell(value, this.preprocessing.naValues)) continue;
      const text = String(value).trim();
      if (known.has(text)) continue;
      const kept = text.slice(0, UNKNOWN_VALUE_CHARS);
      (unknown ??= new Map()).set(name, kept);
      const column = this.tally.get(name) ?? new Map<string, number>();
      this.tally.set(name, column);
      if (column.has(kept) || column.size < UNKNOWN_VALUES_KEPT) column.set(kept, (column.get(kept) ?? 0) + 1);
    }
    return unknown && Object.fromEntries(unknown);
  }

  /** Column → value → records, as {@link PredictionSummary.unknownCategories} holds them. */
  get counts(): Readonly<Record<string, Readonly<Record<string, number>>>> {
    return Object.fromEntries([...this.tally].map(([column, values]) => [column, Object.fromEntries(values)]));
  }
}

/** `employment: retird ×3, Salaried ×1` lines for a log, or none. */
export function unknownCategoryLines(summary: Pick<PredictionSummary, 'unknownCategories'>): string[] {
  return Object.entries(summary.unknownCategories).map(
    ([column, values]) =>
      `${column}: ${Object.entries(values)
        .map(([value, count]) => `${JSON.stringify(value)} ×${count}`)
        .join(', ')}`,
  );
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

/**
 * Tallies each record's unknown categories and queues them (undefined for none) in record order, which is the
 * order predictStream yields one prediction per record in.
 */
async function* tallied(
  records: AsyncIterable<PredictionRecord>,
  tally: UnknownCategoryTally,
  unknownByRecord: (Readonly<Record<string, string>> | undefined)[],
): AsyncGenerator<PredictionRecord> {
  for await (const record of records) {
    unknownByRecord.push(tally.add(record));
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
  const tally = new UnknownCategoryTally(predictor.preprocessing);
  const unknownByRecord: (Readonly<Record<string, string>> | undefined)[] = [];
  const limited = bounded(records, options.maxRecords ?? Number.POSITIVE_INFINITY, options.signal);
  const input = tallied(limited, tally, unknownByRecord);
  for await (const prediction of predictStream(predictor, input, batchSize)) {
    await writeLine(predictionLine(format, predictor.classes, prediction, unknownByRecord.shift()));
    classCounts[prediction.predicted] = (classCounts[prediction.predicted] ?? 0) + 1;
    confidence += prediction.confidence;
    count += 1;
    if (count % batchSize === 0) options.onProgress?.(count);
  }
  options.onProgress?.(count);
  return {
    count,
    classCounts,
    meanConfidence: count === 0 ? 0 : confidence / count,
    unknownCategories: tally.counts,
  };
}
