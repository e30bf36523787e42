import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createCacheActivities, type CacheActivities } from '../../../activities/cache';
import { cacheEntryUri, cacheIndexUri, type CacheEntry } from '../../../src/cache/cache-store';
import { createMemoryObjectStore, type MemoryObjectStore } from '../../../src/storage/memory-store';
import type { JsonObject, PlannedStage } from '../../../src/core/spec/plan-types';
import { resolveStageInputs } from '../../../src/core/spec/expressions';
import { designPlan, stageOf } from './stage-fixtures';

const BUCKET = 'fineflow';
const PARAMS = { dataset: 's3://datasets/defects/', minAccuracy: 0.9 };

interface Harness {
  store: MemoryObjectStore;
  cache: CacheActivities;
  clock: { now: Date };
}

function harness(): Harness {
  const store = createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  return { store, clock, cache: createCacheActivities(store, BUCKET, { now: () => clock.now }) };
}

/** Play one stage the way the workflow does: lookup, and on a miss "run" it (write its bytes) and record. */
async function runStage(
  h: Harness,
  runId: string,
  stage: PlannedStage,
  upstream: { [id: string]: { outputs: JsonObject; digest?: string } },
  write: (prefix: string) => Promise<{ outputs: JsonObject; artifacts: { uri: string; sha256: string }[] }>,
  params: JsonObject = PARAMS,
): Promise<{ hit: boolean; reason?: string; outputs: JsonObject; digest: string }> {
  const resolvedInputs = resolveStageInputs(stage.with, { params, stages: upstream });
  const lookup = await h.cache.lookupStageCache({
    runId,
    stage,
    resolvedInputs,
    upstream,
    pipeline: 'defect-detector',
    params,
  });
  if (lookup.hit) return { hit: true, outputs: lookup.outputs, digest: lookup.digest };
  const result = await write(`s3://${BUCKET}/runs/${runId}/${stage.id}/`);
  const recorded = await h.cache.recordStageCache({
    key: lookup.key,
    runId,
    stage,
    result,
    pipeline: 'defect-detector',
  });
  return { hit: false, reason: lookup.reason, outputs: result.outputs, digest: recorded.digest };
}

async function writePrepare(
  h: Harness,
  prefix: string,
  rows = 'a,b\n1,2\n',
): Promise<{ outputs: JsonObject; artifacts: { uri: string; sha256: string }[] }> {
  const train = await h.store.putBytes(`${prefix}dataset/train.csv`, rows);
  const test = await h.store.putBytes(`${prefix}dataset/test.csv`, 'a,b\n3,4\n');
  return {
    outputs: { dataset: `${prefix}dataset/`, rows: 2 },
    artifacts: [train, test].map((p) => ({ uri: p.uri, sha256: p.sha256 })),
  };
}

async function writeModel(
  h: Harness,
  prefix: string,
  weights = 'weights-v1',
): Promise<{ outputs: JsonObject; artifacts: { uri: string; sha256: string }[] }> {
  const model = await h.store.putBytes(`${prefix}model.json`, weights);
  return { outputs: { model: model.uri, accuracy: 0.93 }, artifacts: [{ uri: model.uri, sha256: model.sha256 }] };
}

