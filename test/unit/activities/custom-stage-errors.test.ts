/**
 * What a team's stage (`fineflow worker --stage-module`) gets when it throws: the documented error
 * categories of docs/pipeline-reference.md ("Errors from your own stages").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createStageActivities } from '../../../activities/index';
import type { StageImplementation } from '../../../activities/stage-runner';
import { ERROR_TYPES, FatalStageError, InvalidInputError, StageError } from '../../../src/core/errors';
import type { StageActivityInput } from '../../../src/core/run/run-types';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { captureActivityLogs } from '../../helpers/activity-logs';

const input: StageActivityInput = {
  context: {
    runId: 'r-1',
    pipeline: 'p',
    stageId: 'audit',
    attempt: 1,
    outputPrefix: 's3://fineflow/runs/r-1/audit/',
    bucket: 'fineflow',
    trigger: { kind: 'manual' },
  },
  inputs: {},
};

/** Runs `implementation` registered as a team's stage `label-audit`, as `fineflow worker --stage-module` does. */
async function failureOf(implementation: StageImplementation) {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  const activities = createStageActivities({
    store,
    bucket: 'fineflow',
    logFlushIntervalMs: 20,
    extraStages: { 'label-audit': implementation },
  });
  const activity = activities['label-audit'] as unknown as (i: StageActivityInput) => Promise<unknown>;
  // The SDK logs each failed attempt with its stack: kept here, checked, not printed into the unit log.
  const logs = captureActivityLogs();
  const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 3_000 }, { logger: logs.logger });
  const thrown: unknown = await env.run(activity, input).then(
    () => assert.fail('the stage should have failed'),
    (error: unknown) => error,
  );
  assert.ok(thrown instanceof ApplicationFailure, `an ApplicationFailure, got ${String(thrown)}`);
  assert.deepEqual(logs.failures(), [thrown.message], 'the worker logs the failure it reports');
  const [log] = await listStageLogs(store, 'fineflow', 'r-1', 'audit');
  return { failure: thrown, log: log ? await stageLogText(store, log) : '' };
}

/** Failure details without the worker's `endedAt` timestamp, which every stage failure carries. */
function withoutEndedAt(details: unknown): unknown {
  return (details as Record<string, unknown>[] | undefined)?.map(({ endedAt, ...rest }) => {
    assert.ok(typeof endedAt === 'string' && !Number.isNaN(Date.parse(endedAt)), `endedAt ${String(endedAt)}`);
    return rest;
  });
}

test("a team stage's plain Error is a retryable StageError: message kept, stack only in the stage log", async () => {
  const { failure, log } = await failureOf(async () => {
    throw new TypeError('threshold is not a number');
  });
  assert.equal(failure.type, ERROR_TYPES.stage);
  assert.equal(failure.nonRetryable, false);
  assert.equal(failure.message, 'TypeError: threshold is not a number');
  // No cause: Temporal would put the cause's stack (worker file paths) into the run's history.
  assert.equal(failure.cause, undefined);
  // endedAt: when the attempt failed on the worker (the run records it as the attempt's end).
  assert.deepEqual(withoutEndedAt(failure.details), [{ errorName: 'TypeError', attempt: 1 }]);
  assert.match(log, /label-audit audit: TypeError: threshold is not a number\n\s+at /);
});

test('a thrown string or object is normalised the same way', async () => {
  const { failure } = await failureOf(() => Promise.reject(new Error('plain')));
  assert.equal(failure.type, ERROR_TYPES.stage);
  assert.equal(failure.message, 'plain');
  const { failure: fromString } = await failureOf(() => Promise.reject('just text' as unknown as Error));
  assert.equal(fromString.type, ERROR_TYPES.stage);
  assert.equal(fromString.message, 'just text');
});

test('FatalStageError and InvalidInputError end the stage without retries; StageError retries', async () => {
  const fatal = await failureOf(async () => {
    throw new FatalStageError('40% of the labels disagree with the audit model', { flagged: 400 });
  });
  assert.equal(fatal.failure.type, ERROR_TYPES.stageFatal);
  assert.equal(fatal.failure.nonRetryable, true);
  assert.deepEqual(withoutEndedAt(fatal.failure.details), [{ flagged: 400, attempt: 1 }]);
  const invalid = await failureOf(async () => {
    throw new InvalidInputError('threshold must be below 1', { field: 'threshold' });
  });
  assert.equal(invalid.failure.type, ERROR_TYPES.invalidInput);
  assert.equal(invalid.failure.nonRetryable, true);
  const retry = await failureOf(async () => {
    throw new StageError('the label service answered 503', {});
  });
  assert.equal(retry.failure.type, ERROR_TYPES.stage);
  assert.equal(retry.failure.nonRetryable, false);
});

test("Temporal's own ApplicationFailure.nonRetryable passes through as thrown", async () => {
  const { failure } = await failureOf(async () => {
    throw ApplicationFailure.nonRetryable('quota exhausted for today', 'LabelQuota');
  });
  assert.equal(failure.type, 'LabelQuota');
  assert.equal(failure.nonRetryable, true);
});
