/**
 * The `pipelineRun` workflow on the real Temporal dev server and MinIO, with in-process
 * workers running the test stage types (test/stage-types).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ERROR_TYPES } from '../../../src/core/errors';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import { listStageLogs, stageLogText as readLogText } from '../../../src/client/run-logs';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { waitForRunState } from '../../helpers/run-state';

let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

const fastRetry = (maxAttempts: number) => ({
  maxAttempts,
  initialIntervalMs: 100,
  backoffCoefficient: 1,
  maximumIntervalMs: 200,
});

function stagesById(stages: readonly StageState[]): Record<string, StageState> {
  return Object.fromEntries(stages.map((s) => [s.id, s]));
}

const waitForState = (runId: string, predicate: (state: RunState) => boolean, timeoutMs = 20_000) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs, pollMs: 150 });

/** Visibility is eventually consistent: poll the list for a few seconds. */
async function eventuallyListed(runId: string, filter: { pipeline: string; status: string }): Promise<boolean> {
  for (let i = 0; i < 25; i++) {
    if ((await h.runs.list(filter)).some((r) => r.runId === runId)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

test('a diamond DAG runs its parallel branches at the same time and passes outputs downstream', async () => {
  const plan = h.plan(
    'diamond',
    [
      { id: 'root', with: { value: 'seed-${{ params.tag }}' } },
      {
        id: 'left',
        needs: ['root'],
        with: { value: '${{ stages.root.outputs.value }}/left', sleepMs: 1500, steps: 3 },
      },
      {
        id: 'right',
        needs: ['root'],
        with: { value: '${{ stages.root.outputs.value }}/right', sleepMs: 1500, steps: 3 },
      },
      {
        id: 'join',
        needs: ['left', 'right'],
        with: { value: { l: '${{ stages.left.outputs.value }}', r: '${{ stages.right.outputs.value }}' } },
      },
    ],
    { tag: 'x1' },
  );
  const runId = await h.runs.submit(plan);
  assert.match(runId, /^diamond-\d{8}-\d{6}-[a-z0-9]{4}$/);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  const byId = stagesById(result.stages);
  assert.deepEqual(byId.join?.outputs?.value, { l: 'seed-x1/left', r: 'seed-x1/right' });
  const left = byId.left?.outputs as { startedAt: number; endedAt: number };
  const right = byId.right?.outputs as { startedAt: number; endedAt: number };
  assert.ok(
    left.startedAt < right.endedAt && right.startedAt < left.endedAt,
    `branches overlap: ${JSON.stringify({ left, right })}`,
  );
  const state = await h.runs.state(runId);
  assert.equal(state.status, 'succeeded');
  assert.ok(state.endedAt);
  assert.ok(state.stages.every((s) => s.status === 'succeeded' && s.attempts === 1));
  // Each stage wrote its log to the store.
  const logs = await listStageLogs(h.store, h.config.s3.bucket, runId);
  assert.deepEqual(
    logs.map((l) => `${l.stageId}#${l.attempt}`),
    ['join#1', 'left#1', 'right#1', 'root#1'],
  );
});

test('live progress from heartbeats shows in the runState query while a stage runs', async () => {
  const plan = h.plan('progress', [{ id: 'slow', with: { sleepMs: 6000, steps: 6 } }]);
  const runId = await h.runs.submit(plan);
  const seen = await waitForState(runId, (s) => (s.stages[0]?.progress?.fraction ?? 0) > 0);
  assert.equal(seen.stages[0]?.status, 'running');
  assert.match(seen.stages[0]?.progress?.message ?? '', /^step \d\/6$/);
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const done = await h.runs.state(runId);
  assert.equal(done.stages[0]?.progress, undefined, 'progress is cleared once the stage ended');
});

test('a stage that fails twice succeeds on its third attempt under its retry policy', async () => {
  const plan = h.plan('flaky', [
    { id: 'flaky', uses: 'test-flaky', with: { failTimes: 2, value: 'ok' }, retry: fastRetry(3) },
  ]);
  const runId = await h.runs.submit(plan);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  const stage = result.stages[0];
  assert.equal(stage?.attempts, 3);
  assert.equal(stage?.outputs?.attempt, 3);
  const logs = await listStageLogs(h.store, h.config.s3.bucket, runId, 'flaky');
  assert.deepEqual(
    logs.map((l) => l.attempt),
    [1, 2, 3],
  );
  const firstLog = await readLogText(h.store, logs[0]!);
  assert.match(firstLog, /planned failure 1\/2/);
});

test('a non-retryable failure is not retried and fails the run (onFailure: fail)', async () => {
  const plan = h.plan('invalid', [
    { id: 'bad', uses: 'test-invalid', retry: fastRetry(5) },
    { id: 'after', needs: ['bad'] },
  ]);
  const runId = await h.runs.submit(plan);
  await assert.rejects(h.client.workflow.getHandle(runId).result(), (error: unknown) => {
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, ERROR_TYPES.invalidInput);
    assert.match(error.cause.message, /stage bad failed after 1 attempt/);
    return true;
  });
  const state = await h.runs.state(runId);
  assert.equal(state.status, 'failed');
  const byId = stagesById(state.stages);
  assert.equal(byId.bad?.status, 'failed');
  assert.equal(byId.bad?.attempts, 1);
  assert.equal(byId.bad?.error?.type, ERROR_TYPES.invalidInput);
  assert.equal(byId.after?.status, 'pending');
});

test('a failing stage with onFailure: fail cancels the stages still running', async () => {
  const plan = h.plan('fail-fast', [
    { id: 'bad', uses: 'test-invalid' },
    { id: 'long', with: { sleepMs: 30_000, steps: 30 }, heartbeatTimeoutMs: 5_000 },
  ]);
  const runId = await h.runs.submit(plan);
  const started = Date.now();
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'failed');
  assert.ok(Date.now() - started < 15_000, 'the long stage did not hold the run');
  const byId = stagesById(result.stages);
  assert.equal(byId.bad?.status, 'failed');
  assert.equal(byId.long?.status, 'cancelled');
});

test('pause → retry with a changed param → the run continues and succeeds', async () => {
  const plan = h.plan(
    'pause',
    [
      {
        id: 'check',
        uses: 'test-fail-until-param',
        with: { value: '${{ params.threshold }}', expected: 7 },
        onFailure: 'pause',
      },
      { id: 'next', needs: ['check'], with: { value: '${{ stages.check.outputs.value }}' } },
    ],
    { threshold: 3 },
  );
  const runId = await h.runs.submit(plan);
  const waiting = await waitForState(runId, (s) => s.status === 'waiting');
  const check = stagesById(waiting.stages).check;
  assert.equal(check?.status, 'waiting');
  assert.equal(check?.error?.type, ERROR_TYPES.invalidInput);
  assert.equal(stagesById(waiting.stages).next?.status, 'pending');
  assert.ok(
    await eventuallyListed(runId, { pipeline: 'pause', status: 'waiting' }),
    'visibility finds the waiting run by pipeline and status',
  );

  // The validator rejects what cannot work, and the run keeps waiting.
  await assert.rejects(
    h.runs.retry(runId, { stageId: 'next' }),
    /stage next is pending; only a waiting stage can be retried/,
  );
  await assert.rejects(
    h.runs.retry(runId, { params: { threshold: 'seven' } }),
    /params.threshold: param `threshold` is an integer, and "seven" is not; write e.g. --set threshold=/,
  );
  await assert.rejects(h.runs.retry(runId, { params: { treshold: 7 } }), /unknown param/);

  const retried = await h.runs.retry(runId, { params: { threshold: '7' } });
  assert.deepEqual(retried.retried, ['check']);
  assert.equal(retried.params.threshold, 7);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  const byId = stagesById(result.stages);
  assert.equal(byId.next?.outputs?.value, 7);
  assert.equal(byId.check?.attempts, 2);
  assert.equal(byId.check?.outputs?.attempt, 2, 'the retried attempt is numbered after the first one');
});

test('cancel stops the running stage and ends the run cancelled', async () => {
  const plan = h.plan('cancel', [
    { id: 'long', with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
    { id: 'after', needs: ['long'] },
  ]);
  const runId = await h.runs.submit(plan);
  // The attempt is under way once its progress (a heartbeat) shows: the cancel then reaches it by heartbeat.
  await waitForState(runId, (s) => s.stages[0]?.progress !== undefined);
  const started = Date.now();
  await h.runs.cancel(runId);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'cancelled');
  assert.ok(Date.now() - started < 10_000);
  const state = await h.runs.state(runId);
  assert.equal(state.status, 'cancelled');
  assert.equal(stagesById(state.stages).long?.status, 'cancelled');
  assert.equal(stagesById(state.stages).after?.status, 'pending');
  const described = await h.client.workflow.getHandle(runId).describe();
  assert.equal(described.status.name, 'CANCELLED');
});

test('when: false skips a stage, and stages reading its outputs are skipped too', async () => {
  const plan = h.plan('skips', [
    { id: 'gate', with: { value: false } },
    { id: 'deploy', needs: ['gate'], when: '${{ stages.gate.outputs.value }}', with: { value: 'deployed' } },
    { id: 'announce', needs: ['deploy'], with: { value: '${{ stages.deploy.outputs.value }}' } },
    { id: 'cleanup', needs: ['deploy'], with: { value: 'cleaned' } },
  ]);
  const result = await h.runs.result(await h.runs.submit(plan));
  assert.equal(result.status, 'succeeded');
  const byId = stagesById(result.stages);
  assert.equal(byId.deploy?.status, 'skipped');
  assert.match(byId.deploy?.reason ?? '', /when was false/);
  assert.equal(byId.announce?.status, 'skipped');
  assert.equal(byId.cleanup?.status, 'succeeded');
});

test('reused stages (rerun --from) are not run again and feed their outputs downstream', async () => {
  const plan = h.plan('reuse', [
    { id: 'expensive', uses: 'test-invalid' },
    { id: 'cheap', needs: ['expensive'], with: { value: '${{ stages.expensive.outputs.value }}+1' } },
  ]);
  const runId = await h.runs.submit(plan, {
    reuse: [{ stageId: 'expensive', outputs: { value: 'old' }, fromRunId: 'reuse-earlier' }],
    trigger: { kind: 'rerun', fromRunId: 'reuse-earlier', fromStage: 'cheap' },
  });
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  const byId = stagesById(result.stages);
  assert.equal(byId.expensive?.status, 'succeeded');
  assert.equal(byId.expensive?.attempts, 0);
  assert.match(byId.expensive?.reason ?? '', /reused from run reuse-earlier/);
  assert.equal(byId.cheap?.outputs?.value, 'old+1');
});

test('an invalid plan fails the run at once, non-retryable, before any stage runs', async () => {
  const plan = h.plan('broken', [{ id: 'a', needs: ['ghost'] }]);
  const runId = await h.runs.submit(plan);
  await assert.rejects(h.client.workflow.getHandle(runId).result(), (error: unknown) => {
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, ERROR_TYPES.invalidInput);
    assert.equal(error.cause.nonRetryable, true);
    assert.match(error.cause.message, /ghost/);
    return true;
  });
  assert.ok(await eventuallyListed(runId, { pipeline: 'broken', status: 'failed' }), 'the failed status is searchable');
});

test('cache-enabled stages are served from the stage cache on the next run with the same inputs', async () => {
  const token = `v-${Date.now()}`;
  const plan = h.plan('cached', [
    { id: 'a', with: { value: token }, cache: { enabled: true } },
    { id: 'b', needs: ['a'], with: { value: '${{ stages.a.outputs.value }}/b' }, cache: { enabled: true } },
    { id: 'c', needs: ['b'], with: { value: '${{ stages.b.outputs.value }}/c' } },
  ]);
  const firstId = await h.runs.submit(plan);
  const first = stagesById((await h.runs.result(firstId)).stages);
  assert.deepEqual([first.a?.status, first.b?.status, first.c?.status], ['succeeded', 'succeeded', 'succeeded']);
  const second = stagesById((await h.runs.result(await h.runs.submit(plan))).stages);
  assert.deepEqual([second.a?.status, second.b?.status, second.c?.status], ['cached', 'cached', 'succeeded']);
  assert.match(second.a?.reason ?? '', new RegExp(`cache hit from run ${firstId}`));
  assert.deepEqual(second.b?.outputs, first.b?.outputs, 'cached outputs are the recorded ones');
  assert.equal(second.c?.outputs?.value, `${token}/b/c`);
});
