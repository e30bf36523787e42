import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { stageActivity, type StageImplementation } from '../../../activities/stage-runner';
import { ERROR_TYPES, InvalidInputError } from '../../../src/core/errors';
import { describeStageFailure } from '../../../src/core/run/failures';
import type { StageActivityInput, StageActivityResult } from '../../../src/core/run/run-types';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { captureActivityLogs } from '../../helpers/activity-logs';

async function logText(store: ObjectStore, attempt: number): Promise<string> {
  const log = (await listStageLogs(store, 'fineflow', 'r-1', 'train')).find((entry) => entry.attempt === attempt);
  assert.ok(log, `attempt ${attempt} has a log`);
  return stageLogText(store, log);
}

const input = (attempt = 1): StageActivityInput => ({
  context: {
    runId: 'r-1',
    pipeline: 'p',
    stageId: 'train',
    attempt,
    outputPrefix: 's3://fineflow/runs/r-1/train/',
    bucket: 'fineflow',
    trigger: { kind: 'manual' },
  },
  inputs: { x: 1 },
});

function setup(implementation: StageImplementation, info: { attempt?: number; heartbeatDetails?: unknown } = {}) {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  const activity = stageActivity('test-type', implementation, { store, logFlushIntervalMs: 20 });
  // Most tests here fail the stage on purpose: the SDK's warning for each (with a stack) is kept, not printed.
  const logs = captureActivityLogs();
  const env = new MockActivityEnvironment(
    {
      attempt: info.attempt ?? 1,
      heartbeatTimeoutMs: 3_000,
      ...(info.heartbeatDetails === undefined ? {} : { heartbeatDetails: info.heartbeatDetails }),
    },
    { logger: logs.logger },
  );
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return { store, activity, env, heartbeats, logs };
}

test('the first heartbeat goes out when the attempt starts, before set-up and the stage itself', async () => {
  // The runner's timer would send its first one only after a third of the timeout (1 s here); a starved
  // worker's set-up can take longer than the whole timeout, so an attempt must be alive from its start.
  let beforeStage = -1;
  const { activity, env, heartbeats } = setup(async () => {
    beforeStage = heartbeats.length;
    return { outputs: {} };
  });
  await env.run(activity, input());
  assert.ok(beforeStage >= 1, `heartbeats before the stage ran: ${beforeStage}`);
  assert.deepEqual(heartbeats[0], { stageId: 'train', attempt: 1, everyMs: 2400 });
});

test("set-up heartbeats carry the previous attempt's detail until the stage reports its own", async () => {
  // A fine-tune pins its base model in the detail; an attempt failing during set-up must not erase it.
  const previous = { stageId: 'train', attempt: 1, everyMs: 2400, message: 'epoch 2/5', fraction: 0.4 };
  const detail = { epoch: 2, baseModel: 'registry://base@3', checkpoint: 's3://fineflow/runs/r-1/train/ckpt/2' };
  const { activity, env, heartbeats, logs } = setup(
    async (_input, runtime) => {
      runtime.heartbeat({ message: 'epoch 3/5', fraction: 0.6, detail: { epoch: 3 } });
      throw new Error('lost the data');
    },
    { attempt: 2, heartbeatDetails: { ...previous, detail } },
  );
  await assert.rejects(env.run(activity, input()));
  assert.deepEqual(logs.failures(), ['lost the data'], 'the worker logs the failed attempt once');
  assert.deepEqual(heartbeats[0], { detail, stageId: 'train', attempt: 2, everyMs: 2400 });
  assert.deepEqual(heartbeats.at(-1), {
    message: 'epoch 3/5',
    fraction: 0.6,
    detail: { epoch: 3 },
    stageId: 'train',
    attempt: 2,
    everyMs: 2400,
  });
});

test('progress without a detail keeps the last detail: a retry after it still finds the pin', async () => {
  // Cross-validation reports rounds with a message only; an attempt dying there erased the pinned base model.
  const previous = { stageId: 'train', attempt: 1, everyMs: 2400 };
  const detail = { epoch: 2, baseModel: 'registry://base@3', checkpoint: 's3://fineflow/runs/r-1/train/ckpt/2' };
  const { activity, env, heartbeats } = setup(
    async (_input, runtime) => {
      runtime.heartbeat({ message: 'cross-validation round 1/5', fraction: 0.1 });
      throw new Error('worker lost during cross-validation');
    },
    { attempt: 2, heartbeatDetails: { ...previous, detail } },
  );
  await assert.rejects(env.run(activity, input()));
  assert.deepEqual(heartbeats.at(-1), {
    message: 'cross-validation round 1/5',
    fraction: 0.1,
    detail,
    stageId: 'train',
    attempt: 2,
    everyMs: 2400,
  });
});

