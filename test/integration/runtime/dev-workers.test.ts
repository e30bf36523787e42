/**
 * `fineflow dev status`'s worker line asks Temporal (DescribeTaskQueue) who polls each pool: none before a worker of
 * the pool starts, one after; an address nothing answers on gives an error within the bound, not a hang.
 * Real Temporal dev server, in-process worker.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { pollersOfPools } from '../../../src/client/worker-presence';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
});
after(async () => {
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
    const count = 'pollers' in found ? (found.pollers.get(pool) ?? 0) : 0;
    if (count > 0 || Date.now() > deadline) return count;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('counts the workers polling each pool, within its bound', { timeout: 60_000 }, async () => {
  const pool = `dev-${randomSuffix()}`;
  const { address, namespace } = h.config.temporal;
  const none = await pollersOfPools(address, namespace, [pool]);
  assert.ok('pollers' in none, JSON.stringify(none));
  assert.equal(none.pollers.get(pool), 0);
  assert.equal(await pollersSeen(h.pools.control), 1, 'the control worker polls (workflow task queue)');

  await h.addWorker({ pool });
  assert.equal(await pollersSeen(pool), 1);

  const started = Date.now();
  const unreachable = await pollersOfPools('127.0.0.1:1', namespace, [pool], 1_000);
  assert.ok('error' in unreachable);
  assert.ok(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
});
