/**
 * `fineflow status` right after a run's control worker was killed answers at once: Temporal keeps listing the dead
 * worker's poller for minutes, and until now a poller seen within 90 s counted, so the state query went out and waited
 * its whole 15 s timeout. A poller of this host whose process ended is now gone at once (a remote one once it is older
 * than a long poll and a margin), so a running run says which worker to start and a terminated one reads from its
 * history without asking. A live but idle control worker, whose poll Temporal last saw many seconds ago, still answers.
 * Real Temporal dev server and MinIO; the control worker is a `fineflow worker --workflows` process of the test's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { RunClient } from '../../../src/client/run-client';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

/** Well under the 15 s state query timeout it used to wait out. */
const AT_ONCE_MS = 5_000;

void describe('status after the control worker was killed (Temporal + MinIO, kill -9)', () => {
  let h: RuntimeHarness;
  let worker: WorkerProcess | undefined;
  const control = `control-killed-${randomSuffix()}`;

  before(async () => {
    h = await startRuntimeHarness();
  });

  after(async () => {
    if (worker && worker.child.exitCode === null) await worker.stop('SIGKILL');
    await h?.close();
  });

  void it(
    'reads the run at once, running or terminated, and an idle live worker still answers',
    { timeout: 180_000 },
    async () => {
      worker = await spawnWorker({ pool: control, workflows: true });
      const taskQueue = taskQueueForPool(control);
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueue,
        store: h.store,
      });
      // Its one stage waits for a pool nobody polls: the run stays running.
      const sketch = h.plan('control-worker-killed', [{ id: 'a' }]);
      const plan = {
        ...sketch,
        stages: sketch.stages.map((stage) => ({ ...stage, pool: `nobody-${randomSuffix()}` })),
      };
      const runId = await runs.submit(plan);
      assert.equal((await runs.state(runId)).status, 'running');

      // Idle: Temporal last saw the worker's poll over 5 s ago (it holds one long poll a minute), yet it answers.
      for (;;) {
        const described = await h.client.workflowService.describeTaskQueue({
          namespace: h.client.options.namespace,
          taskQueue: { name: taskQueue, kind: 1 },
          taskQueueType: 1,
        });
        const seen = Math.max(
          ...(described.pollers ?? []).map((p) => optionalTsToDate(p.lastAccessTime)?.getTime() ?? 0),
        );
        if (Date.now() - seen > 5_000) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal((await runs.state(runId)).status, 'running');

      process.kill(-worker.pid, 'SIGKILL');
      await worker.exited;
      // What the next `fineflow status` does: a client of its own (this one remembers the queue as polled for 5 s).
      const next = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueue,
        store: h.store,
      });
      const running = Date.now();
      await assert.rejects(
        next.state(runId),
        (error: unknown) =>
          error instanceof DependencyUnavailableError && /no worker polls its task queue/.test(error.message),
      );
      assert.ok(Date.now() - running < AT_ONCE_MS, `a running run answered after ${Date.now() - running} ms`);

      await h.client.workflow.getHandle(runId).terminate('control-worker-killed test');
      const terminated = Date.now();
      const state = await next.state(runId);
      assert.equal(state.status, 'terminated');
      assert.deepEqual(
        state.stages.map((stage) => [stage.id, stage.status]),
        [['a', 'cancelled']],
      );
      assert.ok(Date.now() - terminated < AT_ONCE_MS, `a terminated run answered after ${Date.now() - terminated} ms`);
    },
  );
});
