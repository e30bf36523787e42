/**
 * The evaluation report: JSON for machines and one self-contained HTML page for people, with
 * learning curves, the confusion matrix and (for sweeps) a trial scatter plot drawn as inline
 * SVG, so the page needs no network, scripts or image files.
 */
import type { EpochMetrics } from '../train/types';
import { niceDomain, niceTicks, tickDecimals } from './chart-ticks';
import { epochMarkers, type EpochMarkerKind } from './epoch-markers';
import {
  estimateTextWidth,
  labelRowCount,
  layoutLegend,
  LEGEND,
  placeMarkerLabels,
  type Box,
  type LegendItem,
} from './chart-label-layout';
import type { Interval } from './bootstrap';
import type { ClassCurve, ReliabilityBin } from './curves';
import type { MisclassifiedExample } from './misclassified';
import type { ClassificationMetrics, GateResult, MetricComparison } from './metrics';

export interface TrialPoint {
  readonly trial: string | number;
  /** Objective value (e.g. validation accuracy). */
  readonly value: number;
  /** Hyperparameter plotted on the x axis (e.g. learning rate). */
  readonly x: number;
  readonly status?: string;
}

/** Where the evaluated model came from: the report's title. */
export interface ReportOrigin {
  readonly pipeline: string;
  readonly runId: string;
  readonly stageId: string;
}

export interface BaselineEntry {
  readonly uri: string;
  readonly metrics?: ClassificationMetrics;
  readonly comparison?: readonly MetricComparison[];
  /** Paired bootstrap intervals of this model − the baseline, per metric. */
  readonly differences?: Readonly<Record<string, Interval>>;
  readonly error?: string;
}

export interface EvaluationReport {
  readonly origin?: ReportOrigin;
  /** The data report of the evaluated dataset (prepare-data's), when it exists. */
  readonly dataReport?: string;
  /** Relative link from the HTML report to the data report, when both are in one bucket. */
  readonly dataReportHref?: string;
  readonly model: string;
  readonly dataset: string;
  readonly split: string;
  readonly backend?: string;
  /** Whose preprocessing turned the split into inputs: the model's stored one, or (older models) the dataset's. */
  readonly preprocessing?: 'model' | 'dataset';
  readonly metrics: ClassificationMetrics;
  readonly slices?: Readonly<Record<string, Readonly<Record<string, ClassificationMetrics>>>>;
  readonly baselines?: Readonly<Record<string, BaselineEntry>>;
  readonly gate?: GateResult & { readonly spec: unknown };
  /** Bootstrap intervals of the headline metrics (names as in ClassificationMetrics). */
  readonly intervals?: Readonly<Record<string, Interval>>;
  readonly bootstrap?: { readonly resamples: number; readonly confidence: number };
  readonly reliability?: readonly ReliabilityBin[];
  readonly curves?: { readonly roc: readonly ClassCurve[]; readonly pr: readonly ClassCurve[] };
  readonly misclassified?: readonly MisclassifiedExample[];
  /** The epoch whose weights were saved (the best one when early stopping restored it). */
  readonly bestEpoch?: number;
  readonly history?: readonly EpochMetrics[];
  readonly trials?: { readonly xLabel: string; readonly yLabel: string; readonly points: readonly TrialPoint[] };
  readonly createdAt: string;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}

