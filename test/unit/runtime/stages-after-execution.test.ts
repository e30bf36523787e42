/**
 * A terminated run's stages read without a worker: the carried stages moved by what its latest execution's history
 * shows, as the workflow's tracker moved them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunTracker } from '../../../src/core/run/run-tracker';
import type { StageState } from '../../../src/core/run/run-types';
import { stagesAfterExecution, type StageEvent } from '../../../src/core/run/stages-after-execution';
import { unrecordedDecisions } from '../../../src/core/run/unrecorded-decisions';
import type { JsonValue } from '../../../src/core/spec/plan-types';
import { makePlan, type StageSketch } from '../../fixtures/runtime/plans';

const plan = makePlan('p', [
  { id: 'a' },
  { id: 'b', needs: ['a'], onFailure: 'pause' },
  { id: 'c', needs: ['b'] },
  { id: 'd', needs: ['c'] },
]);
const begun = (): StageState[] => [
  ...new RunTracker({ plan, trigger: { kind: 'manual' } }, 'r', 'T0').snapshot().stages,
];

/**
 * A run of `stages` with `params` as a terminated run's reader sees it: its stages at the start, and what an
 * execution's events make of them with the workflow's own decisions (`when`, fan-outs, the finally phase).
 */
function decidingRun(stages: readonly StageSketch[], params: { readonly [name: string]: JsonValue }) {
  const decidingPlan = makePlan('p', stages, params);
  const input = { plan: decidingPlan, trigger: { kind: 'manual' as const } };
  const start = new RunTracker(input, 'r', 'T0').snapshot().stages;
  const after = (events: readonly StageEvent[], from: readonly StageState[] = start): StageState[] =>
    stagesAfterExecution(decidingPlan.stages, from, events, unrecordedDecisions(input, 'r', params));
  /** The stages after `events`, by id. */
  const read = (events: readonly StageEvent[]): Map<string, StageState> => new Map(after(events).map((s) => [s.id, s]));
  return { plan: decidingPlan, start, after, read };
}

const row = (s: StageState | undefined) => [
  s?.status,
  s?.attempts,
  s?.startedAt,
  s?.endedAt,
  s?.reason,
  s?.error?.type,
];

test('started, then succeeded: running from the start, then the result, its attempt and end', () => {
  const [a] = stagesAfterExecution(plan.stages, begun(), [
    { kind: 'started', stageId: 'a', at: 'T1' },
    { kind: 'started', stageId: 'a', at: 'T2' },
  ]);
  assert.deepEqual(row(a), ['running', 0, 'T1', undefined, undefined, undefined]);
  const [done] = stagesAfterExecution(plan.stages, begun(), [
    { kind: 'started', stageId: 'a', at: '2026-12-07T08:00:00.000Z' },
    {
      kind: 'succeeded',
      stageId: 'a',
      at: '2026-12-07T08:00:05.000Z',
      outputs: { value: 1 },
      attempt: 2,
      endedAt: '2026-12-07T08:00:04.000Z',
    },
  ]);
  assert.deepEqual(row(done), [
    'succeeded',
    2,
    '2026-12-07T08:00:00.000Z',
    '2026-12-07T08:00:04.000Z',
    undefined,
    undefined,
  ]);
  assert.deepEqual(done?.outputs, { value: 1 });
});

test('a failure waits (onFailure: pause) or fails; a retry makes it pending again and it runs on', () => {
  const error = { type: 'FineflowInvalidInput', message: 'bad' };
  const events: StageEvent[] = [
    { kind: 'started', stageId: 'b', at: '2026-12-07T08:00:00.000Z' },
    { kind: 'failed', stageId: 'b', at: '2026-12-07T08:00:01.000Z', error, attempt: 1 },
  ];
  const waiting = stagesAfterExecution(plan.stages, begun(), events)[1];
  assert.deepEqual(row(waiting), [
    'waiting',
    1,
    '2026-12-07T08:00:00.000Z',
    '2026-12-07T08:00:01.000Z',
    undefined,
    error.type,
  ]);
  const retried = stagesAfterExecution(plan.stages, begun(), [
    ...events,
    { kind: 'retried', at: '2026-12-07T08:00:30.000Z' },
  ])[1];
  assert.deepEqual(row(retried).slice(0, 2), ['pending', 1]);
  assert.equal(retried?.reason, 'retried after 1 attempt(s)');
  const ran = stagesAfterExecution(plan.stages, begun(), [
    ...events,
    { kind: 'retried', stageId: 'b', at: '2026-12-07T08:00:30.000Z' },
    { kind: 'started', stageId: 'b', at: '2026-12-07T08:01:00.000Z' },
  ])[1];
  assert.deepEqual(row(ran), ['running', 1, '2026-12-07T08:01:00.000Z', undefined, undefined, undefined]);
  const failed = stagesAfterExecution(plan.stages, begun(), [
    { kind: 'started', stageId: 'c', at: 'T1' },
    { kind: 'failed', stageId: 'c', at: '2026-12-07T08:00:01.000Z', error },
  ])[2];
  assert.deepEqual(row(failed).slice(0, 2), ['failed', 1]);
});

