/**
 * `forEach` / `matrix` fan-out and fan-in on the real Temporal dev server and MinIO, compiled
 * from YAML as `fineflow submit` does, with the test stage types (test/stage-types).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import type { JsonValue } from '../../../src/core/spec/plan-types';
import { compilePlan } from '../../../src/spec/compile';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';
import { maxOverlap } from '../../fixtures/runtime/intervals';
import { STAGE_START_BATCH } from '../../../src/core/run/start-slots';
import { waitForRunState } from '../../helpers/run-state';

let h: RuntimeHarness;
before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

function compile(yaml: string, set: Record<string, string> = {}) {
  const compiled = compilePlan(yaml, 'fan-out.yaml', { set });
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  return compiled.plan;
}

const byId = (stages: readonly StageState[]): Map<string, StageState> => new Map(stages.map((s) => [s.id, s]));

test('forEach over an upstream output: instances within parallelism, fan-in in item order', async () => {
  const plan = compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: fan-out-list}
defaults: {pool: ${h.pools.cpu}, cache: false}
stages:
  split:
    uses: test-echo
    with: {value: [a, b, c, d, e]}
  work:
    uses: test-echo
    forEach: \${{ stages.split.outputs.value }}
    parallelism: 2
    with: {value: "\${{ item }}-done", sleepMs: 400, steps: 2}
  join:
    uses: test-echo
    with:
      value:
        all: \${{ stages.work.outputs.value }}
        count: \${{ length(stages.work.outputs.value) }}
        beyond: \${{ stages.work.outputs.value?.[length(stages.work.outputs.items)] }}
`);
  assert.deepEqual(plan.stages.find((s) => s.id === 'work')?.needs, ['split']);
  const runId = await h.runs.submit(plan);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  const stages = byId(result.stages);
  assert.deepEqual(stages.get('join')?.outputs?.value, {
    all: ['a-done', 'b-done', 'c-done', 'd-done', 'e-done'],
    count: 5,
    beyond: null,
  });
  const instances = result.stages.filter((s) => s.instanceOf === 'work');
  assert.deepEqual(
    instances.map((s) => [s.id, s.item, s.status]),
    ['a', 'b', 'c', 'd', 'e'].map((item, i) => [`work.${i}`, item, 'succeeded']),
  );
  const intervals = instances.map((s) => s.outputs as unknown as { startedAt: number; endedAt: number });
  assert.ok(maxOverlap(intervals) <= 2, `at most 2 instances at once: ${JSON.stringify(intervals)}`);
  assert.deepEqual(stages.get('work')?.outputs?.items, ['a', 'b', 'c', 'd', 'e']);
});

test('matrix with minSuccessRatio: failed combinations give null, the stage succeeds', async () => {
  const plan = compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: fan-out-matrix}
params:
  want: {type: object, default: {lr: 0.1, batch: 16}}
defaults: {pool: ${h.pools.cpu}, cache: false, retry: {maxAttempts: 1}}
stages:
  grid:
    uses: test-fail-until-param
    matrix:
      lr: [0.1, 0.01]
      batch: [8, 16]
    minSuccessRatio: 0.25
    with: {value: "\${{ item }}", expected: "\${{ params.want }}"}
  best:
    uses: test-echo
    with:
      value: \${{ stages.grid.outputs.items[argmax([default(stages.grid.outputs.attempt[0], 0), default(stages.grid.outputs.attempt[1], 0)])] }}
`);
  const runId = await h.runs.submit(plan);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  const grid = byId(result.stages).get('grid');
  assert.deepEqual(grid?.outputs?.items, [
    { lr: 0.1, batch: 8 },
    { lr: 0.1, batch: 16 },
    { lr: 0.01, batch: 8 },
    { lr: 0.01, batch: 16 },
  ]);
  assert.deepEqual(grid?.outputs?.value, [null, { lr: 0.1, batch: 16 }, null, null]);
  assert.deepEqual(byId(result.stages).get('best')?.outputs?.value, { lr: 0.1, batch: 16 });
  assert.deepEqual(
    result.stages.filter((s) => s.instanceOf === 'grid').map((s) => s.status),
    ['failed', 'succeeded', 'failed', 'failed'],
  );
});

const waitForState = (runId: string, predicate: (state: RunState) => boolean) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs: 30_000, pollMs: 200 });

test('a fan-out below its ratio pauses; retry --set runs only the failed instances again', async () => {
  const plan = compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: fan-out-retry}
params:
  want: 1
defaults: {pool: ${h.pools.cpu}, cache: false, retry: {maxAttempts: 1}}
stages:
  check:
    uses: test-fail-until-param
    forEach: [1, 2]
    failFast: false
    onFailure: pause
    with: {value: "\${{ default(params.want, 0) == 1 and item == 1 or default(params.want, 0) == 2 }}", expected: true}
`);
  const runId = await h.runs.submit(plan);
  const waiting = await waitForState(runId, (s) => s.status === 'waiting');
  const check = byId(waiting.stages).get('check');
  assert.equal(check?.status, 'waiting');
  assert.match(check?.error?.message ?? '', /1 of 2 instance\(s\) failed \(items 1\).*check\.1: value false/);
  const firstRun = byId(waiting.stages).get('check.0');
  assert.equal(firstRun?.status, 'succeeded');
  await h.runs.retry(runId, { params: { want: 2 } });
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  const after = byId(result.stages);
  // The instance that had succeeded is kept, not run again.
  assert.equal(after.get('check.0')?.attempts, 1);
  assert.equal(after.get('check.0')?.endedAt, firstRun?.endedAt);
  assert.equal(after.get('check.1')?.attempts, 2);
  assert.deepEqual(after.get('check')?.outputs?.value, [true, true] as JsonValue);
});

// A wide fan-out starts its instances over several workflow tasks, at most STAGE_START_BATCH per
// task, so one activation never carries the whole fan-out (src/core/run/start-slots.ts).
test('a fan-out wider than the start batch starts in batches of workflow tasks and completes', async () => {
  const width = STAGE_START_BATCH * 2 + 10;
  const plan = compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: fan-out-wide}
defaults: {pool: ${h.pools.cpu}, cache: false}
stages:
  work:
    uses: test-echo
    forEach: [${Array.from({ length: width }, (_, i) => i).join(', ')}]
    with: {value: "\${{ item }}"}
  join:
    uses: test-echo
    with:
      value: \${{ length(stages.work.outputs.value) }}
`);
  const runId = await h.runs.submit(plan);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages.filter((s) => s.status !== 'succeeded')));
  assert.equal(byId(result.stages).get('join')?.outputs?.value, width);
  // Activities scheduled by each workflow task: their events follow its WorkflowTaskCompleted.
  const events = (await h.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const perTask: number[] = [];
  for (const event of events) {
    if (event.workflowTaskCompletedEventAttributes) perTask.push(0);
    else if (event.activityTaskScheduledEventAttributes && perTask.length > 0)
      perTask[perTask.length - 1] = (perTask.at(-1) ?? 0) + 1;
  }
  assert.equal(
    perTask.reduce((a, b) => a + b, 0),
    width + 1,
  );
  assert.ok(Math.max(...perTask) <= STAGE_START_BATCH, `activities per workflow task: ${perTask.join(',')}`);
  assert.ok(perTask.filter((n) => n === STAGE_START_BATCH).length >= 2, `batches: ${perTask.join(',')}`);
});