function format(value: number | undefined, digits = 3): string {
  return value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartMarker {
  readonly x: number;
  readonly label: string;
  readonly color: string;
}

export interface ChartOptions {
  readonly xLabel: string;
  readonly yLabel: string;
  readonly dots?: boolean;
  readonly logX?: boolean;
  /** Ticks only at whole numbers (epochs). */
  readonly integerX?: boolean;
  /** Fixed axis ranges (e.g. [0, 1] for rates) instead of the data's. */
  readonly domain?: { readonly x?: readonly [number, number]; readonly y?: readonly [number, number] };
  /** Dashed vertical lines with a label, e.g. the best epoch. */
  readonly markers?: readonly ChartMarker[];
  /** The y = x reference line (ROC chance, perfect calibration). */
  readonly diagonal?: boolean;
}

const CHART_WIDTH = 460;
const PLOT_HEIGHT = 192;
const CHART_MARGIN = { left: 52, right: 16, title: 28, axis: 40 } as const;
/** Marker labels: 10 px text, rows 12 px apart, the nearest row's baseline 3 px above the plot. */
const MARKER_FONT = 10;
const MARKER_ROW = 12;
const LEGEND_FONT = 11;

interface PlacedText {
  readonly text: string;
  readonly x: number;
  readonly baseline: number;
  readonly box: Box;
}

/** Where every part of a line chart goes: the plot area, the marker labels above it, the legend below the axis. */
export interface ChartFrame {
  readonly width: number;
  readonly height: number;
  readonly plot: Box;
  readonly title: PlacedText;
  readonly xLabel: PlacedText;
  readonly markerLabels: readonly PlacedText[];
  readonly legend: readonly (LegendItem & { readonly text: string })[];
}

/** A text's box from its start and baseline (ascent 0.8 em, descent 0.25 em). */
function textBox(x: number, baseline: number, width: number, fontPx: number): Box {
  return { left: x, top: baseline - fontPx * 0.8, right: x + width, bottom: baseline + fontPx * 0.25 };
}

function centredText(text: string, centre: number, baseline: number, fontPx: number): PlacedText {
  const width = estimateTextWidth(text, fontPx);
  return { text, x: centre, baseline, box: textBox(centre - width / 2, baseline, width, fontPx) };
}

/**
 * The layout of a line chart at the report's size: nothing is drawn over the curves but the marker lines.
 * `markers`: each marker's x in pixels and its label. The label band above the plot and the legend below the axis
 * grow the chart by what they need, so a ROC of ten classes keeps the plot's size.
 */
export function chartFrame(
  title: string,
  xLabel: string,
  seriesNames: readonly string[],
  markers: readonly { readonly x: number; readonly label: string }[],
): ChartFrame {
  const [left, right] = [CHART_MARGIN.left, CHART_WIDTH - CHART_MARGIN.right];
  const widths = markers.map((marker) => estimateTextWidth(marker.label, MARKER_FONT));
  const placed = placeMarkerLabels(
    markers.map((marker, i) => ({ x: marker.x, width: widths[i] ?? 0 })),
    { left, right: CHART_WIDTH },
  );
  const top = CHART_MARGIN.title + labelRowCount(placed) * MARKER_ROW;
  const plot: Box = { left, top, right, bottom: top + PLOT_HEIGHT };
  const markerLabels = placed.map((at, i) => {
    const baseline = top - 3 - at.row * MARKER_ROW;
    return {
      text: markers[i]?.label ?? '',
      x: at.left,
      baseline,
      box: textBox(at.left, baseline, widths[i] ?? 0, MARKER_FONT),
    };
  });
  const legendTop = plot.bottom + CHART_MARGIN.axis;
  const legend = layoutLegend(
    seriesNames.map((name) => estimateTextWidth(name, LEGEND_FONT)),
    { left, right: CHART_WIDTH - 4, top: legendTop },
  );
  return {
    width: CHART_WIDTH,
    height: legendTop + (legend.height > 0 ? legend.height + 4 : 0),
    plot,
    title: centredText(title, CHART_WIDTH / 2, 16, 13),
    xLabel: centredText(xLabel, (left + right) / 2, plot.bottom + 34, LEGEND_FONT),
    markerLabels,
    legend: legend.items.map((item, i) => ({ ...item, text: seriesNames[i] ?? '' })),
  };
}

function svgText(x: number | string, y: number | string, attributes: string, text: string): string {
  return `<text x="${x}" y="${y}" ${attributes}>${escapeHtml(text)}</text>`;
}

function svgLine(from: readonly [number, number], to: readonly [number, number], attributes: string): string {
  const [x1, y1, x2, y2] = [...from, ...to].map((value) => value.toFixed(1));
  return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" ${attributes}/>`;
}

/** The chart's opening tag, title, axis lines and axis titles. */
function chartShellSvg(frame: ChartFrame, title: string, options: ChartOptions): string[] {
  const { plot } = frame;
  const middle = (plot.top + plot.bottom) / 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" role="img" ` +
      `aria-label="${escapeHtml(title)}">`,
    svgText(frame.title.x, frame.title.baseline, 'text-anchor="middle" font-size="13" font-weight="bold"', title),
    svgLine([plot.left, plot.bottom], [plot.right, plot.bottom], 'stroke="#444"'),
    svgLine([plot.left, plot.top], [plot.left, plot.bottom], 'stroke="#444"'),
    svgText(frame.xLabel.x, frame.xLabel.baseline, `text-anchor="middle" font-size="${LEGEND_FONT}"`, options.xLabel),
    svgText(12, middle, `text-anchor="middle" font-size="11" transform="rotate(-90 12 ${middle})"`, options.yLabel),
  ];
}

