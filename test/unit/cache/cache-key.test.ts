import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildKeyDocument,
  cacheKeyOf,
  digestOutputs,
  explainKeyChanges,
  externalUrisOf,
  formatKeyChanges,
  substituteUpstreamInputs,
  type CacheKeyDocument,
} from '../../../src/cache/cache-key';
import { canonicalJson } from '../../../src/canonical-json';
import { resolveStageInputs } from '../../../src/core/spec/expressions';
import type { JsonObject, JsonValue, PlannedStage } from '../../../src/core/spec/plan-types';
import { designPlan, plannedStage, stageOf } from './stage-fixtures';

/** Shuffle object keys at every level (same value, different insertion order). */
function reorder(value: JsonValue, seed: number): JsonValue {
  if (Array.isArray(value)) return value.map((item: JsonValue, i) => reorder(item, seed + i));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as JsonObject);
    const rotated =
      entries.length > 0
        ? [...entries.slice(seed % entries.length), ...entries.slice(0, seed % entries.length)].reverse()
        : entries;
    return Object.fromEntries(rotated.map(([k, v]) => [k, reorder(v, seed + 1)]));
  }
  return value;
}

function keyFor(
  stage: PlannedStage,
  params: JsonObject,
  upstream: { [id: string]: { outputs: JsonObject; digest: string } },
  extra: { datasetVersion?: string } = {},
): { key: string; document: CacheKeyDocument } {
  const resolved = resolveStageInputs(stage.with, {
    params,
    stages: Object.fromEntries(Object.entries(upstream).map(([id, u]) => [id, { outputs: u.outputs }])),
  });
  const document = buildKeyDocument({
    stage,
    keyInputs: substituteUpstreamInputs(stage.with, resolved, params),
    params,
    upstreamDigests: Object.fromEntries(Object.entries(upstream).map(([id, u]) => [id, u.digest])),
    ...extra,
    external: {},
  });
  return { key: cacheKeyOf(document), document };
}

const jsonValue = fc.jsonValue() as fc.Arbitrary<JsonValue>;

void describe('canonicalJson', () => {
  void it('sorts keys at every level and drops undefined members', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: 'x' }, u: undefined }),
      '{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":1}',
    );
  });

  void it('is independent of key insertion order (property)', () => {
    fc.assert(
      fc.property(jsonValue, fc.nat(20), (value, seed) => {
        assert.equal(canonicalJson(reorder(value, seed)), canonicalJson(value));
      }),
    );
  });

  void it('round-trips to an equal value (property)', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  void it('refuses values JSON cannot represent', () => {
    assert.throws(() => canonicalJson({ x: Number.NaN }), /not representable/);
  });
});

void describe('substituteUpstreamInputs', () => {
  const plan = designPlan();
  const params = { dataset: 's3://datasets/defects/', minAccuracy: 0.9 };

  void it('replaces values read from upstream outputs by a marker and keeps the rest resolved', () => {
    const evaluate = stageOf(plan, 'evaluate');
    const resolved: JsonObject = {
      model: 's3://fineflow/runs/r1/finetune/model.json',
      data: 's3://fineflow/runs/r1/prepare/data/',
      gate: { metric: 'accuracy', min: 0.9 },
    };
    const { inputs } = substituteUpstreamInputs(evaluate.with, resolved, params);
    assert.deepEqual(inputs, {
      model: { $fromUpstream: '${{ stages.finetune.outputs.model }}' },
      data: { $fromUpstream: '${{ stages.prepare.outputs.dataset }}' },
      gate: { metric: 'accuracy', min: 0.9 },
    });
  });

  void it('keeps param values of a mixed template in the marker, never the run-specific text', () => {
    const stage = plannedStage('s', 't', { name: '${{ stages.a.outputs.id }}-${{ params.tag }}' }, ['a']);
    const withParams = substituteUpstreamInputs(stage.with, { name: 'runs/r1/x-blue' }, { tag: 'blue' });
    assert.deepEqual(withParams.inputs, {
      name: { $fromUpstream: '${{ stages.a.outputs.id }}-${{ params.tag }}', params: { tag: 'blue' } },
    });
    // Without the params the resolved text is kept: a rerun then misses instead of reusing a stale result.
    assert.deepEqual(substituteUpstreamInputs(stage.with, { name: 'runs/r1/x-blue' }).inputs, {
      name: 'runs/r1/x-blue',
    });
  });

  void it('observes whole param references when the caller does not pass params', () => {
    const evaluate = stageOf(plan, 'evaluate');
    const { observedParams } = substituteUpstreamInputs(evaluate.with, {
      model: 'm',
      data: 'd',
      gate: { metric: 'accuracy', min: 0.95 },
    });
    assert.deepEqual(observedParams, { minAccuracy: 0.95 });
  });

  void it('lists external URIs but not upstream markers', () => {
    const prepare = stageOf(plan, 'prepare');
    const prepared = substituteUpstreamInputs(
      prepare.with,
      resolveStageInputs(prepare.with, { params, stages: {} }),
      params,
    );
    assert.deepEqual(externalUrisOf(prepared.inputs), ['s3://datasets/defects/']);
    const evaluate = stageOf(plan, 'evaluate');
    const evaluated = substituteUpstreamInputs(
      evaluate.with,
      { model: 's3://fineflow/runs/r1/finetune/model.json', data: 's3://x/y', gate: { metric: 'a', min: 1 } },
      params,
    );
    assert.deepEqual(externalUrisOf(evaluated.inputs), []);
    assert.deepEqual(externalUrisOf({ candidates: ['registry://digits-cnn@latest', 'plain text'] }), [
      'registry://digits-cnn@latest',
    ]);
  });
});

