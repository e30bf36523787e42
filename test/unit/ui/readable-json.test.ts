/** The stage panel's JSON (readable-json.ts): JSON.stringify's two-space layout, short arrays of values on one line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INLINE_ARRAY_CHARACTERS, readableJson } from '../../../src/ui/web/readable-json';

const MATRIX = [
  [12, 1, 7, 0],
  [0, 17, 3, 0],
  [2, 0, 18, 0],
  [0, 0, 0, 20],
];

test('a confusion matrix takes a line per row, not one per number', () => {
  const text = readableJson({ passed: true, metrics: { accuracy: 0.85, confusionMatrix: MATRIX } });
  assert.equal(
    text,
    [
      '{',
      '  "passed": true,',
      '  "metrics": {',
      '    "accuracy": 0.85,',
      '    "confusionMatrix": [',
      '      [12, 1, 7, 0],',
      '      [0, 17, 3, 0],',
      '      [2, 0, 18, 0],',
      '      [0, 0, 0, 20]',
      '    ]',
      '  }',
      '}',
    ].join('\n'),
  );
});

test('what has no short array of values reads as JSON.stringify(value, null, 2)', () => {
  const values: unknown[] = [
    { a: 1, b: 'two', c: null, d: { e: [{ f: true }] }, skipped: undefined },
    [],
    {},
    'text',
    3.5,
    [{ x: 1 }, { y: [] }],
    { classes: [{ name: 'crack', count: 100 }] },
  ];
  for (const value of values) assert.equal(readableJson(value), JSON.stringify(value, null, 2));
});

test('a long array of values keeps one per line; every form parses back to the same value', () => {
  const long = Array.from({ length: 40 }, (_, i) => i * 1000);
  assert.ok(JSON.stringify(long).length > INLINE_ARRAY_CHARACTERS);
  assert.equal(readableJson({ long }), JSON.stringify({ long }, null, 2));
  for (const value of [{ long }, { m: MATRIX }, ['a "quoted" \n line', null, false, Number.NaN], [[]]])
    assert.deepEqual(JSON.parse(readableJson(value)), JSON.parse(JSON.stringify(value)));
});
