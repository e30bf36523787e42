import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../../src/core/errors';
import {
  BUILTIN_STAGE_TYPES,
  checkStageTypeDefinition,
  getStageType,
  listStageTypes,
  loadStageTypeModules,
  registerStageType,
  validatePipeline,
  type StageTypeDefinition,
} from '../../../src/spec';

const labelAudit: StageTypeDefinition = {
  name: 'label-audit',
  version: '0.1.0',
  description: 'Flag likely mislabelled examples',
  inputs: {
    type: 'object',
    properties: {
      data: { type: 'uri', schemes: ['s3'], description: 'prepared dataset' },
      threshold: {
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: 0.9,
        description: 'confidence above which a disagreement is flagged',
      },
    },
    required: ['data'],
  },
  outputs: {
    flagged: { type: 'integer', description: 'examples flagged' },
    report: { type: 'uri', description: 'the audit report' },
  },
};

const pipeline = (withText: string): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: audit}
stages:
  prepare:
    uses: prepare-data
    with: {source: s3://datasets/x/, format: image-folder}
  audit:
    uses: label-audit
    with: ${withText}
`;

test('built-ins are registered with versions, inputs and typed outputs', () => {
  const names = listStageTypes().map((t) => t.name);
  for (const name of [
    'select-model',
    'prepare-data',
    'fine-tune',
    'evaluate',
    'hyperparameter-sweep',
    'register-model',
  ])
    assert.ok(names.includes(name), name);
  for (const def of BUILTIN_STAGE_TYPES) assert.deepEqual(checkStageTypeDefinition(def), [], def.name);
  assert.equal(getStageType('evaluate')?.outputs.passed?.type, 'boolean');
});

test('a team stage type passed in options is validated like a built-in', () => {
  const ok = validatePipeline(pipeline('{data: "${{ stages.prepare.outputs.dataset }}", threshold: 0.8}'), 'a.yaml', {
    stageTypes: [labelAudit],
  });
  assert.deepEqual(ok.diagnostics, []);
  const bad = validatePipeline(
    pipeline('{data: "${{ stages.prepare.outputs.report }}", threshold: 2, thresh: 1}'),
    'a.yaml',
    { stageTypes: [labelAudit] },
  );
  assert.deepEqual(bad.diagnostics.map((d) => d.code).sort(), ['out-of-range', 'unknown-input']);
  const without = validatePipeline(pipeline('{data: s3://datasets/x/}'), 'a.yaml');
  assert.deepEqual(
    without.diagnostics.map((d) => d.code),
    ['unknown-stage-type'],
  );
});

test('malformed definitions are refused with every problem named', () => {
  const broken = {
    name: 'Bad Name',
    version: '1',
    description: '',
    inputs: { type: 'object', properties: { x: { type: 'float' } }, required: ['y'] },
    outputs: { o: { type: 'tensor' } },
  };
  const problems = checkStageTypeDefinition(broken);
  assert.ok(problems.length >= 5, problems.join('\n'));
  assert.throws(() => registerStageType(broken as unknown as StageTypeDefinition), InvalidInputError);
  const badDefault = {
    ...labelAudit,
    name: 'bad-default',
    inputs: { type: 'object', properties: { n: { type: 'integer', default: 'five' } } },
  };
  assert.ok(checkStageTypeDefinition(badDefault).some((p) => p.includes('default')));
});

test('loadStageTypeModules loads a module exporting an array and registers it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fineflow-types-'));
  try {
    const good = join(dir, 'team-types.js');
    writeFileSync(good, `module.exports.stageTypes = [${JSON.stringify({ ...labelAudit, name: 'team-audit' })}];\n`);
    const loaded = loadStageTypeModules([good]);
    assert.deepEqual(
      loaded.map((d) => d.name),
      ['team-audit'],
    );
    assert.equal(getStageType('team-audit')?.version, '0.1.0');
    const bad = join(dir, 'bad-types.js');
    writeFileSync(bad, 'module.exports = { name: "x" };\n');
    assert.throws(() => loadStageTypeModules([bad]), /bad-types\.js is invalid/);
    assert.throws(() => loadStageTypeModules([join(dir, 'missing.js')]), InvalidInputError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
