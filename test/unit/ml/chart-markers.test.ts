/**
 * A marker label (the best epoch) stays inside the plot: right of its line where there is room, left of it
 * (anchored at its end) when the line is at the right edge, as when the best epoch is the last one.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { epochMarkers, lineChartSvg, markerLabelPlacement } from '../../../src/ml/eval/report';

const history = Array.from({ length: 30 }, (_, i) => ({ epoch: i + 1 }));

function bestLabel(bestEpoch: number): string {
  const svg = lineChartSvg(
    'loss',
    [{ name: 'train', color: '#000', points: history.map(({ epoch }) => [epoch, 1 / epoch] as [number, number]) }],
    { xLabel: 'epoch', yLabel: 'loss', integerX: true, markers: epochMarkers([], bestEpoch) },
  );
  const match = svg.match(/<text [^>]*>best epoch \d+<\/text>/);
  assert.ok(match, svg);
  return match[0];
}

it('puts the label right of a line with room and left of a line at the right edge', () => {
  assert.equal(markerLabelPlacement(100, 'best epoch 3', 444), 'text-anchor="start" dx="3"');
  assert.equal(markerLabelPlacement(444, 'best epoch 30', 444), 'text-anchor="end" dx="-3"');
  assert.match(bestLabel(5), /text-anchor="start" dx="3"/);
  assert.match(bestLabel(30), /text-anchor="end" dx="-3"/);
});
