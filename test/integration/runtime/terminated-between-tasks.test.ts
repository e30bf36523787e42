/**
 * A run terminated after a stage ended but before any workflow task saw it (the task that end scheduled never
 * started: no control worker polled) reads without a worker as a worker's query of the ended run reads it. The query's
 * replay applies those events in one final activation after the last completed task, at that task's clock: it decides
 * what the end made ready (skips `k`, whose `when:` is false, and starts `d`, which no event records), and the
 * termination then stops `d`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { assertReadsAsWorkerDid } from '../../fixtures/runtime/terminated-run';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Long-polls the run's history (waitNewEvent) until an event matches: no sleeping. */
async function awaitEvent(h: RuntimeHarness, workflowId: string, match: (e: HistoryEvent) => boolean): Promise<void> {
  let nextPageToken: Uint8Array | undefined;
  for (;;) {
    const page = await h.client.workflowService.getWorkflowExecutionHistory({
      namespace: h.config.temporal.namespace,
      execution: { workflowId },
      waitNewEvent: true,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    if (page.history?.events?.some(match)) return;
    if (page.nextPageToken && page.nextPageToken.length > 0) nextPageToken = page.nextPageToken;
  }
}

test('a run terminated after a stage ended, before a task saw it, reads as the worker’s replay decides that end', async () => {
  const h = await startRuntimeHarness();
  const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
  let runId = '';
  let withWorker: RunState | undefined;
  let tail: string[] = [];
  try {
    runId = await h.runs.submit(
      h.plan(
        'terminated-between-tasks',
        [
          { id: 'a', with: { sleepMs: 3_000, steps: 3 } },
          { id: 'd', needs: ['a'] },
          { id: 'k', needs: ['a'], when: '${{ params.deploy }}' },
        ],
        { deploy: false },
      ),
    );
    await h.runs.watch(runId, () => undefined, { until: (s) => stageOf(s, 'a')?.progress !== undefined });
    const control = h.workers.find(
      (w) => w.taskQueue === h.runs.workflowTaskQueue && w.worker.getState() === 'RUNNING',
    );
    assert.ok(control);
    await control.shutdown();
    // `a` ends on the cpu worker; the task its end schedules waits for a control worker that is not there.
    await awaitEvent(h, runId, (e) => e.activityTaskCompletedEventAttributes != null);
    const handle = h.client.workflow.getHandle(runId);
    await handle.terminate('operator stopped it between tasks');
    const events = (await handle.fetchHistory()).events ?? [];
    tail = events.slice(-3).map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? '?');
    await h.addWorker({ pool: h.pools.control, runsWorkflows: true });
    withWorker = await h.runs.state(runId, { timeoutMs: 20_000 });
  } finally {
    await h.close();
  }
  // No task started after `a` ended: only scheduled, then the termination.
  assert.deepEqual(tail, [
    'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
    'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
    'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED',
  ]);
  // The replay's last activation decided `a`'s end at the clock of the last completed task (the one that started `a`).
  const clock = stageOf(withWorker, 'a')?.startedAt;
  const d = stageOf(withWorker, 'd');
  const k = stageOf(withWorker, 'k');
  assert.deepEqual(
    [d?.status, d?.reason, d?.startedAt],
    ['cancelled', 'the run was terminated (operator stopped it between tasks) while this stage ran', clock],
  );
  assert.deepEqual([k?.status, k?.endedAt], ['skipped', clock]);
  await assertReadsAsWorkerDid(h, runId, withWorker);
});
