import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../../src/spec';

function stage(withLines: string): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: hints}
stages:
  prepare:
    uses: prepare-data
    with:
      source: s3://datasets/defects/
      format: image-folder
${withLines}
`;
}

test('a YAML 1.1 boolean gets a hint that says what to write instead', () => {
  const result = validatePipeline(stage('      normalize: yes'), 'h.yaml');
  const found = result.diagnostics.find((d) => d.code === 'wrong-type');
  assert.deepEqual([found?.path, found?.line, found?.column], ['stages.prepare.with.normalize', 10, 18]);
  assert.equal(found?.hint, 'write `true` instead of `yes` (YAML 1.2 reads it as a string)');
  const off = validatePipeline(stage('      clean: {dropDuplicates: Off}'), 'h.yaml');
  assert.match(off.diagnostics.find((d) => d.code === 'wrong-type')?.hint ?? '', /^write `false` instead of `Off`/);
});

test('an integer beyond 2^53 is refused where it is written, not silently rounded', () => {
  const result = validatePipeline(stage('      split: {seed: 9007199254740993}'), 'h.yaml');
  const found = result.diagnostics.find((d) => d.code === 'unsafe-integer');
  assert.deepEqual([found?.line, found?.column], [10, 21]);
  assert.match(found?.message ?? '', /9007199254740993 is beyond 2\^53/);
  assert.match(found?.hint ?? '', /between -9007199254740991 and 9007199254740991/);
  assert.equal(validatePipeline(stage('      split: {seed: 4294967295}'), 'h.yaml').valid, true);
});
