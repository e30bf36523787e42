/**
 * Sub-pipelines (`uses: pipeline`) at validate and compile time: the child file is read next to the
 * parent (inside its directory), validated with it, and compiled into the parent's plan; params are
 * checked against the child's declarations; cycles, depth and the stages of the whole tree are bounded.
 * Files live in a temporary directory and are read by the CLI's own source (src/spec/pipeline-files.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compilePlan } from '../../../src/spec/compile';
import { validatePipeline } from '../../../src/spec';
import { formatDiagnostics } from '../../../src/spec/diagnostics';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import { validatePlan } from '../../../src/core/spec/validate-plan';
import type { Plan, PlannedStage } from '../../../src/core/spec/plan-types';

const root = mkdtempSync(path.join(tmpdir(), 'fineflow-sub-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(root, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** The child used below: a fine-tune whose epochs and learning rate come from params. */
const CHILD = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: child}
params:
  model: {type: string}
  epochs: {type: integer, default: 3}
  learningRate: 0.01
defaults: {onFailure: pause}
stages:
  train:
    uses: fine-tune
    with:
      model: \${{ params.model }}
      data: s3://datasets/prepared/
      epochs: \${{ params.epochs }}
      learningRate: \${{ params.learningRate }}
`;

function parent(stageBlock: string, params = ''): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: parent}
${params}stages:
  prepare:
    uses: prepare-data
    with: {source: s3://datasets/x/, format: image-folder}
${stageBlock}`;
}

const SUB = (params: string, file = 'parts/child.yaml'): string => `  sub:
    uses: pipeline
    with:
      file: ${file}
      params: ${params}
`;

