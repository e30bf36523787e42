import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchSpec, generatePipeline } from '../../../bench/spec-bench';
import { compilePlan } from '../../../src/spec';

test('the generated bench pipeline is a valid 500-stage DAG', () => {
  const { plan, diagnostics } = compilePlan(generatePipeline(125), 'bench.yaml');
  assert.deepEqual(diagnostics, []);
  assert.equal(plan?.stages.length, 500);
  assert.equal(plan?.levels.length, 125 * 3 + 1);
});

test('benchSpec reports a YAML-parse baseline, validate and validate+plan times', async () => {
  const results = await benchSpec();
  assert.deepEqual(
    results.map((r) => r.name),
    [
      'baseline: YAML.parse of the same file',
      'spec: validate 500-stage pipeline',
      'spec: validate + plan 500-stage pipeline',
    ],
  );
  for (const r of results) assert.ok(r.ms > 0 && r.ms < 5000, `${r.name}: ${r.ms} ms`);
});
