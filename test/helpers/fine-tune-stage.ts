/**
 * The fine-tune stage the retry tests on the real stack run (base-pin-new-activity, progress-detail-retry): the
 * production `fine-tune` type training two short epochs on `registry://NAME@latest` with a checkpoint after each, so
 * that a failed attempt leaves a pinned base version and a checkpoint for the next attempt to resume from.
 */
import type { PlannedStage } from '../../src/core/spec/plan-types';
import type { StageSketch } from '../fixtures/runtime/plans';

export interface CheckpointedFineTune {
  /** The worker pool that runs the stage. */
  readonly pool: string;
  /** The registry name whose `latest` version is the base. */
  readonly baseModel: string;
  /** The dataset manifest's URI. */
  readonly dataset: string;
}

/** Stage `finetune`; `overrides` (retry, heartbeat timeout, onFailure …) replace the defaults whole. */
export function checkpointedFineTuneStage(
  { pool, baseModel, dataset }: CheckpointedFineTune,
  overrides: Partial<PlannedStage> = {},
): StageSketch {
  return {
    id: 'finetune',
    uses: 'fine-tune',
    pool,
    with: {
      model: `registry://${baseModel}@latest`,
      data: dataset,
      epochs: 2,
      batchSize: 16,
      freeze: 'none',
      seed: 1,
      checkpoint: { everyEpochs: 1, keepLast: 2 },
    },
    timeoutMs: 120_000,
    ...overrides,
  };
}
