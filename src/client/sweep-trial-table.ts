/**
 * The per-trial table `fineflow status RUN` prints under a sweep stage: id, state, epochs,
 * objective and parameters, the best trial marked. Built from the sweep's live `sweepState`
 * query while it runs, or from its `results.json` once it ended (a cancelled sweep's partial
 * record included). Pure: unit-tested without Temporal.
 */
import type { JsonObject } from '../core/spec/plan-types';
import { formatParams } from '../core/sweep/sweep-log';
import { enginesByTrial, type SweepOutcome, type SweepResultsDocument } from '../core/sweep/sweep-results';
import { wasClosedWhilePaused } from '../core/sweep/sweep-state';
import type { SweepStatus } from '../core/sweep/sweep-types';
import { wrapAtSpaces } from '../core/wrap-text';
import { clipToWidth, renderTable, type TableColumn } from './text-table';

/**
 * A trial's state in words users know from Optuna and Katib, plus promotion-based ASHA's two and the queue's one:
 * - `waiting`: started by the sweep, but no worker holds it yet (its activity waits for a free slot in the pool);
 * - `resuming`: between two segments while the sweep continues as new; the next execution starts its next segment;
 * - `paused`: waiting at a rung for a promotion, while the sweep runs (it holds no worker slot);
 * - `stopped-while-paused`: still waiting at a rung when the sweep ended, so never promoted. Early stopping did not
 *   judge it (as it does a `pruned` trial): the sweep ran out of trials, time or target first.
 * And two only Temporal knows of (src/client/trial-attempts.ts), each with a row `note` saying what happened:
 * - `unresponsive`: a worker holds its attempt but no heartbeat came for a while (the worker may be lost);
 * - `retrying`: its attempt ended (its worker was lost, it crashed) and the next one waits for its backoff or a worker.
 */
export type TrialState =
  | 'running'
  | 'waiting'
  | 'retrying'
  | 'unresponsive'
  | 'resuming'
  | 'paused'
  | 'stopped-while-paused'
  | 'finished'
  | 'pruned'
  | 'failed'
  | 'cancelled';

export interface TrialTableRow {
  readonly trialId: number;
  readonly state: TrialState;
  readonly params: JsonObject;
  readonly epochs: number;
  /** completed: the final objective; otherwise the last reported value. */
  readonly objective?: number;
  readonly best: boolean;
  readonly error?: string;
  /** The engine that trained it (`graph`, `eager`; `graph/eager` when its segments differed), once one reported. */
  readonly engine?: string;
  /** What Temporal knows of a live trial's attempt and the sweep does not (`worker lost: …; attempt 2 of 3 …`). */
  readonly note?: string;
}

/** The trials of one sweep stage: what `status` renders and what `status --json` carries. */
export interface SweepTrialTable {
  readonly stageId: string;
  /** `live` from the running workflow's query, `results` from the stored results.json. */
  readonly source: 'live' | 'results';
  readonly metric?: string;
  readonly goal?: string;
  readonly outcome?: SweepOutcome;
  /** The trials are what a sweep learned before it was cancelled or failed. */
  readonly partial: boolean;
  readonly bestTrialId?: number;
  readonly rows: readonly TrialTableRow[];
  /** Set when the stage was served from the cache or reused: the run whose sweep produced these trials. */
  readonly fromRunId?: string;
  /** `warm start: 37 trials from 2 earlier sweeps, …` when the sweep was warm-started (`warmStart`). */
  readonly warmStart?: string;
}

/** A state as a count reads in prose: `1 waiting for a worker`, `2 running`. */
export function trialStateLabel(state: TrialState): string {
  if (state === 'resuming') return 'resuming after continue-as-new';
  return state === 'waiting' ? 'waiting for a worker' : state;
}

/** Controller statuses (src/core/sweep) and recorded ones (with their `stopReason`) → table states. */
export function trialState(status: string, sweepOutcome?: SweepOutcome, stopReason?: string): TrialState {
  switch (status) {
    case 'completed':
      return 'finished';
    case 'stopped':
      return wasClosedWhilePaused(stopReason) ? 'stopped-while-paused' : 'pruned';
    case 'paused':
      // A sweep that ended records its paused trials as stopped; an older reader may still see one paused.
      return sweepOutcome !== undefined ? 'stopped-while-paused' : 'paused';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      // A trial still `running` in a sweep that ended did not get to finish.
      return sweepOutcome !== undefined ? 'cancelled' : 'running';
  }
}

/** A trial of the live query: the sweep knows whether a worker holds it, or whether it has no activity at all. */
function liveTrialState(trial: SweepStatus['trials'][number], outcome: SweepOutcome | undefined): TrialState {
  if (outcome === undefined && trial.waitingForWorker === true) return 'waiting';
  if (outcome === undefined && trial.resuming === true) return 'resuming';
  return trialState(trial.status, outcome, trial.stopReason);
}

export function trialTableFromStatus(stageId: string, status: SweepStatus): SweepTrialTable {
  const bestTrialId = status.progress.bestTrialId;
  return {
    stageId,
    source: 'live',
    ...(status.metric !== undefined ? { metric: status.metric } : {}),
    ...(status.goal !== undefined ? { goal: status.goal } : {}),
    ...(status.outcome !== undefined ? { outcome: status.outcome } : {}),
    partial: status.outcome !== undefined && status.outcome !== 'completed',
    ...(status.warmStart !== undefined ? { warmStart: status.warmStart } : {}),
    ...(bestTrialId !== undefined ? { bestTrialId } : {}),
    rows: status.trials.map((trial) => ({
      trialId: trial.trialId,
      state: liveTrialState(trial, status.outcome),
      params: trial.params,
      epochs: trial.epochs,
      ...(trial.value !== undefined ? { objective: trial.value } : {}),
      best: trial.trialId === bestTrialId,
      ...(trial.error !== undefined ? { error: trial.error } : {}),
      ...engineOf(trial.engines),
    })),
  };
}

