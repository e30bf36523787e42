/**
 * A run terminated after a `retry` reads without a worker as a worker's query of it reads it: the retried stage is
 * decided in the workflow task that accepted the retry, where the workflow's update handler woke its main loop. Here
 * `retry --set go=false` turns the waiting stage's `when:` false, so that task skips it, a decision no event records;
 * the run is terminated right after (another stage still runs), so no later task comes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness } from '../../fixtures/runtime/harness';
import { assertReadsAsWorkerDid } from '../../fixtures/runtime/terminated-run';

test('a run terminated after `retry --set` skipped the retried stage reads it skipped, at the retry’s task', async () => {
  const h = await startRuntimeHarness();
  const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
  let runId = '';
  let withWorker: RunState | undefined;
  try {
    const plan = h.plan(
      'terminated-after-retry',
      [
        { id: 'slow', with: { sleepMs: 120_000, steps: 120 }, heartbeatTimeoutMs: 5_000 },
        {
          id: 'check',
          uses: 'test-fail-until-param',
          with: { value: '${{ params.fixed }}', expected: true },
          when: '${{ params.go }}',
          onFailure: 'pause',
        },
      ],
      { go: true, fixed: false },
    );
    runId = await h.runs.submit(plan);
    await h.runs.watch(runId, () => undefined, {
      until: (s) => stageOf(s, 'check')?.status === 'waiting' && stageOf(s, 'slow')?.progress !== undefined,
    });
    // The update returns once the task that accepted it completed: that task skipped `check`.
    await h.runs.retry(runId, { stageId: 'check', params: { go: false } });
    await h.client.workflow.getHandle(runId).terminate('operator stopped it after a retry');
    withWorker = await h.runs.state(runId, { timeoutMs: 10_000 });
  } finally {
    await h.close();
  }
  const check = stageOf(withWorker, 'check');
  assert.deepEqual([check?.status, check?.reason], ['skipped', 'when was false: ${{ params.go }}']);
  assert.ok(check?.endedAt);
  assert.deepEqual(withWorker.params, { go: false, fixed: false });
  await assertReadsAsWorkerDid(h, runId, withWorker);
});