test('a cache hit, a cancel, an outage ridden out, a stage the carried state lacks', () => {
  const stages = stagesAfterExecution(plan.stages, begun(), [
    { kind: 'started', stageId: 'a', at: 'T1' },
    { kind: 'cached', stageId: 'a', at: 'T2', outputs: { value: 3 }, reason: 'cache hit from run x (T0)' },
    { kind: 'started', stageId: 'b', at: 'T3' },
    {
      kind: 'failed',
      stageId: 'b',
      at: 'T4',
      error: { type: 'FineflowDependencyUnavailable', message: 'MinIO down' },
      outage: true,
    },
    { kind: 'started', stageId: 'b', at: 'T5' },
    { kind: 'started', stageId: 'c', at: 'T6' },
    { kind: 'cancelled', stageId: 'c', at: 'T7' },
    { kind: 'started', stageId: 'gone[0]', at: 'T8' },
  ]);
  assert.deepEqual(stages.map(row), [
    ['cached', 0, 'T1', 'T2', 'cache hit from run x (T0)', undefined],
    ['running', 0, 'T3', undefined, undefined, undefined],
    ['cancelled', 1, 'T6', 'T7', undefined, undefined],
    ['pending', 0, undefined, undefined, undefined, undefined],
  ]);
});

test('the carried stages are not changed in place', () => {
  const carried = begun();
  const copy = structuredClone(carried);
  stagesAfterExecution(plan.stages, carried, [{ kind: 'started', stageId: 'a', at: 'T1' }]);
  assert.deepEqual(carried, copy);
});

test('a dependency outage past its budget fails the stage as the workflow does; within it the stage runs on', () => {
  const outagePlan = makePlan('p', [
    {
      id: 'o',
      onFailure: 'pause',
      retry: {
        maxAttempts: 1,
        initialIntervalMs: 200,
        backoffCoefficient: 1,
        maximumIntervalMs: 200,
        outageBudgetMs: 500,
      },
    },
  ]);
  const start = new RunTracker({ plan: outagePlan, trigger: { kind: 'manual' } }, 'r', 'T0').snapshot().stages;
  const error = { type: 'FineflowDependencyUnavailable', message: 'store down' };
  const failed = (at: string, attempt: number): StageEvent => ({
    kind: 'failed',
    stageId: 'o',
    at,
    error,
    attempt,
    outage: true,
  });
  const within: StageEvent[] = [
    { kind: 'started', stageId: 'o', at: '2026-12-07T08:00:00.000Z' },
    failed('2026-12-07T08:00:00.100Z', 1),
    { kind: 'started', stageId: 'o', at: '2026-12-07T08:00:00.300Z' },
    failed('2026-12-07T08:00:00.400Z', 2),
  ];
  const [riding] = stagesAfterExecution(outagePlan.stages, start, within);
  assert.equal(riding?.status, 'running');
  assert.equal(riding?.reason, 'dependency unavailable (store down); retry 2 in 200 ms, outage budget 200 ms left');
  const [spent] = stagesAfterExecution(outagePlan.stages, start, [
    ...within,
    { kind: 'started', stageId: 'o', at: '2026-12-07T08:00:00.600Z' },
    failed('2026-12-07T08:00:00.700Z', 3),
  ]);
  assert.deepEqual(row(spent), [
    'waiting',
    3,
    '2026-12-07T08:00:00.000Z',
    '2026-12-07T08:00:00.700Z',
    riding?.reason,
    'FineflowDependencyUnavailable',
  ]);
  assert.match(
    spent?.error?.message ?? '',
    /^a dependency stayed unavailable for 600 ms \(retry.outageBudget 500ms, 2 retries\): store down$/,
  );
});