/** One series: a path, or dots when `dots`. */
function seriesSvg(entry: Series, dots: boolean, px: (x: number) => number, py: (y: number) => number): string[] {
  if (dots)
    return entry.points.map(
      ([x, y]) =>
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="4" fill="${entry.color}" fill-opacity="0.75"/>`,
    );
  const path = entry.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
  return [`<path d="${path.join(' ')}" fill="none" stroke="${entry.color}" stroke-width="2"/>`];
}

function legendItemSvg(item: ChartFrame['legend'][number], color: string): string[] {
  const { left, top } = item.swatch;
  return [
    `<rect x="${left}" y="${top}" width="${LEGEND.swatch}" height="${LEGEND.swatch}" fill="${color}"/>`,
    svgText(item.textX, item.baseline, `font-size="${LEGEND_FONT}" fill="${color}"`, item.text),
  ];
}

/** Most ticks on an axis of the report's size (392 × 192 px of plot): about one per 50 px across, 40 px up. */
const MAX_X_TICKS = 8;
const MAX_Y_TICKS = 6;

/**
 * The y ticks (nice values, `yTicks`), and the x ticks: nice whole numbers for an epoch axis, else five with one
 * number format.
 */
function ticksSvg(
  plot: Box,
  range: { readonly minX: number; readonly maxX: number; readonly yTicks: readonly number[] },
  options: ChartOptions,
  px: (x: number) => number,
  py: (y: number) => number,
): string[] {
  const { minX, maxX, yTicks } = range;
  const xTick = (position: number, label: string): string =>
    svgText(position.toFixed(1), plot.bottom + 14, 'text-anchor="middle" font-size="10"', label);
  const yDigits = yTicks.length > 1 ? tickDecimals(Math.abs((yTicks[1] ?? 0) - (yTicks[0] ?? 0))) : 2;
  const parts = yTicks.map((y) =>
    svgText(plot.left - 4, py(y) + 4, 'text-anchor="end" font-size="10"', format(y, yDigits)),
  );
  if (options.integerX)
    return [...parts, ...niceTicks(minX, maxX, MAX_X_TICKS, true).map((tick) => xTick(px(tick), String(tick)))];
  // One number format per axis: "0, 0.25, …, 1" read as two formats side by side.
  const xValues = [0, 1, 2, 3, 4].map((tick) => minX + ((maxX - minX) * tick) / 4);
  const xDigits = xValues.every((value) => Number.isInteger(value)) ? 0 : 2;
  return [
    ...parts,
    ...xValues.map((value, tick) =>
      xTick(
        plot.left + ((plot.right - plot.left) * tick) / 4,
        options.logX ? (10 ** value).toExponential(0) : format(value, xDigits),
      ),
    ),
  ];
}

/**
 * The y axis' range and ticks: a fixed domain (rates in [0, 1]) keeps its quarters, as its x axis has them; the
 * data's range widens to nice steps (loss 0.08…2.98 → 0, 1, 2, 3).
 */
function yAxis(minY: number, maxY: number, fixed: boolean): { min: number; max: number; ticks: readonly number[] } {
  if (fixed) return { min: minY, max: maxY, ticks: [0, 1, 2, 3, 4].map((t) => minY + ((maxY - minY) * t) / 4) };
  return niceDomain(minY, maxY, MAX_Y_TICKS);
}

/** A line chart (or scatter when `dots`) as an SVG element; its layout is `chartFrame`. */
export function lineChartSvg(title: string, series: readonly Series[], options: ChartOptions): string {
  const transformX = (x: number): number => (options.logX ? Math.log10(Math.max(x, 1e-12)) : x);
  const all = series.flatMap((entry) => entry.points);
  if (all.length === 0)
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" ` +
      `height="40">${svgText(8, 24, '', `${title}: no data`)}</svg>`
    );
  const xs = all.map(([x]) => transformX(x));
  const ys = all.map(([, y]) => y);
  let [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (options.domain?.x) [minX, maxX] = options.domain.x;
  if (options.domain?.y) [minY, maxY] = options.domain.y;
  if (minX === maxX) [minX, maxX] = [minX - 1, maxX + 1];
  if (minY === maxY) [minY, maxY] = [minY - 0.5, maxY + 0.5];
  const y = yAxis(minY, maxY, options.domain?.y !== undefined);
  [minY, maxY] = [y.min, y.max];
  const [left, right] = [CHART_MARGIN.left, CHART_WIDTH - CHART_MARGIN.right];
  const px = (x: number): number => left + ((transformX(x) - minX) / (maxX - minX)) * (right - left);
  const markers = options.markers ?? [];
  const frame = chartFrame(
    title,
    options.xLabel,
    series.map((entry) => entry.name),
    markers.map((marker) => ({ x: px(marker.x), label: marker.label })),
  );
  const { plot } = frame;
  const py = (y: number): number => plot.bottom - ((y - minY) / (maxY - minY)) * (plot.bottom - plot.top);
  const parts = [
    ...chartShellSvg(frame, title, options),
    ...ticksSvg(plot, { minX, maxX, yTicks: y.ticks }, options, px, py),
  ];
  if (options.diagonal) {
    const [low, high] = [Math.max(minX, minY), Math.min(maxX, maxY)];
    parts.push(svgLine([px(low), py(low)], [px(high), py(high)], 'stroke="#999" stroke-dasharray="4 3"'));
  }
  markers.forEach((marker, index) => {
    const label = frame.markerLabels[index];
    parts.push(
      svgLine([px(marker.x), plot.top], [px(marker.x), plot.bottom], `stroke="${marker.color}" stroke-dasharray="5 3"`),
    );
    if (label)
      parts.push(
        svgText(label.x.toFixed(1), label.baseline, `font-size="${MARKER_FONT}" fill="${marker.color}"`, label.text),
      );
  });
  series.forEach((entry, index) => {
    parts.push(...seriesSvg(entry, options.dots === true, px, py));
    const item = frame.legend[index];
    if (item) parts.push(...legendItemSvg(item, entry.color));
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Class names longer than this are cut in the confusion matrix (the full name is the label's tooltip). */
const MATRIX_NAME_CHARS = 24;

/** A class name as the matrix prints it: cut to MATRIX_NAME_CHARS with an ellipsis, the full name as its title. */
function matrixLabel(name: string): { readonly text: string; readonly title: string } {
  const cut = name.length > MATRIX_NAME_CHARS ? `${name.slice(0, MATRIX_NAME_CHARS - 1)}…` : name;
  return { text: cut, title: cut === name ? '' : `<title>${escapeHtml(name)}</title>` };
}

type Rgb = readonly [number, number, number];

/** WCAG relative luminance of an sRGB colour. */
function luminance(rgb: Rgb): number {
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as unknown as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * Text on a cell of this colour: black on a light cell, white on a dark one (black read 2.9:1 on the darkest green).
 * Black, not the page's #1b1f24: every colour reads 4.5:1 or more with white or with black, but a mid green such as
 * rgb(95, 135, 95) (80 % of the diagonal's largest count) read 4.1:1 with either white or #1b1f24.
 */
function textOn(cell: Rgb): string {
  const onDark = 1.05 / (luminance(cell) + 0.05);
  const onLight = (luminance(cell) + 0.05) / 0.05;
  return onDark > onLight ? '#fff' : '#000';
}

/**
 * The confusion matrix's heat map in the dark scheme, in this many steps: from the UI's dark panel colour to a green
 * (the diagonal) or a red (off it) dark enough that the dark scheme's text (#e6edf3) reads 4.5:1 on every step. A
 * light map in a dark page was a block of white cells.
 */
const MATRIX_DARK_STEPS = 10;
const MATRIX_DARK_EMPTY: Rgb = [22, 27, 34];
const MATRIX_DARK_FULL = { hit: [25, 108, 46], miss: [182, 35, 36] } as const;

/** The dark scheme's rules for the matrix's cells (by their step class) and counts. */
function matrixDarkStyle(): string {
  const rules: string[] = [];
  for (const [kind, full] of Object.entries(MATRIX_DARK_FULL))
    for (let step = 0; step <= MATRIX_DARK_STEPS; step++) {
      const mix = MATRIX_DARK_EMPTY.map((from, i) =>
        Math.round(from + ((full[i] ?? from) - from) * (step / MATRIX_DARK_STEPS)),
      );
      rules.push(`svg rect.cm-${kind}-${step}{fill:rgb(${mix.join(',')})}`);
    }
  return `${rules.join('')}svg text.cm{fill:#e6edf3}`;
}

/**
 * The confusion matrix as an SVG heat map (rows = actual, columns = predicted). Its margins fit the (cut) class
 * names: row labels end left of the matrix, column labels run up-right at 45° above it.
 */
export function confusionMatrixSvg(matrix: readonly (readonly number[])[], classes: readonly string[]): string {
  const cell = Math.max(28, Math.min(56, Math.floor(420 / Math.max(1, classes.length))));
  const labels = classes.map(matrixLabel);
  const textWidth = Math.max(0, ...labels.map((label) => estimateTextWidth(label.text, 11)));
  const rise = Math.ceil(textWidth * Math.SQRT1_2);
  const [left, top] = [Math.max(30, textWidth + 10), Math.max(20, rise + 12)];
  const [width, height] = [left + cell * classes.length + rise + 10, top + cell * classes.length + 10];
  const max = Math.max(1, ...matrix.flat());
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="confusion matrix">`,
  ];
  labels.forEach(({ text, title }, i) => {
    const column = left + i * cell + cell / 2;
    parts.push(
      `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" ` +
        `font-size="11">${escapeHtml(text)}${title}</text>`,
      `<text x="${column}" y="${top - 6}" text-anchor="start" font-size="11" transform="rotate(-45 ${column} ` +
        `${top - 6})">${escapeHtml(text)}${title}</text>`,
    );
  });
  matrix.forEach((row, actual) =>
    row.forEach((count, predicted) => {
      const intensity = count / max;
      const shade = Math.round(255 - intensity * 200);
      const rgb: Rgb = actual === predicted ? [shade, Math.min(255, shade + 40), shade] : [255, shade, shade];
      const fill = `rgb(${rgb.join(',')})`;
      const x = left + predicted * cell;
      const y = top + actual * cell;
      // The fill is the light scheme's; the class picks the dark scheme's step (REPORT_STYLE).
      const step = `${actual === predicted ? 'cm-hit' : 'cm-miss'}-${Math.round(intensity * MATRIX_DARK_STEPS)}`;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff" class="${step}"/>`,
      );
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="11" ` +
          `fill="${textOn(rgb)}" class="cm">${count}</text>`,
      );
    }),
  );
  parts.push('</svg>');
  return parts.join('');
}

function metricsTable(metrics: ClassificationMetrics): string {
  const rows = metrics.perClass
    .map(
      (entry) =>
        `<tr><td>${escapeHtml(entry.name)}</td><td>${format(entry.precision)}</td><td>${format(entry.recall)}</td><td>${format(entry.f1)}</td><td>${format(entry.rocAuc)}</td><td>${entry.support}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>ROC-AUC</th><th>support</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * Series colours; each reads at least 3:1 on the light page (#fff) and on the dark one (#0d1117), as its legend's text.
 */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#c8620a', '#9467bd', '#8c564b', '#c2539f', '#138d99', '#7f7f7f'];

function intervalText(interval: Interval | undefined): string {
  return interval ? `${format(interval.low)} – ${format(interval.high)}` : '–';
}

/** "Evaluation of stage S · pipeline P · run R", or the model when the origin is unknown. */
export function reportTitle(report: EvaluationReport): string {
  const origin = report.origin;
  return origin
    ? `Evaluation of stage ${origin.stageId} · pipeline ${origin.pipeline} · run ${origin.runId}`
    : `Evaluation of ${report.model}`;
}

function headerSection(report: EvaluationReport): string {
  const m = report.metrics;
  const dataLink = report.dataReport
    ? ` Data report: <a href="${escapeHtml(report.dataReportHref ?? report.dataReport)}">${escapeHtml(report.dataReport)}</a>.`
    : '';
  return (
    `<h1>${escapeHtml(reportTitle(report))}</h1>` +
    `<p>Model <code>${escapeHtml(report.model)}</code> on dataset <code>${escapeHtml(report.dataset)}</code>, split <b>${escapeHtml(report.split)}</b> (${m.count} examples)${report.backend ? `, backend <b>${escapeHtml(report.backend)}</b>` : ''}.${dataLink} ${escapeHtml(report.createdAt)}</p>`
  );
}

function headlineSection(report: EvaluationReport): string {
  const m = report.metrics;
  const intervals = report.intervals ?? {};
  const rows: [string, string, number | undefined][] = [
    ['accuracy', 'accuracy', m.accuracy],
    ['F1 (macro)', 'f1Macro', m.f1Macro],
    ['precision (macro)', 'precisionMacro', m.precisionMacro],
    ['recall (macro)', 'recallMacro', m.recallMacro],
    ['ROC-AUC (macro, one-vs-rest)', 'rocAucMacro', m.rocAucMacro],
    ['expected calibration error', 'expectedCalibrationError', m.expectedCalibrationError],
    ['log loss', 'logLoss', m.logLoss],
  ];
  const level = report.bootstrap ? `${Math.round(report.bootstrap.confidence * 100)}% interval` : 'interval';
  const note = report.bootstrap
    ? `<p class="note">Intervals: percentile bootstrap over the ${m.count} evaluated examples, ` +
      `${report.bootstrap.resamples} resamples.</p>`
    : '';
  return (
    `<h2>Metrics</h2><table><thead><tr><th>metric</th><th>value</th><th>${level}</th></tr></thead><tbody>` +
    rows
      .map(
        ([label, key, value]) =>
          `<tr><td>${label}</td><td>${format(value)}</td><td>${intervalText(intervals[key])}</td></tr>`,
      )
      .join('') +
    `</tbody></table>${note}`
  );
}

/** The reliability diagram's key: what the bars, the dots and the dashed diagonal are. */
const RELIABILITY_KEY = [
  { text: 'accuracy in the bin (n above)', color: '#1f77b4', mark: 'bar' },
  { text: 'mean confidence', color: '#d62728', mark: 'dot' },
  { text: 'perfect calibration', color: '#777', mark: 'dash' },
] as const;

/** A key's mark in its swatch box: a bar's square, a dot, or a dashed diagonal. */
function keyMarkSvg(mark: 'bar' | 'dot' | 'dash', swatch: Box, color: string): string {
  const { left, top, bottom } = swatch;
  if (mark === 'bar')
    return (
      `<rect x="${left}" y="${top}" width="${LEGEND.swatch}" height="${LEGEND.swatch}" fill="${color}" ` +
      `fill-opacity="0.7"/>`
    );
  if (mark === 'dot')
    return `<circle cx="${left + LEGEND.swatch / 2}" cy="${(top + bottom) / 2}" r="3" fill="${color}"/>`;
  return svgLine([left, bottom], [left + LEGEND.swatch, top], `stroke="${color}" stroke-dasharray="4 3"`);
}

/** The key below the axis title (`layoutLegend`, as the other charts'): over the plot it covered bars and dots. */
function reliabilityKeySvg(left: number, right: number, top: number): { parts: string[]; height: number } {
  const legend = layoutLegend(
    RELIABILITY_KEY.map((item) => estimateTextWidth(item.text, LEGEND_FONT)),
    { left, right, top },
  );
  const parts = legend.items.flatMap((item, i) => {
    const key = RELIABILITY_KEY[i];
    if (!key) return [];
    const mark = keyMarkSvg(key.mark, item.swatch, key.color);
    return [mark, svgText(item.textX, item.baseline, `font-size="${LEGEND_FONT}" fill="${key.color}"`, key.text)];
  });
  return { parts, height: legend.height };
}

/** Bars of accuracy per confidence bin against the diagonal of perfect calibration; the key below the axis. */
export function reliabilitySvg(bins: readonly ReliabilityBin[]): string {
  const [width, axisBottom] = [460, 260];
  const margin = { left: 52, right: 16, top: 28, bottom: 40 };
  const key = reliabilityKeySvg(margin.left, width - 4, axisBottom + 2);
  const height = axisBottom + key.height + 6;
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = axisBottom - margin.top - margin.bottom;
  const px = (x: number): number => margin.left + x * plotWidth;
  const py = (y: number): number => axisBottom - margin.bottom - y * plotHeight;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="reliability diagram">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">reliability diagram</text>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(0)}" stroke="#444"/><line x1="${px(0)}" y1="${py(0)}" ` +
      `x2="${px(0)}" y2="${py(1)}" stroke="#444"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#777" stroke-dasharray="4 3"/>`,
    `<text x="${width / 2}" y="${axisBottom - 6}" text-anchor="middle" font-size="11">confidence (top-class ` +
      `probability)</text>`,
    `<text x="12" y="${axisBottom / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ` +
      `${axisBottom / 2})">accuracy</text>`,
  ];
  for (let tick = 0; tick <= 4; tick += 1) {
    const value = tick / 4;
    parts.push(
      `<text x="${margin.left - 4}" y="${py(value) + 4}" text-anchor="end" font-size="10">${format(value, 2)}</text>`,
      `<text x="${px(value)}" y="${axisBottom - margin.bottom + 14}" text-anchor="middle" ` +
        `font-size="10">${format(value, 2)}</text>`,
    );
  }
  for (const bin of bins) {
    const x = px(bin.low) + 1;
    const barWidth = Math.max(1, px(bin.high) - px(bin.low) - 2);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${py(bin.accuracy).toFixed(1)}" width="${barWidth.toFixed(1)}" ` +
        `height="${(py(0) - py(bin.accuracy)).toFixed(1)}" fill="#1f77b4" fill-opacity="0.7"><title>${bin.count} examples, confidence ${format(bin.confidence)}, accuracy ${format(bin.accuracy)}</title></rect>`,
      `<circle cx="${px(bin.confidence).toFixed(1)}" cy="${py(bin.confidence).toFixed(1)}" r="3" fill="#d62728"/>`,
      `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(py(bin.accuracy) - 3).toFixed(1)}" text-anchor="middle" ` +
        `font-size="9">${bin.count}</text>`,
    );
  }
  parts.push(...key.parts, '</svg>');
  return parts.join('');
}

function calibrationAndCurvesSection(report: EvaluationReport): string {
  const parts: string[] = [];
  if (report.reliability && report.reliability.length > 0) parts.push(reliabilitySvg(report.reliability));
  const curves = report.curves;
  const draw = (title: string, list: readonly ClassCurve[], xLabel: string, yLabel: string, areaName: string): string =>
    lineChartSvg(
      title,
      list.map((curve, i) => ({
        name: `${curve.name} (${areaName} ${format(curve.area)})`,
        color: PALETTE[i % PALETTE.length] ?? '#333',
        points: curve.points,
      })),
      { xLabel, yLabel, domain: { x: [0, 1], y: [0, 1] }, diagonal: title.startsWith('ROC') },
    );
  if (curves && curves.roc.length > 0)
    parts.push(draw('ROC (one-vs-rest)', curves.roc, 'false positive rate', 'true positive rate', 'AUC'));
  if (curves && curves.pr.length > 0) parts.push(draw('precision-recall', curves.pr, 'recall', 'precision', 'AP'));
  return parts.length > 0 ? `<h2>Calibration and curves</h2>${parts.join('')}` : '';
}

/** The report's colour of each kind of epoch marker; the UI draws the same hues from its theme. */
const MARKER_COLOURS: Readonly<Record<EpochMarkerKind, string>> = { phase: '#7f7f7f', best: '#2ca02c' };

/** Dashed markers at the best epoch and where each new training phase starts (`epochMarkers`), coloured by kind. */
export function colouredEpochMarkers(history: readonly EpochMetrics[], bestEpoch: number | undefined): ChartMarker[] {
  return epochMarkers(history, bestEpoch).map((marker) => ({ ...marker, color: MARKER_COLOURS[marker.kind] }));
}

function learningCurvesSection(report: EvaluationReport): string {
  if (!report.history || report.history.length === 0) return '';
  const history = report.history;
  const curve = (pick: (epoch: EpochMetrics) => number | undefined): [number, number][] =>
    history.flatMap((epoch) => {
      const value = pick(epoch);
      return value === undefined ? [] : [[epoch.epoch, value] as [number, number]];
    });
  const options = { xLabel: 'epoch', integerX: true, markers: colouredEpochMarkers(history, report.bestEpoch) };
  return (
    '<h2>Learning curves</h2>' +
    lineChartSvg(
      'loss',
      [
        { name: 'train', color: '#1f77b4', points: curve((epoch) => epoch.trainLoss) },
        { name: 'validation', color: '#d62728', points: curve((epoch) => epoch.validationLoss) },
      ],
      { ...options, yLabel: 'loss' },
    ) +
    lineChartSvg(
      'accuracy',
      [
        { name: 'train', color: '#1f77b4', points: curve((epoch) => epoch.trainAccuracy) },
        { name: 'validation', color: '#d62728', points: curve((epoch) => epoch.validationAccuracy) },
      ],
      { ...options, yLabel: 'accuracy' },
    )
  );
}

function baselinesSection(report: EvaluationReport): string {
  if (!report.baselines || Object.keys(report.baselines).length === 0) return '';
  const rows = Object.entries(report.baselines)
    .map(([name, baseline]) => {
      if (baseline.error)
        return `<tr><td>${escapeHtml(name)}</td><td colspan="5">not evaluated: ${escapeHtml(baseline.error)}</td></tr>`;
      return (baseline.comparison ?? [])
        .map(
          (entry) =>
            `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(entry.metric)}</td><td>${format(entry.candidate)}</td><td>${format(entry.baseline)}</td><td ` +
            `class="${entry.better ? 'pass' : 'fail'}">${entry.delta >= 0 ? '+' : ''}${format(entry.delta)}</td><td>${intervalText(baseline.differences?.[entry.metric])}</td></tr>`,
        )
        .join('');
    })
    .join('');
  return (
    `<h2>Against baselines</h2><table><thead><tr><th>baseline</th><th>metric</th><th>this ` +
    `model</th><th>baseline</th><th>Δ</th><th>Δ interval (paired bootstrap)</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

function misclassifiedSection(report: EvaluationReport): string {
  const examples = report.misclassified;
  if (!examples) return '';
  if (examples.length === 0) return '<h2>Misclassified examples</h2><p>none: every evaluated example is right.</p>';
  const caption = (example: MisclassifiedExample): string =>
    `#${example.index}: ${escapeHtml(example.actual)} → ${escapeHtml(example.predicted)} ` +
    `(${format(example.confidence, 2)})`;
  if (examples.every((example) => example.thumbnail)) {
    const figures = examples
      .map(
        (example) =>
          `<figure><img src="${escapeHtml(example.thumbnail ?? '')}" alt="example ${example.index}" ` +
          `width="64"><figcaption>${caption(example)}</figcaption></figure>`,
      )
      .join('');
    return (
      `<h2>Misclassified examples</h2><p class="note">Most confident mistakes first: actual → predicted ` +
      `(probability of the prediction).</p><div class="thumbs">${figures}</div>`
    );
  }
  const columns = [...new Set(examples.flatMap((example) => Object.keys(example.values ?? {})))];
  const cell = (value: string | number | undefined): string =>
    typeof value === 'number' ? format(value) : escapeHtml(value ?? '');
  const rows = examples
    .map(
      (example) =>
        `<tr><td>${example.index}</td><td>${escapeHtml(example.actual)}</td><td>${escapeHtml(example.predicted)}</td><td>${format(example.confidence)}</td>${columns.map((column) => `<td>${cell(example.values?.[column])}</td>`).join('')}</tr>`,
    )
    .join('');
  return (
    `<h2>Misclassified examples</h2><p class="note">Most confident mistakes first; values before ` +
    `scaling.</p><table><thead><tr><th>#</th><th>actual</th><th>predicted</th><th>probability</th>${columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`
  );
}

function slicesSection(report: EvaluationReport): string {
  if (!report.slices) return '';
  return Object.entries(report.slices)
    .map(([attribute, slices]) => {
      const rows = Object.entries(slices)
        .map(
          ([slice, metrics]) =>
            `<tr><td>${escapeHtml(slice)}</td><td>${metrics.count}</td><td>${format(metrics.accuracy)}</td><td>${format(metrics.f1Macro)}</td></tr>`,
        )
        .join('');
      return `<h2>Slices by ${escapeHtml(attribute)}</h2><table><thead><tr><th>${escapeHtml(attribute)}</th><th>n</th><th>accuracy</th><th>F1 (macro)</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('');
}

function trialsSection(report: EvaluationReport): string {
  if (!report.trials || report.trials.points.length === 0) return '';
  const trials = report.trials;
  const statuses = [...new Set(trials.points.map((point) => point.status ?? 'completed'))];
  const colors = ['#2ca02c', '#c8620a', '#9467bd', '#8c564b'];
  const xs = trials.points.map((point) => point.x);
  return (
    '<h2>Sweep trials</h2>' +
    lineChartSvg(
      `${trials.yLabel} by ${trials.xLabel}`,
      statuses.map((status, i) => ({
        name: status,
        color: colors[i % colors.length] ?? '#333',
        points: trials.points
          .filter((point) => (point.status ?? 'completed') === status)
          .map((point) => [point.x, point.value] as [number, number]),
      })),
      {
        xLabel: trials.xLabel,
        yLabel: trials.yLabel,
        dots: true,
        logX: xs.every((x) => x > 0) && Math.max(...xs) / Math.min(...xs) > 20,
      },
    )
  );
}

/**
 * The report's styles, light and dark by the reader's setting (the UI shows the report in a frame, whose document
 * follows the same setting; a light-only report was a white box inside the UI's dark page). Colours as the UI's. In
 * dark, chart text and axes without a colour of their own take the text colour; series keep theirs, and the confusion
 * matrix's cells take dark steps with light counts (matrixDarkStyle).
 */
const REPORT_STYLE = [
  ':root{color-scheme:light dark}',
  'body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;background:#fff;color:#1b1f24}',
  'table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #d0d7de;padding:3px ' +
    '8px;text-align:right}',
  'td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37}.fail{color:#cf222e}a{color:#0a58ca}',
  'svg{margin:0.5em 1em 0.5em 0;vertical-align:top}.note{color:#57606a;font-size:0.9em}',
  '.thumbs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:120px;font-size:11px}',
  'figure img{image-rendering:pixelated;border:1px solid #d0d7de;width:64px}',
  '@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}td,th,figure img{border-color:#30363d}',
  '.pass{color:#3fb950}.fail{color:#f85149}a{color:#4493f8}.note{color:#9198a1}svg text:not([fill]){fill:#e6edf3}',
  `svg [stroke="#444"]{stroke:#9198a1}svg rect[stroke="#fff"]{stroke:#0d1117}${matrixDarkStyle()}}`,
  // In a phone's report frame (about 330 px) the 2em title took seven lines before the gate's verdict.
  '@media (max-width:600px){body{margin:0.75em auto;padding:0 0.5em}h1{font-size:1.15em}h2{font-size:1.05em}}',
].join('');

export function renderReportHtml(report: EvaluationReport): string {
  const m = report.metrics;
  const gate = report.gate
    ? `<h2>Gate: <span class="${report.gate.passed ? 'pass' : 'fail'}">${report.gate.passed ? 'PASSED' : 'FAILED'}</span></h2><ul>${report.gate.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>`
    : '';
  const sections = [
    headerSection(report),
    gate,
    headlineSection(report),
    metricsTable(m),
    `<h2>Confusion matrix</h2><p>rows: actual, columns: ` +
      `predicted</p>${confusionMatrixSvg(m.confusionMatrix, m.classes)}`,
    calibrationAndCurvesSection(report),
    learningCurvesSection(report),
    baselinesSection(report),
    misclassifiedSection(report),
    slicesSection(report),
    trialsSection(report),
  ];
  const head =
    '<meta charset="utf-8"><meta name="color-scheme" content="light dark">' +
    `<title>${escapeHtml(reportTitle(report))}</title><style>${REPORT_STYLE}</style>`;
  return `<!doctype html><html><head>${head}</head><body>${sections.filter(Boolean).join('\n')}</body></html>`;
}