test('a stage runs with its inputs, heartbeats progress and writes its log to the store', async () => {
  const { store, activity, env, heartbeats } = setup(async ({ inputs, context }, runtime) => {
    runtime.log(`got x=${String(inputs.x)}`);
    runtime.heartbeat({ message: 'epoch 1/2', fraction: 0.5 });
    await runtime.store.putJson(`${context.outputPrefix}result.json`, { ok: true });
    return { outputs: { y: 2 } };
  });
  const result = await env.run(activity, input());
  const { endedAt, ...rest } = result as { endedAt?: string };
  assert.deepEqual(rest, { outputs: { y: 2 }, attempt: 1 });
  assert.ok(Math.abs(Date.parse(endedAt ?? '') - Date.now()) < 5_000, `endedAt ${endedAt}`);
  // The heartbeat names its sender, so the client can tell whose progress it is and when it is overdue.
  assert.deepEqual(heartbeats[0], { stageId: 'train', attempt: 1, everyMs: 2400 }, 'the start-up heartbeat');
  assert.deepEqual(heartbeats[1], { message: 'epoch 1/2', fraction: 0.5, stageId: 'train', attempt: 1, everyMs: 2400 });
  const log = await logText(store, 1);
  assert.match(log, /test-type train: attempt 1 started/);
  assert.match(log, /got x=1/);
  assert.match(log, /attempt 1 succeeded/);
  assert.deepEqual(await store.getJson('s3://fineflow/runs/r-1/train/result.json'), { ok: true });
});

test('attempts count across a `fineflow retry`: the context says where this execution starts', async () => {
  const { store, activity, env } = setup(async (_input, runtime) => ({ outputs: { attempt: runtime.attempt } }), {
    attempt: 2,
  });
  const result: StageActivityResult = await env.run(activity, input(3));
  assert.equal(result.attempt, 4);
  assert.match(await logText(store, 4), /attempt 4 started/);
});

test('writes outside the stage prefix are refused; the shared store is not confined', async () => {
  const { activity, env } = setup(async (_input, runtime) => {
    await runtime.store.putJson('s3://fineflow/runs/other-run/x.json', {});
    return { outputs: {} };
  });
  await assert.rejects(
    env.run(activity, input()),
    (error: unknown) => error instanceof ApplicationFailure && error.type === ERROR_TYPES.invalidInput,
  );
});

test('InvalidInputError becomes a non-retryable ApplicationFailure of its type, with the attempt', async () => {
  const { activity, env, store } = setup(async () => {
    throw new InvalidInputError('bad column', { column: 'label' });
  });
  const before = Date.now();
  await assert.rejects(env.run(activity, input()), (error: unknown) => {
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, ERROR_TYPES.invalidInput);
    assert.equal(error.nonRetryable, true);
    const { endedAt, ...details } = error.details?.[0] as { endedAt: string };
    assert.deepEqual(details, { column: 'label', attempt: 1 });
    // When the attempt failed on this worker: the run records it as the stage's end (not its own now).
    assert.ok(Date.parse(endedAt) >= before && Date.parse(endedAt) <= Date.now(), endedAt);
    assert.deepEqual(describeStageFailure(error), {
      error: { type: ERROR_TYPES.invalidInput, message: 'bad column' },
      attempt: 1,
      endedAt,
    });
    return true;
  });
  assert.match(await logText(store, 1), /ended after [\d.]+ m?s: ApplicationFailure: bad column/);
});

test('an unexpected error is retryable and typed internal', async () => {
  const { activity, env, logs } = setup(async () => {
    throw new TypeError('oops');
  });
  await assert.rejects(
    env.run(activity, input()),
    (error: unknown) =>
      error instanceof ApplicationFailure && error.type === ERROR_TYPES.internal && !error.nonRetryable,
  );
  assert.deepEqual(logs.messages('WARN'), ['Activity failed']);
});

test('cancellation by the workflow reaches the stage through its AbortSignal and ends it cancelled', async () => {
  const { activity, env } = setup(async (_input, runtime) => {
    await sleep(10_000, undefined, { signal: runtime.signal });
    return { outputs: {} };
  });
  const running = env.run(activity, input());
  setTimeout(() => env.cancel('CANCELLED'), 50);
  await assert.rejects(running, (error: unknown) => error instanceof CancelledFailure);
});

test('a worker shutdown mid-stage is a retryable failure, so the retry policy moves the stage', async () => {
  const { activity, env } = setup(async (_input, runtime) => {
    await sleep(10_000, undefined, { signal: runtime.signal });
    return { outputs: {} };
  });
  const running = env.run(activity, input());
  setTimeout(() => env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true })), 50);
  await assert.rejects(running, (error: unknown) => {
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, ERROR_TYPES.dependencyUnavailable);
    assert.equal(error.nonRetryable, false);
    return true;
  });
});
