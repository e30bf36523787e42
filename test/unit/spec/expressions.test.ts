import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../src/core/errors';
import {
  ExpressionSyntaxError,
  collectConditionReferences,
  collectReferences,
  evaluateCondition,
  parseExpression,
  parseTemplate,
  resolveStageInputs,
  type ExpressionContext,
} from '../../../src/core/spec/expressions';

const ctx: ExpressionContext = {
  params: { dataset: 's3://datasets/defects/', minAccuracy: 0.9, epochs: 20, tags: ['a', 'b'], nested: { lr: 0.01 } },
  stages: {
    select: {
      outputs: { model: 'registry://digits-cnn@3', ranking: [{ model: 'x', score: 0.8 }] },
      status: 'succeeded',
    },
    evaluate: { outputs: { passed: true, metrics: { accuracy: 0.93, 'macro-f1': 0.9 } } },
    'fine-tune': { outputs: { model: 's3://fineflow/runs/r/fine-tune/model.json' } },
  },
};

test('a string that is exactly one expression resolves to the typed value', () => {
  const resolved = resolveStageInputs(
    {
      model: '${{ stages.select.outputs.model }}',
      epochs: '${{ params.epochs }}',
      tags: '${{params.tags}}',
      metrics: '  ${{ stages.evaluate.outputs.metrics }} ',
      lr: '${{ params.nested.lr }}',
      first: "${{ stages.select.outputs.ranking[0]['score'] }}",
      plain: 42,
      list: ['${{ params.minAccuracy }}', 'x'],
      hyphen: '${{ stages.fine-tune.outputs.model }}',
    },
    ctx,
  );
  assert.deepEqual(resolved, {
    model: 'registry://digits-cnn@3',
    epochs: 20,
    tags: ['a', 'b'],
    metrics: { accuracy: 0.93, 'macro-f1': 0.9 },
    lr: 0.01,
    first: 0.8,
    plain: 42,
    list: [0.9, 'x'],
    hyphen: 's3://fineflow/runs/r/fine-tune/model.json',
  });
});

test('embedded expressions interpolate into a string', () => {
  const resolved = resolveStageInputs(
    { path: '${{ params.dataset }}train/${{ params.epochs }}-${{ params.nested }}' },
    ctx,
  );
  assert.equal(resolved.path, 's3://datasets/defects/train/20-{"lr":0.01}');
});

test('an unresolvable reference throws InvalidInputError naming the expression', () => {
  for (const [input, needle] of [
    ['${{ params.missing }}', 'params.missing'],
    ['${{ stages.nope.outputs.model }}', 'stages.nope.outputs.model'],
    ['${{ stages.select.outputs.weights }}', 'stages.select.outputs.weights'],
    ['x${{ params.nested.momentum }}', 'params.nested.momentum'],
    ['${{ params.tags[5] }}', 'params.tags[5]'],
  ] as const) {
    assert.throws(
      () => resolveStageInputs({ v: input }, ctx),
      (error: unknown) => error instanceof InvalidInputError && error.message.includes(needle),
      input,
    );
  }
});

test('conditions: comparisons, logic, literals, parentheses', () => {
  const cases: [string, boolean][] = [
    ['${{ stages.evaluate.outputs.passed }}', true],
    ['stages.evaluate.outputs.passed == true', true],
    ['${{ stages.evaluate.outputs.metrics.accuracy >= params.minAccuracy }}', true],
    ['stages.evaluate.outputs.metrics.accuracy < 0.5 or params.epochs > 10', true],
    ['not (params.epochs > 10) && true', false],
    ['!stages.evaluate.outputs.passed || params.dataset != "s3://datasets/defects/"', false],
    ["params.dataset == 's3://datasets/defects/' and params.epochs == 20", true],
    ['null == null', true],
    ['params.nested == params.nested', true],
    ['-1 < 0', true],
    ['1e-3 < 0.01', true],
    ['"b" > "a"', true],
    ['params.tags == params.tags and not false', true],
    ['0', false],
    ["''", false],
  ];
  for (const [source, expected] of cases) assert.equal(evaluateCondition(source, ctx), expected, source);
});

