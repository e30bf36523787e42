/**
 * The sweep's results table as the stage writes it (`results.json`, `results.csv`) and as its
 * `trials` output carries it: one row per trial with its parameters, the objective at each
 * rung, status, duration and the workers that ran it. Pure: the workflow builds the JSON, the
 * `writeSweepResults` activity renders the CSV.
 */
import type { JsonObject, JsonValue } from '../spec/plan-types';
import type { ResultsTable } from './';
import type { WarmStartSummary } from './sweep-history';
import type {
  InFlightTrial,
  RecordedResultsRow,
  RecordedResultsTable,
  SegmentRecord,
  SweepOutcome,
} from './sweep-types';

export type { RecordedResultsRow, RecordedResultsTable, RecordedTrialStatus, SweepOutcome } from './sweep-types';

/** `results.json`: the controller's table plus where every segment ran. */
export interface SweepResultsDocument extends RecordedResultsTable {
  readonly format: 'fineflow-sweep-results/v1';
  /** Absent in documents written before outcomes were recorded: read as `completed`. */
  readonly outcome?: SweepOutcome;
  /** True when the sweep did not run to its end: the rows are what it learned before it stopped. */
  readonly partial?: boolean;
  readonly segments: readonly SegmentRecord[];
  /** Set when the sweep was warm-started (`warmStart`): what it took from earlier sweeps, and the log's line. */
  readonly warmStart?: WarmStartSummary & { readonly line: string };
}

/**
 * The table of a cancelled sweep: trials that were still running become `cancelled`, with the
 * epochs they had checkpointed; finished, pruned and failed trials keep what they recorded.
 */
export function cancelledResultsTable(table: ResultsTable, inFlight: readonly InFlightTrial[]): RecordedResultsTable {
  const epochsDone = new Map(inFlight.map((trial) => [trial.trialId, trial]));
  return {
    ...table,
    rows: table.rows.map((row): RecordedResultsRow => {
      if (row.status !== 'running') return row;
      const trial = epochsDone.get(row.trialId);
      return {
        ...row,
        status: 'cancelled',
        ...(row.epochs === undefined && trial ? { epochs: trial.epochsDone } : {}),
        ...(row.durationMs === undefined && trial ? { durationMs: trial.durationMs } : {}),
      };
    }),
  };
}

/** How each trial was trained, from its segments: the engines in the order first used, and why eager, if it was. */
export interface TrialEngines {
  readonly engines: readonly string[];
  readonly engineFallbackReason?: string;
}

/** {@link TrialEngines} of every trial that has a segment (segments recorded before engines were give none). */
export function enginesByTrial(segments: readonly SegmentRecord[]): ReadonlyMap<number, TrialEngines> {
  const byTrial = new Map<number, { engines: string[]; engineFallbackReason?: string }>();
  for (const segment of segments) {
    const entry = byTrial.get(segment.trialId) ?? { engines: [] };
    byTrial.set(segment.trialId, entry);
    if (segment.engine !== undefined && !entry.engines.includes(segment.engine)) entry.engines.push(segment.engine);
    if (segment.engine === 'eager' && segment.engineFallbackReason !== undefined)
      entry.engineFallbackReason ??= segment.engineFallbackReason;
  }
  return byTrial;
}

/** The `trials` output: one small object per trial (what `fineflow status` and reports show). */
export function trialsOutput(table: RecordedResultsTable, segments: readonly SegmentRecord[]): JsonObject[] {
  const engines = enginesByTrial(segments);
  return table.rows.map((row) => {
    const workers = [
      ...new Set(segments.filter((segment) => segment.trialId === row.trialId).map((segment) => segment.worker)),
    ];
    const trained = engines.get(row.trialId);
    return {
      trialId: row.trialId,
      status: row.status,
      params: row.params as JsonObject,
      ...(row.value !== undefined ? { value: row.value } : {}),
      metricByEpoch: row.metricByEpoch.map(({ epoch, value }) => ({ epoch, value })),
      ...(row.epochs !== undefined ? { epochs: row.epochs } : {}),
      ...(row.durationMs !== undefined ? { durationMs: row.durationMs } : {}),
      workers,
      ...(row.stopReason !== undefined ? { stopReason: row.stopReason } : {}),
      ...(row.error !== undefined ? { error: row.error } : {}),
      ...(trained !== undefined && trained.engines.length > 0 ? { engines: [...trained.engines] } : {}),
      ...(trained?.engineFallbackReason !== undefined ? { engineFallbackReason: trained.engineFallbackReason } : {}),
    };
  });
}

/** RFC 4180 CSV of the table: fixed columns, one per parameter, one per epoch with a recorded value. */
export function resultsCsv(table: RecordedResultsTable, segments: readonly SegmentRecord[]): string {
  const paramNames = [...new Set(table.rows.flatMap((row) => Object.keys(row.params)))].sort();
  const epochs = [...new Set(table.rows.flatMap((row) => row.metricByEpoch.map((report) => report.epoch)))].sort(
    (a, b) => a - b,
  );
  const header = [
    'trialId',
    'status',
    table.metric,
    'epochs',
    'durationMs',
    ...paramNames.map((name) => `param.${name}`),
    ...epochs.map((epoch) => `${table.metric}@${epoch}`),
    'workers',
    'stopReason',
    'error',
    // Last, so the columns before it keep their places for readers of older files.
    'engines',
  ];
  const engines = enginesByTrial(segments);
  const lines = [header.map(cell).join(',')];
  for (const row of table.rows) {
    const workers = [
      ...new Set(segments.filter((segment) => segment.trialId === row.trialId).map((segment) => segment.worker)),
    ].join(' ');
    const byEpoch = new Map(row.metricByEpoch.map((report) => [report.epoch, report.value]));
    lines.push(
      [
        row.trialId,
        row.status,
        row.value,
        row.epochs,
        row.durationMs,
        ...paramNames.map((name) => row.params[name]),
        ...epochs.map((epoch) => byEpoch.get(epoch)),
        workers,
        row.stopReason,
        row.error,
        engines.get(row.trialId)?.engines.join(' '),
      ]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function cell(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
