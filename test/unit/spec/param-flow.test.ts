import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePlan, validatePipeline } from '../../../src/spec';

/** A pipeline whose fine-tune takes its learning rate and data location from params. */
function pipeline(params: string, data = 's3://${{ params.bucket }}/prepared/'): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: flow}
params:
${params}
stages:
  prepare:
    uses: prepare-data
    with: {source: "s3://datasets/defects/", format: image-folder}
  finetune:
    uses: fine-tune
    with:
      model: registry://digits-cnn@latest
      data: "${data}"
      learningRate: \${{ params.lr }}
      epochs: 3
`;
}

const GOOD = '  lr: 0.01\n  bucket: datasets';

test('a param default is checked against the input it flows into, at the param', () => {
  const result = validatePipeline(pipeline('  lr: -1\n  bucket: datasets'), 'p.yaml');
  const found = result.diagnostics.filter((d) => d.code === 'param-value-invalid');
  assert.deepEqual(
    found.map((d) => [d.path, d.line, d.column]),
    [['params.lr', 5, 3]],
  );
  assert.match(found[0]?.message ?? '', /stages\.finetune\.with\.learningRate/);
  assert.match(found[0]?.hint ?? '', /allowed: a number > 0 and ≤ 10/);
  assert.equal(validatePipeline(pipeline(GOOD), 'p.yaml').valid, true);
});

test('a URI is checked after interpolating the params it is built from', () => {
  const result = validatePipeline(pipeline('  lr: 0.01\n  bucket: "Bad_Bucket"'), 'p.yaml');
  const found = result.diagnostics.find((d) => d.code === 'param-value-invalid');
  assert.equal(found?.path, 'params.bucket');
  assert.match(found?.message ?? '', /s3:\/\/Bad_Bucket\/prepared\/.*bucket/);
  assert.match(found?.hint ?? '', /s3:\/\/bucket\/key/);
});

test('--set values are range-checked against the inputs they flow into', () => {
  const bad = compilePlan(pipeline(GOOD), 'p.yaml', { set: ['lr=-0.5'] });
  assert.equal(bad.plan, undefined);
  const found = bad.diagnostics.find((d) => d.code === 'param-value-invalid');
  assert.equal(found?.path, '--set lr=-0.5');
  assert.match(found?.hint ?? '', /allowed: a number > 0/);
  assert.ok(compilePlan(pipeline(GOOD), 'p.yaml', { set: ['lr=0.5'] }).plan);
});

test('an input mixing params with stage outputs waits for the run', () => {
  const text = pipeline(GOOD, '${{ stages.prepare.outputs.dataset }}${{ params.bucket }}');
  assert.deepEqual(
    validatePipeline(text, 'p.yaml').diagnostics.filter((d) => d.code === 'param-value-invalid'),
    [],
  );
});

test('missing-param-value points at the param, with a --set hint', () => {
  const result = compilePlan(pipeline('  lr: {type: number}\n  bucket: datasets'), 'p.yaml');
  const found = result.diagnostics.find((d) => d.code === 'missing-param-value');
  assert.deepEqual([found?.line, found?.column], [5, 3]);
  assert.equal(found?.hint, 'pass --set lr=<number>');
});
