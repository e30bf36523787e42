import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createCacheActivities } from '../../../activities/cache';
import { explainCache, formatCacheExplanation } from '../../../src/cli/explain-cache';
import { paramsReferencedBy } from '../../../src/cache/cache-key';
import { canonicalJson } from '../../../src/canonical-json';
import { evaluateCondition, resolveStageInputs } from '../../../src/core/spec/expressions';
import type { JsonObject, Plan } from '../../../src/core/spec/plan-types';
import { createMemoryObjectStore, type MemoryObjectStore } from '../../../src/storage/memory-store';
import { designPlan } from './stage-fixtures';

const BUCKET = 'fineflow';

/**
 * Play a plan the way the workflow does (lookup, run on a miss, record), with stages that
 * write bytes derived from their inputs, so equal inputs give equal bytes. Returns the stages run.
 */
async function playRun(store: MemoryObjectStore, plan: Plan, runId: string, passed = true): Promise<string[]> {
  const cache = createCacheActivities(store, BUCKET);
  const params = Object.fromEntries(Object.entries(plan.params).map(([name, p]) => [name, p.value]));
  const done = new Map<string, { outputs: JsonObject; digest: string }>();
  const ran: string[] = [];
  const skipped = new Set<string>();
  for (const stage of plan.stages) {
    // As the workflow does: skip a stage reading a skipped one, or whose `when` is false.
    if (stage.needs.some((id) => skipped.has(id))) {
      skipped.add(stage.id);
      continue;
    }
    const upstream = Object.fromEntries(
      stage.needs.map((id) => [id, done.get(id) as { outputs: JsonObject; digest: string }]),
    );
    if (stage.when !== undefined && !evaluateCondition(stage.when, { params, stages: upstream })) {
      skipped.add(stage.id);
      continue;
    }
    const resolvedInputs = resolveStageInputs(stage.with, { params, stages: upstream });
    const lookup = await cache.lookupStageCache({
      runId,
      stage,
      resolvedInputs,
      upstream,
      pipeline: plan.pipeline.name,
      params,
    });
    if (lookup.hit) {
      done.set(stage.id, { outputs: lookup.outputs, digest: lookup.digest });
      continue;
    }
    ran.push(stage.id);
    // The bytes depend on the inputs with upstream URIs replaced by the bytes they name, not on the run.
    const used = Object.fromEntries(paramsReferencedBy(stage).map((name) => [name, params[name] ?? null]));
    const content = canonicalJson({
      uses: stage.uses,
      with: stage.with,
      params: used,
      upstream: Object.fromEntries(Object.entries(upstream).map(([id, u]) => [id, u.digest])),
    });
    const written = await store.putBytes(`s3://${BUCKET}/runs/${runId}/${stage.id}/result.json`, content);
    const result = {
      outputs: { result: written.uri, model: written.uri, dataset: written.uri, passed },
      artifacts: [{ uri: written.uri, sha256: written.sha256 }],
    };
    const recorded = await cache.recordStageCache({
      key: lookup.key,
      runId,
      stage,
      result,
      pipeline: plan.pipeline.name,
    });
    done.set(stage.id, { outputs: result.outputs, digest: recorded.digest });
  }
  return ran;
}

