/**
 * Chart words never cover each other or the curves (src/ml/eval/chart-label-layout.ts): marker labels (best
 * epoch, phases) sit in rows above the plot, stacking only when they would touch, and the report's legend sits
 * below the x axis. Checked as geometry at the report's size: no two boxes intersect, none enters the plot area.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  boxesIntersect,
  estimateTextWidth,
  labelRowCount,
  layoutLegend,
  placeMarkerLabels,
  type Box,
} from '../../../src/ml/eval/chart-label-layout';
import {
  chartFrame,
  colouredEpochMarkers,
  confusionMatrixSvg,
  lineChartSvg,
  reliabilitySvg,
  type ChartFrame,
} from '../../../src/ml/eval/report';
import type { EpochMetrics } from '../../../src/ml/train/types';

/** `epochs` epochs, in phase head-only until `fineTuneFrom`, then fine-tune. */
function trainingHistory(epochs: number, fineTuneFrom: number): EpochMetrics[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    phase: i + 1 < fineTuneFrom ? 'head-only' : 'fine-tune',
    learningRate: 0.01,
    trainLoss: 1 / (i + 1),
    trainAccuracy: 1 - 1 / (i + 2),
    seconds: 1,
    samplesPerSecond: 100,
  }));
}

function assertNothingOverlaps(frame: ChartFrame): void {
  const named: [string, Box][] = [
    ['title', frame.title.box],
    ['x label', frame.xLabel.box],
    ...frame.markerLabels.map((label): [string, Box] => [`marker ${label.text}`, label.box]),
    ...frame.legend.map((item): [string, Box] => [`legend ${item.text}`, item.box]),
  ];
  for (const [i, [name, box]] of named.entries()) {
    assert.ok(box.left >= 0 && box.right <= frame.width && box.top >= 0 && box.bottom <= frame.height, name);
    if (name !== 'x label') assert.ok(!boxesIntersect(box, frame.plot), `${name} is drawn over the plot`);
    for (const [other, otherBox] of named.slice(i + 1))
      assert.ok(!boxesIntersect(box, otherBox), `${name} overlaps ${other}`);
  }
}

/** A marker's pixel x in the report's plot (left 52, right 444) for an epoch axis of 1..epochs. */
const epochX = (epoch: number, epochs: number): number => 52 + ((epoch - 1) / (epochs - 1)) * 392;

it('labels of distant markers share a row; close ones stack; one at the right edge goes left of its line', () => {
  const plot = { left: 52, right: 460 };
  const placed = placeMarkerLabels(
    [
      { x: 100, width: 60 },
      { x: 300, width: 60 },
      { x: 110, width: 60 },
      { x: 444, width: 80 },
    ],
    plot,
  );
  assert.deepEqual(placed, [
    { left: 104, row: 0 },
    { left: 304, row: 0 },
    { left: 114, row: 1 },
    { left: 360, row: 1 },
  ]);
  assert.equal(labelRowCount(placed), 2);
  assert.equal(labelRowCount([]), 0);
});

it('the learning curves: phase boundaries next to the best epoch, at the start, middle and right edge', () => {
  for (const [epochs, best] of [
    [30, 30],
    [30, 6],
    [30, 1],
    [4, 3],
  ] as const) {
    const history = trainingHistory(epochs, best);
    const markers = colouredEpochMarkers(history, best).map((m) => ({ x: epochX(m.x, epochs), label: m.label }));
    const frame = chartFrame('accuracy', 'epoch', ['train', 'validation'], markers);
    assertNothingOverlaps(frame);
    assert.equal(frame.plot.bottom - frame.plot.top, 192, 'the plot keeps its size');
  }
});

it('a ROC of ten classes: the legend wraps below the axis, off the curves', () => {
  const names = Array.from({ length: 10 }, (_, i) => `class-${i} (AUC 0.99${i})`);
  const frame = chartFrame('ROC (one-vs-rest)', 'false positive rate', names, []);
  assertNothingOverlaps(frame);
  assert.ok(frame.legend.length === 10 && (frame.legend[9]?.box.top ?? 0) > (frame.legend[0]?.box.top ?? 0));
  const iris = chartFrame('precision-recall', 'recall', ['Iris-setosa (AP 1.000)', 'Iris-versicolor (AP 0.950)'], []);
  assertNothingOverlaps(iris);
});

it('a legend item wider than the area gets a row of its own', () => {
  const legend = layoutLegend([500, 40, 40], { left: 0, right: 200, top: 0 });
  assert.deepEqual(
    legend.items.map((item) => item.box.top),
    [0, 16, 16],
  );
  assert.equal(legend.height, 32);
});

