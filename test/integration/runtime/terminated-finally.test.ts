/**
 * A continued-as-new run terminated in its `finally:` phase reads without a worker as a worker's query would: the
 * normal stage that failed, the finally stage its `when:` skipped (no event says so) and the finally stage that was
 * running when Temporal ended the run. Real Temporal dev server and MinIO; the control worker is stopped before the
 * second reading (test/fixtures/runtime/terminated-run.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness } from '../../fixtures/runtime/harness';
import { readWithoutWorker, stageTable, terminateContinuedRun } from '../../fixtures/runtime/terminated-run';

test('a continued run terminated in its finally phase reads its skipped and running finally stages', async () => {
  const h = await startRuntimeHarness();
  // Long enough that the run continues as new before its last stages (100-event limit).
  const chain = Array.from({ length: 18 }, (_, i) => ({ id: `c${i + 1}`, needs: i === 0 ? [] : [`c${i}`] }));
  const last = chain[chain.length - 1]?.id as string;
  const plan = h.plan(
    'terminated-finally',
    [
      ...chain,
      { id: 'boom', needs: [last], uses: 'test-invalid' },
      // Skipped by its condition in the finally phase: no event says so.
      { id: 'notify', finally: true, when: '${{ params.notify }}' },
      { id: 'cleanup', finally: true, with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
    ],
    { notify: false },
  );
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: 100,
    until: (s: RunState) => s.stages.find((stage) => stage.id === 'cleanup')?.progress !== undefined,
  });
  assert.equal(withWorker.status, 'terminated');
  const byId = new Map(withWorker.stages.map((s) => [s.id, s]));
  assert.equal(byId.get('boom')?.status, 'failed');
  assert.equal(byId.get('notify')?.status, 'skipped');
  assert.equal(byId.get('cleanup')?.status, 'cancelled');

  const { state, queries } = await readWithoutWorker(h, runId);
  assert.equal(state.status, 'terminated');
  assert.deepEqual(queries, [], 'no state query is sent when no worker polls the run');
  assert.deepEqual(
    stageTable(state.stages),
    stageTable(withWorker.stages),
    'the stages as the terminated execution left them',
  );
});
