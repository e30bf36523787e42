import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectRerun, upstreamOf } from '../../../src/cache/cache-rerun';
import type { StageState, StageStatus } from '../../../src/core/run/run-types';
import { InvalidInputError } from '../../../src/core/errors';
import { designPlan } from './stage-fixtures';

function states(statuses: { [id: string]: StageStatus }): StageState[] {
  return Object.entries(statuses).map(([id, status]) => ({
    id,
    uses: id,
    pool: 'cpu',
    status,
    attempts: 1,
    ...(status === 'succeeded' || status === 'cached'
      ? { outputs: { out: `s3://fineflow/runs/r1/${id}/out.json` } }
      : {}),
  }));
}

const allSucceeded = states({
  prepare: 'succeeded',
  select: 'cached',
  finetune: 'succeeded',
  evaluate: 'succeeded',
  register: 'succeeded',
});

void describe('selectRerun', () => {
  void it('reruns the stage and its descendants and reuses everything else', () => {
    const selection = selectRerun({ plan: designPlan(), fromRunId: 'r1', fromStage: 'finetune', stages: allSucceeded });
    assert.deepEqual(selection.rerun, ['finetune', 'evaluate', 'register']);
    assert.deepEqual(
      selection.reuse.map((r) => [r.stageId, r.fromRunId, r.outputs.out]),
      [
        ['prepare', 'r1', 's3://fineflow/runs/r1/prepare/out.json'],
        ['select', 'r1', 's3://fineflow/runs/r1/select/out.json'],
      ],
    );
    assert.deepEqual(selection.notes, []);
  });

  void it('says why each stage runs again or is reused', () => {
    const selection = selectRerun({ plan: designPlan(), fromRunId: 'r1', fromStage: 'finetune', stages: allSucceeded });
    assert.deepEqual(selection.why, {
      prepare: 'succeeded in run r1: its outputs are reused',
      select: 'served from the cache in run r1: its outputs are reused',
      finetune: 'the rerun starts here; cache bypassed, its new result replaces the entry',
      evaluate: 'downstream of finetune (needs finetune); cache bypassed, its new result replaces the entry',
      register: 'downstream of finetune (needs evaluate, finetune); cache bypassed, its new result replaces the entry',
    });
    const uncached = designPlan();
    const plan = { ...uncached, stages: uncached.stages.map((s) => ({ ...s, cache: { enabled: false } })) };
    const gone = selectRerun({
      plan,
      fromRunId: 'r1',
      fromStage: 'register',
      stages: allSucceeded,
      unavailable: { select: 'artifact s3://fineflow/runs/r1/select/out.json missing' },
    });
    assert.equal(gone.why.register, 'the rerun starts here', 'no cache to bypass');
    assert.equal(
      gone.why.select,
      'its outputs in run r1 are gone (artifact s3://fineflow/runs/r1/select/out.json missing); the cache may still serve it',
    );
  });

  void it('reruns a leaf alone', () => {
    const selection = selectRerun({ plan: designPlan(), fromRunId: 'r1', fromStage: 'register', stages: allSucceeded });
    assert.deepEqual(selection.rerun, ['register']);
    assert.equal(selection.reuse.length, 4);
  });

  void it('bypasses the cache for exactly the rerun stages', () => {
    const selection = selectRerun({ plan: designPlan(), fromRunId: 'r1', fromStage: 'evaluate', stages: allSucceeded });
    const refresh = Object.fromEntries(selection.plan.stages.map((s) => [s.id, s.cache.refresh]));
    assert.deepEqual(refresh, {
      prepare: undefined,
      select: undefined,
      finetune: undefined,
      evaluate: true,
      register: true,
    });
    const maxAges = Object.fromEntries(selection.plan.stages.map((s) => [s.id, s.cache.maxAgeMs]));
    assert.deepEqual(
      maxAges,
      { prepare: undefined, select: undefined, finetune: undefined, evaluate: undefined, register: undefined },
      'maxAge is left as the user wrote it',
    );
  });

  void it('applies --set overrides on top of the params the run ended with, and warns about reused readers', () => {
    const selection = selectRerun({
      plan: designPlan(),
      fromRunId: 'r1',
      fromStage: 'evaluate',
      stages: allSucceeded,
      params: { dataset: 's3://datasets/defects-v2/', minAccuracy: 0.9 },
      overrides: { minAccuracy: 0.97 },
    });
    assert.equal(selection.plan.params.minAccuracy?.value, 0.97);
    assert.equal(selection.plan.params.dataset?.value, 's3://datasets/defects-v2/');
    assert.deepEqual(selection.notes, []);
    const stale = selectRerun({
      plan: designPlan(),
      fromRunId: 'r1',
      fromStage: 'evaluate',
      stages: allSucceeded,
      overrides: { dataset: 's3://other/' },
    });
    assert.deepEqual(stale.notes, [
      'stage prepare is reused from run r1 but reads params.dataset, which --set changes; rerun --from prepare to apply it there too',
    ]);
  });

  void it('refuses when an upstream of the stage has no outputs, naming where to rerun from', () => {
    const failed = states({
      prepare: 'succeeded',
      select: 'failed',
      finetune: 'pending',
      evaluate: 'pending',
      register: 'pending',
    });
    assert.throws(
      () => selectRerun({ plan: designPlan(), fromRunId: 'r1', fromStage: 'evaluate', stages: failed }),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        error.details.code === 'upstream-not-reusable' &&
        /upstream stages select \(failed\), finetune \(pending\).*fineflow rerun r1 --from select/.test(error.message),
    );
  });

  void it('runs a failed side branch again, with a note', () => {
    const sideFailed = states({
      prepare: 'succeeded',
      select: 'succeeded',
      finetune: 'succeeded',
      evaluate: 'succeeded',
      register: 'failed',
    });
    const plan = designPlan();
    // register depends on evaluate; rerun from prepare's sibling: select → finetune → evaluate → register all rerun.
    assert.deepEqual(selectRerun({ plan, fromRunId: 'r1', fromStage: 'select', stages: sideFailed }).rerun, [
      'select',
      'finetune',
      'evaluate',
      'register',
    ]);
    // A plan with an independent stage beside the rerun.
    const withSide = { ...plan, stages: [...plan.stages, { ...plan.stages[0]!, id: 'audit', needs: [] }] };
    const selection = selectRerun({
      plan: withSide,
      fromRunId: 'r1',
      fromStage: 'register',
      stages: [...allSucceeded, ...states({ audit: 'failed' })],
    });
    assert.deepEqual(selection.rerun, ['register', 'audit']);
    assert.deepEqual(selection.notes, [
      'stage audit was failed in run r1 and is not downstream of register: it runs again',
    ]);
    assert.equal(selection.why.audit, 'was failed in run r1: no outputs to reuse');
  });

  void it('runs a stage whose outputs are gone instead of reusing it, without bypassing its cache', () => {
    const selection = selectRerun({
      plan: designPlan(),
      fromRunId: 'r1',
      fromStage: 'evaluate',
      stages: allSucceeded,
      unavailable: { prepare: 'artifact s3://fineflow/runs/r1/prepare/out.json missing' },
    });
    assert.deepEqual(selection.rerun, ['prepare', 'evaluate', 'register']);
    assert.deepEqual(
      selection.reuse.map((r) => r.stageId),
      ['select', 'finetune'],
    );
    assert.equal(selection.plan.stages.find((s) => s.id === 'prepare')?.cache.refresh, undefined);
    assert.deepEqual(selection.notes, [
      'stage prepare cannot be reused from run r1 (artifact s3://fineflow/runs/r1/prepare/out.json missing): it runs again, unless the cache holds a valid result',
    ]);
  });

  void it('suggests the stage name on a typo', () => {
    assert.throws(
      () => selectRerun({ plan: designPlan(), fromRunId: 'r1', fromStage: 'finetnue', stages: allSucceeded }),
      /has no stage finetnue; did you mean finetune\?/,
    );
  });

  void it('finds transitive upstreams', () => {
    assert.deepEqual([...upstreamOf(designPlan(), 'register')].sort(), ['evaluate', 'finetune', 'prepare', 'select']);
    assert.deepEqual([...upstreamOf(designPlan(), 'prepare')], []);
  });
});
