import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDataWatchActivities, fingerprintObjects } from '../../../activities/data-watch';
import { createHash } from 'node:crypto';
import { datasetVersionId } from '../../../src/datasets/dataset-version';
import { readDatasetVersion } from '../../../src/datasets/version-store';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const at = new Date('2026-01-01T00:00:00Z');

void describe('fingerprintPrefix', () => {
  void it('is the same whatever order the store lists objects in, and changes with key, size or etag', () => {
    const a = { key: 'd/a.csv', size: 3, etag: '"e1"', lastModified: at };
    const b = { key: 'd/b.csv', size: 5, etag: 'e2', lastModified: new Date(at.getTime() + 1000) };
    const base = fingerprintObjects([a, b]);
    assert.equal(fingerprintObjects([b, a]).fingerprint, base.fingerprint);
    assert.deepEqual(
      { count: base.count, bytes: base.bytes, newestModified: base.newestModified },
      { count: 2, bytes: 8, newestModified: '2026-01-01T00:00:01.000Z' },
    );
    assert.notEqual(fingerprintObjects([a, { ...b, key: 'd/c.csv' }]).fingerprint, base.fingerprint);
    assert.notEqual(fingerprintObjects([a, { ...b, size: 6 }]).fingerprint, base.fingerprint);
    assert.notEqual(fingerprintObjects([a, { ...b, etag: 'e3' }]).fingerprint, base.fingerprint);
    // Quoted and unquoted etags are the same etag (S3 clients differ).
    assert.equal(fingerprintObjects([{ ...a, etag: 'e1' }, b]).fingerprint, base.fingerprint);
    // Only the identity of objects counts, not when the listing saw them.
    assert.equal(fingerprintObjects([{ ...a, lastModified: new Date(0) }, b]).fingerprint, base.fingerprint);
  });

  void it('an empty prefix has a stable fingerprint and no newest time', () => {
    const empty = fingerprintObjects([]);
    assert.equal(empty.count, 0);
    assert.equal(empty.newestModified, undefined);
    assert.equal(empty.fingerprint, fingerprintObjects([]).fingerprint);
  });

  void it('lists only under the prefix, and treats a missing bucket as empty', async () => {
    const store = createMemoryObjectStore({ buckets: ['datasets', 'fineflow'] });
    await store.putBytes('s3://datasets/defects/a.png', 'aaa');
    await store.putBytes('s3://datasets/defects/sub/b.png', 'bb');
    await store.putBytes('s3://datasets/other/c.png', 'c');
    const { fingerprintPrefix } = createDataWatchActivities(store, 'fineflow');
    const seen = await fingerprintPrefix('s3://datasets/defects');
    assert.equal(seen.count, 2);
    assert.equal(seen.bytes, 5);
    // The observation is the dataset version `data push` would print, and its manifest is recorded.
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    assert.equal(
      seen.fingerprint,
      datasetVersionId([
        { key: 'a.png', sha256: sha('aaa') },
        { key: 'sub/b.png', sha256: sha('bb') },
      ]),
    );
    const manifest = await readDatasetVersion(store, 'fineflow', 's3://datasets/defects/', seen.fingerprint);
    assert.deepEqual(
      manifest.objects.map((o) => [o.key, o.size]),
      [
        ['a.png', 3],
        ['sub/b.png', 2],
      ],
    );
    assert.equal((await fingerprintPrefix('s3://datasets/defects/')).fingerprint, seen.fingerprint);
    await store.putBytes('s3://datasets/defects/a.png', 'aaaa');
    assert.notEqual(
      (await fingerprintPrefix('s3://datasets/defects/')).fingerprint,
      seen.fingerprint,
      'an overwritten object is a new version',
    );
    const missing = await fingerprintPrefix('s3://no-such-bucket/x/');
    assert.equal(missing.count, 0);
  });
});
