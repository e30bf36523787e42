import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { BUILTIN_STAGE_TYPES } from '../../../src/spec/stage-types';
import { generateStageIoTypes, inputType } from '../../../src/sdk/generate-types';

const GENERATED = path.resolve(__dirname, '../../../src/sdk/stage-io.generated.ts');

void describe('SDK stage types', () => {
  void it('are generated from the current stage-type registry (run `npm run generate` after changing a stage type)', async () => {
    const options = (await resolveConfig(GENERATED)) ?? {};
    const expected = await format(generateStageIoTypes(BUILTIN_STAGE_TYPES), { ...options, filepath: GENERATED });
    assert.equal(readFileSync(GENERATED, 'utf8'), expected);
  });

  void it('map each construct of the schema language to its TypeScript type', () => {
    assert.equal(inputType({ type: 'enum', values: ['a', 1, true] }), 'In<"a" | 1 | true>');
    assert.equal(inputType({ type: 'array', items: { type: 'uri' } }), 'In<readonly In<string>[]>');
    assert.equal(
      inputType({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'duration' } }, required: ['a'] }),
      'In<{\n  readonly a: In<number>;\n  readonly b?: In<string>;\n}>',
    );
    assert.equal(
      inputType({ type: 'object', additionalProperties: { type: 'boolean' } }),
      'In<{\n  readonly [key: string]: In<boolean>;\n}>',
    );
    assert.equal(inputType({ type: 'oneOf', variants: [{ type: 'boolean' }, { type: 'any' }] }), 'In<boolean | AnyIn>');
    // An `any` value may hold references anywhere inside it (e.g. a sweep's trialStage.with).
    assert.equal(inputType({ type: 'any' }), 'In<AnyIn>');
  });
});
