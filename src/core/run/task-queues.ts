/**
 * Task-queue naming, in one place: a pool `P` polls `fineflow-P`. The `control` pool also
 * runs the workflows (pipeline runs, sweeps, data watchers).
 */
export const CONTROL_POOL = 'control';

export function taskQueueForPool(pool: string): string {
  return `fineflow-${pool}`;
}

/** The pool a `fineflow-P` task queue belongs to; undefined for a queue Fineflow did not name. */
export function poolOfTaskQueue(taskQueue: string): string | undefined {
  const prefix = taskQueueForPool('');
  return taskQueue.startsWith(prefix) && taskQueue.length > prefix.length ? taskQueue.slice(prefix.length) : undefined;
}
