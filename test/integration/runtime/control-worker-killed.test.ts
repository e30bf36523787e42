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

  // A watch reads twice a second and remembers for 5 s that the queue was polled: the read after the kill sent the
  // query anyway and waited until it failed (its 15 s timeout, or Temporal giving up on the dead worker's sticky queue
  // first), and only then said nobody polls. It now knows at once that the worker it remembered ended, and says so
  // without a query; a query in flight at the kill is cut short. Its timeout here is longer than the test's.
  void it(
    'a watch that read just before the kill says no worker polls, then reads the terminated run, with no query wait',
    { timeout: 120_000 },
    async () => {
      const pool = `watch-killed-${randomSuffix()}`;
      const own = await spawnWorker({ pool, workflows: true });
      worker = own;
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(pool),
        store: h.store,
      });
      const sketch = h.plan('watch-worker-killed', [{ id: 'a' }]);
      const runId = await runs.submit({
        ...sketch,
        stages: sketch.stages.map((stage) => ({ ...stage, pool: `nobody-${randomSuffix()}` })),
      });
      let answered: () => void = () => undefined;
      const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
      let noticed: (message: string) => void = () => undefined;
      const notice = new Promise<string>((resolve) => (noticed = resolve));
      const stopWatching = new AbortController();
      const watching = runs.watch(runId, () => answered(), {
        stateTimeoutMs: 600_000,
        onInterrupted: ({ message }) => noticed(message),
        signal: stopWatching.signal,
      });
      void watching.catch(() => undefined); // its failure is awaited below
      try {
        await firstAnswer;
        process.kill(-own.pid, 'SIGKILL');
        await own.exited;
        // Said without waiting for an answer ("cannot answer … now"), not after a query that went unanswered.
        assert.match(
          await notice,
          new RegExp(`^run ${runId} cannot answer its state query now; no worker polls its task queue`),
        );
        await h.client.workflow.getHandle(runId).terminate('watch-worker-killed test');
        const final = await watching;
        assert.equal(final.status, 'terminated');
        assert.deepEqual(
          final.stages.map((stage) => [stage.id, stage.status]),
          [['a', 'cancelled']],
        );
      } finally {
        stopWatching.abort();
        await watching.catch(() => undefined);
      }
    },
  );
});
