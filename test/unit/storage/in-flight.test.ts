/**
 * forEachInFlight (src/core/in-flight.ts), which `data push`, `dev seed` and the generators' store writes use: at most
 * `limit` calls pending, items started in order, and after a failure nothing new starts and nothing is still running
 * when the caller gets the error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachInFlight } from '../../../src/core/in-flight';

/** A call the test ends by hand: `release(i)` settles item i's promise. */
function gatedWork(): {
  work: (item: number, index: number) => Promise<void>;
  started: number[];
  pending: () => number;
  maxPending: () => number;
  release: (index: number, error?: Error) => void;
  waitStarted: (count: number) => Promise<void>;
} {
  const started: number[] = [];
  const gates = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let pending = 0;
  let maxPending = 0;
  const startWaiters: { count: number; resolve: () => void }[] = [];
  return {
    started,
    pending: () => pending,
    maxPending: () => maxPending,
    work: (item, index) => {
      assert.equal(item, index * 10);
      started.push(index);
      pending++;
      maxPending = Math.max(maxPending, pending);
      for (const waiter of startWaiters.filter((w) => started.length >= w.count)) waiter.resolve();
      return new Promise<void>((resolve, reject) => gates.set(index, { resolve, reject })).finally(() => pending--);
    },
    release: (index, error) => {
      const gate = gates.get(index);
      assert.ok(gate, `item ${index} started`);
      if (error) gate.reject(error);
      else gate.resolve();
    },
    waitStarted: (count) =>
      started.length >= count ? Promise.resolve() : new Promise((resolve) => startWaiters.push({ count, resolve })),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('at most `limit` calls are pending, items start in order, and every item is worked once', async () => {
  const items = Array.from({ length: 20 }, (_, index) => index * 10);
  const gated = gatedWork();
  const all = forEachInFlight(items, 3, gated.work);
  await gated.waitStarted(3);
  await tick();
  assert.deepEqual(gated.started, [0, 1, 2], 'three started, the fourth waits for a slot');
  for (let index = 0; index < items.length; index++) {
    await gated.waitStarted(Math.min(items.length, index + 3));
    gated.release(index);
  }
  await all;
  assert.deepEqual(
    gated.started,
    items.map((_, index) => index),
  );
  assert.equal(gated.maxPending(), 3);
  assert.equal(gated.pending(), 0);
});

test('after a failure no new item starts, and the error comes once the calls in flight have settled', async () => {
  const items = Array.from({ length: 10 }, (_, index) => index * 10);
  const gated = gatedWork();
  let settled = false;
  const all = forEachInFlight(items, 3, gated.work).finally(() => (settled = true));
  await gated.waitStarted(3);
  gated.release(1, new Error('put of item 1 failed'));
  await tick();
  assert.deepEqual(gated.started, [0, 1, 2], 'no item started after the failure');
  assert.equal(settled, false, 'items 0 and 2 are still writing');
  gated.release(0);
  gated.release(2, new Error('a later failure'));
  await assert.rejects(all, /put of item 1 failed/);
  assert.equal(gated.pending(), 0);
});

test('no items is done at once; a limit above the item count starts them all; a bad limit is refused', async () => {
  await forEachInFlight([], 8, () => Promise.reject(new Error('never called')));
  const gated = gatedWork();
  const all = forEachInFlight([0, 10], 8, gated.work);
  await gated.waitStarted(2);
  gated.release(0);
  gated.release(1);
  await all;
  for (const limit of [0, -1, 1.5, Number.NaN])
    await assert.rejects(forEachInFlight([0], limit, gated.work), RangeError, `limit ${limit}`);
});
