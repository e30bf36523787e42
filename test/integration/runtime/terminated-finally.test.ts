/**
 * A continued-as-new run terminated in its `finally:` phase reads without a worker as a worker's query would: the
 * finally stage its `when:` skipped (no event says so) and the finally stage that was running when Temporal ended the
 * run, after a normal stage failed, or after the run was cancelled (`fineflow cancel`) while a normal stage ran. Real
 * Temporal dev server and MinIO; the control worker is stopped before the second reading
 * (test/fixtures/runtime/terminated-run.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../../src/core/run/run-types';
import type { StageSketch } from '../../fixtures/runtime/plans';
import { startRuntimeHarness } from '../../fixtures/runtime/harness';
import {
  assertReadsAsWorkerDid,
  CHAIN_HISTORY_EVENT_LIMIT,
  continuedChain,
  terminateContinuedRun,
} from '../../fixtures/runtime/terminated-run';

/** The finally stages under test: one its condition skips (no event says so), one still running when terminated. */
const FINALLY: readonly StageSketch[] = [
  { id: 'notify', finally: true, when: '${{ params.notify }}' },
  { id: 'cleanup', finally: true, with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
];

const cleanupRuns = (s: RunState): boolean => s.stages.find((stage) => stage.id === 'cleanup')?.progress !== undefined;

test('a continued run terminated in its finally phase reads its skipped and running finally stages', async () => {
  const h = await startRuntimeHarness();
  const chain = continuedChain();
  const plan = h.plan(
    'terminated-finally',
    [...chain.stages, { id: 'boom', needs: [chain.last], uses: 'test-invalid' }, ...FINALLY],
    { notify: false },
  );
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: CHAIN_HISTORY_EVENT_LIMIT,
    until: cleanupRuns,
  });
  assert.equal(withWorker.status, 'terminated');
  const byId = new Map(withWorker.stages.map((s) => [s.id, s]));
  assert.equal(byId.get('boom')?.status, 'failed');
  assert.equal(byId.get('notify')?.status, 'skipped');
  assert.equal(byId.get('cleanup')?.status, 'cancelled');
  await assertReadsAsWorkerDid(h, runId, withWorker);
});

test('a continued run cancelled, then terminated in its finally phase, reads its finally stages', async () => {
  const h = await startRuntimeHarness();
  const chain = continuedChain();
  const plan = h.plan(
    'cancelled-finally',
    [
      ...chain.stages,
      { id: 'slow', needs: [chain.last], with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
      { id: 'after', needs: ['slow'] },
      ...FINALLY,
    ],
    { notify: false },
  );
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: CHAIN_HISTORY_EVENT_LIMIT,
    midway: {
      when: (s) => s.stages.find((stage) => stage.id === 'slow')?.progress !== undefined,
      act: (runs, id) => runs.cancel(id),
    },
    until: cleanupRuns,
  });
  assert.equal(withWorker.status, 'terminated');
  const byId = new Map(withWorker.stages.map((s) => [s.id, s]));
  assert.equal(byId.get('slow')?.status, 'cancelled');
  assert.equal(byId.get('notify')?.status, 'skipped');
  assert.equal(byId.get('cleanup')?.status, 'cancelled');
  await assertReadsAsWorkerDid(h, runId, withWorker);
});