void describe('stage cache activities (in-memory store)', () => {
  let h: Harness;
  const plan = designPlan();
  const prepare = stageOf(plan, 'prepare');

  beforeEach(async () => {
    h = harness();
    await h.store.putBytes('s3://datasets/defects/a.png', 'image-a');
  });

  void it('misses the first time, hits the second with the same outputs and digest', async () => {
    const first = await runStage(h, 'r1', prepare, {}, (p) => writePrepare(h, p));
    assert.equal(first.hit, false);
    assert.match(first.reason ?? '', /no cache entry/);
    const second = await runStage(h, 'r2', prepare, {}, () => assert.fail('a hit must not run the stage'));
    assert.equal(second.hit, true);
    assert.deepEqual(second.outputs, first.outputs);
    assert.equal(second.digest, first.digest);
  });

  void it('stores entry.json with artifacts, digest, run and key document, and the pipeline/stage index', async () => {
    const first = await runStage(h, 'r1', prepare, {}, (p) => writePrepare(h, p));
    const pointer = await h.store.getJson<{ key: string; runId: string; digest: string }>(
      cacheIndexUri(BUCKET, 'defect-detector', 'prepare'),
    );
    assert.equal(pointer.runId, 'r1');
    assert.equal(pointer.digest, first.digest);
    const entry = await h.store.getJson<CacheEntry>(cacheEntryUri(BUCKET, pointer.key));
    assert.equal(entry.runId, 'r1');
    assert.equal(entry.createdAt, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(
      entry.artifacts.map((a) => a.uri),
      ['s3://fineflow/runs/r1/prepare/dataset/test.csv', 's3://fineflow/runs/r1/prepare/dataset/train.csv'],
    );
    assert.equal(entry.keyDocument?.uses, 'prepare-data');
    assert.deepEqual(entry.keyDocument?.params, { dataset: 's3://datasets/defects/' });
    assert.match(entry.keyDocument?.external['s3://datasets/defects/'] ?? '', /^listing:/);
  });

  void it('misses when a param the stage uses changes, and says which', async () => {
    const evaluate = stageOf(plan, 'evaluate');
    const prep = await runStage(h, 'r1', prepare, {}, (p) => writePrepare(h, p));
    const upstream = {
      prepare: { outputs: prep.outputs, digest: prep.digest },
      finetune: { outputs: { model: 's3://fineflow/m.json' }, digest: 'f'.repeat(64) },
    };
    await runStage(h, 'r1', evaluate, upstream, async () => ({ outputs: { passed: true }, artifacts: [] }));
    const again = await runStage(h, 'r2', evaluate, upstream, () => assert.fail('unchanged: must hit'));
    assert.equal(again.hit, true);
    const changed = await runStage(
      h,
      'r3',
      evaluate,
      upstream,
      async () => ({ outputs: { passed: false }, artifacts: [] }),
      { ...PARAMS, minAccuracy: 0.99 },
    );
    assert.equal(changed.hit, false);
    assert.match(
      changed.reason ?? '',
      /changed since run r1: params\.minAccuracy 0\.9 → 0\.99, with\.gate\.min 0\.9 → 0\.99/,
    );
  });

  void it('hits downstream when an upstream re-ran into a new run prefix with identical bytes', async () => {
    const finetune = stageOf(plan, 'finetune');
    const select = { outputs: { model: 'registry://digits-cnn@3' }, digest: 's'.repeat(64) };
    const prep1 = await runStage(h, 'r1', { ...prepare, cache: { enabled: false } }, {}, (p) => writePrepare(h, p));
    await runStage(h, 'r1', finetune, { select, prepare: { outputs: prep1.outputs, digest: prep1.digest } }, (p) =>
      writeModel(h, p),
    );
    const prep2 = await runStage(h, 'r2', { ...prepare, cache: { enabled: false } }, {}, (p) => writePrepare(h, p));
    assert.notDeepEqual(prep2.outputs, prep1.outputs, 'new run prefix');
    assert.equal(prep2.digest, prep1.digest, 'same bytes, same digest');
    const again = await runStage(
      h,
      'r2',
      finetune,
      { select, prepare: { outputs: prep2.outputs, digest: prep2.digest } },
      () => assert.fail('must hit'),
    );
    assert.equal(again.hit, true);
    // Without a digest from the workflow (e.g. an upstream reused by `rerun`), the lookup hashes the outputs itself.
    const noDigest = await runStage(h, 'r3', finetune, { select, prepare: { outputs: prep2.outputs } }, () =>
      assert.fail('must hit'),
    );
    assert.equal(noDigest.hit, true);
    // Different bytes upstream: a miss naming the upstream.
    const prep3 = await runStage(h, 'r4', { ...prepare, cache: { enabled: false } }, {}, (p) =>
      writePrepare(h, p, 'a,b\n9,9\n'),
    );
    const changed = await runStage(
      h,
      'r4',
      finetune,
      { select, prepare: { outputs: prep3.outputs, digest: prep3.digest } },
      (p) => writeModel(h, p, 'weights-v2'),
    );
    assert.equal(changed.hit, false);
    assert.match(changed.reason ?? '', /upstream prepare changed/);
  });

  void it('misses when a cached artifact was deleted, naming it, and the recompute becomes the new entry', async () => {
    await runStage(h, 'r1', prepare, {}, (p) => writePrepare(h, p));
    await h.store.remove('s3://fineflow/runs/r1/prepare/dataset/train.csv');
    const second = await runStage(h, 'r2', prepare, {}, (p) => writePrepare(h, p));
    assert.equal(second.hit, false);
    assert.equal(second.reason, 'artifact s3://fineflow/runs/r1/prepare/dataset/train.csv missing');
    const third = await runStage(h, 'r3', prepare, {}, () => assert.fail('the recomputed entry must hit'));
    assert.equal(third.hit, true);
    assert.equal(third.outputs.dataset, 's3://fineflow/runs/r2/prepare/dataset/');
  });

  void it('misses when a cached artifact was overwritten with other bytes', async () => {
    await runStage(h, 'r1', prepare, {}, (p) => writePrepare(h, p));
    await h.store.putBytes('s3://fineflow/runs/r1/prepare/dataset/test.csv', 'tampered');
    const second = await runStage(h, 'r2', prepare, {}, (p) => writePrepare(h, p));
    assert.equal(second.hit, false);
    assert.match(
      second.reason ?? '',
      /^artifact s3:\/\/fineflow\/runs\/r1\/prepare\/dataset\/test\.csv changed \(sha256 /,
    );
  });

  void it('honours maxAge', async () => {
    const aged: PlannedStage = { ...prepare, cache: { enabled: true, maxAgeMs: 60 * 60_000 } };
    await runStage(h, 'r1', aged, {}, (p) => writePrepare(h, p));
    h.clock.now = new Date('2026-01-01T00:59:00Z');
    assert.equal((await runStage(h, 'r2', aged, {}, () => assert.fail('young enough'))).hit, true);
    h.clock.now = new Date('2026-01-01T01:01:00Z');
    const old = await runStage(h, 'r3', aged, {}, (p) => writePrepare(h, p));
    assert.equal(old.hit, false);
    assert.equal(old.reason, 'entry is 1h 1m old, older than maxAge 1h');
  });

  void it('misses when the external dataset changed in place', async () => {
    await runStage(h, 'r1', prepare, {}, (p) => writePrepare(h, p));
    await h.store.putBytes('s3://datasets/defects/b.png', 'image-b');
    const second = await runStage(h, 'r2', prepare, {}, (p) => writePrepare(h, p));
    assert.equal(second.hit, false);
    assert.match(second.reason ?? '', /input s3:\/\/datasets\/defects\/ changed/);
  });

  void it('never hits a stage whose cache is disabled, but still returns a key and records its digest', async () => {
    const off: PlannedStage = { ...prepare, cache: { enabled: false } };
    const first = await runStage(h, 'r1', off, {}, (p) => writePrepare(h, p));
    const second = await runStage(h, 'r2', off, {}, (p) => writePrepare(h, p));
    assert.equal(second.hit, false);
    assert.equal(second.reason, 'cache disabled for this stage');
    assert.equal(second.digest, first.digest);
  });
});
