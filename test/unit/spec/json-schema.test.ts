import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { pipelineJsonSchemaText } from '../../../src/spec';

const root = join(__dirname, '../../..');
const examples = readdirSync(join(root, 'pipelines')).filter((f) => f.endsWith('.yaml')).sort();

test('schema/pipeline.schema.json is up to date (regenerate: fineflow schema > schema/pipeline.schema.json)', () => {
  assert.equal(readFileSync(join(root, 'schema/pipeline.schema.json'), 'utf8'), pipelineJsonSchemaText());
});

test('every example carries the yaml-language-server modeline pointing at the schema', () => {
  for (const file of examples) {
    const first = readFileSync(join(root, 'pipelines', file), 'utf8').split('\n')[0];
    assert.equal(first, '# yaml-language-server: $schema=../schema/pipeline.schema.json', file);
  }
});

/** Ajv 8 ships with the Temporal worker's webpack; use it when present to check the schema itself. */
function loadAjv2020(): (new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } }) | undefined {
  try {
    const path = require.resolve('ajv/dist/2020', { paths: [require.resolve('schema-utils')] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path) as { default: never }).default;
  } catch {
    return undefined;
  }
}

test('editors accept every example and reject typos (checked with Ajv when available)', (t) => {
  const Ajv = loadAjv2020();
  if (!Ajv) {
    t.skip('ajv 8 not installed');
    return;
  }
  const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(pipelineJsonSchemaText()) as object);
  for (const file of examples) {
    const doc = parse(readFileSync(join(root, 'pipelines', file), 'utf8')) as Record<string, unknown>;
    assert.ok(validate(doc), `${file}: ${JSON.stringify(validate.errors)}`);
  }
  const doc = parse(readFileSync(join(root, 'pipelines/quickstart.yaml'), 'utf8')) as { stages: Record<string, Record<string, unknown>> };
  const withTypo = structuredClone(doc);
  (withTypo.stages.finetune as Record<string, unknown>).need = ['prepare'];
  assert.equal(validate(withTypo), false);
  const badInput = structuredClone(doc);
  ((badInput.stages.finetune as { with: Record<string, unknown> }).with).optimiser = 'adam';
  assert.equal(validate(badInput), false);
  const badType = structuredClone(doc);
  ((badType.stages.finetune as { with: Record<string, unknown> }).with).epochs = 'many';
  assert.equal(validate(badType), false);
});
