/**
 * The registry on the real MinIO, registrations at the same time: registrations of one model (the same files) add
 * one version whichever way they interleave, different models each add theirs, and a registration of files a version
 * holds already applies its tags and aliases to that version.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/runtime/register-concurrent.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { listVersions, readAliases, registerModel, versionPrefix } from '../../../src/ml/models/registry';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { requireStack } from '../../helpers/stack';

const { tf } = loadTf({ preference: 'cpu' });
let store: ObjectStore;
let bucket: string;
const suffix = randomSuffix();

before(async () => {
  const config = await requireStack();
  store = createObjectStoreFromConfig(config);
  bucket = config.s3.bucket;
  await store.ensureBucket(bucket);
});

/** A freshly initialised model (new weights each call) saved under `directory`. */
async function newModel(directory: string): Promise<string> {
  const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
  const uri = `s3://${bucket}/scratch-${suffix}/${directory}`;
  await saveModel(tf, store, model, uri);
  model.dispose();
  return `${uri}/model.json`;
}

test('registrations of one new model at the same time add one version; different models one each', async () => {
  const name = `concurrent-${suffix}`;
  const modelUri = await newModel('same');
  const results = await Promise.all(
    [1, 2, 3, 4].map((n) =>
      registerModel(store, {
        bucket,
        name,
        modelUri,
        aliases: ['champion'],
        lineage: { runId: `run-${n}` },
        unlessUnchanged: true,
      }),
    ),
  );
  assert.deepEqual(await listVersions(store, bucket, name), [1], 'one version');
  assert.deepEqual(
    results.map((r) => r.version),
    [1, 1, 1, 1],
  );
  assert.equal(results.filter((r) => r.unchanged).length, 3, 'the others found it unchanged');
  assert.deepEqual(await readAliases(store, bucket, name), { champion: 1 });
  // The numbers the yielding registrations claimed were given back: the next model is version 2.
  assert.deepEqual(await store.list(`${versionPrefix(bucket, name, 2)}/`), []);

  const [a, b] = await Promise.all(['a', 'b'].map((directory) => newModel(directory)));
  const different = await Promise.all(
    [a, b].map((uri) => registerModel(store, { bucket, name, modelUri: uri as string, unlessUnchanged: true })),
  );
  assert.deepEqual(different.map((r) => r.version).sort(), [2, 3]);
  assert.ok(different.every((r) => !r.unchanged));
});

test('an unchanged registration applies its tags and aliases to the version it found (newest tag wins)', async () => {
  const name = `tags-${suffix}`;
  const modelUri = await newModel('tagged');
  const first = await registerModel(store, {
    bucket,
    name,
    modelUri,
    aliases: ['staging'],
    tags: { owner: 'vision', stage: 'first' },
    unlessUnchanged: true,
  });
  assert.deepEqual(first.tags, { owner: 'vision', stage: 'first' });
  const again = await registerModel(store, {
    bucket,
    name,
    modelUri,
    aliases: ['staging', 'champion'],
    tags: { stage: 'rerun', ticket: 'ML-7' },
    unlessUnchanged: true,
  });
  assert.equal(again.unchanged, true);
  assert.equal(again.version, 1);
  const stored = await store.getJson(`${versionPrefix(bucket, name, 1)}/tags.json`);
  assert.deepEqual(stored, { owner: 'vision', stage: 'rerun', ticket: 'ML-7' });
  assert.deepEqual(again.tags, stored);
  assert.deepEqual(await readAliases(store, bucket, name), { staging: 1, champion: 1 });
});
