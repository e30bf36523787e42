/**
 * Attack class: lost registry updates. On the real MinIO, with real concurrency (20 clients, each
 * with its own connection pool, all started at once): 20 registrations of one name get 20
 * distinct versions and keep all 20 cards; 20 promotes of different aliases lose none; 20 promotes
 * of the same alias are serialised (each saw a different previous value).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FineflowConfig } from '../../src/config';
import { promoteModel, readAliases, registerModel, showModel } from '../../src/ml/models/registry';
import { createMinioObjectStore } from '../../src/storage/minio-store';
import type { ObjectStore } from '../../src/storage/object-store';
import { requireStack } from '../helpers/stack';

const CONCURRENCY = 20;

void describe('registry under concurrent writers (real MinIO)', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  let clients: ObjectStore[];
  const bucket = `ff-sec-${randomBytes(4).toString('hex')}`;
  const name = 'raced';
  const source = `s3://${bucket}/staging/model/model.json`;

  before(async () => {
    config = await requireStack();
    store = createMinioObjectStore(config.s3);
    clients = Array.from({ length: CONCURRENCY }, () => createMinioObjectStore(config.s3));
    await store.ensureBucket(bucket);
    // registerModel only copies files: a model.json with one weights file is enough.
    await store.putBytes(`s3://${bucket}/staging/model/w.bin`, randomBytes(64));
    await store.putJson(source, { modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: [] }] });
  });
  after(async () => {
    if (store) await store.removePrefix(`s3://${bucket}/`);
  });

  void it(`${CONCURRENCY} concurrent registrations get ${CONCURRENCY} distinct versions, every card kept`, async () => {
    const registered = await Promise.all(
      clients.map((client, index) =>
        registerModel(client, {
          bucket,
          name,
          modelUri: source,
          description: `writer ${index}`,
          lineage: { runId: `run-${index}` },
        }),
      ),
    );
    const versions = registered.map((model) => model.version).sort((a, b) => a - b);
    assert.deepEqual(
      versions,
      Array.from({ length: CONCURRENCY }, (_, i) => i + 1),
    );
    const cards = (await showModel(store, bucket, name)).versions;
    assert.equal(cards.length, CONCURRENCY);
    for (const model of registered) {
      const card = cards.find((c) => c.version === model.version);
      assert.equal(card?.description, model.card.description, `version ${model.version} holds its own writer's card`);
    }
    assert.equal(new Set(cards.map((card) => card.lineage.runId)).size, CONCURRENCY);
  });

  void it(`${CONCURRENCY} concurrent promotes of different aliases lose none`, async () => {
    const results = await Promise.all(
      clients.map((client, index) => promoteModel(client, bucket, name, (index % CONCURRENCY) + 1, `alias-${index}`)),
    );
    const aliases = await readAliases(store, bucket, name);
    for (const result of results) assert.equal(aliases[result.alias], result.version, `alias ${result.alias}`);
    assert.equal(Object.keys(aliases).length, CONCURRENCY);
  });

  void it(`${CONCURRENCY} concurrent promotes of one alias are applied one after another`, async () => {
    const results = await Promise.all(
      clients.map((client, index) => promoteModel(client, bucket, name, index + 1, 'champion')),
    );
    // Serialised updates: exactly one saw no champion, and every other saw a different predecessor.
    const previous = results.map((result) => result.previous);
    assert.equal(previous.filter((value) => value === undefined).length, 1);
    assert.equal(new Set(previous.filter((value) => value !== undefined)).size, CONCURRENCY - 1);
    const final = (await readAliases(store, bucket, name)).champion;
    assert.ok(final !== undefined && !previous.includes(final), 'the last writer is nobody’s predecessor');
  });
});
