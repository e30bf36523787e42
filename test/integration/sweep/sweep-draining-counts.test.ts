/**
 * A sweep draining toward continue-as-new starts no segment, so a trial whose segment ended has no activity until the
 * next execution starts it. Its counts say so: `1 running, 1 resuming after continue-as-new`, in the `sweepState`
 * query and the trial table (`resuming`). Before, the controller's `running` counted it (`2 running`) though only one
 * trial trained. The second trial's first segment is held by the test's training runner until the test has read the
 * counts, so the window is awaited, not timed. Real Temporal dev server and MinIO; training in-process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import { trialTableFromStatus } from '../../../src/client/sweep-trial-table';
import { SWEEP_QUERIES, type SweepStatus } from '../../../src/core/sweep/sweep-types';
import type { ObjectStore } from '../../../src/storage/object-store';
import { sweepTestStack, type SweepData } from './sweep-fixture';

let client: Client;
let data: SweepData;

/** Trial 1's first segment waits for `release()`; everything else trains as a worker would. */
let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => {
  release = resolve;
});
let held = false;
function holdingTrialOne(store: ObjectStore): TrainingRunner {
  const train = inProcessTrainingRunner(store);
  return async (request, options) => {
    if (!held && request.outputUri.includes('trial-0001')) {
      held = true;
      await released;
    }
    return train(request, options);
  };
}

const { suffix, startFileSweep } = sweepTestStack('draining', (stack) => ({ client, data } = stack), holdingTrialOne);

test(
  'a trial with no activity while the sweep drains counts as resuming, not running',
  { timeout: 240_000 },
  async () => {
    const sweep = await startFileSweep(
      `sweep-draining-${suffix}`,
      {
        model: data.baseModel,
        data: data.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        trial: { epochs: 3, batchSize: 16, freeze: 'none', seed: 1 },
        algorithm: 'grid',
        maxTrials: 2,
        parallelism: 2,
        space: { learningRate: { choice: [0.01, 0.02] } },
        // One segment per epoch, so trial 0 ends a segment and waits for the next one.
        earlyStopping: { type: 'median', warmupEpochs: 0 },
      },
      // The first change past this many events drains the execution: trial 0's first segment ends into it.
      { continueAsNewAfterEvents: 1 },
    );
    const handle = client.workflow.getHandle(sweep.workflowId);
    let live: SweepStatus | undefined;
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        live = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
        if (live.progress.resuming !== undefined || live.progress.completed > 0) break;
        if (Date.now() > deadline) throw new Error(`no trial ever read resuming: ${JSON.stringify(live.progress)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      release();
    }
    assert.equal(live.progress.resuming, 1, JSON.stringify(live.progress));
    assert.equal(live.progress.running + (live.progress.waitingForWorker ?? 0), 1, JSON.stringify(live.progress));
    const table = trialTableFromStatus('sweep', live);
    assert.deepEqual(
      table.rows.map((row) => row.state),
      ['resuming', live.progress.running === 1 ? 'running' : 'waiting'],
    );
    const result = await sweep.result();
    assert.equal((result.outputs.trials as unknown[]).length, 2);
  },
);