export function trialTableFromResults(stageId: string, document: SweepResultsDocument): SweepTrialTable {
  const outcome = document.outcome ?? 'completed';
  const engines = enginesByTrial(document.segments ?? []);
  return {
    stageId,
    source: 'results',
    metric: document.metric,
    goal: document.goal,
    outcome,
    partial: document.partial ?? outcome !== 'completed',
    ...(document.warmStart !== undefined ? { warmStart: document.warmStart.line } : {}),
    ...(document.bestTrialId !== undefined ? { bestTrialId: document.bestTrialId } : {}),
    rows: document.rows.map((row) => ({
      trialId: row.trialId,
      state: trialState(row.status, outcome, row.stopReason),
      params: row.params as JsonObject,
      epochs: row.epochs ?? row.metricByEpoch[row.metricByEpoch.length - 1]?.epoch ?? 0,
      ...objectiveOf(row.value, row.metricByEpoch),
      best: row.trialId === document.bestTrialId,
      ...(row.error !== undefined ? { error: row.error } : {}),
      ...engineOf(engines.get(row.trialId)?.engines),
    })),
  };
}

/** A row's engine: none until a segment reported one (and none from records written before segments said so). */
function engineOf(engines: readonly string[] | undefined): { engine?: string } {
  return engines !== undefined && engines.length > 0 ? { engine: engines.join('/') } : {};
}

/** A cancelled trial has no final value: show the last one it reported. */
function objectiveOf(
  value: number | undefined,
  reports: readonly { readonly value: number }[],
): { objective?: number } {
  const objective = value ?? reports[reports.length - 1]?.value;
  return objective !== undefined ? { objective } : {};
}

/**
 * An objective in the table: four significant digits with their trailing zeros (0.2500 above 0.5375, as the UI's
 * table shows them), so the column compares by eye; the log's prose keeps formatNumber's short form.
 */
function formatObjective(value: number): string {
  return Number.isFinite(value) && !Number.isInteger(value) ? value.toPrecision(4) : String(value);
}

/**
 * Fixed columns (best mark, trial, state, epochs, objective, and the engine once a trial names one), then the
 * parameters, cut with `…` so no line is wider than `maxWidth`.
 */
export function renderTrialTable(table: SweepTrialTable, maxWidth = 100): string {
  const metric = table.metric ?? 'objective';
  const counts = new Map<TrialState, number>();
  for (const row of table.rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const tally = [...counts.entries()].map(([state, count]) => `${count} ${trialStateLabel(state)}`).join(', ');
  const source = table.fromRunId ? ` (cached: the sweep of run ${table.fromRunId})` : '';
  const partial = table.partial ? ` (PARTIAL: sweep ${table.outcome ?? 'ended'})` : '';
  const header = `trials of ${table.stageId}${source}${partial}: ${tally || 'none yet'}`;
  // The objective's column says which way is better: ↑ maximize, ↓ minimize.
  const title = `${metric}${table.goal === 'maximize' ? ' ↑' : table.goal === 'minimize' ? ' ↓' : ''}`;
  const withEngine = table.rows.some((row) => row.engine !== undefined);
  const columns: readonly TableColumn[] = [
    { title: '' },
    { title: 'trial', align: 'right', minWidth: 5, separator: ' ' },
    { title: 'state', minWidth: 9 },
    { title: 'epochs', align: 'right' },
    { title: clipToWidth(title, 24), align: 'right', minWidth: 9 },
    ...(withEngine ? [{ title: 'engine' }] : []),
    { title: 'params' },
  ];
  const rows = table.rows.map((row) => [
    row.best ? '*' : ' ',
    String(row.trialId),
    row.state,
    String(row.epochs),
    row.objective !== undefined ? formatObjective(row.objective) : '-',
    ...(withEngine ? [row.engine ?? '-'] : []),
    row.state === 'failed' && row.error !== undefined
      ? `${formatParams(row.params)}  error: ${row.error}`
      : formatParams(row.params),
  ]);
  const lines = [clipToWidth(header, maxWidth)];
  if (table.warmStart !== undefined) lines.push(clipToWidth(table.warmStart, maxWidth));
  const rendered = renderTable(columns, rows, { maxWidth });
  lines.push(...rendered);
  if (table.bestTrialId !== undefined) lines.push(clipToWidth(`* best trial ${table.bestTrialId}`, maxWidth));
  lines.push(...clippedErrors(table.rows, renderTable(columns, rows), rendered, maxWidth));
  for (const row of table.rows)
    if (row.note !== undefined)
      lines.push(...wrapAtSpaces(`trial ${row.trialId} ${row.state}: ${row.note}`, maxWidth, '    '));
  return lines.join('\n');
}

/**
 * A failed trial's error cut by the table's width (a timed-out trial's says which timeout and what to do), whole
 * under the table, wrapped.
 */
function clippedErrors(
  rows: readonly TrialTableRow[],
  whole: readonly string[],
  clipped: readonly string[],
  maxWidth: number,
): string[] {
  // Both renderings start with the header line.
  return rows.flatMap((row, index) =>
    row.state === 'failed' && row.error !== undefined && whole[index + 1] !== clipped[index + 1]
      ? wrapAtSpaces(`trial ${row.trialId} failed: ${row.error}`, maxWidth, '    ')
      : [],
  );
}
