/**
 * `fineflow dev status`'s worker line asks Temporal (DescribeTaskQueue) who polls each pool: none before a worker of
 * the pool starts, one after, and none again as soon as a worker process of this machine stopped (Temporal lists its
 * poller for 90 s more); an address nothing answers on gives an error within the bound, not a hang.
 * Real Temporal dev server, an in-process worker and a `fineflow worker` process.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { pollersOfPools } from '../../../src/client/worker-presence';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

let h: RuntimeHarness;
let worker: WorkerProcess | undefined;
before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
});
after(async () => {
  worker?.child.kill('SIGKILL');
  await h?.close();
});

/**
 * The pool's pollers once at least one is seen (a worker's first poll reaches Temporal shortly after it starts). Asked
 * every 100 ms, not back to back: the loop ran DescribeTaskQueue as fast as Temporal answered, on a machine shared with
 * every other test process.
 */
async function pollersSeen(pool: string): Promise<number> {
  const { address, namespace } = h.config.temporal;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = await pollersOfPools(address, namespace, [pool]);
    const counted = 'pollers' in found ? found.pollers.get(pool) : undefined;
    const count = counted ? counted.running + counted.seenRecently : 0;
    if (count > 0 || Date.now() > deadline) return count;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('counts the workers polling each pool, within its bound', { timeout: 60_000 }, async () => {
  const pool = `dev-${randomSuffix()}`;
  const { address, namespace } = h.config.temporal;
  const none = await pollersOfPools(address, namespace, [pool]);
  assert.ok('pollers' in none, JSON.stringify(none));
  assert.deepEqual(none.pollers.get(pool), { running: 0, seenRecently: 0 });
  assert.equal(await pollersSeen(h.pools.control), 1, 'the control worker polls (workflow task queue)');

  await h.addWorker({ pool });
  assert.equal(await pollersSeen(pool), 1);

  const started = Date.now();
  const unreachable = await pollersOfPools('127.0.0.1:1', namespace, [pool], 1_000);
  assert.ok('error' in unreachable);
  assert.ok(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
});

it('stops counting a worker process of this machine once it exits', { timeout: 90_000 }, async () => {
  const pool = `dev-stopped-${randomSuffix()}`;
  const { address, namespace } = h.config.temporal;
  worker = await spawnWorker({ pool });
  assert.equal(await pollersSeen(pool), 1);
  const running = await pollersOfPools(address, namespace, [pool]);
  assert.ok('pollers' in running, JSON.stringify(running));
  assert.deepEqual(running.pollers.get(pool), { running: 1, seenRecently: 0 }, 'checked by its pid');
  assert.equal(await worker.stop('SIGTERM'), 0);
  // Temporal still lists the stopped worker's poller (for POLLER_GONE_AFTER_MS): counting its list said 1 here.
  const listed = await h.client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueueForPool(pool), kind: 1 },
    taskQueueType: 2,
  });
  assert.ok(
    (listed.pollers ?? []).some((poller) => poller.identity?.includes(`:${worker?.pid} `)),
    `Temporal lists the stopped worker: ${JSON.stringify(listed.pollers)}`,
  );
  const stopped = await pollersOfPools(address, namespace, [pool]);
  assert.ok('pollers' in stopped, JSON.stringify(stopped));
  assert.deepEqual(stopped.pollers.get(pool), { running: 0, seenRecently: 0 });
});
