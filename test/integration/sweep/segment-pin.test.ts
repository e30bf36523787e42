/**
 * A sweep trial's pinned base model outlives short-lived attempts, on the real stack (Temporal dev server +
 * MinIO): attempt 1 pins `registry://…@latest` to version 1 and fails after the server has its heartbeat; the
 * alias moves to version 2; attempt 2 dies during set-up once the server has one heartbeat of it; attempt 3 must
 * still train on version 1 (the server hands each retry the last heartbeat the attempt before sent).
 *
 * The failures are injected through the activity's dependencies (its training runner and resource ledger); the
 * activity, its heartbeats, Temporal's retries and the registry are the product's.
 *
 * Run with: bash scripts/test.sh integration test/integration/sweep/segment-pin.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import type { SegmentHeartbeat } from '../../../activities/segment-heartbeat';
import type { FineflowConfig } from '../../../src/config';
import {
  connectClient,
  connectWorker,
  dataConverterFor,
  decodeHistoryPayload,
} from '../../../src/client/temporal-connection';
import { DependencyUnavailableError } from '../../../src/core/errors';
import type { SweepTrialSegmentInput, SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';
import { registerModel } from '../../../src/ml/models/registry';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import type { ResourceLedger } from '../../../src/worker/resource-ledger';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';
import { waitFor } from '../schedules/harness';
import {
  quietTemporalRuntime,
  randomSuffix,
  startSweep,
  sweepContext,
  sweepWorkflowBundle,
  writeSweepData,
} from './sweep-fixture';
import { taskQueueForPool } from '../../../src/core/run/task-queues';

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
const suffix = randomSuffix();

before(async () => {
  quietTemporalRuntime();
  config = await requireStack();
  store = createObjectStoreFromConfig(config);
  client = await connectClient(config.temporal);
});

after(async () => {
  await client?.connection.close();
});

/** What the server holds of the segment's pending attempt: its number, whether it beat since it started, its beat. */
async function pendingSegment(
  workflowId: string,
): Promise<{ attempt: number; beatSinceStart: boolean; details?: Partial<SegmentHeartbeat> } | undefined> {
  const description = await client.workflow.getHandle(workflowId).describe();
  const pending = description.raw.pendingActivities?.[0];
  if (!pending) return undefined;
  const startedAt = optionalTsToDate(pending.lastStartedTime)?.getTime() ?? Infinity;
  const beatAt = optionalTsToDate(pending.lastHeartbeatTime)?.getTime() ?? -Infinity;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  return {
    attempt: pending.attempt ?? 0,
    beatSinceStart: beatAt >= startedAt,
    ...(payload ? { details: (await decodeHistoryPayload(client, payload)) as Partial<SegmentHeartbeat> } : {}),
  };
}

async function register(name: string, modelUri: string): Promise<void> {
  await registerModel(store, { bucket: config.s3.bucket, name, modelUri, description: 'segment-pin test base' });
}

test('a retry trains on the base the first attempt pinned, after an attempt that died during set-up', async () => {
  const data = await writeSweepData(store, config.s3.bucket, `segment-pin-${suffix}`);
  const name = `segment-pin-${suffix}`;
  await register(name, data.baseModel); // version 1 = `latest`
  const workflowId = `segment-pin-${suffix}`;
  const taskQueue = `segment-pin-${suffix}`;
  const real = inProcessTrainingRunner(store);
  // Attempt 1 has pinned version 1 when it trains; once the server holds that pin, the alias moves and it fails.
  const runTraining: TrainingRunner = async (request, options) => {
    if (Context.current().info.attempt > 1) return real(request, options);
    await waitFor(
      'attempt 1’s pin on the server',
      () => pendingSegment(workflowId),
      (p) => !!p?.details?.baseModel,
    );
    await register(name, data.baseModel); // version 2 = `latest`
    throw new DependencyUnavailableError('injected: worker lost its connection in attempt 1');
  };
  // Attempt 2 waits for resources until the server has a heartbeat of it, then fails before pinning anything.
  const resources = {
    async acquire() {
      if (Context.current().info.attempt !== 2) return () => undefined;
      await waitFor(
        'a heartbeat of attempt 2',
        () => pendingSegment(workflowId),
        (p) => p?.attempt === 2 && p.beatSinceStart,
      );
      throw new DependencyUnavailableError('injected: worker lost its connection in attempt 2');
    },
  } as unknown as ResourceLedger;

  const connection: NativeConnection = await connectWorker(config.temporal);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.temporal),
    taskQueue,
    workflowBundle: await sweepWorkflowBundle(),
    activities: createSweepTrialActivities({ store, runTraining, resources, workerIdentity: 'segment-pin' }),
  });
  const input: SweepTrialSegmentInput = {
    context: sweepContext(config.s3.bucket, `segment-pin-${suffix}`),
    trialId: 1,
    fromEpoch: 0,
    untilEpoch: 2,
    metric: 'validation.accuracy',
    settings: { model: `registry://${name}@latest`, data: data.dataset, epochs: 2, batchSize: 16, seed: 1 },
    resources: { cpu: 1 },
  };
  const result = await worker.runUntil(
    client.workflow.execute('sweepSegmentWithRetries', { taskQueue, workflowId, args: [input] }),
  );
  await connection.close();
  const segment = result as SweepTrialSegmentResult;
  assert.equal(segment.attempt, 3);
  assert.equal(segment.baseModel, `registry://${name}@1`, 'attempt 3 trains on the version attempt 1 pinned');
  assert.equal(segment.epochsDone, 2);
});

test('every trial of a sweep trains on the version its registry alias named when the sweep started', async () => {
  const data = await writeSweepData(store, config.s3.bucket, `sweep-pin-${suffix}`);
  const name = `sweep-pin-${suffix}`;
  await register(name, data.baseModel); // version 1 = `latest`
  const pool = `sweep-pin-${suffix}`;
  const real = inProcessTrainingRunner(store);
  const bases: string[] = [];
  // The alias moves while the first trial trains: the second trial starts after it (parallelism 1).
  const runTraining: TrainingRunner = async (request, options) => {
    bases.push(request.baseModelUri ?? '');
    if (bases.length === 1) await register(name, data.baseModel); // version 2 = `latest`
    return real(request, options);
  };
  const connection: NativeConnection = await connectWorker(config.temporal);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.temporal),
    taskQueue: taskQueueForPool(pool),
    workflowBundle: await sweepWorkflowBundle(),
    activities: createSweepTrialActivities({ store, runTraining, workerIdentity: 'sweep-pin' }),
  });
  const sweep = await startSweep(client, {
    taskQueue: taskQueueForPool(pool),
    runId: `sweep-pin-${suffix}`,
    bucket: config.s3.bucket,
    execution: { pool, segmentTimeoutMs: 120_000, heartbeatTimeoutMs: 30_000 },
    inputs: {
      model: `registry://${name}@latest`,
      data: data.dataset,
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      trial: { epochs: 1, batchSize: 16, seed: 1 },
      algorithm: 'random',
      maxTrials: 2,
      parallelism: 1,
      seed: 3,
      space: { learningRate: { logUniform: [0.001, 0.03] } },
    },
  });
  await worker.runUntil(sweep.result());
  await connection.close();
  assert.deepEqual(bases, [`registry://${name}@1`, `registry://${name}@1`]);
});
