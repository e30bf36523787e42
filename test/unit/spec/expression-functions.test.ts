import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidInputError } from '../../../src/core/errors';
import {
  ExpressionSyntaxError,
  collectReferences,
  evaluateCondition,
  parseExpression,
  resolveStageInputs,
  type ExpressionContext,
} from '../../../src/core/spec/expressions';
import type { JsonValue } from '../../../src/core/spec/plan-types';

const ctx: ExpressionContext = {
  params: { sizes: [3, 9, 4, 9], names: ['a', 'b'], empty: [], text: 'fine-tune', cfg: { lr: 0.1 }, none: null },
  stages: {
    train: { outputs: { accuracy: [0.7, 0.93, 0.88], model: ['s3://m/0', 's3://m/1', 's3://m/2'] } },
    skipped: { outputs: {}, status: 'skipped' },
  },
};

const value = (expression: string): JsonValue => resolveStageInputs({ v: `\${{ ${expression} }}` }, ctx).v as JsonValue;

test('length, min, max, argmax, argmin and contains over lists, strings and objects', () => {
  const cases: [string, JsonValue][] = [
    ['length(params.sizes)', 4],
    ['length(params.text)', 9],
    ['length(params.cfg)', 1],
    ['length([])', 0],
    ['min(params.sizes)', 3],
    ['max(params.sizes)', 9],
    ['max(1, 5, 2)', 5],
    ['min(params.names)', 'a'],
    ['argmax(params.sizes)', 1],
    ['argmin(stages.train.outputs.accuracy)', 0],
    ['argmax(stages.train.outputs.accuracy)', 1],
    ['contains(params.names, "b")', true],
    ['contains(params.names, "c")', false],
    ['contains(params.text, "tune")', true],
    ['contains(params.cfg, "lr")', true],
    ['contains([1, [2]], [2])', true],
  ];
  for (const [expression, expected] of cases) assert.deepEqual(value(expression), expected, expression);
});

test('fan-in: the output at the best index, through a computed index', () => {
  assert.equal(value('stages.train.outputs.model[argmax(stages.train.outputs.accuracy)]'), 's3://m/1');
  assert.equal(value('[10, 20, 30][length(params.names)]'), 30);
  assert.equal(value('params.cfg["lr"]'), 0.1);
  assert.equal(evaluateCondition('max(stages.train.outputs.accuracy) >= 0.9', ctx), true);
  assert.equal(evaluateCondition('length(params.sizes) > 4 or contains(params.names, "a")', ctx), true);
});

test('default and null-safe access turn what is missing into a value', () => {
  assert.equal(value('default(params.none, 5)'), 5);
  assert.equal(value('default(params.cfg.momentum, 0.9)'), 0.9);
  assert.equal(value('default(stages.skipped.outputs.accuracy, 0)'), 0);
  assert.equal(value('default(params.cfg.lr, 0.9)'), 0.1);
  assert.equal(value('stages.skipped.outputs?.accuracy'), null);
  assert.equal(value('params.cfg?.momentum.x'), null);
  assert.equal(value('params.sizes?.[10]'), null);
  assert.equal(value('stages.train.outputs.model?.[length(params.sizes)]'), null);
  // Not a missing value: a type error stays an error inside default.
  assert.throws(() => value('default(length(5), 0)'), InvalidInputError);
  // Without `?.` a missing property is still an error.
  assert.throws(() => value('params.cfg.momentum'), /no property `momentum`/);
});

test('misuse is an InvalidInputError naming the expression', () => {
  for (const [expression, needle] of [
    ['max(params.empty)', 'empty list'],
    ['argmax(params.names)', 'list of numbers'],
    ['min(1, "a")', 'not mixed'],
    ['length(5)', 'length'],
    ['contains(5, 1)', 'contains'],
    ['params.sizes[params.text]', 'cannot read'],
    ['params.sizes[7]', 'no element'],
  ] as const) {
    assert.throws(
      () => value(expression),
      (error: unknown) => error instanceof InvalidInputError && error.message.includes(needle),
      expression,
    );
  }
});

