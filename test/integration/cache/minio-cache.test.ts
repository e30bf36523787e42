/**
 * The stage cache activities against a real MinIO: entries, verification of artifacts (with and
 * without recorded sha256 metadata), maxAge, and the per-stage index.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Client as MinioClient } from 'minio';
import { createCacheActivities, type CacheActivities } from '../../../activities/cache';
import type { FineflowConfig } from '../../../src/config';
import { cacheEntryUri, cacheIndexUri, type CacheEntry } from '../../../src/cache/cache-store';
import { resolveStageInputs } from '../../../src/core/spec/expressions';
import type { JsonObject, PlannedStage } from '../../../src/core/spec/plan-types';
import { createMinioObjectStore } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';
import { designPlan, stageOf } from '../../unit/cache/stage-fixtures';

const PIPELINE = 'defect-detector';

void describe('stage cache on MinIO', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  let raw: MinioClient;
  let cache: CacheActivities;
  const clock = { now: new Date() };
  const bucket = `ff-cache-${randomBytes(4).toString('hex')}`;
  const datasets = `ff-data-${randomBytes(4).toString('hex')}`;
  const params = { dataset: `s3://${datasets}/defects/`, minAccuracy: 0.9 };
  const plan = designPlan();
  const prepare = stageOf(plan, 'prepare');
  const evaluate = stageOf(plan, 'evaluate');

  before(async () => {
    config = await requireStack();
    store = createMinioObjectStore(config.s3);
    raw = new MinioClient({
      endPoint: config.s3.endPoint,
      port: config.s3.port,
      useSSL: config.s3.useSSL,
      accessKey: config.s3.accessKey,
      secretKey: config.s3.secretKey,
      region: config.s3.region,
    });
    await store.ensureBucket(bucket);
    await store.ensureBucket(datasets);
    cache = createCacheActivities(store, bucket, { now: () => clock.now });
  });
  after(async () => {
    if (!store) return;
    await store.removePrefix(`s3://${bucket}/`);
    await store.removePrefix(`s3://${datasets}/`);
    await raw.removeBucket(bucket).catch(() => undefined);
    await raw.removeBucket(datasets).catch(() => undefined);
  });
  beforeEach(async () => {
    clock.now = new Date();
    await store.removePrefix(`s3://${bucket}/`);
    await store.removePrefix(`s3://${datasets}/`);
    await store.putBytes(`s3://${datasets}/defects/a.png`, 'image-a');
  });

  async function lookup(
    runId: string,
    stage: PlannedStage,
    upstream: { [id: string]: { outputs: JsonObject; digest?: string } } = {},
    runParams: JsonObject = params,
  ) {
    const resolvedInputs = resolveStageInputs(stage.with, { params: runParams, stages: upstream });
    return cache.lookupStageCache({ runId, stage, resolvedInputs, upstream, pipeline: PIPELINE, params: runParams });
  }

  /** Lookup; on a miss write the prepare stage's two files and record. */
  async function runPrepare(
    runId: string,
    stage: PlannedStage = prepare,
  ): Promise<{ hit: boolean; reason?: string; outputs: JsonObject; digest: string }> {
    const found = await lookup(runId, stage);
    if (found.hit) return { hit: true, outputs: found.outputs, digest: found.digest };
    const prefix = `s3://${bucket}/runs/${runId}/prepare/dataset/`;
    const files = [
      await store.putBytes(`${prefix}train.csv`, 'x,y\n1,0\n'),
      await store.putBytes(`${prefix}test.csv`, 'x,y\n2,1\n'),
    ];
    const result = {
      outputs: { dataset: prefix, rows: 2 },
      artifacts: files.map((f) => ({ uri: f.uri, sha256: f.sha256 })),
    };
    const { digest } = await cache.recordStageCache({ key: found.key, runId, stage, result, pipeline: PIPELINE });
    return { hit: false, reason: found.reason, outputs: result.outputs, digest };
  }

  void it('misses, records, then hits with the same outputs; the entry and index are in the bucket', async () => {
    const first = await runPrepare('r1');
    assert.equal(first.hit, false);
    const second = await runPrepare('r2');
    assert.deepEqual(second, { hit: true, outputs: first.outputs, digest: first.digest });
    const pointer = await store.getJson<{ key: string; runId: string }>(cacheIndexUri(bucket, PIPELINE, 'prepare'));
    assert.equal(pointer.runId, 'r1');
    const entry = await store.getJson<CacheEntry>(cacheEntryUri(bucket, pointer.key));
    assert.equal(entry.artifacts.length, 2);
    assert.equal(entry.keyDocument?.uses, 'prepare-data');
  });

  void it('misses on a changed input, naming the param', async () => {
    const prep = await runPrepare('r1');
    const upstream = {
      prepare: { outputs: prep.outputs, digest: prep.digest },
      finetune: { outputs: { model: `s3://${bucket}/runs/r1/finetune/model.json` }, digest: 'f'.repeat(64) },
    };
    const first = await lookup('r1', evaluate, upstream);
    assert.equal(first.hit, false);
    await cache.recordStageCache({
      key: first.key,
      runId: 'r1',
      stage: evaluate,
      result: { outputs: { passed: true } },
      pipeline: PIPELINE,
    });
    assert.equal((await lookup('r2', evaluate, upstream)).hit, true);
    const changed = await lookup('r3', evaluate, upstream, { ...params, minAccuracy: 0.97 });
    assert.equal(changed.hit, false);
    assert.match(changed.hit ? '' : changed.reason, /changed since run r1: params\.minAccuracy 0\.9 → 0\.97/);
  });

  void it('misses when an artifact was deleted', async () => {
    await runPrepare('r1');
    await store.remove(`s3://${bucket}/runs/r1/prepare/dataset/train.csv`);
    const second = await runPrepare('r2');
    assert.equal(second.hit, false);
    assert.equal(second.reason, `artifact s3://${bucket}/runs/r1/prepare/dataset/train.csv missing`);
    assert.equal((await runPrepare('r3')).outputs.dataset, `s3://${bucket}/runs/r2/prepare/dataset/`);
  });

  void it('misses when an artifact was tampered with, with or without sha256 metadata', async () => {
    await runPrepare('r1');
    // Rewritten by another tool: no sha256 metadata, so the cache hashes the bytes itself.
    await raw.putObject(bucket, 'runs/r1/prepare/dataset/test.csv', Buffer.from('x,y\n2,1\n'));
    assert.equal((await runPrepare('r2')).hit, true, 'same bytes without metadata still verify');
    await raw.putObject(bucket, 'runs/r1/prepare/dataset/test.csv', Buffer.from('x,y\n2,0\n'));
    const tampered = await runPrepare('r3');
    assert.equal(tampered.hit, false);
    assert.match(
      tampered.reason ?? '',
      new RegExp(`^artifact s3://${bucket}/runs/r1/prepare/dataset/test\\.csv changed`),
    );
  });

  void it('honours maxAge', async () => {
    const aged: PlannedStage = { ...prepare, cache: { enabled: true, maxAgeMs: 10 * 60_000 } };
    await runPrepare('r1', aged);
    clock.now = new Date(clock.now.getTime() + 9 * 60_000);
    assert.equal((await runPrepare('r2', aged)).hit, true);
    clock.now = new Date(clock.now.getTime() + 2 * 60_000);
    const old = await runPrepare('r3', aged);
    assert.equal(old.hit, false);
    assert.equal(old.reason, 'entry is 11m old, older than maxAge 10m');
  });

  void it('misses when the external dataset gained a file', async () => {
    await runPrepare('r1');
    await store.putBytes(`s3://${datasets}/defects/b.png`, 'image-b');
    const second = await runPrepare('r2');
    assert.equal(second.hit, false);
    assert.match(second.reason ?? '', new RegExp(`input s3://${datasets}/defects/ changed`));
  });
});