void describe('digestOutputs', () => {
  void it('is the same for identical bytes written under different run prefixes', () => {
    const run1 = { dataset: 's3://fineflow/runs/r1/prepare/dataset/', rows: 120 };
    const run2 = { rows: 120, dataset: 's3://fineflow/runs/r2/prepare/dataset/' };
    const d1 = digestOutputs(run1, new Map([['s3://fineflow/runs/r1/prepare/dataset/', 'aa']]));
    const d2 = digestOutputs(run2, new Map([['s3://fineflow/runs/r2/prepare/dataset/', 'aa']]));
    assert.equal(d1, d2);
    assert.match(d1, /^[0-9a-f]{64}$/);
  });

  void it('changes when the bytes or a plain output change', () => {
    const outputs = { model: 's3://fineflow/runs/r1/finetune/model.json', accuracy: 0.91 };
    const base = digestOutputs(outputs, new Map([[outputs.model, 'aa']]));
    assert.notEqual(digestOutputs(outputs, new Map([[outputs.model, 'bb']])), base);
    assert.notEqual(digestOutputs({ ...outputs, accuracy: 0.92 }, new Map([[outputs.model, 'aa']])), base);
  });

  void it('keeps a URI that names no artifact (so an undeclared run path never looks reusable)', () => {
    const a = digestOutputs({ report: 's3://fineflow/runs/r1/evaluate/report.json' }, new Map());
    const b = digestOutputs({ report: 's3://fineflow/runs/r2/evaluate/report.json' }, new Map());
    assert.notEqual(a, b);
  });
});

void describe('cache key', () => {
  const params = { dataset: 's3://datasets/defects/', minAccuracy: 0.9 };
  const upstreamRun1 = {
    finetune: { outputs: { model: 's3://fineflow/runs/r1/finetune/model.json' }, digest: 'f'.repeat(64) },
    prepare: { outputs: { dataset: 's3://fineflow/runs/r1/prepare/dataset/' }, digest: 'p'.repeat(64) },
  };
  const upstreamRun2 = {
    finetune: { outputs: { model: 's3://fineflow/runs/r2/finetune/model.json' }, digest: 'f'.repeat(64) },
    prepare: { outputs: { dataset: 's3://fineflow/runs/r2/prepare/dataset/' }, digest: 'p'.repeat(64) },
  };

  void it('does not change when upstreams reproduced the same content in a new run', () => {
    const evaluate = stageOf(designPlan(), 'evaluate');
    assert.equal(keyFor(evaluate, params, upstreamRun1).key, keyFor(evaluate, params, upstreamRun2).key);
  });

  void it('is stable across key order of the stage inputs', () => {
    const evaluate = stageOf(designPlan(), 'evaluate');
    const reordered = { ...evaluate, with: reorder(evaluate.with, 3) as JsonObject };
    assert.equal(keyFor(reordered, params, upstreamRun1).key, keyFor(evaluate, params, upstreamRun1).key);
  });

  void it('changes with the param it uses, an upstream digest, the type version and the dataset version', () => {
    const evaluate = stageOf(designPlan(), 'evaluate');
    const base = keyFor(evaluate, params, upstreamRun1).key;
    assert.notEqual(keyFor(evaluate, { ...params, minAccuracy: 0.95 }, upstreamRun1).key, base);
    assert.notEqual(
      keyFor(evaluate, params, { ...upstreamRun1, prepare: { ...upstreamRun1.prepare, digest: 'q'.repeat(64) } }).key,
      base,
    );
    assert.notEqual(keyFor({ ...evaluate, typeVersion: '1.1.0' }, params, upstreamRun1).key, base);
    assert.notEqual(keyFor(evaluate, params, upstreamRun1, { datasetVersion: 'v2' }).key, base);
  });

  void it('ignores params the stage does not reference', () => {
    const prepare = stageOf(designPlan(), 'prepare');
    assert.equal(keyFor(prepare, params, {}).key, keyFor(prepare, { ...params, minAccuracy: 0.5 }, {}).key);
    assert.deepEqual(keyFor(prepare, params, {}).document.params, { dataset: 's3://datasets/defects/' });
  });

  void it('counts a needed upstream without outputs as null, distinct from any digest', () => {
    const evaluate = stageOf(designPlan(), 'evaluate');
    const partial = keyFor(evaluate, params, upstreamRun1).document;
    const missing = buildKeyDocument({
      stage: evaluate,
      keyInputs: { inputs: partial.inputs, observedParams: {} },
      params,
      upstreamDigests: { finetune: 'f'.repeat(64) },
      external: {},
    });
    assert.equal(missing.upstream.prepare, null);
    assert.notEqual(cacheKeyOf(missing), cacheKeyOf(partial));
  });
});