test('unknown functions and wrong arity are syntax errors at the name, with a fix', () => {
  const at = (source: string): ExpressionSyntaxError => {
    try {
      parseExpression(source);
    } catch (error) {
      if (error instanceof ExpressionSyntaxError) return error;
    }
    assert.fail(`${source} parsed`);
  };
  const unknown = at('lenght(params.x)');
  assert.match(unknown.message, /unknown function `lenght`/);
  assert.match(unknown.hint ?? '', /length/);
  assert.equal(at('x + Max(params.a)').offset, 2);
  assert.match(at('Max(params.a)').hint ?? '', /did you mean `max`/);
  const arity = at('1 == contains(params.a)');
  assert.equal(arity.offset, 5);
  assert.match(arity.message, /takes 2 argument/);
  assert.match(at('length(params.a').message, /expected `\)`/);
  assert.match(at('[1, 2').message, /expected `\]`/);
});

test('references inside calls, lists and computed indexes are collected for the DAG', () => {
  const refs = collectReferences({
    best: '${{ stages.train.outputs.model[argmax(stages.eval.outputs.score)] }}',
    n: '${{ default(params.n, length([params.a])) }}',
  });
  assert.deepEqual(
    refs.map((r) => r.text),
    ['stages.train.outputs.model', 'stages.eval.outputs.score', 'params.n', 'params.a'],
  );
});

const numbers = fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }), {
  minLength: 1,
  maxLength: 30,
});
const evaluate = (expression: string, list: JsonValue): JsonValue =>
  resolveStageInputs({ v: `\${{ ${expression} }}` }, { params: { xs: list }, stages: {} }).v as JsonValue;

test('property: max/min agree with Math.max/min, and argmax/argmin point at them (first occurrence)', () => {
  fc.assert(
    fc.property(numbers, (xs) => {
      // The first element equal to the extreme: Math.max(-0, 0) is 0 but `max([-0, 0])` is the first
      // of two equal numbers (JSON, where pipeline values live, has no -0).
      assert.equal(evaluate('max(params.xs)', xs), xs[xs.indexOf(Math.max(...xs))]);
      assert.equal(evaluate('min(params.xs)', xs), xs[xs.indexOf(Math.min(...xs))]);
      assert.equal(evaluate('argmax(params.xs)', xs), xs.indexOf(Math.max(...xs)));
      assert.equal(evaluate('argmin(params.xs)', xs), xs.indexOf(Math.min(...xs)));
      assert.equal(evaluate('params.xs[argmax(params.xs)] == max(params.xs)', xs), true);
    }),
    { numRuns: 500 },
  );
});

test('property: contains and length agree with the list they inspect', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 20 }),
      fc.integer({ min: -5, max: 5 }),
      (xs, x) => {
        const ctxFor: ExpressionContext = { params: { xs, x }, stages: {} };
        const v = (e: string): JsonValue => resolveStageInputs({ v: `\${{ ${e} }}` }, ctxFor).v as JsonValue;
        assert.equal(v('contains(params.xs, params.x)'), xs.includes(x));
        assert.equal(v('length(params.xs)'), xs.length);
        assert.equal(v('default(params.xs?.[params.x], "none")'), x >= 0 && x < xs.length ? xs[x] : 'none');
      },
    ),
    { numRuns: 500 },
  );
});

test('property: default(a, b) is a unless a is null', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
      const ctxFor: ExpressionContext = { params: { a: a as JsonValue, b: b as JsonValue }, stages: {} };
      const got = resolveStageInputs({ v: '${{ default(params.a, params.b) }}' }, ctxFor).v;
      assert.deepEqual(got, a === null ? b : a);
    }),
    { numRuns: 300 },
  );
});

test('fan-in over instance outputs: pluck a metric, skip failed instances (null), pick the best', () => {
  const fanIn: ExpressionContext = {
    params: {},
    stages: {
      tune: {
        outputs: {
          model: ['s3://m/0', null, 's3://m/2'],
          metrics: [{ validation: { accuracy: 0.8 } }, null, { validation: { accuracy: 0.9 } }],
        },
      },
    },
  };
  const v = (e: string): JsonValue => resolveStageInputs({ v: `\${{ ${e} }}` }, fanIn).v as JsonValue;
  assert.deepEqual(v("pluck(stages.tune.outputs.metrics, 'validation.accuracy')"), [0.8, null, 0.9]);
  assert.equal(
    v("stages.tune.outputs.model[argmax(pluck(stages.tune.outputs.metrics, 'validation.accuracy'))]"),
    's3://m/2',
  );
  assert.equal(v("min(pluck(stages.tune.outputs.metrics, 'validation.accuracy'))"), 0.8);
  assert.throws(() => v('max([null, null])'), /only nulls/);
  assert.throws(() => v("pluck(stages.tune.outputs.model, '')"), /property path/);
});
