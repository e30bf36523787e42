import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time';
import {
  pendingTrialAttempt,
  previousAttemptEnd,
  trialAttemptReading,
  trialOfHeartbeat,
  withTrialAttempts,
  type PendingTrialAttempt,
} from '../../../src/client/trial-attempts';
import { renderTrialTable, trialTableFromStatus } from '../../../src/client/sweep-trial-table';
import type { SweepStatus } from '../../../src/core/sweep/sweep-types';
import { unfinishedAttemptWhy } from '../../../src/core/run/unfinished-attempt';

type RawPending = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

const NOW = 1_800_000_000_000;
const ts = msNumberToTs;

const killed: PendingTrialAttempt = {
  trialId: 1,
  attempt: 2,
  maximumAttempts: 3,
  started: false,
  lastFailure: { timeout: 'HEARTBEAT', message: 'activity Heartbeat timeout' },
  heartbeatTimeoutMs: 4_000,
  lastHeartbeatAtMs: NOW - 20_000,
  lastStartedAtMs: NOW - 60_000,
  worker: 'w1@host',
};

const LOST = 'worker lost: Temporal heard no heartbeat from attempt 1 for 4 s (heartbeat timeout)';

void describe('which trial a pending sweep activity runs', () => {
  void it('reads a segment’s trialId and a trial stage’s stage id, nothing else', () => {
    assert.equal(trialOfHeartbeat('sweepTrialSegment', { trialId: 3, fromEpoch: 0 }), 3);
    assert.equal(trialOfHeartbeat('sweepTrialStage', { stageId: 'sweep.trial-0012', attempt: 1, everyMs: 1 }), 12);
    assert.equal(trialOfHeartbeat('sweepTrialSegment', { trialId: -1 }), undefined);
    assert.equal(trialOfHeartbeat('sweepTrialSegment', { trialId: '3' }), undefined);
    assert.equal(trialOfHeartbeat('sweepTrialStage', { stageId: 'sweep' }), undefined);
    assert.equal(trialOfHeartbeat('appendSweepLog', { trialId: 3 }), undefined);
    assert.equal(trialOfHeartbeat('sweepTrialSegment', undefined), undefined);
    assert.equal(trialOfHeartbeat('sweepTrialSegment', [3]), undefined);
  });

  void it('takes attempt, last failure, times and heartbeat timeout from DescribeWorkflowExecution', () => {
    const raw: RawPending = {
      activityType: { name: 'sweepTrialSegment' },
      state: 1,
      attempt: 2,
      maximumAttempts: 3,
      lastFailure: { message: 'activity Heartbeat timeout', timeoutFailureInfo: { timeoutType: 4 } },
      lastHeartbeatTime: ts(NOW - 20_000),
      lastStartedTime: ts(NOW - 60_000),
      nextAttemptScheduleTime: ts(NOW + 2_000),
      activityOptions: { heartbeatTimeout: msNumberToTs(4_000) },
      lastWorkerIdentity: 'w1@host',
    };
    assert.deepEqual(pendingTrialAttempt(raw, { trialId: 1 }), { ...killed, nextAttemptAtMs: NOW + 2_000 });
    const failed = pendingTrialAttempt(
      { ...raw, lastFailure: { message: 'x'.repeat(500), applicationFailureInfo: {} } } as RawPending,
      { trialId: 1 },
    );
    assert.deepEqual(failed?.lastFailure, { message: 'x'.repeat(200) });
    assert.equal(pendingTrialAttempt(raw, { fromEpoch: 0 }), undefined);
  });
});

