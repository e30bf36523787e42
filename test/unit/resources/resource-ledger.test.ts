import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { capacitySlotSupplier, ResourceLedger } from '../../../src/worker/resource-ledger';

const capacity = { cpu: 4, memoryMb: 8192, gpu: 1 };
const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test('stages hold their resources; one that does not fit the free part waits until enough is released', async () => {
  const ledger = new ResourceLedger(capacity);
  const releaseA = await ledger.acquire({ cpu: 3, memoryMb: 4096 });
  assert.deepEqual(ledger.free(), { cpu: 1, memoryMb: 4096, gpu: 1 });
  const b = ledger.acquire({ cpu: 2 });
  assert.equal(await settled(b), false);
  assert.equal(ledger.waiting, 1);
  assert.equal(ledger.hasRoom(), false, 'a waiting stage stops new tasks');
  releaseA();
  const releaseB = await b;
  assert.deepEqual(ledger.free(), { cpu: 2, memoryMb: 8192, gpu: 1 });
  releaseB();
  releaseB(); // twice is harmless
  assert.deepEqual(ledger.free(), capacity);
});

test('waiters are served first come, first served: a small stage does not overtake a large one', async () => {
  const ledger = new ResourceLedger(capacity);
  const releaseA = await ledger.acquire({ cpu: 2 });
  const large = ledger.acquire({ cpu: 4 });
  const small = ledger.acquire({ cpu: 1 });
  assert.equal(await settled(small), false, 'the small stage queues behind the large one although 2 cores are free');
  releaseA();
  const releaseLarge = await large;
  assert.equal(await settled(small), false);
  releaseLarge();
  (await small)();
  assert.deepEqual(ledger.free(), capacity);
});

test('a stage larger than the whole worker fails at once as dependency-unavailable, naming what is short', async () => {
  const ledger = new ResourceLedger(capacity);
  await assert.rejects(ledger.acquire({ gpu: 2, memoryMb: 1024 }), (error: unknown) => {
    assert.ok(error instanceof DependencyUnavailableError);
    assert.match(error.message, /asks for memory 1Gi, gpu 2, the worker has cpu 4, memory 8Gi, gpu 1 \(gpu short\)/);
    return true;
  });
});

test('a cancelled wait leaves the queue and lets the next waiter in', async () => {
  const ledger = new ResourceLedger(capacity);
  const release = await ledger.acquire({ cpu: 4 });
  const abort = new AbortController();
  const cancelled = ledger.acquire({ cpu: 4 }, abort.signal);
  const next = ledger.acquire({ cpu: 1 });
  abort.abort(new Error('stage cancelled'));
  await assert.rejects(cancelled, /stage cancelled/);
  assert.equal(ledger.waiting, 1);
  release();
  (await next)();
  assert.deepEqual(ledger.free(), capacity);
});

test('the slot supplier issues at most maxSlots, and none while the ledger has no room', async () => {
  const ledger = new ResourceLedger(capacity);
  const slots = capacitySlotSupplier(ledger, 2);
  const ctx = {} as never;
  const first = slots.tryReserveSlot(ctx);
  assert.ok(first);
  await slots.reserveSlot(ctx, new AbortController().signal);
  assert.equal(slots.tryReserveSlot(ctx), null, 'two slots held');
  const third = slots.reserveSlot(ctx, new AbortController().signal);
  assert.equal(await settled(third), false);
  const releaseAll = await ledger.acquire({ cpu: 4 });
  slots.releaseSlot({ permit: first });
  assert.equal(await settled(third), false, 'a slot is free but no CPU is');
  releaseAll();
  assert.equal(await settled(third), true);
  const abort = new AbortController();
  const aborted = slots.reserveSlot(ctx, abort.signal);
  const reason = new Error('worker shutting down');
  abort.abort(reason);
  // The same object as the signal's reason: the SDK treats only that as a quiet shutdown abort.
  await assert.rejects(aborted, (error: unknown) => error === reason);
});
