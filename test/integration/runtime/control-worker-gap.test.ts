/**
 * Stage times exclude time when no control worker ran: a stage that ends while the control pool
 * is down is recorded with the end its stage worker reported, not when a control worker came back.
 * Real Temporal dev server and MinIO, in-process workers.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

void it('a stage that ended while no control worker ran keeps its own duration', { timeout: 120_000 }, async () => {
  const runId = await h.runs.submit(h.plan('gap', [{ id: 'work', with: { sleepMs: 2_000, steps: 2 } }]));
  const handle = h.client.workflow.getHandle(runId);
  const deadline = Date.now() + 30_000;
  while (((await handle.describe()).raw.pendingActivities ?? []).length === 0) {
    assert.ok(Date.now() < deadline, 'the stage never started');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const control = h.workers[0];
  assert.ok(control);
  await control.shutdown();
  // The stage ends (its activity closes) while nothing runs the workflow.
  while (((await handle.describe()).raw.pendingActivities ?? []).length > 0) {
    assert.ok(Date.now() < deadline, 'the stage never ended');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const downtimeMs = 5_000;
  await new Promise((resolve) => setTimeout(resolve, downtimeMs)); // the control pool stays down a while
  await h.addWorker({ pool: h.pools.control, runsWorkflows: true });
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  const work = result.stages[0];
  const durationMs = Date.parse(work?.endedAt ?? '') - Date.parse(work?.startedAt ?? '');
  const outputs = work?.outputs as { startedAt: number; endedAt: number };
  assert.ok(durationMs >= outputs.endedAt - outputs.startedAt, `recorded ${durationMs} ms`);
  assert.ok(
    durationMs < 2_000 + downtimeMs - 1_000,
    `recorded ${durationMs} ms, the control pool was down ${downtimeMs} ms`,
  );
});
