/**
 * Stage outputs that name a directory without its trailing slash (fine-tune's `checkpoint`,
 * `…/checkpoints/epoch-0010`) are directories for every reader of outputs (src/cache/cache-store.ts
 * `objectsNamedBy`): the cache digests their contents and lists them as the entry's artifacts, so a cache hit
 * verifies them and `fineflow gc` protects them while the entry is kept. Before, such a URI was taken for a missing
 * object: left out of the digest and the artifacts, its checkpoint could be deleted under a cache entry that still
 * served it, and a rerun (which did see the directory) disagreed with the cache.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashOutputContent, missingOutput, verifyArtifacts } from '../../../src/cache/cache-store';
import { planGc, type GcFacts, type GcObject, type GcPolicy } from '../../../src/retention/gc-plan';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const RUN = 's3://fineflow/runs/r1/finetune';
const CHECKPOINT = `${RUN}/checkpoints/epoch-0010`;

async function fineTuneOutputs() {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  await store.putBytes(`${RUN}/model/model.json`, '{}');
  await store.putBytes(`${CHECKPOINT}/checkpoint.json`, '{"epoch":10}');
  await store.putBytes(`${CHECKPOINT}/weights.bin`, 'w10');
  await store.putBytes(`${RUN}/checkpoints/epoch-0009/weights.bin`, 'w9');
  return store;
}

it('a directory named without its slash is digested and listed as artifacts, as with the slash', async () => {
  const store = await fineTuneOutputs();
  const content = await hashOutputContent(store, [`${RUN}/model/model.json`, CHECKPOINT]);
  assert.deepEqual(
    content.artifacts.map((artifact) => artifact.uri),
    [`${CHECKPOINT}/checkpoint.json`, `${CHECKPOINT}/weights.bin`, `${RUN}/model/model.json`],
    'the checkpoint’s objects (and not epoch-0009’s) are artifacts',
  );
  const withSlash = await hashOutputContent(store, [`${CHECKPOINT}/`]);
  assert.equal(content.hashes.get(CHECKPOINT), withSlash.hashes.get(`${CHECKPOINT}/`));
  await store.putBytes(`${CHECKPOINT}/weights.bin`, 'w10 rewritten');
  const changed = await hashOutputContent(store, [CHECKPOINT]);
  assert.notEqual(changed.hashes.get(CHECKPOINT), content.hashes.get(CHECKPOINT), 'the digest follows the content');
  // An object of that name wins over a directory below it; a name with neither is nothing.
  await store.putBytes(`${RUN}/report`, 'r');
  await store.putBytes(`${RUN}/report/extra.json`, '{}');
  const both = await hashOutputContent(store, [`${RUN}/report`, `${RUN}/gone`]);
  assert.deepEqual(
    both.artifacts.map((artifact) => artifact.uri),
    [`${RUN}/report`],
  );
  assert.deepEqual([...both.hashes.keys()], [`${RUN}/report`]);
});

it('a cache entry whose checkpoint directory lost an object is not served; rerun says the same', async () => {
  const store = await fineTuneOutputs();
  const { artifacts } = await hashOutputContent(store, [`${RUN}/model/model.json`, CHECKPOINT]);
  assert.equal(await verifyArtifacts(store, artifacts), undefined);
  assert.equal(await missingOutput(store, [CHECKPOINT]), undefined);
  await store.remove(`${CHECKPOINT}/weights.bin`);
  assert.equal(await verifyArtifacts(store, artifacts), `artifact ${CHECKPOINT}/weights.bin missing`);
  await store.remove(`${CHECKPOINT}/checkpoint.json`);
  assert.equal(await missingOutput(store, [CHECKPOINT]), `artifact ${CHECKPOINT} missing`);
});

it('fineflow gc keeps the checkpoint a kept cache entry names, and removes the run’s other checkpoints', async () => {
  const store = await fineTuneOutputs();
  const { artifacts } = await hashOutputContent(store, [`${RUN}/model/model.json`, CHECKPOINT]);
  const nowMs = Date.parse('2026-12-05T12:00:00Z');
  const listed = await store.list(`${RUN}/`);
  const objects: GcObject[] = listed.map((info) => ({
    uri: `s3://${info.bucket}/${info.key}`,
    size: info.size,
    lastModifiedMs: nowMs - 10 * 86_400_000,
  }));
  // Spread, so the literals stay valid when the policy and facts grow fields this rule does not read.
  const policy: GcPolicy = { ...{ olderThanMs: 30 * 86_400_000, checkpointsAfterMs: 7 * 86_400_000, keepSweeps: 20 } };
  const facts: GcFacts = {
    ...{
      nowMs,
      runObjects: new Map([['r1', objects]]),
      runStatus: new Map([['r1', 'ended' as const]]),
      modelRuns: new Set<string>(),
      cacheEntries: [
        { key: 'k', createdAtMs: nowMs, indexed: true, artifacts: artifacts.map((a) => a.uri), objects: [] },
      ],
      sweepObjects: [],
    },
  };
  const plan = planGc(facts, policy);
  assert.deepEqual(
    plan.remove.flatMap((item) => item.objects.map((object) => object.uri)),
    [`${RUN}/checkpoints/epoch-0009/weights.bin`],
  );
});
