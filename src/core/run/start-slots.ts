/**
 * How many stages one pass of the run's scheduler may start: the pipeline's `parallelism:` slots
 * left, and at most STAGE_START_BATCH per workflow task. Starting a 1,000-wide fan-out in one
 * activation issues 1,000 commands in one workflow task; on a loaded control worker that activation
 * outlived the SDK's activation limit and the run's task timeout, and each retry began from scratch
 * (docs/operations.md, "Scale"). With the batch, the rest start in the next workflow task.
 * Workflow-safe and pure: the workflow passes `patched()` as `batched`.
 */

/** Stages (fan-out instances, sweeps, sub-pipelines) started in one workflow task at most. */
export const STAGE_START_BATCH = 100;

/**
 * patched(): runs recorded before this started every ready stage in one workflow task. Its marker in an execution's
 * history tells a reader without a worker (src/core/run/unrecorded-decisions.ts) that the execution's passes were
 * batched.
 */
export const START_BATCH_PATCH = 'fineflow-17-start-batch';

/** The timer (ms) a pass that left ready stages for the next task sleeps: that task is the batch turn. */
export const BATCH_TURN_MS = 1;

export interface StartSlots {
  /** Take a slot for one stage start; false when parallelism or the batch says wait. */
  take(): boolean;
  /** True once a stage stayed pending only because this task's batch was used up. */
  readonly deferred: boolean;
}

/**
 * `parallelismLeft`: slots under the pipeline's `parallelism` (Infinity without one).
 * `batched`: asked once, the first time the batch runs out (runs recorded before batching replay
 * with false and start every ready stage in one task, as they did).
 */
export function startSlots(parallelismLeft: number, batched: () => boolean, batch = STAGE_START_BATCH): StartSlots {
  let left = parallelismLeft;
  let batchLeft = batch;
  let limited: boolean | undefined;
  let deferred = false;
  return {
    take(): boolean {
      if (left <= 0) return false;
      if (batchLeft <= 0) {
        limited ??= batched();
        if (limited) {
          deferred = true;
          return false;
        }
      }
      left -= 1;
      batchLeft -= 1;
      return true;
    },
    get deferred(): boolean {
      return deferred;
    },
  };
}
