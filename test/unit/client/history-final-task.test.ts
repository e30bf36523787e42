/**
 * A run terminated in a workflow task that never completed, read without a worker as a worker's replay (its query of
 * the ended run) reads it. sdk-core applies every event after the last completed task in one final activation (a task
 * started and then failed by the termination ends no sequence of its own), with replay over there: at the latest task's
 * start, its history length the whole history's, and a patch history does not record taken when asked (so the
 * bounded-history patch of a first long task that never completed drains it). Hand-written histories through the real
 * decoder and the workflow's decisions (test/fixtures/runtime/hand-written-history.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StageState } from '../../../src/core/run/run-types';
import { HistoryWriter, readStages, timeOf, type HistoryEvent } from '../../fixtures/runtime/hand-written-history';
import { makePlan } from '../../fixtures/runtime/plans';

/** `a`, then `d`, and `k` beside it, which a false `when` skips once `d` ended (no event records that). */
const plan = makePlan(
  'p',
  [{ id: 'a' }, { id: 'd', needs: ['a'] }, { id: 'k', needs: ['d'], when: '${{ params.deploy }}' }],
  { deploy: false },
);

/**
 * `d` ends and the task that sees it is terminated before it completes (the termination fails it): no marker of the
 * bounded-history patch, nothing of its decisions in history. Returns the history and that task's start.
 */
function uncompletedHistory(): { events: HistoryEvent[]; started: number } {
  const h = new HistoryWriter();
  h.task();
  h.succeed(h.schedule(plan, 'a'), { value: 1 });
  h.task();
  h.succeed(h.schedule(plan, 'd'));
  const started = h.task({ completed: false });
  h.forceClosed();
  return { events: h.terminated(), started };
}

const stage = (stages: readonly StageState[], id: string) => stages.find((s) => s.id === id);

test('a first long task that never completed drains in the replay: the stage it would decide stays pending', async () => {
  const { events, started } = uncompletedHistory();
  const terminal = events.length;
  assert.equal(terminal, started + 2, 'the task started, the termination failed it, then the run was terminated');
  // The replay's history length is the whole history's: a limit the task's own start did not reach drains it.
  const drained = await readStages(plan, events, terminal);
  assert.equal(stage(drained, 'd')?.status, 'succeeded');
  assert.deepEqual([stage(drained, 'k')?.status, stage(drained, 'k')?.endedAt], ['pending', undefined]);
  // Below the whole history's length, the task decides as it does when the limit is far: `k` skipped at its start.
  for (const limit of [terminal + 1, 10_000]) {
    const decided = stage(await readStages(plan, events, limit), 'k');
    assert.deepEqual([decided?.status, decided?.endedAt], ['skipped', timeOf(started)], `limit ${limit}`);
  }
});

test('events after the last completed task with no task after them: the replay decides on them at that task’s clock', async () => {
  const h = new HistoryWriter();
  h.task();
  h.succeed(h.schedule(plan, 'a'), { value: 1 });
  const last = h.task();
  const ended = h.succeed(h.schedule(plan, 'd'));
  const events = h.terminated();
  const k = stage(await readStages(plan, events), 'k');
  assert.ok(ended > last);
  assert.deepEqual([k?.status, k?.endedAt], ['skipped', timeOf(last)]);
});

test('a stage the never-completed task started reads as started at its clock, though no event records it', async () => {
  // Seen on the real stack: the worker's query of such a run shows `d` started by that task (then stopped by the
  // termination), with no ActivityTaskScheduled in history.
  const h = new HistoryWriter();
  h.task();
  h.succeed(h.schedule(plan, 'a'), { value: 1 });
  const started = h.task({ completed: false });
  h.forceClosed();
  const d = stage(await readStages(plan, h.terminated()), 'd');
  assert.deepEqual([d?.status, d?.startedAt], ['running', timeOf(started)]);
});
