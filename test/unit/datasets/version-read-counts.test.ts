/**
 * countVersionReads (what `fineflow data versions` shows in its "read by" column): it names records with the parser
 * version-reads.ts has (a deeper prefix's records, a manifest and a name not encoded as written are not this prefix's
 * records), counts each state, and reads the newest records a bounded few at a time, never one after another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countVersionReads, READ_RECORDS_IN_FLIGHT, READ_RECORDS_READ } from '../../../src/datasets/version-store';
import { datasetVersionsPrefix } from '../../../src/datasets/dataset-version';
import { parseVersionReadName, versionReadUri, type VersionReadRecord } from '../../../src/datasets/version-reads';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import type { ObjectStore } from '../../../src/storage/object-store';

const PREFIX = 's3://datasets/p/';
const id = (n: number): string => String(n).repeat(64).slice(0, 64);

const reading = (runId: string): VersionReadRecord => ({ state: 'reading', runId, stage: 'prepare', at: 'then' });
const failed = (runId: string): VersionReadRecord => ({
  state: 'failed',
  runId,
  stage: 'prepare',
  at: 'now',
  startedAt: 'then',
  attempt: 1,
  errorType: 'FineflowNotFound',
  error: 'gone',
});
const read = (runId: string): VersionReadRecord => ({
  state: 'read',
  runId,
  stage: 'prepare',
  at: 'now',
  verdict: 'passed',
  checks: [],
  records: 1,
  kept: 1,
  classes: 1,
});

test('a record name is a version id, a run and a stage, encoded as written; anything else is not a record', () => {
  assert.deepEqual(parseVersionReadName(`${id(1)}.reads/run%2F1/prepare.json`), {
    id: id(1),
    runId: 'run/1',
    stage: 'prepare',
  });
  for (const name of [
    `${id(1)}.json`,
    `sub/_versions/${id(1)}.reads/r/s.json`,
    `${id(1)}.reads/r/s/t.json`,
    `${id(1).slice(1)}.reads/r/s.json`,
    `${id(1)}.reads/%E0%A4%A/s.json`,
  ])
    assert.equal(parseVersionReadName(name), undefined, name);
});

test('every state is counted by version; a deeper prefix and a broken record count as they should', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  const put = (version: string, record: VersionReadRecord) =>
    store.putJson(versionReadUri('fineflow', PREFIX, version, record.runId, record.stage), record);
  await put(id(1), read('a'));
  await put(id(1), reading('b'));
  await put(id(1), failed('c'));
  await put(id(2), failed('d'));
  // Not a record's shape: counted as a read, in no state.
  await store.putJson(versionReadUri('fineflow', PREFIX, id(2), 'e', 'prepare'), { nonsense: true });
  // A prefix under this one keeps its versions deeper: not this prefix's reads.
  await put(id(3), reading('f'));
  await store.putJson(versionReadUri('fineflow', `${PREFIX}sub/`, id(3), 'g', 'prepare'), reading('g'));
  const counts = await countVersionReads(store, 'fineflow', PREFIX);
  assert.deepEqual(Object.fromEntries(counts), {
    [id(1)]: { reads: 3, reading: 1, failed: 1 },
    [id(2)]: { reads: 2, reading: 0, failed: 1 },
    [id(3)]: { reads: 1, reading: 1, failed: 0 },
  });
  assert.deepEqual(await countVersionReads(store, 'fineflow', 's3://datasets/none/'), new Map());
});

test(`the newest ${READ_RECORDS_READ} records are read, ${READ_RECORDS_IN_FLIGHT} at a time`, async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  const total = READ_RECORDS_READ + 20;
  for (let n = 0; n < total; n++) {
    const record = reading(`run-${n}`);
    await store.putJson(versionReadUri('fineflow', PREFIX, id(1), record.runId, record.stage), record);
  }
  let inFlight = 0;
  let most = 0;
  let gets = 0;
  const versions = datasetVersionsPrefix('fineflow', PREFIX);
  const slow: ObjectStore = {
    ...store,
    async getJson<T>(uri: string, options?: { readonly maxBytes?: number }): Promise<T> {
      if (!uri.startsWith(versions)) return store.getJson<T>(uri, options);
      gets += 1;
      inFlight += 1;
      most = Math.max(most, inFlight);
      // A round trip: each read yields before it answers, so reads that are started together overlap.
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return store.getJson<T>(uri, options);
    },
  };
  const counts = await countVersionReads(slow, 'fineflow', PREFIX);
  assert.deepEqual(counts.get(id(1)), { reads: total, reading: READ_RECORDS_READ, failed: 0 });
  assert.equal(gets, READ_RECORDS_READ, 'records beyond the bound are counted, not read');
  assert.equal(most, READ_RECORDS_IN_FLIGHT, 'a few at a time: neither one by one nor all at once');
});
