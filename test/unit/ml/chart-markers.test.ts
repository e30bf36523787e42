/**
 * A marker label (the best epoch) stays inside the plot: right of its line where there is room, left of it
 * (anchored at its end) when the line is at the right edge, as when the best epoch is the last one; and below
 * the legend at the top right when it would run into it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { epochMarkers, lineChartSvg, markerLabelPlacement, markerLabelY } from '../../../src/ml/eval/report';

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

it('moves a label that would run into the legend below it, and leaves the others at the top', () => {
  const plot = { top: 28, right: 444 };
  const legend = ['train', 'validation'];
  // Best epoch at the right edge: the label ends at the line, under the right-aligned legend.
  assert.equal(markerLabelY({ x: 444, label: 'best epoch 80', index: 0 }, plot, legend), 28 + 10 + 2 * 13 + 2);
  // Far left of the legend: its row at the top.
  assert.equal(markerLabelY({ x: 100, label: 'best epoch 5', index: 0 }, plot, legend), 38);
  assert.equal(markerLabelY({ x: 100, label: 'phase fine-tune', index: 1 }, plot, legend), 50);
  assert.equal(markerLabelY({ x: 444, label: 'best epoch 80', index: 0 }, plot, []), 38, 'no legend, no move');
  const svg = (bestEpoch: number): string =>
    lineChartSvg(
      'loss',
      ['train', 'validation'].map((name) => ({
        name,
        color: '#000',
        points: history.map(({ epoch }) => [epoch, 1 / epoch] as [number, number]),
      })),
      { xLabel: 'epoch', yLabel: 'loss', integerX: true, markers: epochMarkers([], bestEpoch) },
    );
  assert.match(svg(30), /<text [^>]*y="66"[^>]*>best epoch 30<\/text>/);
  assert.match(svg(3), /<text [^>]*y="38"[^>]*>best epoch 3<\/text>/);
});
