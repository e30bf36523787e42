/**
 * A trial's segment ends when its child reports the segment's last epoch, but on a busy worker the abort can land
 * after the child trained further. With keepLast (2) pruning the older checkpoints, the one the paused trial later
 * resumes from was removed, and the next segment failed with "the checkpoint of epoch N to resume from is missing"
 * (seen in a `pipelines/sweep.yaml` run under load). The real `sweepTrialSegment` on the pure-JS backend, with a
 * training runner whose abort lands three epochs late, must leave the next segment its start.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import type { SweepTrialSegmentInput, SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import { listCheckpointEpochs } from '../../../src/ml/train/checkpoint';
import { trialPrefix } from '../../../src/core/sweep/sweep-plan';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { stageContext } from './helpers';
import { sweepTrialFixture } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let base: string;

before(async () => {
  ({ store, dataset, base } = await sweepTrialFixture('sweep-overshoot-base'));
});

test('a segment whose child trains past its end keeps the checkpoint the trial resumes from', async () => {
  const inProcess = inProcessTrainingRunner(store, { tfBackend: 'cpu' });
  // The abort lands late: the training goes on until epoch 4 of 6 before it stops, as a busy worker's child does.
  const late: TrainingRunner = (request, options) => {
    const landed = new AbortController();
    return inProcess(request, {
      ...options,
      signal: landed.signal,
      onProgress: (progress) => {
        options.onProgress?.(progress);
        if (options.signal?.aborted && progress.epoch >= 4) landed.abort(options.signal.reason);
      },
    });
  };
  const activities = createSweepTrialActivities({ store, runTraining: late, workerIdentity: 'unit' });
  const context = stageContext('sweep', { runId: 'sweep-overshoot' });
  const settings = { model: base, data: dataset, epochs: 6, batchSize: 8, learningRate: 0.01, seed: 3 };
  const segment = (fromEpoch: number, untilEpoch: number): SweepTrialSegmentInput => ({
    context,
    trialId: 9,
    fromEpoch,
    untilEpoch,
    metric: 'validation.accuracy',
    settings,
  });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });

  const first: SweepTrialSegmentResult = await env.run(activities.sweepTrialSegment, segment(0, 1));
  assert.equal(first.finished, false);
  assert.equal(first.epochsDone, 1);
  const epochs = await listCheckpointEpochs(store, `${trialPrefix(context.outputPrefix, 9)}checkpoints`);
  assert.ok(epochs.includes(4), `the child trained past the segment's end: ${epochs.join(', ')}`);
  assert.ok(epochs.includes(1), `the paused trial's checkpoint of epoch 1 is kept: ${epochs.join(', ')}`);

  const second: SweepTrialSegmentResult = await new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }).run(
    activities.sweepTrialSegment,
    segment(1, 2),
  );
  assert.equal(second.resumedFromEpoch, 1);
  assert.equal(second.epochsDone, 2);
});
