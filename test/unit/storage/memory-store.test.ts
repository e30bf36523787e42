import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ConflictError, FineflowError, NotFoundError, ResourceLimitError } from '../../../src/core/errors';
import { confineWrites } from '../../../src/storage/confined-store';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const isCode = (code: string) => (error: unknown) => error instanceof FineflowError && error.details.code === code;

void describe('memory object store (test double of the MinIO store)', () => {
  void it('needs the bucket to exist, like S3', async () => {
    const store = createMemoryObjectStore();
    await assert.rejects(store.putBytes('s3://data/x', 'x'), isCode('bucket-not-found'));
    await store.ensureBucket('data');
    await store.ensureBucket('data');
    assert.equal((await store.putBytes('s3://data/x', 'x')).size, 1);
  });
  void it('round-trips bytes, streams and JSON with their sha256', async () => {
    const store = createMemoryObjectStore({ buckets: ['data'] });
    const progress: number[] = [];
    const put = await store.putStream('s3://data/a/b.txt', Readable.from(['hel', 'lo']), {
      onProgress: (n) => progress.push(n),
    });
    assert.deepEqual(
      { size: put.size, sha256: put.sha256, uri: put.uri },
      { size: 5, sha256: sha256('hello'), uri: 's3://data/a/b.txt' },
    );
    assert.deepEqual(progress, [5]);
    assert.equal((await store.getBytes('s3://data/a/b.txt')).toString(), 'hello');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.getStream('s3://data/a/b.txt')) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    await store.putJson('s3://data/a/m.json', { accuracy: 0.93 });
    assert.deepEqual(await store.getJson('s3://data/a/m.json'), { accuracy: 0.93 });
    assert.equal((await store.stat('s3://data/a/b.txt'))?.sha256, sha256('hello'));
  });
  void it('reports missing objects as not-found, and stat as undefined', async () => {
    const store = createMemoryObjectStore({ buckets: ['data'] });
    await assert.rejects(store.getBytes('s3://data/missing'), isCode('not-found'));
    await assert.rejects(store.getStream('s3://data/missing'), NotFoundError);
    assert.equal(await store.stat('s3://data/missing'), undefined);
  });
  void it('refuses to read an object over the in-memory cap', async () => {
    const store = createMemoryObjectStore({ buckets: ['data'] });
    await store.putBytes('s3://data/big', Buffer.alloc(2048));
    await assert.rejects(store.getBytes('s3://data/big', { maxBytes: 1024 }), ResourceLimitError);
    await assert.rejects(store.getJson('s3://data/big', { maxBytes: 1024 }), isCode('object-too-large'));
    assert.equal((await store.getBytes('s3://data/big')).length, 2048);
  });
  void it('honours conditional writes like S3 (If-None-Match: *, If-Match: etag)', async () => {
    const store = createMemoryObjectStore({ buckets: ['data'] });
    const first = await store.putJson('s3://data/a.json', { n: 1 }, { condition: { ifNoneMatch: '*' } });
    await assert.rejects(
      store.putJson('s3://data/a.json', { n: 2 }, { condition: { ifNoneMatch: '*' } }),
      ConflictError,
    );
    const second = await store.putJson('s3://data/a.json', { n: 2 }, { condition: { ifMatch: first.etag } });
    await assert.rejects(
      store.putJson('s3://data/a.json', { n: 3 }, { condition: { ifMatch: first.etag } }),
      ConflictError,
    );
    assert.deepEqual(await store.getJson('s3://data/a.json'), { n: 2 });
    assert.equal((await store.stat('s3://data/a.json'))?.etag, second.etag);
  });
  void it('lists recursively in key order and removes a prefix only', async () => {
    const store = createMemoryObjectStore({ buckets: ['data'] });
    for (const key of ['r/b', 'r/a/2', 'r/a/1', 'rx/1', 'other/1']) await store.putBytes(`s3://data/${key}`, key);
    const listed = await store.list('s3://data/r/');
    assert.deepEqual(
      listed.map((o) => o.key),
      ['r/a/1', 'r/a/2', 'r/b'],
    );
    assert.deepEqual(
      listed.map((o) => o.sha256),
      [undefined, undefined, undefined],
      'listings carry no metadata, as in S3',
    );
    await store.removePrefix('s3://data/r/');
    assert.deepEqual(store.uris(), ['s3://data/other/1', 's3://data/rx/1']);
    await store.remove('s3://data/rx/1');
    assert.deepEqual(store.uris(), ['s3://data/other/1']);
  });
  void it('refuses a prefix where an object is expected', async () => {
    const store = createMemoryObjectStore({ buckets: ['data'] });
    await assert.rejects(store.putBytes('s3://data/dir/', 'x'), isCode('invalid-uri'));
  });
});

void describe('confineWrites', () => {
  void it('lets a stage write under its prefix and read anywhere, and nothing else', async () => {
    const store = createMemoryObjectStore({ buckets: ['fineflow'] });
    await store.putBytes('s3://fineflow/runs/r2/train/model.json', 'other run');
    const stage = confineWrites(store, 's3://fineflow/runs/r1/train/');
    await stage.putJson('s3://fineflow/runs/r1/train/out.json', { ok: true });
    await stage.putBytes('relative/log.txt', 'x');
    assert.equal((await stage.getBytes('s3://fineflow/runs/r2/train/model.json')).toString(), 'other run');
    await assert.rejects(
      stage.putBytes('s3://fineflow/runs/r1/train/../../r2/train/model.json', 'overwrite'),
      isCode('outside-prefix'),
    );
    await assert.rejects(
      stage.putStream('s3://fineflow/runs/r2/train/model.json', Readable.from(['x'])),
      isCode('outside-prefix'),
    );
    await assert.rejects(stage.removePrefix('s3://fineflow/runs/'), isCode('outside-prefix'));
    await assert.rejects(stage.remove('../x'), isCode('outside-prefix'));
    assert.equal((await store.getBytes('s3://fineflow/runs/r2/train/model.json')).toString(), 'other run');
    assert.deepEqual(store.uris(), [
      's3://fineflow/runs/r1/train/out.json',
      's3://fineflow/runs/r1/train/relative/log.txt',
      's3://fineflow/runs/r2/train/model.json',
    ]);
  });
});