void describe('explainKeyChanges', () => {
  const params = { dataset: 's3://datasets/defects/', minAccuracy: 0.9 };
  const upstream = {
    select: { outputs: { model: 'registry://digits-cnn@3' }, digest: 's'.repeat(64) },
    prepare: { outputs: { dataset: 's3://fineflow/runs/r1/prepare/dataset/' }, digest: 'p'.repeat(64) },
  };

  void it('is empty for equal documents', () => {
    const finetune = stageOf(designPlan(), 'finetune');
    assert.deepEqual(
      explainKeyChanges(keyFor(finetune, params, upstream).document, keyFor(finetune, params, upstream).document),
      [],
    );
  });

  void it('names with.epochs when a literal input changed', () => {
    const before = keyFor(stageOf(designPlan({ epochs: 20 }), 'finetune'), params, upstream).document;
    const after = keyFor(stageOf(designPlan({ epochs: 5 }), 'finetune'), params, upstream).document;
    assert.deepEqual(explainKeyChanges(before, after), [{ part: 'with.epochs', before: 20, after: 5 }]);
  });

  void it('names the upstream whose digest changed', () => {
    const finetune = stageOf(designPlan(), 'finetune');
    const before = keyFor(finetune, params, upstream).document;
    const after = keyFor(finetune, params, {
      ...upstream,
      prepare: { ...upstream.prepare, digest: 'q'.repeat(64) },
    }).document;
    assert.deepEqual(
      explainKeyChanges(before, after).map((c) => c.part),
      ['upstream prepare'],
    );
  });

  void it('names the param first, then the input it feeds', () => {
    const evaluate = stageOf(designPlan(), 'evaluate');
    const ups = { finetune: { outputs: { model: 'm' }, digest: 'f'.repeat(64) }, prepare: upstream.prepare };
    const changes = explainKeyChanges(
      keyFor(evaluate, params, ups).document,
      keyFor(evaluate, { ...params, minAccuracy: 0.95 }, ups).document,
    );
    assert.deepEqual(
      changes.map((c) => c.part),
      ['params.minAccuracy', 'with.gate.min'],
    );
    assert.equal(formatKeyChanges(changes), 'params.minAccuracy 0.9 → 0.95, with.gate.min 0.9 → 0.95');
  });

  void it('names the stage type version and the dataset version', () => {
    const prepare = stageOf(designPlan(), 'prepare');
    const before = keyFor(prepare, params, {}, { datasetVersion: 'v1' }).document;
    const after = keyFor({ ...prepare, typeVersion: '2.0.0' }, params, {}, { datasetVersion: 'v2' }).document;
    assert.deepEqual(
      explainKeyChanges(before, after).map((c) => c.part),
      ['stage type version', 'dataset version'],
    );
  });

  void it('names an external input whose content changed', () => {
    const prepare = stageOf(designPlan(), 'prepare');
    const doc = keyFor(prepare, params, {}).document;
    const before = { ...doc, external: { 's3://datasets/defects/': 'listing:a' } };
    const after = { ...doc, external: { 's3://datasets/defects/': 'listing:b' } };
    assert.equal(formatKeyChanges(explainKeyChanges(before, after)), 'input s3://datasets/defects/ changed');
  });
});

void describe('upstream markers', () => {
  void it('do not depend on whitespace inside ${{ }}', () => {
    const tight = plannedStage('s', 't', { data: '${{stages.a.outputs.x}}' }, ['a']);
    const loose = plannedStage('s', 't', { data: '${{   stages.a.outputs.x }}' }, ['a']);
    const resolved = { data: 's3://fineflow/runs/r1/a/x' };
    assert.deepEqual(
      substituteUpstreamInputs(tight.with, resolved).inputs,
      substituteUpstreamInputs(loose.with, resolved).inputs,
    );
    assert.deepEqual(substituteUpstreamInputs(tight.with, resolved).inputs, {
      data: { $fromUpstream: '${{ stages.a.outputs.x }}' },
    });
  });
});