/** Validate (and compile) a parent written to `<root>/<name>` with the CLI's file source. */
function check(name: string, text: string) {
  const file = write(name, text);
  const compiled = compilePlan(text, file, { pipelineFiles: pipelineFileSource(file, root) });
  return {
    compiled,
    codes: compiled.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}@${d.path}`),
  };
}

write('parts/child.yaml', CHILD);

test('a valid sub-pipeline compiles into the parent plan: child stages never pause, the stage is not cached', () => {
  const { compiled } = check(
    'ok.yaml',
    parent(
      `${SUB('{model: registry://base@1, epochs: 5}')}  use:
    uses: register-model
    with: {model: "\${{ stages.sub.outputs.train.model }}", name: m}
`,
    ),
  );
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics, null, 1));
  const sub = compiled.plan.stages.find((s) => s.id === 'sub') as PlannedStage;
  assert.equal(sub.uses, 'pipeline');
  assert.equal(sub.cache.enabled, false);
  assert.equal(sub.subPipeline?.file, path.join(root, 'parts/child.yaml'));
  const child = sub.subPipeline?.plan as Plan;
  assert.equal(child.pipeline.name, 'child');
  assert.deepEqual(Object.fromEntries(Object.entries(child.params).map(([n, p]) => [n, p.value])), {
    model: 'registry://base@1',
    epochs: 5,
    learningRate: 0.01,
  });
  // The child's `defaults.onFailure: pause` does not apply: a failure reaches the parent stage.
  assert.deepEqual(
    child.stages.map((s) => [s.id, s.onFailure]),
    [['train', 'fail']],
  );
  assert.deepEqual(compiled.plan.stages.find((s) => s.id === 'use')?.needs, ['sub']);
  assert.deepEqual(validatePlan(compiled.plan), []);
});

test("the child's own errors are reported at its file and line, and at the parent's `file`", () => {
  write(
    'parts/broken.yaml',
    CHILD.replace('      epochs: ${{ params.epochs }}\n', '      epochs: ${{ params.epoch }}\n'),
  );
  const { compiled, codes } = check(
    'broken-parent.yaml',
    parent(SUB('{model: registry://base@1}', 'parts/broken.yaml')),
  );
  assert.equal(compiled.plan, undefined);
  assert.deepEqual(codes.sort(), [
    'sub-pipeline-invalid@stages.sub.with.file',
    'unknown-reference@stages.train.with.epochs',
  ]);
  const inChild = compiled.diagnostics.find((d) => d.code === 'unknown-reference');
  assert.equal(inChild?.file, path.join(root, 'parts/broken.yaml'));
  assert.equal(inChild?.line, 15);
  const atParent = compiled.diagnostics.find((d) => d.code === 'sub-pipeline-invalid');
  assert.equal(atParent?.line, 11);
  // Excerpts come from the file each diagnostic names.
  const text = formatDiagnostics(compiled.diagnostics, compiled.validation.text, {
    ...(compiled.validation.texts ? { texts: compiled.validation.texts } : {}),
  });
  assert.match(text, /15 \|       epochs: \$\{\{ params\.epoch \}\}/);
  assert.match(text, /11 \|       file: parts\/broken\.yaml/);
});

test("params are checked against the child's declarations: unknown, missing, wrong type, out of range", () => {
  const cases: [string, string][] = [
    ['{model: registry://base@1, epoch: 5}', 'unknown-key@stages.sub.with.params.epoch'],
    ['{epochs: 5}', 'missing-key@stages.sub.with.params.model'],
    ['{model: registry://base@1, epochs: "many"}', 'wrong-type@stages.sub.with.params.epochs'],
    ['{model: registry://base@1, epochs: 0}', 'param-value-invalid@stages.sub.with.params.epochs'],
    ['{model: registry://base@1, learningRate: -1}', 'param-value-invalid@stages.sub.with.params.learningRate'],
  ];
  for (const [params, code] of cases) assert.deepEqual(check('params.yaml', parent(SUB(params))).codes, [code], params);
  const hint = check('params.yaml', parent(SUB('{model: registry://base@1, epoch: 5}'))).compiled.diagnostics[0]?.hint;
  assert.match(hint ?? '', /epochs/);
  // Without `params` at all, a child param without a default is missing too.
  const noParams = `  sub:\n    uses: pipeline\n    with: {file: parts/child.yaml}\n`;
  assert.deepEqual(check('no-params.yaml', parent(noParams)).codes, ['missing-input@stages.sub.with.params']);
});

test("a parent param's default (and a --set value) is checked against the child inputs it flows into", () => {
  const text = parent(SUB('{model: registry://base@1, epochs: "${{ params.epochs }}"}'), 'params: {epochs: 0}\n');
  const { codes, compiled } = check('flow.yaml', text);
  assert.deepEqual(codes, ['param-value-invalid@params.epochs']);
  assert.match(compiled.diagnostics[0]?.message ?? '', /child\.yaml/);
  const file = write('flow-ok.yaml', text.replace('epochs: 0', 'epochs: 2'));
  const set = compilePlan(text.replace('epochs: 0', 'epochs: 2'), file, {
    pipelineFiles: pipelineFileSource(file, root),
    set: ['epochs=-3'],
  });
  assert.deepEqual(
    set.diagnostics.map((d) => d.code),
    ['param-value-invalid'],
  );
  // A whole-expression param of the wrong type is a type error at the param.
  const wrong = parent(SUB('{model: "${{ params.n }}"}'), 'params: {n: 3}\n');
  assert.deepEqual(check('wrong.yaml', wrong).codes, ['wrong-type@stages.sub.with.params.model']);
});

test("outputs are the child's stage ids; another name is unknown-output with the ids as the hint", () => {
  const { codes, compiled } = check(
    'outputs.yaml',
    parent(`${SUB('{model: registry://base@1}')}  use:
    uses: register-model
    with: {model: "\${{ stages.sub.outputs.trian.model }}", name: m}
`),
  );
  assert.deepEqual(codes, ['unknown-output@stages.use.with.model']);
  assert.match(compiled.diagnostics[0]?.hint ?? '', /did you mean `train`/);
});

test('cycles are refused with the chain of files', () => {
  write('loop/a.yaml', parent(SUB('{}', 'b.yaml')));
  write('loop/b.yaml', parent(SUB('{}', 'a.yaml')));
  const a = path.join(root, 'loop/a.yaml');
  const result = validatePipeline(parent(SUB('{}', 'b.yaml')), a, { pipelineFiles: pipelineFileSource(a, root) });
  const cycle = result.diagnostics.find((d) => d.code === 'sub-pipeline-cycle');
  assert.ok(cycle, JSON.stringify(result.diagnostics.map((d) => d.code)));
  assert.equal(cycle.file, path.join(root, 'loop/b.yaml'));
  assert.match(cycle.message, /a\.yaml -> .*b\.yaml -> .*a\.yaml/);
  const self = check('loop/self.yaml', parent(SUB('{}', 'self.yaml')));
  assert.deepEqual(self.codes, ['sub-pipeline-cycle@stages.sub.with.file']);
});

test('paths stay inside the pipeline directory: no `..`, no absolute path, no symbolic link out, no expression', () => {
  write('outside.yaml', CHILD);
  const inner = (file: string) => check('inner/p.yaml', parent(SUB('{model: registry://base@1}', file))).codes;
  assert.deepEqual(inner('../outside.yaml'), ['sub-pipeline-path@stages.sub.with.file']);
  assert.deepEqual(inner(path.join(root, 'outside.yaml')), ['sub-pipeline-path@stages.sub.with.file']);
  assert.deepEqual(inner('"${{ stages.prepare.outputs.dataset }}"'), ['sub-pipeline-path@stages.sub.with.file']);
  assert.deepEqual(inner('child.txt'), ['sub-pipeline-path@stages.sub.with.file']);
  symlinkSync(path.join(root, 'outside.yaml'), path.join(root, 'inner/link.yaml'));
  assert.deepEqual(inner('link.yaml'), ['sub-pipeline-path@stages.sub.with.file']);
  write('inner/parts/child.yaml', CHILD);
  assert.deepEqual(inner('parts/child.yaml'), []);
  const missing = check('inner/p.yaml', parent(SUB('{}', 'parts/chlid.yaml'))).compiled.diagnostics[0];
  assert.equal(missing?.code, 'sub-pipeline-not-found');
  assert.match(missing?.hint ?? '', /did you mean `parts\/child\.yaml`/);
});

test('a pipeline given as text (no directory) cannot include files: a clear error, not a crash', () => {
  const result = validatePipeline(parent(SUB('{model: registry://base@1}')), 'api.yaml');
  assert.deepEqual(
    result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code),
    ['sub-pipeline-unavailable'],
  );
});

test('nesting is bounded in depth, and the stages of every included file count against the 1,000-stage limit', () => {
  for (let level = 1; level <= 6; level++)
    write(`deep/l${level}.yaml`, level === 6 ? CHILD : parent(SUB('{}', `l${level + 1}.yaml`)));
  const deep = check('deep/l0.yaml', parent(SUB('{}', 'l1.yaml')));
  assert.ok(
    deep.compiled.diagnostics.some((d) => d.code === 'sub-pipeline-too-deep'),
    JSON.stringify(deep.codes),
  );
  const many = Array.from(
    { length: 400 },
    (_, i) => `  s${i}:\n    uses: prepare-data\n    with: {source: s3://datasets/x/, format: image-folder}\n`,
  );
  write('big/part.yaml', `apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: part}\nstages:\n${many.join('')}`);
  const three = ['a', 'b', 'c'].map((id) => `  ${id}:\n    uses: pipeline\n    with: {file: part.yaml}\n`).join('');
  const big = check('big/p.yaml', parent(three));
  assert.ok(big.codes.includes('too-many-stages@stages'), JSON.stringify(big.codes));
  assert.match(
    big.compiled.diagnostics.find((d) => d.code === 'too-many-stages')?.message ?? '',
    /1204 stages counting its sub-pipelines' \(1200\)/,
  );
});

