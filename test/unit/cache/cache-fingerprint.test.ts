import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { fingerprintExternal, hashOutputContent } from '../../../src/cache/cache-store';
import { createMemoryObjectStore, type MemoryObjectStore } from '../../../src/storage/memory-store';

const BUCKET = 'fineflow';

void describe('fingerprintExternal', () => {
  let store: MemoryObjectStore;
  beforeEach(async () => {
    store = createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
    await store.putBytes('s3://fineflow/models/digits-cnn/3/model.json', 'v3');
    await store.putJson('s3://fineflow/models/digits-cnn/_aliases/champion.json', { version: '3' });
  });

  void it('follows a registry alias: only moving the alias changes it', async () => {
    const before = await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@champion');
    assert.match(before, /^alias:/);
    await store.putBytes('s3://fineflow/models/digits-cnn/4/model.json', 'v4');
    assert.equal(
      await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@champion'),
      before,
      'a new version leaves the alias',
    );
    await store.putJson('s3://fineflow/models/digits-cnn/_aliases/champion.json', { version: '4' });
    assert.notEqual(await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@champion'), before);
  });

  void it('pins an explicit version to its files, and `latest` to every version', async () => {
    const v3 = await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@3');
    const latest = await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@latest');
    assert.match(v3, /^version:/);
    await store.putBytes('s3://fineflow/models/digits-cnn/4/model.json', 'v4');
    assert.equal(await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@3'), v3);
    assert.notEqual(await fingerprintExternal(store, BUCKET, 'registry://digits-cnn@latest'), latest);
    assert.equal(await fingerprintExternal(store, BUCKET, 'registry://no-such-model@latest'), 'missing');
  });

  void it('fingerprints an object, a prefix, and something missing (also in a missing bucket)', async () => {
    const object = await store.putBytes('s3://datasets/a/x.csv', '1,2');
    assert.equal(await fingerprintExternal(store, BUCKET, 's3://datasets/a/x.csv'), `sha256:${object.sha256}`);
    const prefix = await fingerprintExternal(store, BUCKET, 's3://datasets/a/');
    assert.match(prefix, /^listing:/);
    assert.equal(
      await fingerprintExternal(store, BUCKET, 's3://datasets/a'),
      prefix,
      'a prefix written without its slash',
    );
    assert.equal(await fingerprintExternal(store, BUCKET, 's3://datasets/none/'), 'missing');
    assert.equal(await fingerprintExternal(store, BUCKET, 's3://no-bucket-here/x'), 'missing');
  });
});

void describe('hashOutputContent', () => {
  void it('hashes objects and prefixes the outputs name, listing the prefix objects as artifacts', async () => {
    const store = createMemoryObjectStore({ buckets: [BUCKET] });
    const a = await store.putBytes('s3://fineflow/runs/r1/s/data/a.bin', 'a');
    const b = await store.putBytes('s3://fineflow/runs/r1/s/data/b.bin', 'b');
    const report = await store.putBytes('s3://fineflow/runs/r1/s/report.json', '{}');
    const content = await hashOutputContent(store, [
      's3://fineflow/runs/r1/s/data/',
      's3://fineflow/runs/r1/s/report.json',
      's3://fineflow/runs/r1/s/nothing.json',
    ]);
    assert.deepEqual([...content.hashes.keys()].sort(), [
      's3://fineflow/runs/r1/s/data/',
      's3://fineflow/runs/r1/s/report.json',
    ]);
    assert.equal(content.hashes.get('s3://fineflow/runs/r1/s/report.json'), report.sha256);
    assert.deepEqual(content.artifacts, [
      { uri: a.uri, sha256: a.sha256 },
      { uri: b.uri, sha256: b.sha256 },
      { uri: report.uri, sha256: report.sha256 },
    ]);
  });
});
