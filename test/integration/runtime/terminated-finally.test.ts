/**
 * A continued-as-new run terminated in its `finally:` phase reads without a worker as a worker's query would: the
 * normal stage that failed, the finally stage its `when:` skipped (no event says so) and the finally stage that was
 * running when Temporal ended the run. Real Temporal dev server and MinIO; the control worker is stopped before the
 * second reading, and a client that takes a poller unseen for 1 s as gone reads from history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunClient } from '../../../src/client/run-client';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { connectClient } from '../../../src/client/temporal-connection';
import { workflowQueuePollers } from '../../../src/client/worker-presence';
import { randomSuffix, startRuntimeHarness } from '../../fixtures/runtime/harness';

/** Everything a reader shows of a stage, times included: they are the workflow's own clock in both readings. */
function table(stages: readonly StageState[]): string[][] {
  return stages.map((s) => [
    s.id,
    s.status,
    String(s.attempts),
    JSON.stringify(s.outputs ?? null),
    s.reason ?? '',
    s.error?.message ?? '',
    s.startedAt ?? '',
    s.endedAt ?? '',
  ]);
}

test('a continued run terminated in its finally phase reads its skipped and running finally stages', async () => {
  const h = await startRuntimeHarness();
  // Long enough that the run continues as new before its last stages (100-event limit).
  const chain = Array.from({ length: 18 }, (_, i) => ({ id: `c${i + 1}`, needs: i === 0 ? [] : [`c${i}`] }));
  const last = chain[chain.length - 1]?.id as string;
  let runId: string;
  let withWorker: RunState;
  try {
    const runs = new RunClient(h.client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit: 100,
    });
    runId = await runs.submit(
      h.plan(
        'terminated-finally',
        [
          ...chain,
          { id: 'boom', needs: [last], uses: 'test-invalid' },
          // Skipped by its condition in the finally phase: no event says so.
          { id: 'notify', finally: true, when: '${{ params.notify }}' },
          { id: 'cleanup', finally: true, with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
        ],
        { notify: false },
      ),
    );
    const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
    await runs.watch(runId, () => undefined, { until: (s) => stageOf(s, 'cleanup')?.progress !== undefined });
    const handle = h.client.workflow.getHandle(runId);
    const latest = await handle.describe();
    assert.notEqual(latest.runId, latest.raw.workflowExecutionInfo?.firstRunId, 'the run continued as new');
    await handle.terminate('operator stopped it');
    withWorker = await runs.state(runId, { timeoutMs: 10_000 });
  } finally {
    await h.close();
  }
  assert.equal(withWorker.status, 'terminated');
  const byId = new Map(withWorker.stages.map((s) => [s.id, s]));
  assert.equal(byId.get('boom')?.status, 'failed');
  assert.equal(byId.get('notify')?.status, 'skipped');
  assert.equal(byId.get('cleanup')?.status, 'cancelled');

  const client = await connectClient(h.config.temporal);
  try {
    const runs = new RunClient(client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(`nobody-${randomSuffix()}`),
      store: h.store,
      controlPollerGoneAfterMs: 1_000,
    });
    // The precondition, awaited: Temporal no longer lists the stopped control worker as polling within that second.
    while ((await workflowQueuePollers(client, h.runs.workflowTaskQueue, Date.now(), 1_000)) > 0)
      await new Promise((resolve) => setTimeout(resolve, 200));
    const state = await runs.state(runId, { timeoutMs: 10_000 });
    assert.equal(state.status, 'terminated');
    assert.deepEqual(table(state.stages), table(withWorker.stages), 'the stages as the terminated execution left them');
  } finally {
    await client.connection.close();
  }
});
