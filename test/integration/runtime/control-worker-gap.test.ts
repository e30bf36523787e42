/**
 * Stage times exclude time when no control worker ran: a stage that ends while the control pool
 * is down is recorded with the end its stage worker reported, not when a control worker came back.
 * Real Temporal dev server and MinIO, in-process workers.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

/**
 * Run one 2 s stage, shut the control worker down before it ends, keep it down `downtimeMs` after the
 * stage's activity closed, then bring it back; returns the recorded stage state and the run's result.
 */
async function stageEndingWithoutControlWorker(name: string, failAtEnd: boolean, downtimeMs: number) {
  const runId = await h.runs.submit(h.plan(name, [{ id: 'work', with: { sleepMs: 2_000, steps: 2, failAtEnd } }]));
  const handle = h.client.workflow.getHandle(runId);
  const deadline = Date.now() + 30_000;
  while (((await handle.describe()).raw.pendingActivities ?? []).length === 0) {
    assert.ok(Date.now() < deadline, 'the stage never started');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const control = h.workers.find(
    (w) => w.taskQueue === taskQueueForPool(h.pools.control) && w.worker.getState() === 'RUNNING',
  );
  assert.ok(control);
  await control.shutdown();
  // The stage ends (its activity closes) while nothing runs the workflow.
  while (((await handle.describe()).raw.pendingActivities ?? []).length > 0) {
    assert.ok(Date.now() < deadline, 'the stage never ended');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, downtimeMs)); // the control pool stays down a while
  await h.addWorker({ pool: h.pools.control, runsWorkflows: true });
  const result = await h.runs.result(runId);
  const work = result.stages[0];
  const durationMs = Date.parse(work?.endedAt ?? '') - Date.parse(work?.startedAt ?? '');
  return { result, work, durationMs };
}

void it('a stage that ended while no control worker ran keeps its own duration', { timeout: 120_000 }, async () => {
  const downtimeMs = 5_000;
  const { result, work, durationMs } = await stageEndingWithoutControlWorker('gap', false, downtimeMs);
  assert.equal(result.status, 'succeeded');
  const outputs = work?.outputs as { startedAt: number; endedAt: number };
  assert.ok(durationMs >= outputs.endedAt - outputs.startedAt, `recorded ${durationMs} ms`);
  assert.ok(
    durationMs < 2_000 + downtimeMs - 1_000,
    `recorded ${durationMs} ms, the control pool was down ${downtimeMs} ms`,
  );
});

void it(
  'a stage that failed while no control worker ran ends when it failed on its worker',
  { timeout: 120_000 },
  async () => {
    const downtimeMs = 5_000;
    const { result, work, durationMs } = await stageEndingWithoutControlWorker('gap-failed', true, downtimeMs);
    assert.equal(result.status, 'failed');
    assert.equal(work?.status, 'failed');
    assert.match(work?.error?.message ?? '', /failed at the end as asked/);
    // The stage's own timing, from its error message: the recorded end is when the attempt failed.
    const timing = JSON.parse(/\((\{.*\})\)/.exec(work?.error?.message ?? '')?.[1] ?? '{}') as {
      startedAt: number;
      endedAt: number;
    };
    assert.ok(durationMs >= timing.endedAt - timing.startedAt, `recorded ${durationMs} ms`);
    assert.ok(
      durationMs < 2_000 + downtimeMs - 1_000,
      `recorded ${durationMs} ms, the control pool was down ${downtimeMs} ms`,
    );
  },
);
