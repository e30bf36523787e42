/**
 * Sweep trial segments under the attempt fence (activities/trial-fence.ts): each segment attempt claims its trial's
 * prefix, in an order no stale attempt beats (sweep attempt, then the segment's first epoch, then its Temporal
 * attempt), and its training child writes nothing once a newer one claimed. The real `sweepTrialSegment` on the
 * pure-JS backend, training in-process exactly as the child does (its store through `fencedTrainingStore`).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import { claimTrialSegment, segmentAttemptOf, segmentClaimOrder } from '../../../activities/trial-fence';
import { stageOwnerUri } from '../../../activities/attempt-fence';
import { trialPrefix } from '../../../src/core/sweep/sweep-plan';
import type { SweepTrialSegmentInput } from '../../../src/core/sweep/sweep-types';
import { trainModel } from '../../../src/ml/train/fine-tune';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import { fencedTrainingStore } from '../../../src/ml/train/training-fence';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { stageContext } from './helpers';
import { sweepTrialFixture } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let base: string;

before(async () => {
  ({ store, dataset, base } = await sweepTrialFixture('sweep-fence-base'));
});

test('the rule: a later sweep attempt, then a later segment, then a later attempt of it owns the trial', () => {
  const order = (stageAttempt: number, fromEpoch: number, attempt: number): number =>
    segmentClaimOrder({ stageAttempt, fromEpoch, attempt });
  const ascending = [order(1, 0, 1), order(1, 0, 3), order(1, 2, 1), order(1, 2, 2), order(1, 900, 1), order(2, 0, 1)];
  assert.deepEqual(
    [...ascending].sort((a, b) => a - b),
    ascending,
  );
  assert.equal(new Set(ascending).size, ascending.length);
  assert.deepEqual(segmentAttemptOf(order(3, 17, 4)), { stageAttempt: 3, fromEpoch: 17, attempt: 4 });
  assert.ok(Number.isSafeInteger(order(2 ** 30, 2 ** 20, 2 ** 20)), 'out-of-range parts are capped, never unsafe');
});

/** Every object under `prefix` but the claim, with the sha256 of its bytes. */
async function snapshot(prefix: string): Promise<Record<string, string>> {
  const entries: [string, string][] = [];
  for (const uri of store.uris()) {
    if (!uri.startsWith(prefix) || uri === stageOwnerUri(prefix)) continue;
    entries.push([
      uri,
      createHash('sha256')
        .update(await store.getBytes(uri))
        .digest('hex'),
    ]);
  }
  return Object.fromEntries(entries);
}

test('a segment attempt superseded while it trains writes no more of the trial, and ends cancelled', async () => {
  const context = stageContext('sweep', { runId: 'sweep-fence' });
  const input: SweepTrialSegmentInput = {
    context,
    trialId: 4,
    fromEpoch: 0,
    untilEpoch: 4,
    metric: 'validation.accuracy',
    settings: { model: base, data: dataset, epochs: 4, batchSize: 8, learningRate: 0.01, seed: 3 },
  };
  const prefix = trialPrefix(context.outputPrefix, 4);
  let retryWrote: Record<string, string> | undefined;
  // Attempt 1's training, as the child runs it. After its first epoch, the retry Temporal started when it gave
  // attempt 1 up claims the trial and writes its own checkpoint.
  const runTraining: TrainingRunner = (request, options) =>
    trainModel(
      fencedTrainingStore(store, options.fence, () => undefined),
      { ...request, tfBackend: 'cpu' },
      {
        onEpoch: async (progress) => {
          options.onProgress?.(progress);
          if (progress.epoch !== 1) return;
          await claimTrialSegment(store, input, 2, () => undefined);
          await store.putJson(`${prefix}checkpoints/epoch-0002/checkpoint.json`, { by: 'attempt 2' });
          retryWrote = await snapshot(prefix);
        },
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  const activities = createSweepTrialActivities({ store, runTraining, workerIdentity: 'unit' });
  const warnings: string[] = [];
  const logger = new DefaultLogger('WARN', (entry) => warnings.push(entry.message));
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger });
  await assert.rejects(env.run(activities.sweepTrialSegment, input), (thrown: unknown) => {
    assert.ok(thrown instanceof ApplicationFailure, String(thrown));
    assert.equal(thrown.type, 'FineflowCancelled');
    assert.match(
      thrown.message,
      /^trial 4 segment from epoch 0, attempt 1 did not write s3:\/\/\S+\/checkpoints\/epoch-0002\/\S+: trial 4 segment from epoch 0, attempt 2 owns the trial's outputs now/,
    );
    return true;
  });
  assert.ok(retryWrote, 'the retry claimed after epoch 1');
  assert.deepEqual(await snapshot(prefix), retryWrote, "attempt 1 wrote nothing over the retry's checkpoints");
  assert.ok(
    warnings.some((line) => /^trial 4 segment from epoch 0, attempt 1 did not write /.test(line)),
    warnings.join('\n'),
  );

  // A stale attempt of the trial's first segment, started after the next segment claimed, is refused at once.
  await claimTrialSegment(store, { ...input, fromEpoch: 2 }, 1, () => undefined);
  await assert.rejects(
    new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000, attempt: 3 }, { logger }).run(
      activities.sweepTrialSegment,
      input,
    ),
    /attempt 3 did not start training: trial 4 segment from epoch 2, attempt 1 owns the trial's outputs now/,
  );
});
