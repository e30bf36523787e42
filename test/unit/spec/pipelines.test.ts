import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePlan, renderDag, validatePipeline, validatePlan } from '../../../src/spec';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';

const dir = join(__dirname, '../../../pipelines');
const expected = [
  'defect-detection.yaml',
  'pretrain-digits.yaml',
  'quickstart.yaml',
  'scheduled-retrain.yaml',
  'sweep.yaml',
  'tabular.yaml',
];

test('the examples directory holds the documented pipelines', () => {
  const present = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  for (const name of expected) assert.ok(present.includes(name), `missing pipelines/${name}`);
});

for (const name of readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  test(`pipelines/${name} validates without warnings and compiles to a runnable plan`, () => {
    const text = readFileSync(join(dir, name), 'utf8');
    const result = compilePlan(text, `pipelines/${name}`, {
      pipelineFiles: pipelineFileSource(`pipelines/${name}`, join(dir, '..')),
    });
    assert.deepEqual(result.diagnostics, []);
    const plan = result.plan;
    assert.ok(plan);
    assert.deepEqual(validatePlan(plan), []);
    // Every stage comes after everything it needs, and levels partition the stages.
    const position = new Map(plan.stages.map((s, i) => [s.id, i]));
    for (const stage of plan.stages)
      for (const need of stage.needs) assert.ok((position.get(need) as number) < (position.get(stage.id) as number));
    assert.deepEqual(plan.levels.flat().sort(), plan.stages.map((s) => s.id).sort());
    // Data lives in the datasets bucket; models come from the registry or upstream stages.
    for (const match of text.matchAll(/s3:\/\/([a-z0-9.-]+)\//g))
      assert.equal(match[1], 'datasets', `${name}: bucket ${match[1]}`);
    for (const match of text.matchAll(/registry:\/\/([^\s,\]"]+)/g))
      assert.match(match[1] as string, /^[a-z0-9][a-z0-9._-]*@[A-Za-z0-9._-]+$/);
    assert.match(renderDag(plan), /level 0/);
    // The plan survives JSON (it crosses Temporal as JSON).
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  });
}

test('the parts sub-pipelines include (pipelines/parts/) validate on their own without warnings', () => {
  const parts = readdirSync(join(dir, 'parts')).filter((f) => f.endsWith('.yaml'));
  assert.ok(parts.length > 0);
  for (const name of parts) {
    const file = `pipelines/parts/${name}`;
    const result = validatePipeline(readFileSync(join(dir, 'parts', name), 'utf8'), file);
    assert.deepEqual(result.diagnostics, [], file);
  }
});

test('quickstart: needs come from references, defaults are filled in, expressions stay verbatim', () => {
  const { plan } = compilePlan(readFileSync(join(dir, 'quickstart.yaml'), 'utf8'), 'quickstart.yaml');
  assert.ok(plan);
  assert.deepEqual(plan.levels, [['prepare'], ['select'], ['finetune'], ['evaluate'], ['register']]);
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const finetune = byId.get('finetune');
  assert.ok(finetune);
  assert.deepEqual(finetune.needs, ['prepare', 'select']);
  assert.equal(finetune.with.model, '${{ stages.select.outputs.model }}');
  assert.equal(finetune.with.optimizer, 'adam');
  assert.deepEqual(finetune.with.earlyStopping, {
    monitor: 'validation.accuracy',
    patience: 3,
    restoreBest: true,
    minDelta: 0,
    mode: 'auto',
  });
  assert.equal(finetune.pool, 'train');
  assert.equal(finetune.timeoutMs, 20 * 60_000);
  assert.equal(finetune.heartbeatTimeoutMs, 2 * 60_000);
  assert.deepEqual(finetune.retry, {
    maxAttempts: 3,
    initialIntervalMs: 5000,
    backoffCoefficient: 2,
    maximumIntervalMs: 500_000,
    outageBudgetMs: 900_000,
  });
  const register = byId.get('register');
  assert.equal(register?.when, '${{ stages.evaluate.outputs.passed }}');
  assert.deepEqual(register?.needs, ['evaluate', 'finetune']);
  assert.equal(byId.get('prepare')?.pool, 'cpu');
  assert.deepEqual(byId.get('prepare')?.cache, { enabled: true });
});

test('--set overrides are type-checked against params', () => {
  const text = readFileSync(join(dir, 'defect-detection.yaml'), 'utf8');
  const ok = compilePlan(text, 'd.yaml', {
    set: ['minAccuracy=0.95', 'maxTrials=20', 'dataset=s3://datasets/defects-v2/'],
  });
  assert.ok(ok.plan);
  assert.equal(ok.plan.params.minAccuracy?.value, 0.95);
  assert.equal(ok.plan.params.maxTrials?.value, 20);
  const alsoMap = compilePlan(text, 'd.yaml', { set: { minAccuracy: '0.5' } });
  assert.equal(alsoMap.plan?.params.minAccuracy?.value, 0.5);
  const bad = compilePlan(text, 'd.yaml', { set: ['minAccuracy=high', 'maxTrials=2.5', 'minAcuracy=1', 'oops'] });
  assert.equal(bad.plan, undefined);
  assert.deepEqual(bad.diagnostics.map((d) => d.code).sort(), [
    'set-syntax',
    'set-unknown-param',
    'set-wrong-type',
    'set-wrong-type',
  ]);
  assert.equal(bad.diagnostics.find((d) => d.code === 'set-unknown-param')?.hint, 'did you mean `minAccuracy`?');
});

test('a trigger path is resolved from params (and --set) at compile time', () => {
  const text = readFileSync(join(dir, 'scheduled-retrain.yaml'), 'utf8');
  const { plan } = compilePlan(text, 's.yaml', { set: ['dataset=s3://datasets/other/'] });
  assert.deepEqual((plan?.triggers[0]?.newData as { path: string }).path, 's3://datasets/other/');
  assert.deepEqual(plan?.schedule?.cron, ['0 3 * * *']);
});

test('a param without a default must be set', () => {
  const text = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: p}
params:
  dataset: {type: string, description: where the data is}
stages:
  prepare:
    uses: prepare-data
    with: {source: "\${{ params.dataset }}", format: image-folder}
`;
  assert.equal(compilePlan(text, 'p.yaml').diagnostics[0]?.code, 'missing-param-value');
  assert.equal(
    compilePlan(text, 'p.yaml', { set: ['dataset=s3://datasets/a/'] }).plan?.stages[0]?.with.source,
    '${{ params.dataset }}',
  );
});
