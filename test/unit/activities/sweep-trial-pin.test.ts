/**
 * A sweep trial's pinned base model survives short-lived attempts (activities/segment-heartbeat.ts,
 * activities/sweep-trial.ts): the pure carry rule, then the real `sweepTrialSegment` through three attempts in
 * MockActivityEnvironment on the in-memory store, where the second attempt dies during set-up after one timer beat.
 * Temporal hands each retry the last beat the attempt before it sent, which is what the test passes on.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import { firstSegmentHeartbeat, type SegmentHeartbeat } from '../../../activities/segment-heartbeat';
import { heartbeatIntervalMs } from '../../../activities/heartbeat-loop';
import { DependencyUnavailableError } from '../../../src/core/errors';
import type { SweepTrialSegmentInput, SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import type { ResourceLedger } from '../../../src/worker/resource-ledger';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { stageContext } from './helpers';
import { registeredBase, sweepTrialFixture } from './fixtures';
import { captureActivityLogs } from '../../helpers/activity-logs';

const segment = { trialId: 3, fromEpoch: 0, untilEpoch: 2 };

test('an attempt starts from the previous attempt’s pin and checkpoint hint, and from nothing else', () => {
  const previous: SegmentHeartbeat = {
    ...segment,
    epochsDone: 1,
    baseModel: 'registry://m@4',
    checkpoint: 's3://b/runs/r/sweep/trials/trial-0003/checkpoints/epoch-0001',
    reports: [{ epoch: 1, value: 0.5, metrics: { trainLoss: 1, trainAccuracy: 0.5 } }],
  };
  const fresh = { ...segment, epochsDone: 0, reports: [] };
  assert.deepEqual(firstSegmentHeartbeat(segment, previous), {
    ...fresh,
    baseModel: 'registry://m@4',
    checkpoint: previous.checkpoint,
  });
  // What this attempt's first beat carries is what the next attempt starts from: the pin outlives any number of them.
  let carried: unknown = previous;
  for (let attempt = 0; attempt < 5; attempt += 1) carried = firstSegmentHeartbeat(segment, carried);
  assert.equal((carried as SegmentHeartbeat).baseModel, 'registry://m@4');
  assert.deepEqual(firstSegmentHeartbeat(segment, { ...previous, trialId: 4 }), fresh, 'another trial’s beat');
  for (const junk of [undefined, null, 'registry://m@4', 7, [], { trialId: 3, baseModel: 12 }])
    assert.deepEqual(firstSegmentHeartbeat(segment, junk), fresh, `details ${JSON.stringify(junk)}`);
});

let store: MemoryObjectStore;
let dataset: string;
let alias: string;

before(async () => {
  ({ store, dataset, base: alias } = await sweepTrialFixture('sweep-pin-base')); // version 1
});

const HEARTBEAT_TIMEOUT_MS = 3_000;

/** One attempt of the real activity; resolves to its outcome and every heartbeat it sent. */
async function attempt(
  activities: ReturnType<typeof createSweepTrialActivities>,
  input: SweepTrialSegmentInput,
  info: Partial<Info>,
): Promise<{ result?: SweepTrialSegmentResult; error?: unknown; beats: unknown[]; loggedFailures: string[] }> {
  // The attempts that fail here fail on purpose: the SDK's warning (with a stack) is kept, not printed.
  const logs = captureActivityLogs();
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, ...info },
    { logger: logs.logger },
  );
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  try {
    return { result: await env.run(activities.sweepTrialSegment, input), beats, loggedFailures: logs.failures() };
  } catch (error) {
    return { error, beats, loggedFailures: logs.failures() };
  }
}

test('a retry trains on the base the first attempt pinned, after an attempt that died during set-up', async (t) => {
  const context = stageContext('sweep', { runId: 'sweep-pin' });
  const input: SweepTrialSegmentInput = {
    context,
    ...segment,
    metric: 'validation.accuracy',
    settings: { model: alias, data: dataset, epochs: 2, batchSize: 8, learningRate: 0.01, seed: 3 },
    resources: { cpu: 1 },
  };
  const real = inProcessTrainingRunner(store, { tfBackend: 'cpu' });
  let trainings = 0;
  // Attempt 1 has pinned version 1 by the time it trains; the alias then moves on, and the attempt fails.
  const runTraining: TrainingRunner = async (request, options) => {
    trainings += 1;
    if (trainings > 1) return real(request, options);
    await registeredBase(store, 'sweep-pin-base'); // version 2 is now `latest`
    throw new DependencyUnavailableError('worker lost its connection (attempt 1)');
  };
  // Attempt 2 waits for resources for one heartbeat interval (its timer beats once), then its worker fails.
  let acquisitions = 0;
  const resources = {
    acquire: async () => {
      acquisitions += 1;
      if (acquisitions !== 2) return () => undefined;
      t.mock.timers.tick(heartbeatIntervalMs(HEARTBEAT_TIMEOUT_MS));
      throw new DependencyUnavailableError('worker lost its connection (attempt 2)');
    },
  } as unknown as ResourceLedger;
  t.mock.timers.enable({ apis: ['setInterval'] });
  const activities = createSweepTrialActivities({ store, runTraining, resources, workerIdentity: 'unit' });

  const first = await attempt(activities, input, { attempt: 1 });
  assert.ok(first.error, 'attempt 1 fails');
  assert.deepEqual(first.loggedFailures, ['worker lost its connection (attempt 1)']);
  assert.equal((first.beats.at(-1) as SegmentHeartbeat).baseModel, 'registry://sweep-pin-base@1');
  const second = await attempt(activities, input, { attempt: 2, heartbeatDetails: first.beats.at(-1) });
  assert.ok(second.error, 'attempt 2 fails');
  assert.deepEqual(second.loggedFailures, ['worker lost its connection (attempt 2)']);
  for (const beat of second.beats) assert.equal((beat as SegmentHeartbeat).baseModel, 'registry://sweep-pin-base@1');
  assert.ok(second.beats.length >= 2, `attempt 2 beat at start and on its timer (${second.beats.length} beats)`);
  const third = await attempt(activities, input, { attempt: 3, heartbeatDetails: second.beats.at(-1) });
  assert.equal(third.error, undefined, String(third.error));
  assert.deepEqual(third.loggedFailures, []);
  assert.equal(third.result?.baseModel, 'registry://sweep-pin-base@1', 'the retry trains on the pinned version');
  assert.equal(third.result?.epochsDone, 2);
});