void describe('explainCache', () => {
  let store: MemoryObjectStore;
  beforeEach(async () => {
    store = createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
    await store.putBytes('s3://datasets/defects/a.png', 'image-a');
  });

  void it('predicts a miss for every stage before any run', async () => {
    const explained = await explainCache(designPlan(), store, BUCKET);
    assert.deepEqual(
      explained.map((e) => [e.stageId, e.prediction]),
      [
        ['prepare', 'miss'],
        ['select', 'miss'],
        ['finetune', 'miss'],
        ['evaluate', 'miss'],
        ['register', 'miss'],
      ],
    );
    assert.match(explained[0]?.reason ?? '', /no earlier run of defect-detector recorded this stage/);
  });

  void it('predicts a hit for every stage of an unchanged plan, and the run agrees', async () => {
    assert.equal((await playRun(store, designPlan(), 'r1')).length, 5);
    const explained = await explainCache(designPlan(), store, BUCKET);
    assert.deepEqual(
      explained.map((e) => [e.stageId, e.prediction, e.fromRunId]),
      [
        ['prepare', 'hit', 'r1'],
        ['select', 'hit', 'r1'],
        ['finetune', 'hit', 'r1'],
        ['evaluate', 'hit', 'r1'],
        ['register', 'hit', 'r1'],
      ],
    );
    assert.deepEqual(await playRun(store, designPlan(), 'r2'), []);
  });

  void it('names the param that changed, and marks its downstream as depending on it', async () => {
    await playRun(store, designPlan(), 'r1');
    const changed = designPlan({ minAccuracy: 0.95 });
    const explained = await explainCache(changed, store, BUCKET);
    const byId = Object.fromEntries(explained.map((e) => [e.stageId, e]));
    assert.equal(byId.finetune?.prediction, 'hit');
    assert.equal(byId.evaluate?.prediction, 'miss');
    assert.equal(
      byId.evaluate?.reason,
      'changed since run r1: params.minAccuracy 0.9 → 0.95, with.gate.min 0.9 → 0.95',
    );
    assert.deepEqual(
      byId.evaluate?.changes.map((c) => c.part),
      ['params.minAccuracy', 'with.gate.min'],
    );
    assert.equal(byId.register?.prediction, 'depends');
    assert.match(
      byId.register?.reason ?? '',
      /upstream evaluate will run; hits only if it reproduces the outputs of run r1/,
    );
    // The run agrees: evaluate runs; its bytes depend on the param, so register (which read them) runs too.
    assert.deepEqual(await playRun(store, changed, 'r2'), ['evaluate', 'register']);
  });

  void it('names with.epochs and makes the downstream a certain miss when its own inputs changed too', async () => {
    await playRun(store, designPlan(), 'r1');
    const explained = await explainCache(designPlan({ epochs: 3 }), store, BUCKET);
    const byId = Object.fromEntries(explained.map((e) => [e.stageId, e]));
    assert.equal(byId.prepare?.prediction, 'hit');
    assert.equal(byId.finetune?.prediction, 'miss');
    assert.equal(byId.finetune?.reason, 'changed since run r1: with.epochs 20 → 3');
    assert.equal(byId.evaluate?.prediction, 'depends');
  });

  void it('predicts a miss naming a deleted artifact', async () => {
    await playRun(store, designPlan(), 'r1');
    await store.remove('s3://fineflow/runs/r1/prepare/result.json');
    const explained = await explainCache(designPlan(), store, BUCKET);
    assert.equal(explained[0]?.prediction, 'miss');
    assert.equal(explained[0]?.reason, 'artifact s3://fineflow/runs/r1/prepare/result.json missing');
    assert.deepEqual(await playRun(store, designPlan(), 'r2'), ['prepare']);
  });

  void it('predicts a skip when a condition reads cached outputs that make it false, and for what reads a skipped stage', async () => {
    const plan = designPlan();
    const withAudit: Plan = {
      ...plan,
      stages: [
        ...plan.stages,
        {
          ...plan.stages[0]!,
          id: 'announce',
          uses: 'notify',
          with: { model: '${{ stages.register.outputs.model }}' },
          needs: ['register'],
        },
      ],
    };
    assert.deepEqual(await playRun(store, withAudit, 'r1', false), ['prepare', 'select', 'finetune', 'evaluate']);
    const explained = await explainCache(withAudit, store, BUCKET);
    const byId = Object.fromEntries(explained.map((e) => [e.stageId, e]));
    assert.equal(byId.evaluate?.prediction, 'hit');
    assert.deepEqual(
      [byId.register?.prediction, byId.register?.reason],
      ['skip', 'when is false: ${{ stages.evaluate.outputs.passed }}'],
    );
    assert.deepEqual(
      [byId.announce?.prediction, byId.announce?.reason],
      ['skip', 'reads outputs of skipped stage register'],
    );
  });

  void it('reports disabled stages and formats a table', async () => {
    const plan = designPlan();
    const off = {
      ...plan,
      stages: plan.stages.map((s) => (s.id === 'select' ? { ...s, cache: { enabled: false } } : s)),
    };
    const explained = await explainCache(off, store, BUCKET);
    assert.equal(explained[1]?.prediction, 'disabled');
    const table = formatCacheExplanation(explained);
    assert.match(table, /^stage {5}cache {2}why\n/);
    assert.match(table, /\nselect {4}run {4}cache disabled for this stage\n/);
  });
});
