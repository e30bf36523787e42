import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCacheActivities } from '../../../activities/cache';
import { refreshCache } from '../../../src/cache/cache-rerun';
import { REFRESH_REASON } from '../../../src/cache/cache-service';
import { cacheEntryUri, type CacheEntry } from '../../../src/cache/cache-store';
import type { PlannedStage } from '../../../src/core/spec/plan-types';
import { validatePlan } from '../../../src/core/spec/validate-plan';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { designPlan } from '../cache/stage-fixtures';

const BUCKET = 'fineflow';

void describe('cache.refresh (rerun)', () => {
  void it('refreshCache sets the flag on enabled stages only and leaves maxAge alone', () => {
    const plan = designPlan();
    const prepare = plan.stages[0] as PlannedStage;
    assert.deepEqual(refreshCache({ ...prepare, cache: { enabled: true, maxAgeMs: 60_000 } }).cache, {
      enabled: true,
      maxAgeMs: 60_000,
      refresh: true,
    });
    const disabled = { ...prepare, cache: { enabled: false } };
    assert.equal(refreshCache(disabled), disabled);
  });

  void it('skips the lookup, says why, and still records the new result under the same key', async () => {
    const store = createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
    await store.putBytes('s3://datasets/defects/a.png', 'image-a');
    const cache = createCacheActivities(store, BUCKET, { now: () => new Date('2026-01-01T00:00:00Z') });
    const prepare = designPlan().stages[0] as PlannedStage;
    const lookupOf = (stage: PlannedStage) =>
      cache.lookupStageCache({
        runId: 'r',
        stage,
        resolvedInputs: { ...stage.with, source: 's3://datasets/defects/' },
        upstream: {},
        pipeline: 'defect-detector',
        params: { dataset: 's3://datasets/defects/' },
      });
    const recordAs = async (runId: string, key: string, stage: PlannedStage, body: string) => {
      const put = await store.putBytes(`s3://${BUCKET}/runs/${runId}/prepare/out.csv`, body);
      return cache.recordStageCache({
        key,
        runId,
        stage,
        pipeline: 'defect-detector',
        result: { outputs: { dataset: put.uri }, artifacts: [{ uri: put.uri, sha256: put.sha256 }] },
      });
    };

    const first = await lookupOf(prepare);
    assert.equal(first.hit, false);
    await recordAs('r1', first.key, prepare, 'v1');
    assert.equal((await lookupOf(prepare)).hit, true, 'a plain lookup hits the recorded entry');

    const refreshed = refreshCache(prepare);
    const lookup = await lookupOf(refreshed);
    assert.deepEqual(lookup, { hit: false, key: first.key, reason: REFRESH_REASON, bypassed: true });
    assert.match(REFRESH_REASON, /refresh requested by rerun/);
    await recordAs('r2', lookup.key, refreshed, 'v2');
    const entry = await store.getJson<CacheEntry>(cacheEntryUri(BUCKET, first.key));
    assert.equal(entry.runId, 'r2', 'the refreshed result replaced the entry');
    const after = await lookupOf(prepare);
    assert.equal(after.hit && after.fromRunId, 'r2', 'the next ordinary run reuses the refreshed result');
  });

  void it('validatePlan accepts old plans and a boolean refresh, and rejects anything else', () => {
    const plan = designPlan();
    assert.deepEqual(
      validatePlan(plan).filter((d) => d.severity === 'error'),
      [],
    );
    const refreshed = { ...plan, stages: plan.stages.map(refreshCache) };
    assert.deepEqual(
      validatePlan(refreshed).filter((d) => d.severity === 'error'),
      [],
    );
    const bad = {
      ...plan,
      stages: plan.stages.map((s) => ({ ...s, cache: { enabled: true, refresh: 'yes' } })),
    } as unknown as typeof plan;
    const errors = validatePlan(bad).filter((d) => d.severity === 'error');
    assert.ok(
      errors.length > 0 && errors.every((d) => d.code === 'plan-wrong-type' && d.path.endsWith('.cache')),
      JSON.stringify(errors),
    );
  });
});
