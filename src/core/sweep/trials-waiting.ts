/**
 * Running or waiting for a worker: the controller counts every trial it started and has not ended as `running`, but
 * with more trials than free worker slots (`parallelism: 2` on a pool of one slot) some of those only sit in the
 * pool's task queue. The sweep workflow hears when a worker takes a trial's activity (its `sweepTrialStarted` signal),
 * and the counts it shows split the two: `(1 running, 1 waiting for a worker, …)`. A sweep draining toward
 * continue-as-new also holds trials with no activity: `1 resuming after continue-as-new`. What only Temporal knows (a
 * trial whose worker died is `retrying`, one whose heartbeat is overdue `unresponsive`: src/client/trial-attempts.ts)
 * is counted by the readers that know it, {@link sweepStageProgress}, so the line says what the trial table says.
 * Pure: bundled into the sweep workflow and the web app, and unit-tested without Temporal.
 */
import type { JsonObject } from '../spec/plan-types';
import type { StageProgress } from '../run/run-types';
import type { SweepProgress } from './sweep-state';
import type { ShownSweepProgress } from './sweep-types';

/**
 * The controller's counts with the trials no worker holds yet moved out of `running` into `waitingForWorker`, and
 * those with no activity at all (a sweep about to continue as new starts no segment: a trial whose segment ended
 * waits for the next execution) into `resuming`. `waiting` undefined (a sweep recorded before the split) leaves the
 * queued ones counted as running.
 */
export function splitWaitingTrials(
  progress: SweepProgress,
  waiting: number | undefined,
  resuming = 0,
): ShownSweepProgress {
  const idle = Math.min(Math.max(0, resuming), progress.running);
  const afterIdle = idle > 0 ? { ...progress, running: progress.running - idle, resuming: idle } : progress;
  if (waiting === undefined) return afterIdle;
  const queued = Math.min(Math.max(0, waiting), afterIdle.running);
  return { ...afterIdle, running: afterIdle.running - queued, waitingForWorker: queued };
}

/**
 * The stage's progress line for `status`, `--watch` and the UI:
 * `trials 3/8 done (1 running, 1 waiting for a worker, …)`.
 */
export function sweepProgressMessage(counts: ShownSweepProgress, metric: string): string {
  const optional = (count: number | undefined, label: string): string =>
    count !== undefined && count > 0 ? `${count} ${label}, ` : '';
  return (
    `trials ${counts.completed + counts.stopped + counts.failed}/${counts.maxTrials} done ` +
    `(${counts.running} running, ${optional(counts.retrying, 'retrying')}` +
    `${optional(counts.unresponsive, 'unresponsive')}${optional(counts.waitingForWorker, 'waiting for a worker')}` +
    `${optional(counts.resuming, 'resuming after continue-as-new')}` +
    `${counts.stopped} pruned, ${counts.failed} failed)` +
    (counts.bestValue !== undefined
      ? ` best ${metric}=${Number(counts.bestValue.toPrecision(4))} (trial ${counts.bestTrialId})`
      : '')
  );
}

/** Live trials whose activity Temporal reads otherwise than the sweep (the trial table's states of the same names). */
export interface TrialAttemptCounts {
  /** Its attempt ended (worker lost, crash) and the next one waits for its backoff or a worker. */
  readonly retrying: number;
  /** A worker holds its attempt, but no heartbeat came for a while. */
  readonly unresponsive: number;
}

/**
 * The sweep's counts with the trials Temporal retries or hears nothing from moved out of `running` (then, should the
 * sweep still count one queued, out of `waitingForWorker`): the sweep hears of an attempt only when it starts and ends.
 */
export function withTrialAttemptCounts(counts: ShownSweepProgress, attempts: TrialAttemptCounts): ShownSweepProgress {
  let running = counts.running;
  let waiting = counts.waitingForWorker ?? 0;
  const take = (wanted: number): number => {
    const fromRunning = Math.min(Math.max(0, wanted), running);
    const fromWaiting = Math.min(Math.max(0, wanted) - fromRunning, waiting);
    running -= fromRunning;
    waiting -= fromWaiting;
    return fromRunning + fromWaiting;
  };
  const unresponsive = take(attempts.unresponsive);
  const retrying = take(attempts.retrying);
  if (unresponsive + retrying === 0) return counts;
  return {
    ...counts,
    running,
    ...(counts.waitingForWorker !== undefined ? { waitingForWorker: waiting } : {}),
    ...(retrying > 0 ? { retrying } : {}),
    ...(unresponsive > 0 ? { unresponsive } : {}),
  };
}

/** What {@link sweepStageProgress} reads of a sweep stage's trial table (the client's, or the UI's copy of it). */
export interface TrialTableCounts {
  /** `live`: read from the running sweep, the only one whose rows carry Temporal's reading. */
  readonly source: string;
  readonly outcome?: string;
  readonly metric?: string;
  readonly rows: readonly { readonly state: string }[];
}

/**
 * A running sweep stage's progress as its trial table reads it: the line the sweep sent its run counts a trial whose
 * worker died as `running`; with the table's `retrying` and `unresponsive` rows it says `0 running, 1 retrying`.
 * Progress of another shape (not a sweep's counts), or a table with no such row, is returned as it is.
 */
export function sweepStageProgress(progress: StageProgress, table: TrialTableCounts | undefined): StageProgress {
  if (!table || table.source !== 'live' || table.outcome !== undefined) return progress;
  const attempts: TrialAttemptCounts = {
    retrying: table.rows.filter((row) => row.state === 'retrying').length,
    unresponsive: table.rows.filter((row) => row.state === 'unresponsive').length,
  };
  const counts = shownCounts(progress.detail);
  if (!counts || attempts.retrying + attempts.unresponsive === 0) return progress;
  const shown = withTrialAttemptCounts(counts, attempts);
  if (shown === counts) return progress;
  return {
    ...progress,
    message: sweepProgressMessage(shown, table.metric ?? 'objective'),
    detail: { ...progress.detail, ...shown } as JsonObject,
  };
}

const COUNT_FIELDS = ['started', 'running', 'completed', 'stopped', 'failed', 'maxTrials'] as const;

/** A sweep's counts from a stage's progress detail (any stage's: checked, never cast blind); else undefined. */
function shownCounts(detail: JsonObject | undefined): ShownSweepProgress | undefined {
  if (!detail) return undefined;
  const isCount = (value: unknown): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (!COUNT_FIELDS.every((field) => isCount(detail[field]))) return undefined;
  for (const field of ['waitingForWorker', 'resuming', 'paused', 'bestTrialId'] as const)
    if (detail[field] !== undefined && !isCount(detail[field])) return undefined;
  if (detail.bestValue !== undefined && typeof detail.bestValue !== 'number') return undefined;
  return detail as unknown as ShownSweepProgress;
}
