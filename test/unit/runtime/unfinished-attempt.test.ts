/**
 * The line a log gets when Temporal timed an attempt out: from the pending activity's `lastFailure` (the next
 * attempt's runner) and from the run's recorded stage error (`fineflow logs` after the run gave up).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previousAttemptLine } from '../../../activities/previous-attempt';
import { newLogCursor, printUnfinishedAttempts, unfinishedLastAttempts } from '../../../src/client/run-logs';
import { timeoutTypeOfStageError, unfinishedAttemptLine } from '../../../src/core/run/unfinished-attempt';
import type { RunState, StageState } from '../../../src/core/run/run-types';

const LOST = 'its worker was killed, stopped or lost Temporal';
const limits = { heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 2 * 3_600_000, scheduleToCloseTimeoutMs: 0 };

test('a heartbeat timeout says the worker was lost, with the timeout and the attempt', () => {
  const line = previousAttemptLine(
    { message: 'activity Heartbeat timeout', timeoutFailureInfo: { timeoutType: 4 } },
    1,
    limits,
  );
  assert.equal(
    line,
    `attempt 1 ended without finishing: Temporal heard no heartbeat from it for 30 s (heartbeat timeout): ${LOST}`,
  );
});

test('a start-to-close timeout says the stage ran past its timeout', () => {
  const line = previousAttemptLine({ timeoutFailureInfo: { timeoutType: 1 } }, 2, limits);
  assert.match(
    line ?? '',
    /^attempt 2 ended without finishing: it ran past the stage's timeout of 2h \(start-to-close timeout\)/,
  );
});

test('an attempt that failed on its worker wrote its own end line: nothing to add', () => {
  assert.equal(
    previousAttemptLine({ message: 'boom', applicationFailureInfo: { type: 'StageError' } }, 1, limits),
    undefined,
  );
  assert.equal(previousAttemptLine(undefined, 1, limits), undefined);
});

test('stage error types map to timeout types', () => {
  assert.equal(timeoutTypeOfStageError('Timeout:HEARTBEAT'), 'HEARTBEAT');
  assert.equal(timeoutTypeOfStageError('Timeout:START_TO_CLOSE'), 'START_TO_CLOSE');
  assert.equal(timeoutTypeOfStageError('Timeout'), 'unknown');
  assert.equal(timeoutTypeOfStageError('StageError'), undefined);
  assert.equal(timeoutTypeOfStageError('TimeoutError'), undefined);
  assert.equal(unfinishedAttemptLine(3, 'unknown'), 'attempt 3 ended without finishing: Temporal timed it out');
});

test("fineflow logs says once, after its log, that a failed stage's last attempt timed out", () => {
  const stage = (id: string, status: StageState['status'], attempts: number, type?: string): StageState => ({
    id,
    uses: 'test-echo',
    pool: 'cpu',
    status,
    attempts,
    ...(type ? { error: { type, message: 'stage timed out' } } : {}),
  });
  const state: RunState = {
    runId: 'r-1',
    pipeline: 'p',
    status: 'failed',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-05T03:00:00Z',
    endedAt: '2026-12-05T03:10:00Z',
    params: {},
    stages: [
      stage('train', 'failed', 2, 'Timeout:HEARTBEAT'),
      stage('other', 'failed', 1, 'StageError'),
      stage('paused', 'waiting', 3, 'Timeout:START_TO_CLOSE'),
      stage('fine', 'succeeded', 1),
    ],
  };
  const unfinished = unfinishedLastAttempts(state);
  assert.deepEqual(
    unfinished.map(({ stageId, attempt }) => ({ stageId, attempt })),
    [
      { stageId: 'train', attempt: 2 },
      { stageId: 'paused', attempt: 3 },
    ],
  );
  assert.deepEqual(unfinishedLastAttempts(state, 'other'), []);
  const cursor = newLogCursor();
  cursor.nextLine.set('train\n2', 5); // attempt 2's log was printed: no second header
  let printed = '';
  printUnfinishedAttempts(unfinished, (text) => (printed += text), cursor);
  printUnfinishedAttempts(unfinished, (text) => (printed += text), cursor);
  assert.equal(
    printed,
    `[fineflow] attempt 2 ended without finishing: Temporal heard no heartbeat from it (heartbeat timeout): ${LOST}\n` +
      '==> paused attempt 3 <==\n' +
      "[fineflow] attempt 3 ended without finishing: it ran past the stage's timeout (start-to-close timeout): " +
      'the stage hung or was too slow\n',
  );
});
