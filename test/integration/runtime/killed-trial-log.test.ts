/**
 * A sweep trial whose worker is killed mid-segment (kill -9 of the worker's process group) says why, as a killed
 * stage attempt does (killed-attempt-log.test.ts): the retried segment's lines in the sweep log say that attempt 1
 * ended without finishing because Temporal heard no heartbeat from it for 4 s, and a trial whose last attempt was
 * killed too fails with the same wording plus what to do, in `fineflow logs` and in `fineflow status`'s trial table.
 * Real Temporal dev server and MinIO; the trials run on `fineflow worker` processes of a pool of the test's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunState } from '../../../src/core/run/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { loanSweepPlan } from '../../fixtures/runtime/loan-sweep';
import { killWorkerGroup, poolWorkers, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { runCli } from '../../helpers/cli';

const LOST = String.raw`Temporal heard no heartbeat from it for 4 s \(heartbeat timeout\): its worker was killed, stopped or lost Temporal`;

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

void describe('the sweep log of a trial whose worker was killed (Temporal + MinIO, kill -9)', () => {
  let h: RuntimeHarness;
  const pool = `trials-${randomSuffix()}`;
  const workers = poolWorkers(pool);

  before(async () => {
    h = await startRuntimeHarness();
  });

  after(async () => {
    await workers.killAll();
    await h?.close();
  });

  void it(
    'says which timeout ended the killed attempt in the retried segment, and in the trial that failed',
    { timeout: 300_000 },
    async () => {
      const plan = await loanSweepPlan(h, {
        name: 'killed-trial-log',
        hiddenUnits: [4, 6],
        trialsPool: pool,
        parallelism: 1,
        epochs: 120,
        heartbeatTimeout: '4s',
        maxAttempts: 2,
        maxFailedTrials: 1,
        imputeMissing: true,
      });
      const spawn = (): Promise<WorkerProcess> => workers.spawn();
      const runId = await h.runs.submit(plan);
      /** The newest epoch of a trial with a checkpoint in the store. */
      const newestEpoch = async (trialId: number): Promise<number> => {
        const trial = `trial-${String(trialId).padStart(4, '0')}`;
        const objects = await h.store.list(`s3://${h.config.s3.bucket}/runs/${runId}/sweep/trials/${trial}/`);
        const epochs = objects.map((o) => Number(/checkpoints\/epoch-(\d+)\//.exec(o.key)?.[1] ?? 0));
        return Math.max(0, ...epochs);
      };

      // Trial 0: attempt 1 killed after epoch 2, attempt 2 on a new worker finishes it.
      const first = await spawn();
      await until(
        'trial 0 to checkpoint epoch 2',
        () => newestEpoch(0),
        (epoch) => epoch >= 2,
        120_000,
      );
      await killWorkerGroup(first);
      const second = await spawn();
      // Trial 1 starts once trial 0 finished (parallelism 1); kill both of its attempts.
      await until(
        'trial 1 to checkpoint epoch 2',
        () => newestEpoch(1),
        (epoch) => epoch >= 2,
        180_000,
      );
      await killWorkerGroup(second);
      // Read once its group is dead: a checkpoint newer than this is attempt 2's.
      const killedAt = await newestEpoch(1);
      const third = await spawn();
      await until(
        'trial 1 attempt 2 to train on',
        () => newestEpoch(1),
        (epoch) => epoch > killedAt,
        120_000,
      );
      await killWorkerGroup(third);
      // The sweep's bookkeeping (its log, its results) runs on the pool too.
      await spawn();

      const result = await h.runs.result(runId);
      const sweep = result.stages.find((s: RunState['stages'][number]) => s.id === 'sweep');
      assert.equal(sweep?.status, 'succeeded', JSON.stringify(result.stages));

      const logs = await runCli(['logs', runId, 'sweep']);
      assert.equal(logs.code, 0, logs.stderr);
      // The lines that are not one epoch each, for the assertions' messages.
      const said = logs.stdout
        .split('\n')
        .filter((line) => !/ epoch \d+: /.test(line))
        .join('\n');
      assert.match(
        said,
        new RegExp(String.raw`trial 0 segment epochs 1-120: attempt 1 ended without finishing: ${LOST}\n`),
      );
      assert.match(said, /trial 0 segment epochs 1-120 ran on .* \(attempt 2, resumed from epoch \d+\)/);
      const failed = new RegExp(
        String.raw`trial 1 failed: attempt 2 ended without finishing: ${LOST}; no attempt left ` +
          String.raw`\(retry\.maxAttempts 2\): look in that worker's own output for why it stopped .*` +
          `a worker of pool ${pool} runs`,
      );
      assert.match(said, failed);

      const status = await runCli(['status', runId]);
      assert.equal(status.code, 0, status.stderr);
      // The table's row is cut at the terminal's width; the whole error follows the table, wrapped.
      assert.match(status.stdout.replace(/\n {4}/g, ' '), failed, status.stdout);
    },
  );
});