test('validatePlan (what the workflow runs first) checks child plans and counts their stages', () => {
  const { compiled } = check('plan.yaml', parent(SUB('{model: registry://base@1}')));
  const plan = compiled.plan as Plan;
  const sub = plan.stages.find((s) => s.id === 'sub') as PlannedStage;
  const without = { ...plan, stages: plan.stages.map((s) => (s.id === 'sub' ? { ...s, subPipeline: undefined } : s)) };
  assert.deepEqual(
    validatePlan(JSON.parse(JSON.stringify(without)) as Plan).map((d) => d.code),
    ['plan-wrong-type'],
  );
  const child = sub.subPipeline?.plan as Plan;
  const broken = { ...child, stages: child.stages.map((s) => ({ ...s, timeoutMs: -1 })) };
  const tampered = {
    ...plan,
    stages: plan.stages.map((s) => (s.id === 'sub' ? { ...s, subPipeline: { file: 'x', plan: broken } } : s)),
  };
  assert.deepEqual(
    validatePlan(tampered).map((d) => `${d.code}@${d.path}`),
    ['bad-duration@stages.sub.subPipeline.plan.stages.train.timeoutMs'],
  );
  const wide = {
    ...child,
    stages: Array.from({ length: 999 }, (_, i) => ({ ...(child.stages[0] as PlannedStage), id: `t${i}` })),
  };
  const tooMany = {
    ...plan,
    stages: plan.stages.map((s) => (s.id === 'sub' ? { ...s, subPipeline: { file: 'x', plan: wide } } : s)),
  };
  assert.ok(validatePlan(tooMany).some((d) => d.code === 'too-many-stages'));
});