test('ordering comparisons between different types throw', () => {
  assert.throws(() => evaluateCondition('params.dataset < 3', ctx), InvalidInputError);
});

test('syntax errors carry an offset and never evaluate anything', () => {
  const bad: [string, number][] = [
    ['params.x = 1', 9],
    ['(params.x', 9],
    ['params.x ==', 11],
    ['a < b < c', 6],
    ['"open', 0],
    ['params.', 7],
    ['', 0],
    ['process.exit(1)', 12],
    ['params[x', 8],
    ['exec(1)', 0],
  ];
  for (const [source, offset] of bad) {
    assert.throws(
      () => parseExpression(source),
      (error: unknown) => error instanceof ExpressionSyntaxError && error.offset === offset,
      source,
    );
  }
  assert.throws(
    () => parseTemplate('x ${{ params.a'),
    (e: unknown) => e instanceof ExpressionSyntaxError && e.offset === 2,
  );
  assert.throws(() => evaluateCondition('text ${{ params.epochs }} text', ctx), InvalidInputError);
  assert.throws(() => parseExpression('!'.repeat(200) + 'true'), ExpressionSyntaxError);
});

test('a closing brace inside a string literal does not end the expression', () => {
  const parts = parseTemplate("${{ params.dataset == '}}' }}");
  assert.equal(parts.length, 1);
});

test('collectReferences finds params and stage outputs with their paths', () => {
  const refs = collectReferences({
    model: '${{ stages.select.outputs.model }}',
    gate: { min: '${{ params.minAccuracy }}' },
    list: ['a', 'run-${{ params.dataset }}-${{ stages.prep.outputs.dataset.uri }}'],
    broken: '${{ params. }}',
    other: '${{ env.HOME }}',
  });
  assert.deepEqual(
    refs.map((r) => [r.kind, r.name, r.stage, r.output, r.path, r.whole, r.subpath]),
    [
      ['stage-output', 'select', 'select', 'model', 'model', true, []],
      ['param', 'minAccuracy', undefined, undefined, 'gate.min', true, []],
      ['param', 'dataset', undefined, undefined, 'list[1]', false, []],
      ['stage-output', 'prep', 'prep', 'dataset', 'list[1]', false, ['uri']],
    ],
  );
  assert.deepEqual(
    collectConditionReferences('stages.evaluate.outputs.passed and params.x > 1').map((r) => r.text),
    ['stages.evaluate.outputs.passed', 'params.x'],
  );
});

test('arbitrary input only ever raises the documented errors', async () => {
  const fc = (await import('fast-check')).default;
  const alphabet = fc.constantFrom(
    'params',
    'stages',
    '.',
    'outputs',
    'select',
    'model',
    ' ',
    '(',
    ')',
    '[',
    ']',
    '0',
    '"',
    "'",
    '==',
    '<',
    '!',
    'and',
    'or',
    'not',
    '&&',
    '||',
    '-',
    '1e3',
    'true',
    'null',
    '${{',
    '}}',
    'evaluate',
    'metrics',
    'accuracy',
    'passed',
  );
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 14 }), fc.string({ maxLength: 8 }), (tokens, noise) => {
      const source = tokens.join('') + noise;
      for (const attempt of [
        () => parseExpression(source),
        () => evaluateCondition(source, ctx),
        () => resolveStageInputs({ v: source }, ctx),
        () => collectReferences(source),
      ]) {
        try {
          attempt();
        } catch (error) {
          assert.ok(
            error instanceof ExpressionSyntaxError || error instanceof InvalidInputError,
            `${source}: ${String(error)}`,
          );
        }
      }
    }),
    { numRuns: 3000, seed: 11 },
  );
});
