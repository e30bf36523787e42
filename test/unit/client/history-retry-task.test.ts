/**
 * A `retry` accepted by a workflow task is decided in that task, as the workflow decides it: its update handler wakes
 * the main loop, whose pass runs before the task completes. Temporal records the accepted update after the task's
 * WorkflowTaskCompleted, among its commands; a reader taking it as an input of the next task decided the retried
 * stage a task late (at that task's clock), or never when no task came. Hand-written histories through the real
 * decoder and the workflow's decisions (test/fixtures/runtime/hand-written-history.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTINUE_AS_NEW_PATCH } from '../../../src/core/run/history-limit';
import type { StageState } from '../../../src/core/run/run-types';
import { HistoryWriter, readStages, timeOf } from '../../fixtures/runtime/hand-written-history';
import { makePlan } from '../../fixtures/runtime/plans';

/** `slow` keeps the run going; `check` waits for a retry when it fails, and runs only while `go` holds. */
const plan = makePlan('p', [{ id: 'slow' }, { id: 'check', when: '${{ params.go }}', onFailure: 'pause' }], {
  go: true,
});

/**
 * `check` fails and waits; a task accepts `retry check --set go=false`, whose pass skips it (no event records that).
 * `then` adds what follows that task. Returns the history and the accepting task's start.
 */
function retriedHistory(then: (h: HistoryWriter, slow: number) => void): {
  events: ReturnType<HistoryWriter['terminated']>;
  accepting: number;
} {
  const h = new HistoryWriter();
  h.task();
  const slow = h.schedule(plan, 'slow');
  h.fail(h.schedule(plan, 'check'), 'not yet');
  h.task();
  const accepting = h.task();
  h.retried({ stageId: 'check', params: { go: false } });
  then(h, slow);
  return { events: h.terminated(), accepting };
}

const check = (stages: readonly StageState[]) => {
  const stage = stages.find((s) => s.id === 'check');
  return [stage?.status, stage?.reason, stage?.endedAt];
};

test('a retried stage that no event moves is decided in the task that accepted the retry, at its clock', async () => {
  // Another task follows (`slow` ended): the retry is not one of its inputs.
  const { events, accepting } = retriedHistory((h, slow) => {
    h.succeed(slow);
    h.task();
  });
  assert.deepEqual(check(await readStages(plan, events)), [
    'skipped',
    'when was false: ${{ params.go }}',
    timeOf(accepting),
  ]);
});

test('a retry accepted by the last completed task, with no task after it, is decided there', async () => {
  const { events, accepting } = retriedHistory(() => undefined);
  assert.deepEqual(check(await readStages(plan, events)), [
    'skipped',
    'when was false: ${{ params.go }}',
    timeOf(accepting),
  ]);
});

test('a retried stage the accepting task started is started there, with no second decision', async () => {
  // The usual retry: the task that accepted it schedules the stage's activity, recorded after the update.
  const h = new HistoryWriter();
  h.task();
  h.schedule(plan, 'slow');
  h.fail(h.schedule(plan, 'check'), 'not yet');
  h.task();
  const accepting = h.task();
  h.retried({ stageId: 'check' });
  h.schedule(plan, 'check');
  const stage = (await readStages(plan, h.terminated())).find((s) => s.id === 'check');
  assert.deepEqual([stage?.status, stage?.startedAt, stage?.attempts], ['running', timeOf(accepting), 1]);
});

test('a retry accepted by a task draining towards continue-as-new decides nothing there: the stage stays pending', async () => {
  // The accepting task is the first past the limit: it records the bounded-history patch and drains.
  const h = new HistoryWriter();
  h.task();
  h.schedule(plan, 'slow');
  h.fail(h.schedule(plan, 'check'), 'not yet');
  h.task();
  const accepting = h.task();
  h.retried({ stageId: 'check', params: { go: false } });
  h.marker(CONTINUE_AS_NEW_PATCH);
  const events = h.terminated();
  assert.deepEqual(check(await readStages(plan, events, accepting)).slice(0, 2), [
    'pending',
    'retried after 1 attempt(s)',
  ]);
  // One event short of the limit, the same task decides it.
  assert.deepEqual(check(await readStages(plan, events, accepting + 1)), [
    'skipped',
    'when was false: ${{ params.go }}',
    timeOf(accepting),
  ]);
});
