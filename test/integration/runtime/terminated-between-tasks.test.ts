/**
 * A run terminated after a stage ended but before any workflow task saw it (the task that end scheduled never
 * started: no control worker polled) reads without a worker as a worker's query of the ended run reads it, whichever
 * worker answers. A fresh worker's query replays the history and applies those events in one final activation after
 * the last completed task, at that task's clock: it decides what the end made ready (skips `k`, whose `when:` is
 * false, and starts `d`, which no event records), and the termination then stops `d`. The worker that held the run in
 * its cache when it lost Temporal answers from its live state, but sdk-core gives it the events it has not seen in an
 * activation of their own before the query (a legacy query is never dispatched with other jobs: sdk-core,
 * worker/workflow/managed_run.rs), so it decides the same, at the same clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { RunClient } from '../../../src/client/run-client';
import { connectClient, connectWorker } from '../../../src/client/temporal-connection';
import { loadConfig } from '../../../src/config';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { startTcpProxy } from '../../fixtures/runtime/tcp-proxy';
import { assertReadsAsWorkerDid } from '../../fixtures/runtime/terminated-run';
import { requireStack } from '../../helpers/stack';

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

const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);

/**
 * Submits `a`, then `d` and `k` (both need `a`), with `historyEventLimit`; once `a` runs, takes the control worker off Temporal (`answering`
 * 'fresh worker': stops it; 'cached worker': cuts the TCP proxy it reaches Temporal through, so it keeps the run in its
 * cache), waits for `a`'s end, terminates the run and reads it through a control worker (a new one; the same one, its
 * link restored). Checks the history's tail, then that a client without a worker reads the run the same. Returns that
 * reading and the history's length.
 */
async function terminatedBetweenTasks(
  answering: 'fresh worker' | 'cached worker',
  historyEventLimit = 10_000,
): Promise<{ readonly withWorker: RunState; readonly historyLength: number }> {
  const config = await requireStack(loadConfig(process.env));
  const proxy = await startTcpProxy(config.temporal.address);
  const proxied = await connectWorker({ ...config.temporal, address: proxy.address });
  const h = await startRuntimeHarness({ control: { connection: proxied } });
  let runId = '';
  let withWorker: RunState | undefined;
  let tail: string[] = [];
  let historyLength = 0;
  // The state queries a worker answered: the reading below must be one, not the history reader's fallback.
  const answered: string[] = [];
  const client = await connectClient(h.config.temporal, {
    interceptors: {
      workflow: [
        {
          async query(input, next) {
            const answer = await next(input);
            answered.push(input.queryType);
            return answer;
          },
        },
      ],
    },
  });
  try {
    const runs = new RunClient(client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit,
    });
    runId = await runs.submit(
      h.plan(
        `terminated-between-tasks`,
        [
          { id: 'a', with: { sleepMs: 3_000, steps: 3 } },
          { id: 'd', needs: ['a'] },
          { id: 'k', needs: ['a'], when: '${{ params.deploy }}' },
        ],
        { deploy: false },
      ),
    );
    await runs.watch(runId, () => undefined, { until: (s) => stageOf(s, 'a')?.progress !== undefined });
    const control = h.workers.find((w) => w.taskQueue === runs.workflowTaskQueue);
    assert.ok(control);
    if (answering === 'fresh worker') await control.shutdown();
    else proxy.cut();
    // `a` ends on the cpu worker; the task its end schedules waits for a control worker that is not there.
    await awaitEvent(h, runId, (e) => e.activityTaskCompletedEventAttributes != null);
    const handle = h.client.workflow.getHandle(runId);
    await handle.terminate('operator stopped it between tasks');
    const events = (await handle.fetchHistory()).events ?? [];
    historyLength = events.length;
    tail = events.slice(-3).map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? '?');
    if (answering === 'fresh worker') await h.addWorker({ pool: h.pools.control, runsWorkflows: true });
    else {
      assert.equal(control.worker.getStatus().numCachedWorkflows, 1, 'the worker holds the run when it is asked');
      proxy.restore();
    }
    answered.length = 0;
    withWorker = await runs.state(runId, { timeoutMs: 30_000 });
    assert.deepEqual(answered, ['runState'], `${answering} answered the state query`);
  } finally {
    await client.connection.close();
    await h.close();
    await proxied.close();
    await proxy.close();
  }
  // No task started after `a` ended: only scheduled, then the termination.
  assert.deepEqual(tail, [
    'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
    'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
    'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED',
  ]);
  await assertReadsAsWorkerDid(h, runId, withWorker);
  return { withWorker, historyLength };
}

/** `a`'s end decided at the clock of the last completed task (the one that started `a`): `d` started, `k` skipped. */
function assertDecidedAtLastTask(withWorker: RunState, answering: string): void {
  const clock = stageOf(withWorker, 'a')?.startedAt;
  const d = stageOf(withWorker, 'd');
  const k = stageOf(withWorker, 'k');
  assert.deepEqual(
    [d?.status, d?.reason, d?.startedAt],
    ['cancelled', 'the run was terminated (operator stopped it between tasks) while this stage ran', clock],
    answering,
  );
  assert.deepEqual([k?.status, k?.endedAt], ['skipped', clock], answering);
}

test('a run terminated after a stage ended, before a task saw it, reads as a fresh worker’s replay decides that end', async () => {
  const far = await terminatedBetweenTasks('fresh worker');
  assertDecidedAtLastTask(far.withWorker, 'fresh worker');
  // The same run with the limit at the whole history's length: the last activation's history length is that, so the
  // replay drains there and decides nothing of `a`'s end.
  const drained = await terminatedBetweenTasks('fresh worker', far.historyLength);
  assert.equal(drained.historyLength, far.historyLength, 'the same history');
  assert.deepEqual(
    ['d', 'k'].map((id) => stageOf(drained.withWorker, id)?.status),
    ['pending', 'pending'],
  );
});

test('the worker that held that run in its cache answers as the replay and the reader do', async () => {
  assertDecidedAtLastTask((await terminatedBetweenTasks('cached worker')).withWorker, 'cached worker');
});