void describe('a live trial read against its pending activity', () => {
  void it('a retry after a lost worker waits for a worker, or for its backoff', () => {
    assert.deepEqual(trialAttemptReading(killed, 'gpu', NOW), {
      state: 'retrying',
      note: `${LOST}; attempt 2 of 3 waits for a worker of pool gpu`,
    });
    assert.equal(
      trialAttemptReading({ ...killed, nextAttemptAtMs: NOW + 3_000 }, 'gpu', NOW)?.note,
      `${LOST}; attempt 2 of 3 starts in 3 s`,
    );
  });

  void it('a retry after a failure says the failure', () => {
    const crashed = { ...killed, lastFailure: { message: 'out of memory' }, maximumAttempts: undefined };
    assert.equal(
      trialAttemptReading(crashed, 'gpu', NOW)?.note,
      'attempt 1 failed: out of memory; attempt 2 waits for a worker of pool gpu',
    );
  });

  void it('a held attempt with an overdue heartbeat is unresponsive; a fresh one is left to the sweep', () => {
    const held = { ...killed, attempt: 1, started: true, lastFailure: undefined, lastStartedAtMs: NOW - 30_000 };
    // Beats every 3.2 s (0.8 × 4 s): overdue after 6.4 s.
    assert.equal(trialAttemptReading({ ...held, lastHeartbeatAtMs: NOW - 5_000 }, 'gpu', NOW), undefined);
    assert.deepEqual(trialAttemptReading({ ...held, lastHeartbeatAtMs: NOW - 7_000 }, 'gpu', NOW), {
      state: 'unresponsive',
      note:
        'no heartbeat for 7 s from worker w1@host: its worker may be lost; Temporal retries the attempt once its ' +
        'heartbeat timeout (4 s) passes',
    });
    // A beat from before this attempt started does not count for it.
    const restarted = { ...held, lastHeartbeatAtMs: NOW - 60_000, lastStartedAtMs: NOW - 1_000 };
    assert.equal(trialAttemptReading(restarted, 'gpu', NOW), undefined);
  });

  void it('a retry a worker holds runs, and says it is one', () => {
    const retried = { ...killed, started: true, lastHeartbeatAtMs: NOW - 1_000, lastStartedAtMs: NOW - 2_000 };
    assert.deepEqual(trialAttemptReading(retried, 'gpu', NOW), {
      state: 'running',
      note: `attempt 2 of 3 after ${LOST}`,
    });
  });

  void it('a first attempt waiting for its first worker reads as the sweep says', () => {
    assert.equal(trialAttemptReading({ trialId: 1, attempt: 1, started: false }, 'gpu', NOW), undefined);
  });
});

void describe('the trial table with Temporal’s view of its trials', () => {
  const status: SweepStatus = {
    progress: { started: 3, running: 2, completed: 1, stopped: 0, failed: 0, maxTrials: 3 },
    generation: 0,
    metric: 'validation.loss',
    goal: 'minimize',
    trials: [
      { trialId: 0, status: 'completed', params: { units: 4 }, epochs: 5, value: 0.3 },
      { trialId: 1, status: 'running', params: { units: 6 }, epochs: 2 },
      { trialId: 2, status: 'running', params: { units: 8 }, epochs: 0, waitingForWorker: true },
    ],
  };
  const attempts = new Map([
    [0, { ...killed, trialId: 0 }],
    [1, killed],
    [2, { trialId: 2, attempt: 1, started: false }],
  ]);

  void it('marks the live trials Temporal knows more of, with a note under the table', () => {
    const table = withTrialAttempts(trialTableFromStatus('sweep', status), attempts, 'gpu', NOW);
    assert.deepEqual(
      table.rows.map((row) => [row.state, row.note]),
      [
        ['finished', undefined],
        ['retrying', `${LOST}; attempt 2 of 3 waits for a worker of pool gpu`],
        ['waiting', undefined],
      ],
    );
    const text = renderTrialTable(table, 100);
    assert.match(text.split('\n')[0] ?? '', /: 1 finished, 1 retrying, 1 waiting for a worker$/);
    assert.match(text.replace(/\n {4}/g, ' '), new RegExp(`\\ntrial 1 retrying: ${LOST.replace(/[()]/g, '\\$&')};`));
  });

  void it('leaves an ended sweep’s table as it is', () => {
    const ended = trialTableFromStatus('sweep', { ...status, outcome: 'cancelled' });
    assert.equal(withTrialAttempts(ended, attempts, 'gpu', NOW), ended);
  });
});

void describe("how a trial's previous attempt ended", () => {
  void it("is said by the stage log's rule, about the attempt and its segment", () => {
    const said = (timeout?: 'HEARTBEAT' | 'START_TO_CLOSE' | 'SCHEDULE_TO_CLOSE' | 'SCHEDULE_TO_START' | 'unknown') =>
      previousAttemptEnd(2, timeout ? { timeout, message: 'timed out' } : { message: 'boom' }, 4_000);
    assert.equal(
      said('HEARTBEAT'),
      'worker lost: Temporal heard no heartbeat from attempt 1 for 4 s (heartbeat timeout)',
    );
    assert.ok(unfinishedAttemptWhy('HEARTBEAT', 4_000).startsWith('Temporal heard no heartbeat from it for 4 s'));
    assert.equal(said('START_TO_CLOSE'), "attempt 1 ran past the segment's timeout (start-to-close timeout)");
    // Before, "Temporal timed attempt 1 out": the stage log's rule names the timeout.
    assert.equal(said('SCHEDULE_TO_CLOSE'), "the segment's overall timeout passed (schedule-to-close timeout)");
    assert.equal(said('SCHEDULE_TO_START'), 'no worker took attempt 1 in time (schedule-to-start timeout)');
    assert.equal(said('unknown'), 'Temporal timed attempt 1 out');
    assert.equal(said(), 'attempt 1 failed: boom');
  });
});
