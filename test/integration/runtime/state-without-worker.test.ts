/**
 * `fineflow status` when no control worker answers the state query: an ended run is rebuilt
 * from its history; a running one is reported as unavailable instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunClient } from '../../../src/client/run-client';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { connectClient } from '../../../src/client/temporal-connection';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { makePlan } from '../../fixtures/runtime/plans';
import { randomSuffix, startRuntimeHarness } from '../../fixtures/runtime/harness';

test('an ended run shows its stages from history once its workers are gone; a running one fails fast', async () => {
  const h = await startRuntimeHarness();
  const plan = h.plan('no-worker', [
    { id: 'a', with: { value: 1 } },
    { id: 'b', needs: ['a'], with: { value: '${{ stages.a.outputs.value }}' } },
  ]);
  const runId = await h.runs.submit(plan);
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const config = h.config;
  await h.close();

  const client = await connectClient(config.temporal);
  try {
    const runs = new RunClient(client, {
      bucket: config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(`nobody-${randomSuffix()}`),
    });
    const state = await runs.state(runId, { timeoutMs: 2_000 });
    assert.equal(state.status, 'succeeded');
    assert.deepEqual(
      state.stages.map((s) => [s.id, s.status, s.outputs?.value]),
      [
        ['a', 'succeeded', 1],
        ['b', 'succeeded', 1],
      ],
    );
    assert.ok(state.endedAt);

    const orphan = await runs.submit(makePlan('orphan', [{ id: 'x' }]));
    await assert.rejects(
      runs.state(orphan, { timeoutMs: 2_000 }),
      (error: unknown) => error instanceof DependencyUnavailableError && /control worker/.test(error.message),
    );
    await client.workflow.getHandle(orphan).terminate('test cleanup');
  } finally {
    await client.connection.close();
  }
});
