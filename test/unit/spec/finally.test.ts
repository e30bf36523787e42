import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePlan } from '../../../src/spec/compile';
import { validatePipeline } from '../../../src/spec';
import { renderDag } from '../../../src/spec/render-dag';

const yaml = (finallyBlock: string, extra = ''): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: f}
defaults: {onFailure: pause, cache: true}
stages:
  train:
    uses: prepare-data
    with: {source: s3://datasets/x/, format: image-folder}
${extra}finally:
${finallyBlock}`;

const notify = `  notify:
    uses: notify
    with:
      url: https://hooks.example.com/x
      message: "\${{ run.status }} \${{ run.failedStages }} \${{ stages.train.status }} \${{ stages.train.outputs?.dataset }}"
  after:
    uses: notify
    needs: [notify]
    with: {url: https://hooks.example.com/x, message: "\${{ default(stages.train.outputs.dataset, 'none') }}"}
`;

test('a pipeline with finally stages compiles them last, failing rather than pausing, uncached', () => {
  const { plan, diagnostics } = compilePlan(yaml(notify), 'f.yaml');
  assert.ok(plan, JSON.stringify(diagnostics));
  assert.deepEqual(
    plan.stages.map((s) => [s.id, s.finally ?? false, s.onFailure, s.cache.enabled]),
    [
      ['train', false, 'pause', true],
      ['notify', true, 'fail', false],
      ['after', true, 'fail', false],
    ],
  );
  assert.deepEqual(plan.levels, [['train'], ['notify'], ['after']]);
  // `stages.train.status` waits for train, like an output reference.
  assert.deepEqual(plan.stages[1]?.needs, ['train']);
  assert.match(renderDag(plan), /├─ finally: after every stage above[^\n]*\n├─ level 1\n│  ● notify/);
});

test('a finally stage may opt into the cache explicitly', () => {
  const { plan } = compilePlan(
    yaml(notify.replace('    uses: notify\n    with:', '    uses: notify\n    cache: true\n    with:')),
    'f.yaml',
  );
  assert.equal(plan?.stages.find((s) => s.id === 'notify')?.cache.enabled, true);
});

test('a normal stage may read stages.X.status in `when`, with no skip propagation', () => {
  const extra = `  report:
    uses: register-model
    when: \${{ stages.train.status == 'skipped' }}
    with: {model: s3://models/x, name: x}
`;
  const { plan, diagnostics } = compilePlan(yaml(notify, extra), 'f.yaml');
  assert.ok(plan, JSON.stringify(diagnostics));
  assert.deepEqual(plan.stages.find((s) => s.id === 'report')?.needs, ['train']);
});

test('diagnostics point at the reference, with a fix', () => {
  const result = validatePipeline(
    yaml(`  notify:
    uses: notify
    with: {url: https://hooks.example.com/x, message: "\${{ stages.train.outputs.dataset }}"}
`),
    'f.yaml',
  );
  const [d] = result.diagnostics;
  assert.equal(d?.code, 'finally-unsafe-output');
  assert.deepEqual([d?.line, d?.column], [12, 60]);
  assert.match(d?.hint ?? '', /stages\.train\.outputs\?\.dataset/);
  const bad = validatePipeline(yaml(notify).replace('run.failedStages', 'run.failed'), 'f.yaml');
  assert.deepEqual(
    bad.diagnostics.map((x) => x.code),
    ['bad-expression'],
  );
  assert.match(bad.diagnostics[0]?.message ?? '', /`run` must be followed by one of/);
});