test('with the workflow decisions: a false `when` skips, a fan-out expands and gathers, at the events times', () => {
  const run = decidingRun(
    [
      { id: 'a' },
      { id: 'deploy', needs: ['a'], when: '${{ params.deploy }}' },
      { id: 'after', needs: ['deploy'], with: { value: '${{ stages.deploy.outputs.value }}' } },
      { id: 'fan', needs: ['a'], fanOut: { forEach: ['x', 'y'], failFast: false, minSuccessRatio: 1 } },
    ],
    { deploy: false },
  );
  const done = (stageId: string, at: string, value: string): StageEvent => ({
    kind: 'succeeded',
    stageId,
    at,
    outputs: { value },
    attempt: 1,
  });
  const events: StageEvent[] = [
    { kind: 'began', at: 'T0' },
    { kind: 'started', stageId: 'a', at: 'T0' },
    done('a', 'T1', 'v'),
    { kind: 'started', stageId: 'fan.0', at: 'T1' },
    { kind: 'started', stageId: 'fan.1', at: 'T1' },
    done('fan.1', 'T2', 'y'),
    done('fan.0', 'T3', 'x'),
  ];
  const stages = run.after(events);
  const byId = new Map(stages.map((s) => [s.id, s]));
  assert.deepEqual(
    ['deploy', 'after'].map((id) => [byId.get(id)?.status, byId.get(id)?.reason, byId.get(id)?.endedAt]),
    [
      ['skipped', 'when was false: ${{ params.deploy }}', 'T1'],
      ['skipped', 'reads outputs of skipped stage deploy', 'T1'],
    ],
  );
  assert.deepEqual(
    stages.map((s) => s.id),
    ['a', 'deploy', 'after', 'fan', 'fan.0', 'fan.1'],
  );
  assert.deepEqual(row(byId.get('fan')), ['succeeded', 1, 'T1', 'T3', undefined, undefined]);
  assert.deepEqual(byId.get('fan')?.outputs?.value, ['x', 'y']);
  // Without the decisions (before): none of that shows.
  const before = stagesAfterExecution(run.plan.stages, run.start, events);
  assert.deepEqual(
    before.map((s) => s.status),
    ['succeeded', 'pending', 'pending', 'pending'],
  );
});

/** Two normal stages, then a finally stage under a `when` and one without. */
const FINALLY_STAGES: readonly StageSketch[] = [
  { id: 'a' },
  { id: 'b', needs: ['a'] },
  { id: 'notify', finally: true, when: '${{ params.notify }}' },
  { id: 'cleanup', finally: true },
];

test('the finally phase: once the normal stages ended, a false `when` skips a finally stage, not before', () => {
  const { read } = decidingRun(FINALLY_STAGES, { notify: false });
  const error = { type: 'FineflowInvalidInput', message: 'bad' };
  // While a normal stage runs, the finally stages wait.
  const running = read([
    { kind: 'began', at: 'T0' },
    { kind: 'started', stageId: 'a', at: 'T0' },
  ]);
  assert.equal(running.get('notify')?.status, 'pending');
  // `a` failed: the run's normal stages ended; `notify` is skipped then, `cleanup` left to start.
  const ended = read([
    { kind: 'began', at: 'T0' },
    { kind: 'started', stageId: 'a', at: 'T0' },
    { kind: 'failed', stageId: 'a', at: 'T1', error, attempt: 1 },
    { kind: 'started', stageId: 'cleanup', at: 'T1' },
  ]);
  assert.deepEqual(
    ['notify', 'cleanup'].map((id) => [ended.get(id)?.status, ended.get(id)?.reason, ended.get(id)?.endedAt]),
    [
      ['skipped', 'when was false: ${{ params.notify }}', 'T1'],
      ['running', undefined, undefined],
    ],
  );
});

test('the finally phase of a cancelled run: once the stages it stopped settled, a false `when` skips', () => {
  const { read } = decidingRun(FINALLY_STAGES, { notify: false });
  const began: StageEvent[] = [
    { kind: 'began', at: 'T0' },
    { kind: 'started', stageId: 'a', at: 'T0' },
    { kind: 'cancel-requested', at: 'T1' },
  ];
  // Asked to cancel while `a` runs: the finally phase waits for `a` to stop.
  assert.equal(read(began).get('notify')?.status, 'pending');
  const stopped = read([
    ...began,
    { kind: 'cancelled', stageId: 'a', at: 'T2' },
    { kind: 'started', stageId: 'cleanup', at: 'T2' },
  ]);
  assert.deepEqual(
    ['b', 'notify', 'cleanup'].map((id) => [
      stopped.get(id)?.status,
      stopped.get(id)?.reason,
      stopped.get(id)?.endedAt,
    ]),
    [
      ['pending', undefined, undefined],
      ['skipped', 'when was false: ${{ params.notify }}', 'T2'],
      ['running', undefined, undefined],
    ],
  );
});

