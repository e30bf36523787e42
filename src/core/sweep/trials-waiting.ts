/**
 * Running or waiting for a worker: the controller counts every trial it started and has not ended as `running`, but
 * with more trials than free worker slots (`parallelism: 2` on a pool of one slot) some of those only sit in the
 * pool's task queue. The sweep workflow hears when a worker takes a trial's activity (its `sweepTrialStarted` signal),
 * and the counts it shows split the two: `(1 running, 1 waiting for a worker, …)`. A sweep draining toward
 * continue-as-new also holds trials with no activity: `1 resuming after continue-as-new`.
 * Pure: bundled into the sweep workflow and unit-tested without Temporal.
 */
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
  const waiting = counts.waitingForWorker ?? 0;
  const resuming = counts.resuming ?? 0;
  return (
    `trials ${counts.completed + counts.stopped + counts.failed}/${counts.maxTrials} done ` +
    `(${counts.running} running, ${waiting > 0 ? `${waiting} waiting for a worker, ` : ''}` +
    `${resuming > 0 ? `${resuming} resuming after continue-as-new, ` : ''}` +
    `${counts.stopped} pruned, ${counts.failed} failed)` +
    (counts.bestValue !== undefined
      ? ` best ${metric}=${Number(counts.bestValue.toPrecision(4))} (trial ${counts.bestTrialId})`
      : '')
  );
}
