/**
 * Nice ticks (src/ml/eval/chart-ticks.ts), shared by the report's SVG charts and the UI's uPlot axes: steps of 1, 2
 * or 5 × 10^k, whole numbers on an epoch axis, one number format per axis.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { niceDomain, niceStep, niceTicks, tickDecimals } from '../../../src/ml/eval/chart-ticks';
import { lineChartSvg } from '../../../src/ml/eval/report';

it('an epoch axis ticks at round epochs: 80 epochs at 10, 20, …, 80, never 1, 15, 29, …', () => {
  assert.deepEqual(niceTicks(1, 80, 8, true), [10, 20, 30, 40, 50, 60, 70, 80]);
  assert.deepEqual(niceTicks(1, 20, 8, true), [5, 10, 15, 20]);
  assert.deepEqual(niceTicks(1, 5, 8, true), [1, 2, 3, 4, 5]);
  assert.deepEqual(niceTicks(1, 3, 8, true), [1, 2, 3], 'no half epochs');
  assert.deepEqual(niceTicks(1, 1000, 8, true), [200, 400, 600, 800, 1000]);
  assert.deepEqual(niceTicks(5, 4, 8, true), [], 'an empty range has no ticks');
});

it('a value axis widens to whole steps, free of floating-point residue', () => {
  assert.deepEqual(niceDomain(0.08, 2.98, 6), { min: 0, max: 3, ticks: [0, 1, 2, 3] });
  assert.deepEqual(niceDomain(0.25, 1, 6), { min: 0.2, max: 1, ticks: [0.2, 0.4, 0.6, 0.8, 1] });
  assert.deepEqual(niceDomain(0.1, 0.7, 8).ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  assert.deepEqual(niceDomain(-0.35, 0.35, 6).ticks, [-0.4, -0.2, 0, 0.2, 0.4]);
  for (const [min, max] of [
    [0.001, 0.0042],
    [3, 9_000_000],
    [-7, -1],
  ] as const) {
    const domain = niceDomain(min, max, 6);
    assert.ok(domain.min <= min && domain.max >= max && domain.ticks.length <= 6, JSON.stringify(domain));
  }
  assert.equal(niceStep(0, 0, 6), 1, 'a flat range still has a step');
  assert.deepEqual(
    [0.2, 1, 0.05, 500, 0.25, 2.5].map((step) => tickDecimals(step)),
    [1, 0, 2, 0, 2, 1],
  );
});

/** Tick labels of an SVG chart: the x axis' are centred under it, the y axis' end at its left. */
function tickLabels(svg: string, anchor: 'middle' | 'end'): string[] {
  return [...svg.matchAll(new RegExp(`text-anchor="${anchor}" font-size="10">([^<]+)</text>`, 'g'))].map(
    (m) => m[1] ?? '',
  );
}

it("the report's learning curves of an 80-epoch run tick at nice epochs and nice losses", () => {
  const points = Array.from({ length: 80 }, (_, i) => [i + 1, 0.08 + 2.9 / (i + 1)] as [number, number]);
  const svg = lineChartSvg('loss', [{ name: 'train', color: '#000', points }], {
    xLabel: 'epoch',
    yLabel: 'loss',
    integerX: true,
  });
  assert.deepEqual(tickLabels(svg, 'middle'), ['10', '20', '30', '40', '50', '60', '70', '80']);
  assert.deepEqual(tickLabels(svg, 'end'), ['0', '1', '2', '3']);
});
