/**
 * Bounded work at validate time: every numeric stage input has an upper bound (the hint names the
 * allowed range), and a pipeline with more stages than MAX_STAGES is refused with one diagnostic,
 * by the YAML validator and again by the plan validator the workflow runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePlan, validatePipeline } from '../../../src/spec';
import type { InputSchema } from '../../../src/spec/schema-language';
import { listStageTypes } from '../../../src/spec/stage-types';
import { MAX_STAGES, validatePlan } from '../../../src/core/spec/validate-plan';

const finetune = (extra: string): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: bounded}
stages:
  train:
    uses: fine-tune
    with:
      model: s3://fineflow/base/model.json
      data: s3://fineflow/data/manifest.json
${extra}
`;

test('headUnits: [100000000] is refused at validate, with the allowed range in the hint', () => {
  const result = validatePipeline(finetune('      headUnits: [100000000]'), 'bounded.yaml');
  const diagnostic = result.diagnostics.find((d) => d.code === 'out-of-range');
  assert.ok(diagnostic, JSON.stringify(result.diagnostics));
  assert.equal(diagnostic.path, 'stages.train.with.headUnits[0]');
  assert.deepEqual([diagnostic.line, diagnostic.column], [10, 19]);
  assert.match(diagnostic.hint ?? '', /allowed: an integer ≥ 1 and ≤ 8192/);
  assert.equal(validatePipeline(finetune('      headUnits: [64, 32]'), 'ok.yaml').valid, true);
  assert.equal(
    validatePipeline(finetune(`      headUnits: [${Array(9).fill(8).join(', ')}]`), 'long.yaml').valid,
    false,
  );
});

/** Every number schema reachable from `schema`, with its path. */
function numbers(
  schema: InputSchema,
  path: string,
): { path: string; schema: InputSchema & { type: 'number' | 'integer' } }[] {
  switch (schema.type) {
    case 'number':
    case 'integer':
      return [{ path, schema }];
    case 'array':
      return numbers(schema.items, `${path}[]`);
    case 'object':
      return [
        ...Object.entries(schema.properties ?? {}).flatMap(([key, child]) => numbers(child, `${path}.${key}`)),
        ...(schema.additionalProperties && typeof schema.additionalProperties === 'object'
          ? numbers(schema.additionalProperties, `${path}.*`)
          : []),
      ];
    case 'oneOf':
      return schema.variants.flatMap((variant, index) => numbers(variant, `${path}|${index}`));
    default:
      return [];
  }
}

test('every numeric input of every stage type has an upper bound', () => {
  const unbounded = listStageTypes().flatMap((type) =>
    Object.entries(type.inputs)
      .flatMap(([name, schema]) => numbers(schema, `${type.name}.${name}`))
      .filter(({ schema }) => schema.maximum === undefined && schema.exclusiveMaximum === undefined),
  );
  assert.deepEqual(
    unbounded.map((entry) => entry.path),
    [],
  );
});

test(`more than ${MAX_STAGES} stages are refused with one diagnostic, in the YAML and in a plan`, () => {
  const stages = Array.from(
    { length: MAX_STAGES + 1 },
    (_, i) =>
      `  s${i}:\n    uses: evaluate\n    with: {model: s3://fineflow/m/model.json, data: s3://fineflow/d/manifest.json}`,
  ).join('\n');
  const yaml = `apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: wide}\nstages:\n${stages}\n`;
  const result = validatePipeline(yaml, 'wide.yaml');
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.line]),
    [['too-many-stages', 4]],
  );
  assert.match(result.diagnostics[0]?.hint ?? '', /at most 1000 stages/);
  // A plan built by hand (not through the validator) is refused by the workflow's check too.
  const small = compilePlan(yaml.replace(/\n {2}s1:[\s\S]*$/, '\n'), 'one.yaml').plan;
  assert.ok(small, 'one stage compiles');
  const wide = {
    ...small,
    stages: Array.from({ length: MAX_STAGES + 1 }, (_, i) => ({ ...small.stages[0], id: `s${i}` })),
  };
  assert.deepEqual(
    validatePlan(wide as typeof small).map((d) => d.code),
    ['too-many-stages'],
  );
});