it('the SVG draws marker labels above the plot and the legend below it', () => {
  const history = trainingHistory(30, 6);
  const svg = lineChartSvg(
    'loss',
    ['train', 'validation'].map((name) => ({
      name,
      color: '#000',
      points: history.map(({ epoch }) => [epoch, 1 / epoch] as [number, number]),
    })),
    { xLabel: 'epoch', yLabel: 'loss', integerX: true, markers: colouredEpochMarkers(history, 30) },
  );
  const plotTop = Number(/<line x1="52.0" y1="([\d.]+)" x2="52.0"/.exec(svg)?.[1]);
  const plotBottom = Number(/<line x1="52.0" y1="([\d.]+)" x2="444.0"/.exec(svg)?.[1]);
  const yOf = (text: string): number => Number(new RegExp(`y="([\\d.]+)"[^>]*>${text}</text>`).exec(svg)?.[1]);
  assert.ok(yOf('best epoch 30') < plotTop && yOf('phase fine-tune') < plotTop, svg);
  assert.ok(yOf('train') > plotBottom && yOf('validation') > plotBottom, svg);
});

it('the ticks of one axis share a number format (a ROC axis reads 0.00 … 1.00, not 0 … 0.75 … 1)', () => {
  const svg = lineChartSvg(
    'ROC',
    [
      {
        name: 'a',
        color: '#000',
        points: [
          [0, 0],
          [0.5, 0.8],
          [1, 1],
        ],
      },
    ],
    {
      xLabel: 'false positive rate',
      yLabel: 'true positive rate',
      domain: { x: [0, 1], y: [0, 1] },
    },
  );
  const xTicks = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="middle" font-size="10">([^<]+)<\/text>/g)];
  assert.deepEqual(
    xTicks.map((m) => m[1]),
    ['0.00', '0.25', '0.50', '0.75', '1.00'],
  );
  const yTicks = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="end" font-size="10">([^<]+)<\/text>/g)];
  assert.deepEqual(
    yTicks.map((m) => m[1]),
    ['0.00', '0.25', '0.50', '0.75', '1.00'],
    'a fixed [0, 1] domain keeps its quarters, printed as the x axis prints them',
  );
});

it("the reliability diagram's key sits below its axis title, off the bars and the diagonal", () => {
  const bins = [0.1, 0.3, 0.5, 0.7, 0.9].map((low) => ({
    low,
    high: low + 0.2,
    confidence: low + 0.1,
    accuracy: 1,
    count: 10,
  }));
  const svg = reliabilitySvg(bins);
  const plotBottom = Number(/<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="\1" stroke="#444"\/>/.exec(svg)?.[1]);
  const axisTitle = Number(/y="([\d.]+)"[^>]*>confidence \(top-class probability\)</.exec(svg)?.[1]);
  const height = Number(/<svg [^>]*height="([\d.]+)"/.exec(svg)?.[1]);
  assert.ok(plotBottom > 0 && axisTitle > plotBottom, svg);
  const keys = ['accuracy in the bin (n above)', 'mean confidence', 'perfect calibration'];
  for (const key of keys) {
    const y = Number(new RegExp(`y="([\\d.]+)"[^>]*>${key.replace(/[()]/g, '\\$&')}</text>`).exec(svg)?.[1]);
    assert.ok(
      y > axisTitle + 8 && y <= height,
      `${key} at y=${y}: below the axis title (${axisTitle}), inside ${height}`,
    );
  }
});

it('the confusion matrix fits its class names: a long one is cut with its full name kept, short ones leave no gap', () => {
  const long = 'a-class-name-from-a-folder-that-someone-named-very-descriptively';
  const svg = confusionMatrixSvg(
    [
      [3, 1],
      [0, 4],
    ],
    [long, 'ok'],
  );
  const width = Number(/<svg [^>]*width="([\d.]+)"/.exec(svg)?.[1]);
  const rowLabels = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="end" font-size="11">([^<]+)</g)];
  assert.equal(rowLabels.length, 2, svg);
  for (const [, x, text] of rowLabels)
    assert.ok(Number(x) - estimateTextWidth(text ?? '', 11) >= 0, `row label "${text}" starts inside the image`);
  assert.ok(!svg.includes(`>${long}</text>`) && svg.includes(`<title>${long}</title>`), 'cut, full name as a title');
  const columns = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" text-anchor="start"[^>]*>([^<]+)</g)];
  for (const [, x, , text] of columns)
    assert.ok(Number(x) + estimateTextWidth(text ?? '', 11) * 0.71 <= width, `column label "${text}" ends inside`);
  const short = confusionMatrixSvg([[1]], ['ok']);
  const firstCellTop = Number(/<rect x="[\d.]+" y="([\d.]+)"/.exec(short)?.[1]);
  assert.ok(firstCellTop < 40, `short names leave no gap above the matrix (first row at y=${firstCellTop})`);
});