test('a decision before a `retry --set` reads the params as they were; one after it, the new ones', () => {
  // The params the execution began with; the set comes as the `retried` event's.
  const run = decidingRun(
    [
      { id: 'a' },
      { id: 'deploy', needs: ['a'], when: '${{ params.deploy }}' },
      { id: 'check', needs: ['a'], onFailure: 'pause' },
      { id: 'late', needs: ['check'], when: '${{ params.deploy }}' },
    ],
    { deploy: false },
  );
  const error = { type: 'FineflowInvalidInput', message: 'bad' };
  const read = run.read([
    { kind: 'began', at: 'T0' },
    { kind: 'started', stageId: 'a', at: 'T0' },
    { kind: 'succeeded', stageId: 'a', at: 'T1', outputs: {} },
    { kind: 'started', stageId: 'check', at: 'T1' },
    { kind: 'failed', stageId: 'check', at: 'T2', error, attempt: 1 },
    { kind: 'retried', stageId: 'check', at: 'T2', params: { deploy: true } },
    { kind: 'started', stageId: 'check', at: 'T3' },
    { kind: 'succeeded', stageId: 'check', at: 'T4', outputs: {} },
  ]);
  assert.deepEqual(
    ['deploy', 'late'].map((id) => [read.get(id)?.status, read.get(id)?.reason]),
    [
      ['skipped', 'when was false: ${{ params.deploy }}'],
      ['pending', undefined],
    ],
  );
});

test('an execution draining towards continue-as-new decides nothing of its main phase; its finally phase still comes', () => {
  const run = decidingRun(
    [
      { id: 'a' },
      { id: 'slow' },
      { id: 'deploy', needs: ['a'], when: '${{ params.deploy }}' },
      { id: 'fan', needs: ['a'], fanOut: { forEach: ['x'], failFast: false, minSuccessRatio: 1 } },
      { id: 'notify', finally: true, when: '${{ params.deploy }}' },
    ],
    { deploy: false },
  );
  const read = (events: StageEvent[]) => new Map(run.after(events).map((s) => [s.id, s.status]));
  const began: StageEvent[] = [
    { kind: 'began', at: 'T0' },
    { kind: 'started', stageId: 'a', at: 'T0' },
    { kind: 'started', stageId: 'slow', at: 'T0' },
  ];
  const aDone: StageEvent = { kind: 'succeeded', stageId: 'a', at: 'T1', outputs: {}, attempt: 1 };
  // Not draining: `a`'s end skips `deploy` and expands `fan` in the task that saw it.
  const deciding = read([...began, aDone]);
  assert.deepEqual(
    ['deploy', 'fan', 'fan.0'].map((id) => deciding.get(id)),
    ['skipped', 'running', 'pending'],
  );
  // Draining: the task that saw `a` end started and decided nothing; `slow` keeps the execution from continuing.
  const draining = read([...began, { ...aDone, draining: true }]);
  assert.deepEqual(
    ['deploy', 'fan', 'fan.0'].map((id) => draining.get(id)),
    ['pending', 'pending', undefined],
  );
  // A stage failing for good still ends the main phase while draining: the finally phase decides `notify`.
  const error = { type: 'FineflowInvalidInput', message: 'bad' };
  const failed = read([
    ...began,
    { ...aDone, draining: true },
    { kind: 'failed', stageId: 'slow', at: 'T2', error, attempt: 1, draining: true },
  ]);
  assert.deepEqual(
    ['deploy', 'slow', 'notify'].map((id) => failed.get(id)),
    ['pending', 'failed', 'skipped'],
  );
  // A continued execution that began draining (Temporal suggested it at once) decides nothing at its start either.
  const continued = run.after(
    [{ kind: 'began', at: 'T0', draining: true }],
    run.start.map((s) => (s.id === 'a' ? { ...s, status: 'succeeded' as const } : s)),
  );
  assert.equal(continued.find((s) => s.id === 'deploy')?.status, 'pending');
});
