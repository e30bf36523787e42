/**
 * A stage worker killed mid-stage (kill -9): `status` keeps the last progress but marks it stale
 * with its age, and says the stage waits for a worker on its pool once nothing polls it, although
 * the stage has progress. Real Temporal dev server and MinIO; the worker is a `fineflow worker` process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RunClient } from '../../../src/client/run-client';
import { renderRunState } from '../../../src/client/render';
import { DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS, type RunState } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

async function stateUntil(
  runs: RunClient,
  runId: string,
  done: (s: RunState) => boolean,
  ms: number,
): Promise<RunState> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await runs.state(runId);
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out; last state ${JSON.stringify(state.stages)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

void describe('a stage whose worker died (Temporal + MinIO, kill -9)', () => {
  let h: RuntimeHarness;
  let worker: WorkerProcess | undefined;
  let replacement: WorkerProcess | undefined;
  const pool = `mortal-${randomSuffix()}`;

  before(async () => {
    h = await startRuntimeHarness({ cpuWorker: false });
  });

  after(async () => {
    worker?.child.kill('SIGKILL');
    replacement?.child.kill('SIGKILL');
    await h?.close();
  });

  void it(
    'keeps the last progress, marks it stale with its age, waits for a worker on the pool, and is retried within the default heartbeat timeout',
    {
      timeout: 240_000,
    },
    async () => {
      worker = await spawnWorker({ pool, extraArgs: ['--progress-interval', '1s'] });
      // A poller unseen for 4 s is gone (90 s by default: an idle worker renews its long poll every minute).
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
        pollerGoneAfterMs: 4_000,
      });
      const plan = h.plan('dead-worker', [
        // No heartbeatTimeout: the default (DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS) applies, not the 10 min timeout.
        {
          id: 'train',
          pool,
          timeoutMs: 600_000,
          retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 1_000 },
          with: { sleepMs: 120_000, steps: 120 },
        },
      ]);
      const runId = await runs.submit(plan);
      const alive = await stateUntil(runs, runId, (s) => (s.stages[0]?.progress?.fraction ?? 0) >= 3 / 120, 60_000);
      assert.equal(alive.stages[0]?.live?.staleForMs, undefined, JSON.stringify(alive.stages[0]));
      assert.match(alive.stages[0]?.live?.worker ?? '', new RegExp(`^${pool}@`));

      const killedAt = Date.now();
      worker.child.kill('SIGKILL');
      await worker.exited;
      const dead = await stateUntil(
        runs,
        runId,
        (s) => s.stages[0]?.live?.staleForMs !== undefined && s.stages[0]?.live?.waitingForWorker === true,
        60_000,
      );
      const stage = dead.stages[0];
      assert.equal(stage?.status, 'running', 'Temporal has not timed the attempt out yet');
      assert.match(stage?.progress?.message ?? '', /^step \d+\/120$/, 'the last progress stays, marked stale');
      assert.ok((stage?.live?.staleForMs ?? 0) >= 3_000, `stale for ${stage?.live?.staleForMs} ms`);
      assert.match(stage?.reason ?? '', /^progress stale: no heartbeat for [\d.]+ s from worker mortal-/);
      assert.match(stage?.reason ?? '', new RegExp(`waiting for a worker on pool ${pool}`));
      assert.match(
        renderRunState(dead, new Date(), 240),
        /stale: no heartbeat for [\d.]+ s; waiting for a worker on pool/,
      );

      // Temporal times the dead attempt out after the default heartbeat timeout; a new worker gets the retry.
      replacement = await spawnWorker({ pool, extraArgs: ['--progress-interval', '1s'] });
      const retried = await stateUntil(
        runs,
        runId,
        (s) => s.stages[0]?.live?.worker !== undefined && s.stages[0]?.live?.worker !== alive.stages[0]?.live?.worker,
        DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS + 60_000,
      );
      const retriedAfterMs = Date.now() - killedAt;
      assert.ok(
        retriedAfterMs < DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS + 30_000,
        `retried ${retriedAfterMs} ms after the kill (the stage's timeout is 10 min)`,
      );
      assert.equal(retried.stages[0]?.status, 'running');
      await runs.cancel(runId);
      // With a heartbeat timeout the cancel waits for the attempt to stop: the run ends cancelled.
      const result = await runs.result(runId);
      assert.equal(result.status, 'cancelled');
      assert.equal(result.stages[0]?.status, 'cancelled');
    },
  );
});
