/**
 * The attempt fence (activities/attempt-fence.ts): the claim on a stage's outputs goes only forward, and an attempt
 * whose claim a newer one took, or whose heartbeat Temporal refused, writes nothing more. In-memory store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attemptFence,
  claimStageOutputs,
  fenceWrites,
  newerStageOwner,
  stageOwnerUri,
} from '../../../activities/attempt-fence';
import { CancelledError } from '../../../src/core/errors';
import type { ObjectStore } from '../../../src/storage/object-store';
import { BUCKET, memoryStore } from './helpers';

const PREFIX = `s3://${BUCKET}/runs/fence-run/train/`;

function fenced(store: ObjectStore, attempt: number, context?: { cancellationDetails?: { notFound?: boolean } }) {
  const lines: string[] = [];
  const fence = attemptFence(store, PREFIX, attempt, claimStageOutputs(store, PREFIX, attempt), {
    log: (line) => lines.push(line),
    ...(context ? { context: context as never } : {}),
  });
  return { store: fenceWrites(store, fence), fence, lines };
}

test('the rule: only a newer attempt owns the outputs', () => {
  assert.equal(newerStageOwner(undefined, 1), undefined);
  assert.equal(newerStageOwner({ attempt: 1, at: '' }, 2), undefined);
  assert.equal(newerStageOwner({ attempt: 2, at: '' }, 2), undefined);
  assert.equal(newerStageOwner({ attempt: 3, at: '' }, 2), 3);
  assert.equal(stageOwnerUri(PREFIX.slice(0, -1)), `${PREFIX}@attempt.json`);
});

test("a superseded attempt's writes and removals are refused, logged once, and the retry's outputs stay", async () => {
  const store = memoryStore();
  const first = fenced(store, 1);
  await first.store.putJson(`${PREFIX}model/model.json`, { by: 1 });
  const second = fenced(store, 2);
  await second.fence.check('start');
  await second.store.putJson(`${PREFIX}model/model.json`, { by: 2 });
  for (const write of [
    () => first.store.putJson(`${PREFIX}model/model.json`, { by: 1 }),
    () => first.store.putBytes(`${PREFIX}model/weights.bin`, 'x'),
    () => first.store.remove(`${PREFIX}model/model.json`),
    () => first.store.removePrefix(`${PREFIX}model/`),
  ]) {
    await assert.rejects(write(), (thrown: unknown) => {
      assert.ok(thrown instanceof CancelledError);
      assert.equal(thrown.details.code, 'superseded-attempt');
      assert.equal(thrown.details.ownedBy, 2);
      return true;
    });
  }
  assert.deepEqual(await store.getJson(`${PREFIX}model/model.json`), { by: 2 });
  assert.equal(first.lines.length, 1);
  assert.match(first.lines[0] ?? '', /^attempt 1 did not write s3:\/\/\S+model\.json: attempt 2 of this stage owns/);
  assert.deepEqual(second.lines, []);
});

test('an attempt that starts after a newer one claimed is refused from the start', async () => {
  const store = memoryStore();
  await fenced(store, 3).fence.check('start');
  const late = fenced(store, 2);
  await assert.rejects(late.fence.check('start'), CancelledError);
  assert.match(late.lines[0] ?? '', /attempt 2 did not start: attempt 3 of this stage owns its outputs now/);
});

test('a claim that lands between the read and the write is judged again', async () => {
  const store = memoryStore();
  let raced = false;
  const racing: ObjectStore = {
    ...store,
    async putJson(uri, value, options) {
      if (!raced) {
        raced = true;
        await store.putJson(stageOwnerUri(PREFIX), { attempt: 5, at: '' });
      }
      return store.putJson(uri, value, options);
    },
  };
  assert.deepEqual(await claimStageOutputs(racing, PREFIX, 4), { owned: false, ownedBy: 5 });
  assert.deepEqual(await store.getJson(stageOwnerUri(PREFIX)), { attempt: 5, at: '' });
});

test('a broken claim owns nothing; a retry of the same number, or a later one, takes it', async () => {
  const store = memoryStore();
  await store.putBytes(stageOwnerUri(PREFIX), 'not json');
  assert.equal((await claimStageOutputs(store, PREFIX, 1)).owned, true);
  assert.equal((await claimStageOutputs(store, PREFIX, 1)).owned, true);
  assert.equal((await claimStageOutputs(store, PREFIX, 2)).owned, true);
});

test('once the SDK says Temporal no longer waits for the attempt, it writes nothing', async () => {
  const store = memoryStore();
  const details: { notFound?: boolean } = {};
  const zombie = fenced(store, 1, { cancellationDetails: details });
  await zombie.store.putJson(`${PREFIX}a.json`, 1);
  details.notFound = true;
  await assert.rejects(zombie.store.putJson(`${PREFIX}a.json`, 2), CancelledError);
  assert.deepEqual(await store.getJson(`${PREFIX}a.json`), 1);
  assert.match(zombie.lines[0] ?? '', /attempt 1 did not write \S+: Temporal no longer waits for it/);
});
