/**
 * A run terminated while a workflow task was in flight (started, never completed: the termination fails it) reads
 * without a worker as a worker's query of the ended run replays it. That replay runs the task's activation live after
 * the last completed task: what it starts has no event in history, and it drains towards continue-as-new by the whole
 * history's length, taking the bounded-history patch it never recorded. The task is held in flight by polling the
 * run's workflow task ourselves, with no control worker running, and never completing it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { RunClient } from '../../../src/client/run-client';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness } from '../../fixtures/runtime/harness';
import { assertReadsAsWorkerDid } from '../../fixtures/runtime/terminated-run';

/** How the run read: with its worker, and the task the termination caught with the history's length. */
interface Caught {
  readonly withWorker: RunState;
  readonly taskStarted: number;
  readonly historyLength: number;
}

/**
 * Submits `a`, then `d` (needs `a`), with `historyEventLimit`; stops the control worker while `a` runs, takes the
 * workflow task that `a`'s end schedules (it would start `d`), terminates the run, starts a control worker again and
 * reads the run through it; then checks a client without a worker reads it the same.
 */
async function terminatedMidTask(name: string, historyEventLimit: number): Promise<Caught> {
  const h = await startRuntimeHarness();
  let caught: Omit<Caught, 'withWorker'> | undefined;
  let withWorker: RunState | undefined;
  let runId = '';
  try {
    const runs = new RunClient(h.client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit,
    });
    runId = await runs.submit(
      h.plan(name, [
        { id: 'a', with: { sleepMs: 3_000, steps: 3 } },
        { id: 'd', needs: ['a'] },
      ]),
    );
    await runs.watch(runId, () => undefined, { until: (s) => s.stages[0]?.progress !== undefined });
    const control = h.workers.find(
      (w) => w.taskQueue === h.runs.workflowTaskQueue && w.worker.getState() === 'RUNNING',
    );
    assert.ok(control);
    await control.shutdown();
    const { connection } = h.client;
    // The task `a`'s end schedules: this poll starts it (no worker competes), and nobody completes it.
    const task = await connection.withDeadline(Date.now() + 60_000, () =>
      connection.workflowService.pollWorkflowTaskQueue({
        namespace: h.config.temporal.namespace,
        taskQueue: { name: h.runs.workflowTaskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        identity: 'terminated-mid-task test',
      }),
    );
    assert.equal(task.workflowExecution?.workflowId, runId);
    const handle = h.client.workflow.getHandle(runId);
    await handle.terminate('operator stopped it mid-task');
    const events = (await handle.fetchHistory()).events ?? [];
    caught = { taskStarted: Number(task.startedEventId), historyLength: events.length };
    await h.addWorker({ pool: h.pools.control, runsWorkflows: true });
    withWorker = await runs.state(runId, { timeoutMs: 20_000 });
  } finally {
    await h.close();
  }
  assert.ok(caught && withWorker);
  await assertReadsAsWorkerDid(h, runId, withWorker);
  return { ...caught, withWorker };
}

test('a run terminated mid-task reads as the worker replays that task: it started `d`, or drained by the whole history', async () => {
  const far = await terminatedMidTask('mid-task', 10_000);
  // The termination failed the task in flight, then ended the run.
  assert.equal(far.historyLength, far.taskStarted + 2);
  const d = far.withWorker.stages[1];
  assert.deepEqual(
    [d?.status, d?.reason],
    ['cancelled', 'the run was terminated (operator stopped it mid-task) while this stage ran'],
  );
  // The same run with the limit at the whole history's length: the task in flight never reached it (its own start is
  // two events short), but the replay's does, so the replay drains there and starts nothing.
  const drained = await terminatedMidTask('mid-task-drained', far.historyLength);
  assert.equal(drained.taskStarted, far.taskStarted, 'the same history up to the task in flight');
  assert.equal(drained.withWorker.stages[1]?.status, 'pending');
});
