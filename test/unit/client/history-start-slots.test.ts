/**
 * A terminated run read from its history without a worker, where a stage's start slot decides when it is decided: the
 * workflow fails a ready stage whose inputs do not resolve only once it gets a slot (`parallelism:`, the start batch
 * of one task), in the task that gives it one, and decides once per task after all that task saw. Hand-written
 * histories, decoded by the real decoder (src/client/execution-stage-events.ts, the SDK's default converters) and
 * applied with the workflow's decisions (src/core/run/stages-after-execution.ts, unrecorded-decisions.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTINUE_AS_NEW_PATCH } from '../../../src/core/run/history-limit';
import type { StageState } from '../../../src/core/run/run-types';
import { START_BATCH_PATCH, STAGE_START_BATCH } from '../../../src/core/run/start-slots';
import type { Plan } from '../../../src/core/spec/plan-types';
import { HistoryWriter, readStages, timeOf, type HistoryEvent } from '../../fixtures/runtime/hand-written-history';
import { makePlan, type StageSketch } from '../../fixtures/runtime/plans';

const byId = (stages: readonly StageState[]) => new Map(stages.map((s) => [s.id, s]));
/** A stage's status and, once it ended, when and why. */
const ending = (s: StageState | undefined) => [s?.status, s?.endedAt, s?.error?.message];

const BAD_INPUT = '${{ stages.a.outputs.missing }}';
const MISSING = '`stages.a.outputs.missing`: stage `a` produced no output `missing` (status succeeded)';

test('under `parallelism: 1` a ready stage with inputs that do not resolve fails only once a slot frees', async () => {
  const plan: Plan = {
    ...makePlan('p', [
      { id: 'a' },
      { id: 'slow', needs: ['a'] },
      { id: 'bad', needs: ['a'], with: { value: BAD_INPUT } },
    ]),
    parallelism: 1,
  };
  const history = (slowEnds: boolean): HistoryEvent[] => {
    const h = new HistoryWriter();
    h.task();
    h.succeed(h.schedule(plan, 'a'), { value: 1 });
    // The task that saw `a` end: `slow` took the one slot, `bad` waits for it.
    h.task();
    const slow = h.schedule(plan, 'slow');
    if (slowEnds) {
      h.succeed(slow);
      h.task();
    }
    return h.terminated();
  };
  // Terminated while `slow` ran: `bad` never had a slot.
  assert.deepEqual(ending(byId(await readStages(plan, history(false))).get('bad')), ['pending', undefined, undefined]);
  // `slow` ended: the task that saw it (event 15) gave `bad` the slot, and its inputs failed it there.
  assert.deepEqual(ending(byId(await readStages(plan, history(true))).get('bad')), ['failed', timeOf(15), MISSING]);
});

test('a task decides once, after every event it saw: two slots freed at once go to the first two ready stages', async () => {
  const plan: Plan = {
    ...makePlan('p', [
      { id: 'a' },
      { id: 'p', needs: ['a'] },
      { id: 'q', needs: ['a'] },
      { id: 'c', needs: ['a'], with: { value: BAD_INPUT } },
      { id: 'd', needs: ['a'] },
      { id: 'e', needs: ['a'], with: { value: BAD_INPUT } },
    ]),
    parallelism: 2,
  };
  const h = new HistoryWriter();
  h.task();
  h.succeed(h.schedule(plan, 'a'), { value: 1 });
  h.task();
  const p = h.schedule(plan, 'p');
  const q = h.schedule(plan, 'q');
  h.succeed(p);
  h.succeed(q);
  // One task saw both end: its two slots went to `c` (failed on its inputs) and `d` (started); `e` waits.
  const seen = h.task();
  h.schedule(plan, 'd');
  const stages = byId(await readStages(plan, h.terminated()));
  assert.deepEqual(
    ['c', 'd', 'e'].map((id) => ending(stages.get(id))),
    [
      ['failed', timeOf(seen), MISSING],
      ['running', undefined, undefined],
      ['pending', undefined, undefined],
    ],
  );
});

test('a fan-out instance whose inputs do not resolve fails when it starts, and so does the fan-in', async () => {
  const plan = makePlan('p', [
    { id: 'a' },
    {
      id: 'fan',
      needs: ['a'],
      fanOut: { forEach: [{ x: 1 }, 'no-x'], failFast: false, minSuccessRatio: 1 },
      with: { value: '${{ item.x }}' },
    },
  ]);
  const h = new HistoryWriter();
  h.task();
  h.succeed(h.schedule(plan, 'a'), { value: 1 });
  const expanded = h.task();
  const first = h.schedule(plan, 'fan.0');
  h.succeed(first, { value: 1 });
  const settled = h.task();
  const stages = byId(await readStages(plan, h.terminated()));
  assert.deepEqual(ending(stages.get('fan.1')), ['failed', timeOf(expanded), '`item.x`: no property `x`']);
  assert.deepEqual(ending(stages.get('fan')).slice(0, 2), ['failed', timeOf(settled)]);
});

/** `a`, then more ready stages than one task's batch: the last of them has inputs that do not resolve. */
function widePlan(): Plan {
  const wide: StageSketch[] = Array.from({ length: STAGE_START_BATCH + 1 }, (_, i) => ({
    id: `s${i + 1}`,
    needs: ['a'],
    ...(i === STAGE_START_BATCH ? { with: { value: BAD_INPUT } } : {}),
  }));
  return makePlan('p', [{ id: 'a' }, ...wide]);
}

/**
 * The task that saw `a` end started a batch of stages, took the start-batch patch and slept 1 ms; `s1` ended in a task
 * before the timer's (no pass runs there), and `turn` says how the timer's task went: `suggest` marks it past the limit
 * (it then records the bounded-history patch).
 */
function batchHistory(plan: Plan, turn: { readonly suggest: boolean }): { events: HistoryEvent[]; turnTask: number } {
  const h = new HistoryWriter();
  h.task();
  h.succeed(h.schedule(plan, 'a'), { value: 1 });
  h.task();
  const scheduled = Array.from({ length: STAGE_START_BATCH }, (_, i) => h.schedule(plan, `s${i + 1}`));
  h.marker(START_BATCH_PATCH);
  const timer = h.timer(1);
  h.succeed(scheduled[0] as number);
  h.task();
  h.fired(timer);
  const turnTask = h.task({ suggest: turn.suggest });
  if (turn.suggest) h.marker(CONTINUE_AS_NEW_PATCH);
  return { events: h.terminated(), turnTask };
}

test('a stage past its task’s start batch is decided at the batch turn, not where it became ready', async () => {
  const plan = widePlan();
  const { events, turnTask } = batchHistory(plan, { suggest: false });
  const stages = byId(await readStages(plan, events));
  assert.deepEqual(ending(stages.get(`s${STAGE_START_BATCH + 1}`)), ['failed', timeOf(turnTask), MISSING]);
  assert.equal(stages.get('s1')?.status, 'succeeded');
  assert.equal(stages.get(`s${STAGE_START_BATCH}`)?.status, 'running');
});

test('a batch turn that drains towards continue-as-new decides nothing: the stage past the batch stays pending', async () => {
  const plan = widePlan();
  const { events } = batchHistory(plan, { suggest: true });
  const stages = byId(await readStages(plan, events, 10_000));
  assert.deepEqual(ending(stages.get(`s${STAGE_START_BATCH + 1}`)), ['pending', undefined, undefined]);
});
