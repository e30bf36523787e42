/**
 * A sweep trial that trained on the eager engine says why in the sweep log, as fine-tune's stage log does: the real
 * `sweepTrialSegment` (MockActivityEnvironment, in-memory store) on the pure-JS backend, which has no graph runtime,
 * returns the fallback's reason, and the segment's log lines carry fine-tune's warning line for the trial.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import { segmentLines } from '../../../src/core/sweep/sweep-log';
import type { SweepTrialSegmentInput, SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';
import { engineFallbackWarning } from '../../../src/ml/graph/graph-addon';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { ResourceLedger } from '../../../src/worker/resource-ledger';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { stageContext } from './helpers';
import { sweepTrialFixture } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let base: string;

before(async () => {
  ({ store, dataset, base } = await sweepTrialFixture('sweep-engine-base'));
});

test('a trial trained on the eager engine gets the warning line with the reason in the sweep log', async () => {
  const input: SweepTrialSegmentInput = {
    context: stageContext('sweep', { runId: 'sweep-engine' }),
    trialId: 2,
    fromEpoch: 0,
    untilEpoch: 1,
    metric: 'validation.accuracy',
    settings: { model: base, data: dataset, epochs: 1, batchSize: 8, learningRate: 0.01, seed: 3 },
    resources: { cpu: 1 },
  };
  const activities = createSweepTrialActivities({
    store,
    runTraining: inProcessTrainingRunner(store, { tfBackend: 'cpu' }),
    resources: { acquire: async () => () => undefined } as unknown as ResourceLedger,
    workerIdentity: 'unit',
  });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  const result: SweepTrialSegmentResult = await env.run(activities.sweepTrialSegment, input);
  assert.equal(result.finished, true);
  assert.equal(result.engine, 'eager');
  const reason = 'the cpu backend has no graph runtime';
  assert.equal(result.engineFallbackReason, reason);
  const lines = segmentLines('validation.accuracy', 0, result);
  assert.match(lines.at(-2) ?? '', /^trial 2 segment epochs 1-1 ran on unit in .*, engine eager$/);
  assert.equal(lines.at(-1), `trial 2 ${engineFallbackWarning(reason)}`);
});

test('a segment that ends at a rung, before the trial finished, records its engine and why (a pruned trial’s only record)', async () => {
  const input: SweepTrialSegmentInput = {
    context: stageContext('sweep', { runId: 'sweep-engine-rung' }),
    trialId: 4,
    fromEpoch: 0,
    untilEpoch: 1,
    metric: 'validation.accuracy',
    settings: { model: base, data: dataset, epochs: 3, batchSize: 8, learningRate: 0.01, seed: 3 },
  };
  const activities = createSweepTrialActivities({
    store,
    runTraining: inProcessTrainingRunner(store, { tfBackend: 'cpu' }),
    workerIdentity: 'unit',
  });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  const result: SweepTrialSegmentResult = await env.run(activities.sweepTrialSegment, input);
  assert.equal(result.finished, false, 'stopped at the end of its segment');
  assert.equal(result.epochsDone, 1);
  const reason = 'the cpu backend has no graph runtime';
  assert.deepEqual([result.backend, result.engine, result.engineFallbackReason], ['cpu', 'eager', reason]);
  const lines = segmentLines('validation.accuracy', 0, result);
  assert.match(lines.at(-2) ?? '', /^trial 4 segment epochs 1-1 ran on unit in .*, backend cpu, engine eager$/);
  assert.equal(lines.at(-1), `trial 4 ${engineFallbackWarning(reason)}`);

  // A retry of a segment its previous attempt trained to the end (but did not return) trains nothing: it tells the
  // engine from that attempt's last heartbeat, and makes none up without one.
  const retry = async (heartbeatDetails: unknown): Promise<SweepTrialSegmentResult> =>
    new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000, attempt: 2, heartbeatDetails }).run(
      activities.sweepTrialSegment,
      input,
    );
  const again = await retry(beats.at(-1));
  assert.equal(again.finished, false);
  assert.deepEqual([again.backend, again.engine, again.engineFallbackReason], ['cpu', 'eager', reason]);
  const blind = await retry(undefined);
  assert.deepEqual([blind.epochsDone, blind.engine], [1, undefined]);
});
