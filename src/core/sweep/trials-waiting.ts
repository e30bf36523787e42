/**
 * Running or waiting for a worker: the controller counts every trial it started and has not ended as `running`, but
 * with more trials than free worker slots (`parallelism: 2` on a pool of one slot) some of those only sit in the
 * pool's task queue. The sweep workflow hears when a worker takes a trial's activity (its `sweepTrialStarted` signal),
 * and the counts it shows split the two: `(1 running, 1 waiting for a worker, …)`.
 * Pure: bundled into the sweep workflow and unit-tested without Temporal.
 */
import type { SweepProgress } from './sweep-state';
import type { ShownSweepProgress } from './sweep-types';

/**
 * The controller's counts with the trials no worker holds yet moved out of `running` into `waitingForWorker`;
 * `waiting` undefined (a sweep recorded before the split) leaves them as they were.
 */
export function splitWaitingTrials(progress: SweepProgress, waiting: number | undefined): ShownSweepProgress {
  if (waiting === undefined) return progress;
  const queued = Math.min(Math.max(0, waiting), progress.running);
  return { ...progress, running: progress.running - queued, waitingForWorker: queued };
}

/**
 * The stage's progress line for `status`, `--watch` and the UI:
 * `trials 3/8 done (1 running, 1 waiting for a worker, …)`.
 */
export function sweepProgressMessage(counts: ShownSweepProgress, metric: string): string {
  const waiting = counts.waitingForWorker ?? 0;
  return (
    `trials ${counts.completed + counts.stopped + counts.failed}/${counts.maxTrials} done ` +
    `(${counts.running} running, ${waiting > 0 ? `${waiting} waiting for a worker, ` : ''}` +
    `${counts.stopped} pruned, ${counts.failed} failed)` +
    (counts.bestValue !== undefined
      ? ` best ${metric}=${Number(counts.bestValue.toPrecision(4))} (trial ${counts.bestTrialId})`
      : '')
  );
}
