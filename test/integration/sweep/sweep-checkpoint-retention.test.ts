/**
 * A sweep's trials keep only the checkpoints a resume and the trial's best epoch need while the sweep runs
 * (`trial.checkpoint.keepLast`, default 2, plus the best epoch), on the real stack: before, every epoch of every
 * trial stayed under `trials/trial-NNNN/checkpoints/` until `fineflow gc`, so a long sweep filled the bucket.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/sweep/sweep-checkpoint-retention.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FineflowConfig } from '../../../src/config';
import { checkpointDirectory, listCheckpointEpochs } from '../../../src/ml/train/checkpoint';
import type { ObjectStore } from '../../../src/storage/object-store';
import { type SweepData, sweepTestStack } from './sweep-fixture';

let config: FineflowConfig;
let store: ObjectStore;
let data: SweepData;
const { suffix, startFileSweep } = sweepTestStack('retain', (stack) => ({ config, store, data } = stack));

interface TrialOutput {
  readonly trialId: number;
  readonly status: string;
  readonly epochs?: number;
}

/** The epochs each trial still has a checkpoint of, and the best epoch its newest checkpoint records. */
async function trialCheckpoints(runId: string, trialId: number) {
  const prefix = `s3://${config.s3.bucket}/runs/${runId}/sweep/trials/trial-${String(trialId).padStart(4, '0')}/checkpoints`;
  const epochs = await listCheckpointEpochs(store, prefix);
  const newest = epochs[0];
  const index =
    newest === undefined
      ? undefined
      : await store.getJson<{ state: { bestEpoch?: number } }>(
          `${checkpointDirectory(prefix, newest)}/checkpoint.json`,
        );
  return { epochs, bestEpoch: index?.state.bestEpoch };
}

async function runSweep(runId: string, inputs: Record<string, unknown>): Promise<readonly TrialOutput[]> {
  const sweep = await startFileSweep(runId, {
    model: data.baseModel,
    data: data.dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    ...inputs,
  } as never);
  const result = await sweep.result();
  return result.outputs.trials as unknown as readonly TrialOutput[];
}

test(
  'ASHA sweep: each trial keeps its newest two checkpoints and its best epoch, a paused trial its rung',
  { timeout: 300_000 },
  async () => {
    const runId = `sweep-retain-${suffix}`;
    const trials = await runSweep(runId, {
      algorithm: 'random',
      earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 },
      maxTrials: 3,
      parallelism: 2,
      seed: 5,
      space: { learningRate: { logUniform: [0.001, 0.05] } },
      trial: { epochs: 6, batchSize: 16, freeze: 'none', seed: 1 },
    });
    assert.equal(trials.length, 3);
    assert.ok(
      trials.some((trial) => trial.status === 'completed' && trial.epochs === 6),
      JSON.stringify(trials),
    );
    for (const trial of trials) {
      const { epochs, bestEpoch } = await trialCheckpoints(runId, trial.trialId);
      const last = trial.epochs ?? 0;
      // What a resume (or a promotion from a rung) needs: the checkpoint the trial ended on.
      assert.equal(epochs[0], last, `trial ${trial.trialId} keeps epoch ${last}: ${JSON.stringify(epochs)}`);
      const allowed = new Set([last, last - 1, ...(bestEpoch !== undefined ? [bestEpoch] : [])]);
      assert.ok(
        epochs.every((epoch) => allowed.has(epoch)),
        `trial ${trial.trialId} (${trial.status}, ${last} epochs, best ${bestEpoch}) keeps only ` +
          `${JSON.stringify([...allowed])}, found ${JSON.stringify(epochs)}`,
      );
      if (bestEpoch !== undefined) assert.ok(epochs.includes(bestEpoch), `trial ${trial.trialId} keeps its best epoch`);
      if (last >= 2) assert.ok(epochs.includes(last - 1), `trial ${trial.trialId} keeps epoch ${last - 1}`);
    }
  },
);

test(
  'trial.checkpoint.keepLast: 1 keeps the newest checkpoint and the best epoch only',
  { timeout: 300_000 },
  async () => {
    const runId = `sweep-retain1-${suffix}`;
    const trials = await runSweep(runId, {
      algorithm: 'random',
      maxTrials: 1,
      parallelism: 1,
      seed: 7,
      space: { learningRate: { fixed: 0.01 } },
      trial: { epochs: 5, batchSize: 16, freeze: 'none', seed: 1, checkpoint: { keepLast: 1 } },
    });
    const [trial] = trials;
    assert.equal(trial?.status, 'completed', JSON.stringify(trials));
    const { epochs, bestEpoch } = await trialCheckpoints(runId, trial.trialId);
    assert.deepEqual(
      epochs,
      [...new Set([5, ...(bestEpoch !== undefined ? [bestEpoch] : [])])].sort((a, b) => b - a),
      `best epoch ${bestEpoch}`,
    );
  },
);
