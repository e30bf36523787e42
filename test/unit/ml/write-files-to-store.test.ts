/**
 * writeFilesToStore (how the tests put generated datasets into MinIO) keeps several puts in flight instead of
 * waiting out each round trip in turn, puts every file exactly once, and stops at the first failure.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { writeFilesToStore, type RawFile } from '../../../src/ml/generators/writers';
import type { ObjectStore } from '../../../src/storage/object-store';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const files: RawFile[] = Array.from({ length: 30 }, (_, i) => ({ path: `f${i}.txt`, bytes: Buffer.from(`${i}`) }));

/** A store whose puts each wait for the test's `release()`, counting how many were waiting at once. */
function gatedStore(failAt?: string) {
  const inner = createMemoryObjectStore();
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let most = 0;
  const puts: string[] = [];
  const store: ObjectStore = {
    ...inner,
    putBytes: async (uri, bytes) => {
      puts.push(uri);
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight -= 1;
      if (uri === failAt) throw new Error(`put ${uri} failed`);
      return inner.putBytes(uri, bytes);
    },
  };
  /** Lets every waiting put finish, until none is left. */
  const releaseAll = async (): Promise<void> => {
    while (waiting.length > 0) {
      for (const resolve of waiting.splice(0)) resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { store, inner, puts, most: () => most, releaseAll };
}

it('puts every file once, with 8 puts in flight at once', async () => {
  const gated = gatedStore();
  const done = writeFilesToStore(gated.store, 's3://b/data', files);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(gated.puts.length, 8, 'the first 8 puts start before any ends');
  await gated.releaseAll();
  await done;
  assert.equal(gated.most(), 8);
  assert.deepEqual([...gated.puts].sort(), files.map((f) => `s3://b/data/${f.path}`).sort());
  for (const file of files) {
    assert.deepEqual(await gated.inner.getBytes(`s3://b/data/${file.path}`), file.bytes);
  }
});

it('stops at the first failed put and throws its error', async () => {
  const gated = gatedStore('s3://b/data/f3.txt');
  const done = writeFilesToStore(gated.store, 's3://b/data', files);
  const settled = done.then(
    () => undefined,
    (error: unknown) => error,
  );
  await gated.releaseAll();
  const error = await settled;
  assert.match(String(error), /put s3:\/\/b\/data\/f3\.txt failed/);
  assert.ok(gated.puts.length < files.length, `${gated.puts.length} puts started after the failure`);
});
