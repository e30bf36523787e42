/**
 * The registry on the real MinIO, registrations at the same time: registrations of one model (the same files) add
 * one version whichever way they interleave, different models each add theirs, and a registration of files a version
 * holds already applies its tags and aliases to that version. A registration that dies after its claim (simulated: a
 * claim object nobody renews, or a store whose writes hang) is taken over by exactly one of the others.
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
import type { ObjectStore, PutOptions } from '../../../src/storage/object-store';
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

/** The content digest register-model records for `modelUri` (learnt by registering it under a scratch name). */
async function contentDigest(modelUri: string): Promise<string> {
  const probe = await registerModel(store, {
    bucket,
    name: `probe-${randomSuffix()}`,
    modelUri,
    unlessUnchanged: true,
  });
  return probe.contentSha256;
}

/** A claim on `version` as a registration writes it, by one that then died (nobody renews it). */
async function deadClaim(name: string, version: number, claim: Record<string, string>): Promise<void> {
  await store.putJson(`${versionPrefix(bucket, name, version)}/claim.json`, claim, { condition: { ifNoneMatch: '*' } });
}

/** The version directories of `name` that hold something (claims included), ascending. */
async function usedNumbers(name: string): Promise<number[]> {
  const keys = (await store.list(`s3://${bucket}/models/${name}/`)).map((info) => info.key);
  const numbers = keys.flatMap((key) => /\/(\d+)\/[^/]+$/.exec(key)?.[1] ?? []).map(Number);
  return [...new Set(numbers)].sort((a, b) => a - b);
}

test('a claim whose registration died is taken over by exactly one of the others: one version, no duplicates', async () => {
  const name = `dead-claim-${suffix}`;
  const modelUri = await newModel('dead-claim');
  const sha = await contentDigest(modelUri);
  await deadClaim(name, 1, {
    createdAt: new Date().toISOString(),
    source: modelUri,
    runId: 'crashed',
    contentSha256: sha,
  });
  const results = await Promise.all(
    [1, 2, 3].map((n) =>
      registerModel(store, {
        bucket,
        name,
        modelUri,
        lineage: { runId: `run-${n}`, stage: 'register' },
        unlessUnchanged: true,
        claimStaleAfterMs: 500,
      }),
    ),
  );
  assert.deepEqual(await listVersions(store, bucket, name), [1], "the dead claim's number, taken over");
  assert.deepEqual(
    results.map((r) => r.version),
    [1, 1, 1],
  );
  assert.equal(results.filter((r) => !r.unchanged).length, 1, 'one took the claim over and wrote the version');
  const card = await store.getJson<{ lineage: { runId: string } }>(`${versionPrefix(bucket, name, 1)}/card.json`);
  assert.ok(['run-1', 'run-2', 'run-3'].includes(card.lineage.runId), card.lineage.runId);
  assert.deepEqual(await usedNumbers(name), [1], 'the survivors gave their own numbers back');
});

test("a retry of the registration that left a claim takes it over at once (its own earlier attempt's)", async () => {
  const name = `retry-claim-${suffix}`;
  const modelUri = await newModel('retry-claim');
  const sha = await contentDigest(modelUri);
  const claim = { createdAt: new Date().toISOString(), source: modelUri, runId: 'run-r', stage: 'register' };
  await deadClaim(name, 1, { ...claim, contentSha256: sha });
  const result = await registerModel(store, {
    bucket,
    name,
    modelUri,
    lineage: { runId: 'run-r', stage: 'register' },
    unlessUnchanged: true,
    claimStaleAfterMs: 10 * 60_000, // were it waited for, this test would time out
  });
  assert.equal(result.version, 1);
  assert.equal(result.unchanged, undefined);
  assert.deepEqual(await usedNumbers(name), [1]);
});

test('a registration stuck after its claim, taken over meanwhile, ends as unchanged: one card, one version', async () => {
  const name = `stuck-claim-${suffix}`;
  const modelUri = await newModel('stuck-claim');
  let claimed!: () => void;
  const claimWritten = new Promise<void>((resolve) => (claimed = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  // The stuck registration's store: its claim is written, then every other write (and renewal) hangs until release.
  let claimDone = false;
  const hang = <T>(write: () => Promise<T>): Promise<T> =>
    claimDone ? released.then(write) : write().finally(() => ((claimDone = true), claimed()));
  const stuckStore: ObjectStore = {
    ...store,
    putJson: (uri: string, value: unknown, options?: Pick<PutOptions, 'condition'>) =>
      hang(() => store.putJson(uri, value, options)),
    putBytes: (uri: string, body: Uint8Array | string, options?: PutOptions) =>
      claimDone ? released.then(() => store.putBytes(uri, body, options)) : store.putBytes(uri, body, options),
  };
  const stuck = registerModel(stuckStore, {
    bucket,
    name,
    modelUri,
    lineage: { runId: 'run-stuck', stage: 'register' },
    unlessUnchanged: true,
    claimStaleAfterMs: 500,
  });
  await claimWritten;
  const other = await registerModel(store, {
    bucket,
    name,
    modelUri,
    lineage: { runId: 'run-other', stage: 'register' },
    unlessUnchanged: true,
    claimStaleAfterMs: 500,
  });
  assert.equal(other.version, 1);
  assert.equal(other.unchanged, undefined, 'it took the stale claim over and wrote version 1');
  release();
  const late = await stuck;
  assert.equal(late.version, 1);
  assert.equal(late.unchanged, true, 'the card was written by the other: the stuck one adds nothing');
  const card = await store.getJson<{ lineage: { runId: string } }>(`${versionPrefix(bucket, name, 1)}/card.json`);
  assert.equal(card.lineage.runId, 'run-other', 'the first card stays');
  assert.deepEqual(await listVersions(store, bucket, name), [1]);
  assert.deepEqual(await usedNumbers(name), [1]);
});
