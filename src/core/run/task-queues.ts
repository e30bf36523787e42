/**
 * Task-queue naming, in one place: a pool `P` polls `fineflow-P`. The `control` pool also
 * runs the workflows (pipeline runs, sweeps, data watchers).
 */
export const CONTROL_POOL = 'control';

export function taskQueueForPool(pool: string): string {
  return `fineflow-${pool}`;
}
