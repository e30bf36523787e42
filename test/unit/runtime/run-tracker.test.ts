import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describeStageFailure } from '../../../src/core/run/failures';
import { RunTracker } from '../../../src/core/run/run-tracker';
import { ERROR_TYPES, InvalidInputError } from '../../../src/core/errors';
import { makePlan } from '../../fixtures/runtime/plans';

const plan = makePlan('t', [{ id: 'a' }, { id: 'b', needs: ['a'], onFailure: 'pause' }], { lr: 0.1 });
const T = '2026-01-01T00:00:00.000Z';

test('the tracker follows stages through their lifecycle and derives the run status', () => {
  const run = new RunTracker({ plan, trigger: { kind: 'manual' } }, 'run-1', T);
  assert.equal(run.status(), 'running');
  run.markRunning('a', T);
  run.markSucceeded('a', T, { v: 1 }, 2);
  assert.equal(run.stage('a').attempts, 2);
  assert.deepEqual(run.expressionContext(), {
    params: { lr: 0.1 },
    stages: { a: { outputs: { v: 1 }, status: 'succeeded' } },
    run: { id: 'run-1', pipeline: 't' },
  });
  run.markRunning('b', T);
  run.recordProgress('b', { message: 'epoch 1', fraction: 0.25 });
  assert.equal(run.snapshot().stages[1]?.progress?.message, 'epoch 1');
  run.markFailed('b', T, 'waiting', { type: ERROR_TYPES.invalidInput, message: 'bad' }, 1);
  assert.equal(run.status(), 'waiting');
  assert.equal(run.snapshot().stages[1]?.progress, undefined);
  const before = run.changeCount;
  run.retry(['b'], { lr: 0.2 });
  assert.ok(run.changeCount > before, 'a retry wakes the scheduler');
  assert.equal(run.stage('b').status, 'pending');
  assert.deepEqual(run.currentParams(), { lr: 0.2 });
  run.markRunning('b', T);
  assert.equal(run.stage('b').error, undefined, 'a new attempt clears the old error');
  run.markSucceeded('b', T, {}, 1);
  assert.equal(run.stage('b').attempts, 2);
  assert.equal(run.status(), 'succeeded');
});

test('reused stages start succeeded; progress of a stage that is not running is ignored', () => {
  const run = new RunTracker(
    { plan, trigger: { kind: 'manual' }, reuse: [{ stageId: 'a', outputs: { v: 9 }, fromRunId: 'old' }] },
    'run-2',
    T,
  );
  assert.equal(run.stage('a').status, 'succeeded');
  assert.equal(run.stage('a').reason, 'reused from run old');
  run.recordProgress('b', { message: 'late' });
  assert.equal(run.stage('b').progress, undefined);
  run.end(T, 'cancelled');
  assert.equal(run.snapshot().status, 'cancelled');
  assert.equal(run.snapshot().endedAt, T);
});

test('failures are read from the innermost cause, with the attempt the runner recorded', () => {
  const app = ApplicationFailure.create({
    message: 'bad data',
    type: ERROR_TYPES.invalidInput,
    nonRetryable: true,
    details: [{ attempt: 3 }],
  });
  const wrapped = new ActivityFailure('activity failed', 'test-echo', '1', RetryState.NON_RETRYABLE_FAILURE, 'w', app);
  assert.deepEqual(describeStageFailure(wrapped), {
    error: { type: ERROR_TYPES.invalidInput, message: 'bad data' },
    attempt: 3,
  });
  const timeout = new ActivityFailure(
    'activity failed',
    'test-echo',
    '1',
    RetryState.MAXIMUM_ATTEMPTS_REACHED,
    'w',
    new TimeoutFailure('timed out', undefined, TimeoutType.HEARTBEAT),
  );
  assert.match(describeStageFailure(timeout).error.type, /^Timeout/);
  assert.deepEqual(describeStageFailure(new InvalidInputError('bad ref')).error, {
    type: ERROR_TYPES.invalidInput,
    message: 'bad ref',
  });
});

test('the expression context follows every change although it is built once per change', () => {
  const plan = makePlan('p', [{ id: 's0' }, { id: 's1', needs: ['s0'] }, { id: 's2', needs: ['s1'] }]);
  const run = new RunTracker({ plan, trigger: { kind: 'manual' } }, 'r', T);
  const before = run.expressionContext();
  assert.deepEqual(before.stages, {});
  assert.equal(run.expressionContext().stages, before.stages, 'unchanged run: the same object');
  run.markRunning('s0', 'now');
  run.markSucceeded('s0', 'now', { value: 1 }, 1);
  assert.deepEqual(run.expressionContext().stages, { s0: { outputs: { value: 1 }, status: 'succeeded' } });
  run.markSkipped('s1', 'now', 'test');
  assert.deepEqual(Object.keys(run.expressionContext().stages).sort(), ['s0', 's1']);
  assert.equal(run.plannedStage('s2'), plan.stages[2]);
  assert.throws(() => run.plannedStage('nope'), /unknown stage nope/);
});

test('cancelling a run ends its waiting stages cancelled, keeping why they waited', () => {
  const run = new RunTracker({ plan, trigger: { kind: 'manual' } }, 'run-1', T);
  run.markRunning('a', T);
  run.markSucceeded('a', T, {}, 1);
  run.markRunning('b', T);
  run.markFailed('b', T, 'waiting', { type: ERROR_TYPES.invalidInput, message: 'bad' }, 1);
  run.cancelWaiting('2026-01-01T00:01:00.000Z');
  run.end('2026-01-01T00:01:00.000Z', 'cancelled');
  const b = run.snapshot().stages[1];
  assert.equal(b?.status, 'cancelled');
  assert.equal(b?.error?.message, 'bad');
  assert.equal(b?.endedAt, '2026-01-01T00:01:00.000Z');
  assert.deepEqual(run.waitingStages(), []);
  assert.equal(run.snapshot().status, 'cancelled');
});
