/**
 * The code-metrics ceiling (scripts/lint-metrics.ts): what it measures and when `--check` fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ceilingProblems, loweredCeiling, measureSource } from '../../../scripts/lint-metrics';

const body = (lines: number): string => Array.from({ length: lines }, (_, i) => `  const v${i} = ${i};`).join('\n');

test('measureSource counts wide lines and each function, nested ones on their own', () => {
  const text = [
    `export function outer(): void {`,
    body(85),
    `  const inner = (): number => {`,
    body(3),
    `    return 1;`,
    `  };`,
    `  inner();`,
    `}`,
    `const wide = '${'x'.repeat(120)}';`,
  ].join('\n');
  const metrics = measureSource('a.ts', text);
  assert.equal(metrics.wideLines, 1);
  const byName = new Map(metrics.functions.map((f) => [f.name, f]));
  assert.equal(byName.get('outer')?.lines, 94);
  assert.equal(byName.get('outer')?.line, 1);
  assert.equal(byName.get('inner')?.lines, 6);
});

test('a figure above its ceiling is a problem that names the figure, the ceiling file and the fix', () => {
  const ceiling = { linesOver120: 10, functionsOver80: 5, functionsOver100: 2 };
  assert.deepEqual(ceilingProblems(ceiling, ceiling), []);
  assert.deepEqual(ceilingProblems({ linesOver120: 3, functionsOver80: 1, functionsOver100: 0 }, ceiling), []);
  const problems = ceilingProblems({ linesOver120: 10, functionsOver80: 6, functionsOver100: 3 }, ceiling);
  assert.equal(problems.length, 2);
  assert.match(
    problems[0] ?? '',
    /^functions over 80 lines: 6, above the ceiling of 5 \(scripts\/lint-metrics-ceiling\.json\)/,
  );
  assert.match(problems[1] ?? '', /^functions over 100 lines: 3, above the ceiling of 2/);
  assert.match(problems[1] ?? '', /--top 30/);
});

test('lowering the ceiling takes each lower figure and never raises one', () => {
  const ceiling = { linesOver120: 10, functionsOver80: 5, functionsOver100: 2 };
  assert.deepEqual(loweredCeiling({ linesOver120: 12, functionsOver80: 4, functionsOver100: 2 }, ceiling), {
    linesOver120: 10,
    functionsOver80: 4,
    functionsOver100: 2,
  });
});
