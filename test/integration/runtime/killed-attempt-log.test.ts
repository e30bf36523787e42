/**
 * A stage worker killed mid-stage (kill -9) leaves a log that stops at its last step. The next attempt's log
 * says why the previous one ended (Temporal's heartbeat timeout, with the attempt numbers), and once the run
 * gives up on the stage after its last attempt was killed too, `fineflow logs` says that attempt ended without
 * finishing. Real Temporal dev server and MinIO; the stage workers are `fineflow worker` processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RunClient } from '../../../src/client/run-client';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import type { RunState } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { runCli } from '../../helpers/cli';

const LOST = String.raw`\(heartbeat timeout\): its worker was killed, stopped or lost Temporal\n`;

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

void describe('the log of an attempt whose worker was killed (Temporal + MinIO, kill -9)', () => {
  let h: RuntimeHarness;
  const workers: WorkerProcess[] = [];
  const pool = `killed-${randomSuffix()}`;

  before(async () => {
    h = await startRuntimeHarness({ cpuWorker: false });
  });

  after(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await h?.close();
  });

  void it(
    'says in the next attempt, and after the last, that an attempt ended without finishing and why',
    { timeout: 240_000 },
    async () => {
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
      });
      const plan = h.plan('killed-attempt-log', [
        {
          id: 'train',
          pool,
          timeoutMs: 600_000,
          heartbeatTimeoutMs: 4_000,
          onFailure: 'fail',
          retry: { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 1_000 },
          with: { sleepMs: 120_000, steps: 120, logSteps: true },
        },
      ]);
      const first = await spawnWorker({ pool });
      workers.push(first);
      const runId = await runs.submit(plan);
      const stageLog = async (attempt: number): Promise<string> => {
        const log = (await listStageLogs(h.store, h.config.s3.bucket, runId, 'train')).find(
          (e) => e.attempt === attempt,
        );
        return log ? stageLogText(h.store, log) : '';
      };
      await until(
        'attempt 1 to log step 2',
        () => stageLog(1),
        (text) => /step 2\/120/.test(text),
        60_000,
      );
      first.child.kill('SIGKILL');
      await first.exited;

      const second = await spawnWorker({ pool });
      workers.push(second);
      const retried = await until(
        'attempt 2 to log step 2',
        () => stageLog(2),
        (text) => /step 2\/120/.test(text),
        90_000,
      );
      assert.match(
        retried,
        new RegExp(
          String.raw`test-echo train: attempt 2 started on .*\n.*test-echo train: attempt 1 ended without finishing: ` +
            String.raw`Temporal heard no heartbeat from it for 4(\.0)? s ${LOST}`,
        ),
      );
      assert.doesNotMatch(await stageLog(1), /ended/, 'the killed attempt wrote no end line of its own');

      second.child.kill('SIGKILL');
      await second.exited;
      const result = await runs.result(runId);
      assert.equal(result.status, 'failed');
      const stage = result.stages.find((s: RunState['stages'][number]) => s.id === 'train');
      assert.equal(stage?.error?.type, 'Timeout:HEARTBEAT');
      assert.equal(stage?.attempts, 2);

      const logs = await runCli(['logs', runId, 'train']);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(
        logs.stdout,
        new RegExp(
          String.raw`==> train attempt 2 <==\n(.*\n)*.*step 2/120\n(.*\n)*` +
            String.raw`\[fineflow\] attempt 2 ended without finishing: Temporal heard no heartbeat from it ${LOST}$`,
        ),
      );
      assert.equal(logs.stdout.match(/ended without finishing/g)?.length, 2, logs.stdout);
    },
  );
});
