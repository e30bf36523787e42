/**
 * Workflows of the orchestration benchmark: Fineflow's own `pipelineRun` next to the
 * hand-written baseline a Temporal user would write for the same DAG: a loop awaiting one
 * activity at a time (chain) or one Promise.all (fan-out), calling the same stage activity.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';

export * from '../workflows';

export interface HandWrittenInput {
  readonly shape: 'chain' | 'fan-out';
  readonly stages: number;
  /** Activity type to call (the same one the Fineflow plan's stages use). */
  readonly activityType: string;
  /** Task queue of the stage activity (the same pool Fineflow's stages use). */
  readonly taskQueue: string;
  readonly runId: string;
  readonly bucket: string;
  /** Start-to-close timeout of each activity, as the Fineflow plan's stages have it (default 10 s). */
  readonly timeoutMs?: number;
}

export async function handWrittenPipeline(input: HandWrittenInput): Promise<number> {
  const activities = proxyActivities<Record<string, (i: StageActivityInput) => Promise<StageActivityResult>>>({
    taskQueue: input.taskQueue,
    // Same options as the benchmark plan's stages (STAGE_TIMEOUT_MS, 3 attempts, 100 ms apart).
    startToCloseTimeout: input.timeoutMs ?? 10_000,
    retry: { maximumAttempts: 3, initialInterval: 100, backoffCoefficient: 1, maximumInterval: 100 },
  });
  const noop = activities[input.activityType];
  if (!noop) throw new Error(`no ${input.activityType} activity`);
  const call = (index: number): Promise<StageActivityResult> =>
    noop({
      context: {
        runId: input.runId,
        pipeline: 'hand-written',
        stageId: `s${index}`,
        attempt: 1,
        outputPrefix: `s3://${input.bucket}/runs/${input.runId}/s${index}/`,
        bucket: input.bucket,
        trigger: { kind: 'manual' },
      },
      inputs: { index },
    });
  if (input.shape === 'chain') {
    for (let index = 0; index < input.stages; index++) await call(index);
  } else {
    await Promise.all(Array.from({ length: input.stages }, (_, index) => call(index)));
  }
  return input.stages;
}
