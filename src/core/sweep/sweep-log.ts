/**
 * Lines of a sweep stage's log (`fineflow logs RUN --stage S`): what each trial did, in words.
 *
 * The `hyperparameterSweep` workflow is the log's only writer: it learns everything a line says
 * (a segment's params and epochs, its per-epoch metrics, the early-stopping verdict, the final
 * objective, backend and engine) when the segment's activity returns, and it appends the lines
 * through one `appendSweepLog` activity at a time. Trial segments run concurrently on many
 * workers, but no two writers ever touch the object, so lines never interleave or clobber.
 * The log lives where every stage's log lives, as chunks (`runs/<runId>/<stage>/logs/attempt-<n>/<line>.log`),
 * so `fineflow logs` and `--follow` read it like any other.
 *
 * Pure and deterministic: workflow code imports it.
 */
import { engineFallbackWarning } from '../run/engine-fallback';
import type { JsonObject, JsonValue } from '../spec/plan-types';
import { formatHumanDuration } from '../spec/durations';
import type { SweepTrialSegmentResult, TrialEpochReport } from './sweep-types';

/** `2026-11-26T19:40:00.000Z text`: the same shape as the stage runner's log lines. */
export function stampLine(atMs: number, text: string): string {
  return `${new Date(atMs).toISOString()} ${text.replace(/\n+/g, ' ')}`;
}

/** A number short enough to read: four significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** `learningRate=0.001 batchSize=32`, keys sorted so the same trial always reads the same. */
export function formatParams(params: JsonObject): string {
  const entries = Object.keys(params)
    .sort()
    .map((name) => `${name}=${formatValue(params[name] ?? null)}`);
  return entries.length > 0 ? entries.join(' ') : '(no parameters)';
}

function formatValue(value: JsonValue): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string') return /^[\w.:@/-]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/** The sweep's first line: how it searches. */
export function sweepStartedLine(summary: {
  readonly algorithm: string;
  readonly earlyStopping: string;
  readonly maxTrials: number;
  readonly parallelism: number;
  readonly metric: string;
  readonly goal: string;
  readonly epochsPerTrial: number;
  readonly generation: number;
}): string {
  if (summary.generation > 0)
    return `sweep continues as new (run ${summary.generation + 1} of this workflow); finished trials are kept`;
  return `sweep started: ${summary.algorithm} search, ${summary.earlyStopping === 'none' ? 'no early stopping' : `${summary.earlyStopping} early stopping`}, up to ${summary.maxTrials} trials, ${summary.parallelism} at a time, ${summary.goal} ${summary.metric}, ${summary.epochsPerTrial} epochs per trial`;
}

/** A segment is scheduled: the first one of a trial names its parameters. */
export function segmentStartedLine(trialId: number, params: JsonObject, fromEpoch: number, untilEpoch: number): string {
  if (fromEpoch === 0) return `trial ${trialId} started with ${formatParams(params)}; training epochs 1-${untilEpoch}`;
  return `trial ${trialId} continues from the checkpoint of epoch ${fromEpoch}; training epochs ${fromEpoch + 1}-${untilEpoch}`;
}

/**
 * One line per epoch the segment trained, then where it ran (and whether a retry resumed), then why it trained on the
 * eager engine when it did.
 */
export function segmentLines(metric: string, fromEpoch: number, result: SweepTrialSegmentResult): string[] {
  const lines = result.reports.map((report) => epochLine(result.trialId, metric, report));
  // A retried segment's log otherwise shows only that it resumed, not why the attempt before it never returned.
  if (result.previousAttempt !== undefined)
    lines.unshift(
      `trial ${result.trialId} segment epochs ${fromEpoch + 1}-${result.epochsDone}: ${result.previousAttempt}`,
    );
  const where = `on ${result.worker}${result.attempt > 1 ? ` (attempt ${result.attempt}, resumed from epoch ${result.resumedFromEpoch})` : ''}`;
  const engine =
    result.backend !== undefined
      ? `, backend ${result.backend}${result.engine !== undefined ? `, engine ${result.engine}` : ''}`
      : '';
  lines.push(
    `trial ${result.trialId} segment epochs ${fromEpoch + 1}-${result.epochsDone} ran ${where} in ${formatHumanDuration(Math.max(0, result.endedAtMs - result.startedAtMs))}${engine}`,
  );
  // As fine-tune's stage log: a slower engine is never silent, and the reason names the fix.
  if (result.engine === 'eager' && result.engineFallbackReason !== undefined)
    lines.push(`trial ${result.trialId} ${engineFallbackWarning(result.engineFallbackReason)}`);
  return lines;
}

export function epochLine(trialId: number, metric: string, report: TrialEpochReport): string {
  const { trainLoss, trainAccuracy, validationLoss, validationAccuracy } = report.metrics;
  const validation =
    validationLoss !== undefined || validationAccuracy !== undefined
      ? `, validation loss ${optional(validationLoss)} accuracy ${optional(validationAccuracy)}`
      : '';
  return `trial ${trialId} epoch ${report.epoch}: ${metric}=${formatNumber(report.value)} (train loss ${formatNumber(trainLoss)} accuracy ${formatNumber(trainAccuracy)}${validation})`;
}

/** Early stopping ended the trial: when and the rule's reason. */
export function prunedLine(trialId: number, epoch: number, reason: string): string {
  return `trial ${trialId} pruned at epoch ${epoch}: ${reason}`;
}

/** Rung audit (`auditEvery`): the trial is below a rung's cut but trains on, to check the rung. */
export function auditedLine(trialId: number, epoch: number, reason: string): string {
  return `trial ${trialId} continues at epoch ${epoch} as an audit: ${reason}`;
}

/** Promotion-based ASHA: the trial waits at a rung (its checkpoint kept) until it is promoted. */
export function pausedLine(trialId: number, epoch: number, reason: string): string {
  return `trial ${trialId} paused at epoch ${epoch}: ${reason}`;
}

/** Promotion-based ASHA: a paused trial resumes; the segment's own line says from which checkpoint. */
export function promotedLine(trialId: number, reason: string): string {
  return `trial ${trialId} ${reason}`;
}

export function finishedLine(
  trialId: number,
  metric: string,
  value: number,
  epochs: number,
  result: Pick<SweepTrialSegmentResult, 'backend' | 'engine'>,
): string {
  const how = [
    result.backend !== undefined ? `backend ${result.backend}` : undefined,
    result.engine !== undefined ? `engine ${result.engine}` : undefined,
  ].filter((part) => part !== undefined);
  return `trial ${trialId} finished with ${metric}=${formatNumber(value)} after ${epochs} epoch(s)${how.length > 0 ? ` (${how.join(', ')})` : ''}`;
}

export function failedLine(trialId: number, error: string): string {
  return `trial ${trialId} failed: ${error}`;
}

/** The sweep ended: counts, the winner and where the results are. */
export function sweepEndedLine(
  outcome: 'completed' | 'cancelled' | 'failed',
  summary: string,
  results: string | undefined,
  winner?: { readonly trialId: number; readonly value: number; readonly metric: string },
): string {
  const best = winner ? `; best trial ${winner.trialId} with ${winner.metric}=${formatNumber(winner.value)}` : '';
  const where = results !== undefined ? `; results in ${results}${outcome === 'completed' ? '' : ' (partial)'}` : '';
  return `sweep ${outcome}: ${summary}${best}${where}`;
}

function optional(value: number | undefined): string {
  return value === undefined ? '-' : formatNumber(value);
}
