import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePlan } from '../../../src/spec';
import type { Plan } from '../../../src/core/spec/plan-types';
import { validatePlan } from '../../../src/core/spec/validate-plan';

function quickstartPlan(): Plan {
  const { plan } = compilePlan(
    readFileSync(join(__dirname, '../../../pipelines/quickstart.yaml'), 'utf8'),
    'quickstart.yaml',
  );
  assert.ok(plan);
  return JSON.parse(JSON.stringify(plan)) as Plan;
}

type Mutable = { -readonly [K in keyof Plan]: Plan[K] } & { stages: Record<string, unknown>[]; levels: string[][] };

function codesAfter(edit: (plan: Mutable) => void): string[] {
  const plan = quickstartPlan() as unknown as Mutable;
  edit(plan);
  return validatePlan(plan as unknown as Plan).map((d) => d.code);
}

test('a compiled plan re-validates cleanly', () => {
  assert.deepEqual(validatePlan(quickstartPlan()), []);
});

test('tampered plans are caught', () => {
  assert.ok(
    codesAfter((p) => ((p.stages[4] as Record<string, unknown>).needs = ['finetune'])).includes(
      'reference-not-in-needs',
    ),
  );
  assert.ok(
    codesAfter((p) => ((p.stages[0] as Record<string, unknown>).needs = ['register'])).includes('dependency-cycle'),
  );
  assert.ok(codesAfter((p) => ((p.stages[1] as Record<string, unknown>).id = 'prepare')).includes('duplicate-stage'));
  assert.ok(
    codesAfter(
      (p) =>
        ((p.stages[2] as Record<string, unknown>).retry = {
          maxAttempts: 0,
          initialIntervalMs: 1,
          backoffCoefficient: 2,
          maximumIntervalMs: 1,
        }),
    ).includes('retry-bounds'),
  );
  assert.ok(codesAfter((p) => ((p.stages[2] as Record<string, unknown>).timeoutMs = -1)).includes('bad-duration'));
  assert.ok(
    codesAfter(
      (p) => ((p.stages[4] as Record<string, unknown>).when = '${{ stages.evaluate.outputs.passed == }}'),
    ).includes('bad-expression'),
  );
  assert.ok(
    codesAfter((p) => ((p.stages[0] as { with: Record<string, unknown> }).with.source = '${{ params.nope }}')).includes(
      'unknown-reference',
    ),
  );
  assert.ok(codesAfter((p) => (p.levels = [p.levels.flat()])).includes('plan-levels'));
  assert.ok(codesAfter((p) => p.stages.reverse()).includes('plan-order'));
  assert.ok(codesAfter((p) => ((p as { apiVersion: string }).apiVersion = 'fineflow/v0')).includes('plan-api-version'));
});

test('garbage never throws', () => {
  for (const value of [
    null,
    3,
    'plan',
    [],
    {},
    { apiVersion: 'fineflow/v1', stages: [null, 1, { id: 'a', needs: 'x' }], levels: [3] },
  ]) {
    assert.ok(validatePlan(value as unknown as Plan).length > 0);
  }
});

test('validate-plan stays workflow-safe: no yaml, no Node built-ins in its import graph', () => {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^import\s+(?:type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
      const spec = match[1] as string;
      const typeOnly = /^import\s+type\s/.test(match[0]);
      if (typeOnly) continue;
      assert.ok(spec.startsWith('.'), `${file} imports ${spec}`);
      visit(join(file, '..', `${spec}.ts`));
    }
  };
  visit(join(__dirname, '../../../src/core/spec/validate-plan.ts'));
  visit(join(__dirname, '../../../src/core/spec/expressions.ts'));
  assert.ok(seen.size >= 3);
});
