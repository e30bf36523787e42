import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePlan, formatDiagnostics, validatePipeline } from '../../../src/spec';

const fixture = readFileSync(join(__dirname, '../../fixtures/spec/many-errors.yaml'), 'utf8');

test('every problem of a file is reported at once, in source order', () => {
  const result = validatePipeline(fixture, 'many-errors.yaml');
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.line, d.column]),
    [
      ['bad-value', 3, 18],
      ['unused-param', 6, 3],
      ['bad-duration', 8, 12],
      ['retry-bounds', 9, 24],
      ['retry-bounds', 9, 47],
      ['bad-cron', 10, 18],
      ['bad-value', 10, 41],
      ['unknown-stage-type', 13, 11],
      ['unknown-reference', 14, 25],
      ['unknown-key', 17, 5],
      ['unknown-needs', 18, 13],
      ['dependency-cycle', 18, 20],
      ['unknown-output', 21, 17],
      ['wrong-type', 22, 15],
      ['unknown-input', 23, 7],
      ['wrong-type', 24, 21],
      ['bad-expression', 27, 55],
    ],
  );
  const hints = new Map(result.diagnostics.map((d) => [d.code, d.hint]));
  assert.equal(hints.get('unknown-key'), 'did you mean `needs`?');
  assert.equal(hints.get('unknown-input'), 'did you mean `optimizer`?');
  assert.equal(hints.get('unknown-stage-type'), 'did you mean `prepare-data`?');
  assert.equal(hints.get('unknown-reference'), 'did you mean `params.dataset`?');
  assert.equal(result.diagnostics.find((d) => d.code === 'wrong-type')?.hint, 'remove the quotes to write a number');
});

test('formatDiagnostics shows file:line:col, the line with a caret under the problem, and the hint', () => {
  const result = validatePipeline(fixture, 'many-errors.yaml');
  const text = formatDiagnostics(
    result.diagnostics.filter((d) => d.code === 'unknown-input'),
    fixture,
  );
  assert.equal(
    text,
    [
      'many-errors.yaml:23:7: error[unknown-input] unknown key `optimiser` in stages.train.with',
      '   |',
      '23 |       optimiser: adam',
      '   |       ^^^^^^^^^',
      '  hint: did you mean `optimizer`?',
      '',
    ].join('\n'),
  );
});

test('a cycle through three stages is named in order', () => {
  const text = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: loop}
stages:
  a: {uses: prepare-data, needs: [c], with: {source: "s3://datasets/x/", format: image-folder}}
  b: {uses: prepare-data, needs: a, with: {source: "s3://datasets/x/", format: image-folder}}
  c: {uses: prepare-data, needs: [b], with: {source: "s3://datasets/x/", format: image-folder}}
`;
  const result = compilePlan(text, 'loop.yaml');
  assert.equal(result.plan, undefined);
  const cycle = result.diagnostics.filter((d) => d.code === 'dependency-cycle');
  assert.equal(cycle.length, 1);
  assert.equal(cycle[0]?.message, 'dependency cycle: a -> c -> b -> a');
  assert.equal(cycle[0]?.line, 5);
});

test('conditions may use params and upstream outputs; the referenced stages become needs', () => {
  const text = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: cond}
params: {strict: true}
stages:
  prepare: {uses: prepare-data, with: {source: "s3://datasets/x/", format: image-folder}}
  report:
    uses: register-model
    when: not params.strict or stages.prepare.outputs.counts.train > 100
    with: {model: "registry://m@1", name: m}
`;
  const { plan, diagnostics } = compilePlan(text, 'cond.yaml');
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(plan?.stages[1]?.needs, ['prepare']);
});

test('expression functions: typed results feed typed inputs; an unknown function is reported at its name', () => {
  const source = [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    'metadata: {name: fn}',
    'params:',
    '  sizes: [10, 20]',
    '  dataset: s3://datasets/d/',
    'stages:',
    '  prepare:',
    '    uses: prepare-data',
    '    with:',
    '      source: ${{ params.dataset }}',
    '      format: image-folder',
    '      limitPerClass: ${{ max(params.sizes) }}',
    '  later:',
    '    uses: prepare-data',
    '    when: ${{ length(params.sizes) > 1 and contains(params.sizes, 20) }}',
    '    with:',
    '      source: ${{ params.dataset }}',
    '      format: image-folder',
    '      limitPerClass: ${{ lenght(params.sizes) }}',
  ].join('\n');
  const result = validatePipeline(source, 'fn.yaml');
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.line, d.column]),
    [['bad-expression', 20, 26]],
  );
  assert.match(result.diagnostics[0]?.hint ?? '', /length/);
});

test('fan-out: forEach/matrix lists, item references and policies are checked where they are written', () => {
  const source = [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    'metadata: {name: fan}',
    'params:',
    '  lrs: [0.1, 0.01]',
    '  dataset: s3://datasets/d/',
    'stages:',
    '  prepare:',
    '    uses: prepare-data',
    '    with: {source: "${{ params.dataset }}", format: image-folder}',
    '  bad-list:',
    '    uses: prepare-data',
    '    forEach: ${{ params.dataset }}',
    '    with: {source: "${{ item }}", format: image-folder}',
    '  grid:',
    '    uses: prepare-data',
    '    matrix: {lr: "${{ params.lrs }}", seed: [1, 2]}',
    '    parallelism: 0',
    '    with: {source: "${{ params.dataset }}", format: image-folder, limitPerClass: "${{ item.sed }}"}',
    '  plain:',
    '    uses: prepare-data',
    '    minSuccessRatio: 0.5',
    '    with: {source: "${{ item }}", format: image-folder}',
    '  gather:',
    '    uses: prepare-data',
    '    with: {source: "${{ stages.grid.outputs.dataset }}", format: image-folder}',
  ].join('\n');
  const result = validatePipeline(source, 'fan.yaml');
  assert.deepEqual(
    result.diagnostics.map((d) => [d.code, d.line, d.column]),
    [
      ['fan-out-not-a-list', 13, 14],
      ['out-of-range', 18, 18],
      ['unknown-matrix-key', 19, 87],
      ['fan-out-setting-without-items', 22, 5],
      ['item-outside-fan-out', 23, 25],
      ['wrong-type', 26, 20],
    ],
  );
  assert.match(result.diagnostics.find((d) => d.code === 'unknown-matrix-key')?.hint ?? '', /seed/);
});

test('fan-out: a valid forEach over an upstream list compiles with the upstream in needs and the policy defaults', () => {
  const source = [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    'metadata: {name: fan}',
    'params:',
    '  dataset: s3://datasets/d/',
    'stages:',
    '  select:',
    '    uses: select-model',
    '    with: {candidates: [registry://a@1, registry://b@1]}',
    '  prepare:',
    '    uses: prepare-data',
    '    forEach: ${{ stages.select.outputs.ranking }}',
    '    parallelism: 2',
    '    with: {source: "${{ params.dataset }}", format: image-folder, limitPerClass: "${{ item.score }}"}',
  ].join('\n');
  const compiled = compilePlan(source, 'fan.yaml');
  assert.deepEqual(formatDiagnostics(compiled.diagnostics.filter((d) => d.severity === 'error')), '');
  const prepare = compiled.plan?.stages.find((s) => s.id === 'prepare');
  assert.deepEqual(prepare?.needs, ['select']);
  assert.deepEqual(prepare?.fanOut, {
    forEach: '${{ stages.select.outputs.ranking }}',
    parallelism: 2,
    failFast: true,
    minSuccessRatio: 1,
  });
});
