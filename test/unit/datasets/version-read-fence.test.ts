/**
 * A dataset version's read record belongs to the newest attempt that wrote it: an older attempt's write (one Temporal
 * gave up on that kept running) is refused, whatever it would write, and the record stays what the newer attempt
 * wrote. The rule, and the conditional write that applies it, on the in-memory store (which keeps S3's If-Match /
 * If-None-Match semantics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkVersionRead,
  newerOwnerOf,
  putVersionRead,
  removeVersionRead,
  type VersionReadRecord,
} from '../../../src/datasets/version-reads';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import type { ObjectStore } from '../../../src/storage/object-store';

const URI = `s3://fineflow/datasets/d/_versions/${'a'.repeat(64)}.reads/run-1/prepare.json`;

/** The run's stage every record here is of. */
const OF = { runId: 'run-1', stage: 'prepare' } as const;

type Owned = VersionReadRecord & { attempt: number };

function reading(attempt: number, at = '2026-12-07T21:00:00.000Z'): Owned {
  return { state: 'reading', ...OF, at, attempt };
}

function failed(attempt: number): Owned {
  const error = 'the attempt timed out (Temporal stopped it)';
  const when = { at: '2026-12-07T21:05:00.000Z', startedAt: '2026-12-07T21:00:00.000Z' };
  return { state: 'failed', ...OF, ...when, attempt, errorType: 'FineflowCancelled', error };
}

function read(attempt: number): Owned {
  const checks = [{ check: 'corruptFiles', outcome: 'ok' as const, count: 0 }];
  const when = { at: '2026-12-07T21:06:00.000Z', startedAt: '2026-12-07T21:01:00.000Z' };
  return { state: 'read', ...OF, ...when, attempt, verdict: 'passed', checks, records: 10, kept: 10, classes: 2 };
}

async function recordAt(store: ObjectStore): Promise<VersionReadRecord> {
  return checkVersionRead(await store.getJson(URI), URI);
}

test('the rule: only a record of a newer attempt refuses a write', () => {
  assert.equal(newerOwnerOf(undefined, 1), undefined, 'no record yet');
  assert.equal(newerOwnerOf(reading(1), 1), undefined, 'its own record: reading, then read or failed');
  assert.equal(newerOwnerOf(failed(1), 2), undefined, 'a retry writes over a failed attempt');
  assert.equal(newerOwnerOf(read(2), 3), undefined);
  const legacy: VersionReadRecord = { state: 'reading', ...OF, at: 'x' };
  assert.equal(newerOwnerOf(legacy, 1), undefined, 'a record written before records carried their attempt');
  assert.equal(newerOwnerOf(reading(2), 1), 2);
  assert.equal(newerOwnerOf(read(3), 2), 3);
  assert.equal(newerOwnerOf(failed(5), 4), 5);
});

test('a record carries its attempt in every state, and a bad one is refused', () => {
  assert.equal(checkVersionRead(reading(2), URI).attempt, 2);
  assert.equal(checkVersionRead(read(3), URI).attempt, 3);
  assert.equal(checkVersionRead(failed(4), URI).attempt, 4);
  const legacy = checkVersionRead({ state: 'reading', runId: 'r', stage: 's', at: 'x' }, URI);
  assert.equal('attempt' in legacy, false, 'an older record still reads, without one');
  for (const attempt of [0, -1, 1.5, '2', null])
    for (const record of [reading(1), read(1)])
      assert.throws(
        () => checkVersionRead({ ...record, attempt }, URI),
        /attempt is not a whole number from 1/,
        `${record.state} with attempt ${String(attempt)}`,
      );
});

test('a zombie attempt writes nothing over the retry: failed, read and reading are all refused', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  assert.deepEqual(await putVersionRead(store, URI, reading(1)), { written: true });
  assert.deepEqual(await putVersionRead(store, URI, reading(2)), { written: true }, 'the retry takes the record');
  for (const late of [failed(1), read(1), reading(1)])
    assert.deepEqual(await putVersionRead(store, URI, late), { written: false, ownedBy: 2 }, late.state);
  assert.deepEqual(await recordAt(store), reading(2));
  assert.deepEqual(await putVersionRead(store, URI, read(2)), { written: true }, 'the owner completes it');
  assert.deepEqual(await putVersionRead(store, URI, failed(1)), { written: false, ownedBy: 2 });
  assert.deepEqual(await recordAt(store), read(2));
});

test('a record that is not one (broken JSON, a bad shape) is written over', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  await store.putBytes(URI, '{"state": "reading", "attempt": 9');
  assert.deepEqual(await putVersionRead(store, URI, reading(1)), { written: true });
  await store.putJson(URI, { ...reading(9), runId: 7 });
  assert.deepEqual(await putVersionRead(store, URI, read(1)), { written: true });
  assert.deepEqual(await recordAt(store), read(1));
});

/** `store`, where a newer attempt's record lands just before the first put of `uri` (after it was read). */
function racedBy(store: ObjectStore, uri: string, newer: VersionReadRecord): ObjectStore & { puts: number } {
  const raced = {
    ...store,
    puts: 0,
    async putJson(target: string, value: unknown, options?: Parameters<ObjectStore['putJson']>[2]) {
      raced.puts += 1;
      if (target === uri && raced.puts === 1) await store.putJson(uri, newer);
      return store.putJson(target, value, options);
    },
  };
  return raced;
}

test('a newer attempt writing between the read and the write: its write fails, judged again', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  await putVersionRead(store, URI, reading(1));
  const raced = racedBy(store, URI, reading(2));
  assert.deepEqual(await putVersionRead(raced, URI, failed(1)), { written: false, ownedBy: 2 });
  assert.equal(raced.puts, 1, 'one conditional put, refused by the store');
  assert.deepEqual(await recordAt(store), reading(2));

  // Where there was none yet: If-None-Match fails the same way.
  const fresh = createMemoryObjectStore({ buckets: ['fineflow'] });
  assert.deepEqual(await putVersionRead(racedBy(fresh, URI, read(3)), URI, reading(2)), {
    written: false,
    ownedBy: 3,
  });
  assert.deepEqual(await recordAt(fresh), read(3));
});

test('removal is fenced too: an older attempt leaves a newer one record', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  await putVersionRead(store, URI, reading(2));
  assert.deepEqual(await removeVersionRead(store, URI, 1), { written: false, ownedBy: 2 });
  assert.deepEqual(await recordAt(store), reading(2));
  assert.deepEqual(await removeVersionRead(store, URI, 2), { written: true });
  assert.equal(await store.stat(URI), undefined);
  assert.deepEqual(await removeVersionRead(store, URI, 2), { written: true }, 'nothing there: nothing to do');
});
