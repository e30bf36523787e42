import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv/dist/2020';
import { parse } from 'yaml';
import { pipelineJsonSchemaText } from '../../../src/spec';

const root = join(__dirname, '../../..');
const examples = readdirSync(join(root, 'pipelines'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('schema/pipeline.schema.json is up to date (regenerate: fineflow schema > schema/pipeline.schema.json)', () => {
  assert.equal(readFileSync(join(root, 'schema/pipeline.schema.json'), 'utf8'), pipelineJsonSchemaText());
});

test('every example carries the yaml-language-server modeline pointing at the schema', () => {
  for (const file of examples) {
    const first = readFileSync(join(root, 'pipelines', file), 'utf8').split('\n')[0];
    assert.equal(first, '# yaml-language-server: $schema=../schema/pipeline.schema.json', file);
  }
});

test('editors accept every example and reject typos (checked with Ajv, JSON Schema 2020-12)', () => {
  // Ajv checks no formats without ajv-formats and warns once per `format: uri` it skips (40 lines in the unit log);
  // editors check them. Kept here: any other warning fails the test.
  const warnings: string[] = [];
  const keep = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  const validate = new Ajv({ allErrors: true, strict: false, logger: { log: keep, warn: keep, error: keep } }).compile(
    JSON.parse(pipelineJsonSchemaText()) as object,
  );
  assert.deepEqual(
    warnings.filter((warning) => !/^unknown format "uri" ignored in schema at path "#\//.test(warning)),
    [],
  );
  for (const file of examples) {
    const doc = parse(readFileSync(join(root, 'pipelines', file), 'utf8')) as Record<string, unknown>;
    assert.ok(validate(doc), `${file}: ${JSON.stringify(validate.errors)}`);
  }
  const doc = parse(readFileSync(join(root, 'pipelines/quickstart.yaml'), 'utf8')) as {
    stages: Record<string, Record<string, unknown>>;
  };
  const withTypo = structuredClone(doc);
  (withTypo.stages.finetune as Record<string, unknown>).need = ['prepare'];
  assert.equal(validate(withTypo), false);
  const badInput = structuredClone(doc);
  (badInput.stages.finetune as { with: Record<string, unknown> }).with.optimiser = 'adam';
  assert.equal(validate(badInput), false);
  const badType = structuredClone(doc);
  (badType.stages.finetune as { with: Record<string, unknown> }).with.epochs = 'many';
  assert.equal(validate(badType), false);
});
