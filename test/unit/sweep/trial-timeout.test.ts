/**
 * A sweep trial that Temporal timed out says which timeout, for how long, what it likely means and what to do, in
 * the sweep log's `trial N failed:` line and the trial table; a retried segment says how the attempt before it ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { renderTrialTable, type SweepTrialTable } from '../../../src/client/sweep-trial-table';
import { segmentLines } from '../../../src/core/sweep/sweep-log';
import { trialTimeoutMessage, trialTimeoutOf } from '../../../src/core/sweep/trial-timeout';

const stage = { maxAttempts: 3, heartbeatTimeoutMs: 60_000, segmentTimeoutMs: 30 * 60_000, pool: 'train' };

function activityFailure(retryState: RetryState, cause: Error): ActivityFailure {
  return new ActivityFailure('activity failed', 'sweepTrialSegment', '7', retryState, 'w1', cause);
}

test('a heartbeat timeout that spent the attempts names the timeout, its length, the likely cause and the fix', () => {
  const error = activityFailure(
    RetryState.MAXIMUM_ATTEMPTS_REACHED,
    new TimeoutFailure('activity Heartbeat timeout', undefined, TimeoutType.HEARTBEAT),
  );
  const timeout = trialTimeoutOf(error);
  assert.deepEqual(timeout, { type: 'HEARTBEAT', attemptsSpent: true });
  const message = trialTimeoutMessage(timeout, stage);
  assert.match(
    message,
    /^attempt 3 ended without finishing: Temporal heard no heartbeat from it for 1m \(heartbeat timeout\): its worker was killed, stopped or lost Temporal; no attempt left \(retry\.maxAttempts 3\): /,
  );
  assert.match(message, /a worker of pool train runs/);
  assert.match(message, /`heartbeatTimeout:`/);
});

test('a start-to-close timeout names the stage timeout that bounds each segment', () => {
  const error = activityFailure(
    RetryState.MAXIMUM_ATTEMPTS_REACHED,
    new TimeoutFailure('activity StartToClose timeout', undefined, TimeoutType.START_TO_CLOSE),
  );
  const message = trialTimeoutMessage(trialTimeoutOf(error) ?? assert.fail('no timeout'), stage);
  assert.match(message, /it ran past the stage's timeout of 30m \(start-to-close timeout\)/);
  assert.match(message, /`timeout:` bounds each trial segment/);
});

test('a timeout that did not spend the attempts says "its last attempt"', () => {
  const error = activityFailure(
    RetryState.TIMEOUT,
    new TimeoutFailure('activity ScheduleToClose timeout', undefined, TimeoutType.SCHEDULE_TO_CLOSE),
  );
  assert.match(
    trialTimeoutMessage(trialTimeoutOf(error) ?? assert.fail('no timeout'), stage),
    /^its last attempt ended without finishing: the stage's overall timeout passed/,
  );
});

test('a failure that is not a timeout is left to the trial error', () => {
  const error = activityFailure(
    RetryState.NON_RETRYABLE_FAILURE,
    ApplicationFailure.create({ type: 'InvalidInput', message: 'bad' }),
  );
  assert.equal(trialTimeoutOf(error), undefined);
  assert.equal(trialTimeoutOf(new Error('plain')), undefined);
});

test('a retried segment says how the attempt before it ended, before its epochs', () => {
  const lines = segmentLines('validation.loss', 0, {
    trialId: 2,
    reports: [{ epoch: 1, value: 0.5, metrics: { trainLoss: 0.6, trainAccuracy: 0.7 } }],
    epochsDone: 1,
    finished: true,
    worker: 'w2',
    startedAtMs: 0,
    endedAtMs: 2_000,
    attempt: 2,
    resumedFromEpoch: 0,
    previousAttempt: 'attempt 1 ended without finishing: Temporal heard no heartbeat from it for 4 s',
  });
  assert.equal(
    lines[0],
    'trial 2 segment epochs 1-1: attempt 1 ended without finishing: Temporal heard no heartbeat from it for 4 s',
  );
  assert.match(lines[1] ?? '', /^trial 2 epoch 1: /);
});

test("the trial table gives a failed trial's cut error whole under the table", () => {
  const error = trialTimeoutMessage({ type: 'HEARTBEAT', attemptsSpent: true }, stage);
  const table: SweepTrialTable = {
    stageId: 'sweep',
    source: 'live',
    metric: 'validation.loss',
    partial: false,
    rows: [
      { trialId: 0, state: 'finished', params: { lr: 0.1 }, epochs: 3, objective: 0.3, best: true },
      { trialId: 1, state: 'failed', params: { lr: 0.2 }, epochs: 1, best: false, error },
      { trialId: 2, state: 'failed', params: { lr: 0.3 }, epochs: 1, best: false, error: 'boom' },
    ],
  };
  const text = renderTrialTable(table, 100);
  assert.ok(
    text.split('\n').every((line) => line.length <= 100),
    text,
  );
  assert.ok(text.replace(/\n {4}/g, ' ').includes(`trial 1 failed: ${error}`), text);
  assert.ok(!text.includes('trial 2 failed'), 'an error the row shows whole is not repeated');
});
