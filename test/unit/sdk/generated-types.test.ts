import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { BUILTIN_STAGE_TYPES } from '../../../src/spec/stage-types';
import { generateStageIoTypes, inputType, resolvedInputType } from '../../../src/sdk/generate-types';
import { checkStageInputs } from '../../../activities/ml-stage-support';

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

  void it('type the values a stage receives: no references, a default makes its key present, any is JSON', () => {
    const schema = {
      type: 'object',
      required: ['data'],
      properties: {
        data: { type: 'uri' },
        metrics: { type: 'array', items: { type: 'enum', values: ['f1', 'accuracy'] }, default: ['f1'] },
        note: { type: 'string' },
        extra: { type: 'any' },
      },
    } as const;
    assert.equal(
      resolvedInputType(schema),
      '{\n  readonly data: string;\n  readonly metrics: readonly ("f1" | "accuracy")[];\n  readonly note?: string;\n  readonly extra?: JsonValue;\n}',
    );
    assert.equal(
      resolvedInputType({ type: 'oneOf', variants: [{ type: 'boolean' }, { type: 'integer' }] }),
      'boolean | number',
    );
  });

  void it('match what checkStageInputs hands a stage: every key the type makes present is there', () => {
    // evaluate with only its required inputs: every defaulted key must come back filled in.
    const values = checkStageInputs('evaluate', { model: 's3://bucket/model/', data: 's3://bucket/data/' });
    const present: (keyof typeof values)[] = [
      'split',
      'metrics',
      'slices',
      'classicBaselines',
      'misclassified',
      'seed',
    ];
    for (const key of present) assert.notEqual(values[key], undefined, key);
    assert.deepEqual(values.metrics, ['accuracy', 'f1', 'confusionMatrix']);
  });

  void it("generate a team's module importing from the package, with its own name for the type union", () => {
    const text = generateStageIoTypes(
      [
        {
          name: 'label-audit',
          version: '0.1.0',
          description: 'Flag likely mislabelled examples',
          inputs: {
            type: 'object',
            required: ['data'],
            properties: { data: { type: 'uri' }, threshold: { type: 'number', default: 0.9 } },
          },
          outputs: { flagged: { type: 'integer', description: 'examples flagged' } },
        },
      ],
      { target: 'package' },
    );
    assert.match(text, /^import type \{ AnyIn, In, JsonObject, JsonValue \} from 'fineflow';$/m);
    assert.match(
      text,
      /export interface StageInputValues \{[^]*"label-audit": \{\n\s+readonly data: string;\n\s+readonly threshold: number;/,
    );
    assert.match(text, /readonly threshold\?: In<number>;/);
    assert.match(text, /export type DeclaredStageType = keyof StageInputs;/);
    assert.doesNotMatch(text, /BuiltinStageType|\.\.\/core/);
  });
});
