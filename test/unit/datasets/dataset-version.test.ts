import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildDatasetManifest,
  datasetManifestUri,
  datasetVersionId,
  diffDatasetVersions,
  parseDatasetSource,
  pinnedSourceProblem,
} from '../../../src/datasets/dataset-version';
import {
  listDatasetVersions,
  pinnedDatasetStore,
  readDatasetVersion,
  resolveDatasetSource,
  sealDatasetVersion,
} from '../../../src/datasets/version-store';
import { compilePlan } from '../../../src/spec';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const at = new Date('2026-12-01T00:00:00Z');
const ID = 'a'.repeat(64);

void describe('dataset versions (pure)', () => {
  void it('the id depends on relative keys and contents only, in any order', () => {
    const a = { key: 'x/1.csv', size: 1, sha256: sha('1'), etag: 'e1' };
    const b = { key: 'y.csv', size: 2, sha256: sha('22'), etag: 'e2' };
    const manifest = buildDatasetManifest('s3://data/p', [b, a], 'test', at);
    assert.equal(manifest.id, datasetVersionId([a, b]));
    assert.equal(
      manifest.id,
      createHash('sha256')
        .update(`x/1.csv ${sha('1')}\ny.csv ${sha('22')}\n`)
        .digest('hex'),
    );
    assert.deepEqual(
      manifest.objects.map((o) => o.key),
      ['x/1.csv', 'y.csv'],
    );
    assert.equal(manifest.prefix, 's3://data/p/');
    assert.equal(buildDatasetManifest('s3://other/q/', [a, { ...b, etag: 'other' }], 'test', at).id, manifest.id);
    assert.notEqual(datasetVersionId([a, { ...b, sha256: sha('23') }]), manifest.id);
  });

  void it('parses pins and says what is wrong with a bad one', () => {
    assert.deepEqual(parseDatasetSource(`s3://data/p/@${ID}`), { uri: 's3://data/p/', version: ID });
    assert.deepEqual(parseDatasetSource(`s3://data/p@${ID}`), { uri: 's3://data/p/', version: ID });
    assert.deepEqual(parseDatasetSource('s3://data/p/'), { uri: 's3://data/p/' });
    assert.equal(pinnedSourceProblem(`s3://data/p/@${ID}`), undefined);
    assert.equal(pinnedSourceProblem('s3://data/p/img@2x.png'), undefined);
    assert.match(pinnedSourceProblem('s3://data/p/@abc123') ?? '', /not a dataset version id/);
    assert.throws(() => datasetManifestUri('fineflow', 's3://data/p/', 'abc'), /not a version id/);
    assert.equal(
      datasetManifestUri('fineflow', 's3://data/p/', ID),
      `s3://fineflow/datasets/data/p/_versions/${ID}.json`,
    );
  });

  void it('diffs two versions into added, removed and changed', () => {
    const o = (key: string, body: string) => ({ key, size: body.length, sha256: sha(body), etag: body });
    const before = buildDatasetManifest('s3://data/p/', [o('a', '1'), o('b', '2'), o('c', '3')], 't', at);
    const after = buildDatasetManifest('s3://data/p/', [o('a', '1'), o('b', '22'), o('d', '4')], 't', at);
    const diff = diffDatasetVersions(before, after);
    assert.deepEqual(
      diff.added.map((x) => x.key),
      ['d'],
    );
    assert.deepEqual(
      diff.removed.map((x) => x.key),
      ['c'],
    );
    assert.deepEqual(
      diff.changed.map((x) => x.key),
      ['b'],
    );
    assert.equal(diff.unchanged, 1);
  });

  void it('a pin in the pipeline is checked at validate, with its position', () => {
    const yaml = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: pinned}
stages:
  prepare:
    uses: prepare-data
    with: {source: "s3://datasets/p/@abc123", format: csv, labelColumn: label}
`;
    const compiled = compilePlan(yaml, 'pinned.yaml');
    const problem = compiled.diagnostics.find((d) => d.path === 'stages.prepare.with.source');
    assert.equal(problem?.code, 'invalid-input');
    assert.equal(problem?.line, 7);
    const good = compilePlan(yaml.replace('@abc123', `@${ID}`), 'pinned.yaml');
    assert.deepEqual(
      good.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
  });
});

void describe('dataset versions in a store', () => {
  async function seeded() {
    const store = createMemoryObjectStore({ buckets: ['data', 'fineflow'] });
    await store.putBytes('s3://data/p/a.csv', 'x,label\n1,a\n');
    await store.putBytes('s3://data/p/b.csv', 'x,label\n2,b\n');
    const manifest = await sealDatasetVersion(store, 'fineflow', 's3://data/p/', { createdBy: 'test', now: at });
    return { store, manifest };
  }

  void it('seals, reads back and pins: later writes to the prefix are invisible', async () => {
    const { store, manifest } = await seeded();
    assert.deepEqual(await readDatasetVersion(store, 'fineflow', 's3://data/p/', manifest.id), manifest);
    await store.putBytes('s3://data/p/c.csv', 'x,label\n3,c\n');
    const pinned = pinnedDatasetStore(store, manifest);
    assert.deepEqual(
      (await pinned.list('s3://data/p/')).map((o) => o.key),
      ['p/a.csv', 'p/b.csv'],
    );
    assert.equal((await pinned.getBytes('s3://data/p/a.csv')).toString(), 'x,label\n1,a\n');
    await assert.rejects(pinned.getBytes('s3://data/p/c.csv'), /not in dataset version/);
    // Writes elsewhere (a stage's outputs) go through.
    await pinned.putBytes('s3://fineflow/runs/r/out.txt', 'ok');
    assert.equal((await store.getBytes('s3://fineflow/runs/r/out.txt')).toString(), 'ok');
  });

  void it('fails clearly when an object of the version is gone or overwritten (no S3 versioning)', async () => {
    const { store, manifest } = await seeded();
    const pinned = pinnedDatasetStore(store, manifest);
    await store.putBytes('s3://data/p/a.csv', 'x,label\n9,z\n');
    await assert.rejects(
      pinned.getBytes('s3://data/p/a.csv'),
      (e: Error & { details?: { code?: string } }) =>
        e.details?.code === 'dataset-object-gone' && /a\.csv was overwritten/.test(e.message),
    );
    await store.remove('s3://data/p/b.csv');
    await assert.rejects(pinned.getBytes('s3://data/p/b.csv'), /b\.csv was deleted/);
  });

  void it('resolves a source: pinned, the trigger version under its path, else sealed now', async () => {
    const { store, manifest } = await seeded();
    const pinned = await resolveDatasetSource(store, 'fineflow', `s3://data/p/@${manifest.id}`, undefined);
    assert.deepEqual([pinned.how, pinned.source, pinned.manifest.id], ['pinned', 's3://data/p/', manifest.id]);
    await store.putBytes('s3://data/p/c.csv', 'x,label\n3,c\n');
    const trigger = { path: 's3://data/p/', datasetVersion: manifest.id };
    const byTrigger = await resolveDatasetSource(store, 'fineflow', 's3://data/p/a.csv', trigger);
    assert.deepEqual([byTrigger.how, byTrigger.manifest.id], ['trigger', manifest.id]);
    const sealed = await resolveDatasetSource(store, 'fineflow', 's3://data/p/', undefined);
    assert.deepEqual([sealed.how, sealed.manifest.count], ['sealed', 3]);
    const one = await resolveDatasetSource(store, 'fineflow', 's3://data/p/c.csv', undefined);
    assert.deepEqual(
      one.manifest.objects.map((o) => o.key),
      ['c.csv'],
    );
    await assert.rejects(
      resolveDatasetSource(store, 'fineflow', `s3://data/p/@${ID}`, undefined),
      /does not exist.*fineflow data versions/,
    );
  });

  void it('a missing folder or object fails to resolve and records no version of it', async () => {
    const { store } = await seeded();
    await assert.rejects(
      resolveDatasetSource(store, 'fineflow', 's3://data/no-such-set/', undefined),
      (e: Error & { details?: { code?: string } }) =>
        e.details?.code === 'empty-source' &&
        /^no data under s3:\/\/data\/no-such-set\/: .*`fineflow data push DIR s3:\/\/data\/no-such-set\/`/.test(
          e.message,
        ),
    );
    assert.deepEqual(await listDatasetVersions(store, 'fineflow', 's3://data/no-such-set/'), []);
    const before = await listDatasetVersions(store, 'fineflow', 's3://data/p/');
    await assert.rejects(
      resolveDatasetSource(store, 'fineflow', 's3://data/p/nope.csv', undefined),
      /nope\.csv does not exist/,
    );
    assert.deepEqual(await listDatasetVersions(store, 'fineflow', 's3://data/p/'), before, 'no version of no objects');
    // data push and the watcher still seal what is there, an empty prefix included (no whenEmpty)
    assert.equal((await sealDatasetVersion(store, 'fineflow', 's3://data/empty/', { createdBy: 'test' })).count, 0);
  });
});
