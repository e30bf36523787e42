/**
 * The evaluation report: JSON for machines and one self-contained HTML page for people, with
 * learning curves, the confusion matrix and (for sweeps) a trial scatter plot drawn as inline
 * SVG, so the page needs no network, scripts or image files.
 */
import type { EpochMetrics } from '../train/types';
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

/** Up to ~6 whole-number ticks covering [min, max]. */
export function integerTicks(min: number, max: number): number[] {
  const step = Math.max(1, Math.ceil((max - min) / 6));
  const ticks: number[] = [];
  for (let tick = Math.ceil(min); tick <= max; tick += step) ticks.push(tick);
  return ticks;
}

/**
 * Where a marker's label goes: right of its line, or left of it (anchored at its end) when it would cross
 * `plotRight` — the best epoch is often the last one, at the right edge. The width is estimated from the
 * 10 px font (about 6 px a character, generous), since an SVG string cannot measure text.
 */
export function markerLabelPlacement(x: number, label: string, plotRight: number): string {
  return fitsRightOf(x, label, plotRight) ? 'text-anchor="start" dx="3"' : 'text-anchor="end" dx="-3"';
}

function fitsRightOf(x: number, label: string, plotRight: number): boolean {
  return x + 3 + label.length * 6 <= plotRight;
}

/**
 * The baseline of a marker's label: the markers' rows from the plot's top, moved below the legend (series names
 * right-aligned at the top right, 11 px font, about 6.5 px a character) when the label would run into it.
 */
export function markerLabelY(
  marker: { readonly x: number; readonly label: string; readonly index: number },
  plot: { readonly top: number; readonly right: number },
  legendNames: readonly string[],
): number {
  const { x, label, index } = marker;
  const labelRight = fitsRightOf(x, label, plot.right) ? x + 3 + label.length * 6 : x - 3;
  const legendLeft = plot.right - 4 - Math.max(0, ...legendNames.map((name) => name.length)) * 6.5;
  const belowLegend = legendNames.length > 0 && labelRight > legendLeft ? legendNames.length * 13 + 2 : 0;
  return plot.top + 10 + index * 12 + belowLegend;
}

/** A line chart (or scatter when `dots`) as an SVG element. */
export function lineChartSvg(title: string, series: readonly Series[], options: ChartOptions): string {
  const width = 460;
  const height = 260;
  const margin = { left: 52, right: 16, top: 28, bottom: 40 };
  const transformX = (x: number): number => (options.logX ? Math.log10(Math.max(x, 1e-12)) : x);
  const all = series.flatMap((entry) => entry.points);
  if (all.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="40"><text x="8" y="24">${escapeHtml(title)}: no data</text></svg>`;
  const xs = all.map(([x]) => transformX(x));
  const ys = all.map(([, y]) => y);
  let [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (options.domain?.x) [minX, maxX] = options.domain.x;
  if (options.domain?.y) [minY, maxY] = options.domain.y;
  if (minX === maxX) [minX, maxX] = [minX - 1, maxX + 1];
  if (minY === maxY) [minY, maxY] = [minY - 0.5, maxY + 0.5];
  const px = (x: number): number =>
    margin.left + ((transformX(x) - minX) / (maxX - minX)) * (width - margin.left - margin.right);
  const py = (y: number): number =>
    height - margin.bottom - ((y - minY) / (maxY - minY)) * (height - margin.top - margin.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`,
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="#444"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${height - margin.bottom}" stroke="#444"/>`,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" font-size="11">${escapeHtml(options.xLabel)}</text>`,
    `<text x="12" y="${height / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${height / 2})">${escapeHtml(options.yLabel)}</text>`,
  ];
  const xTick = (position: number, label: string): string =>
    `<text x="${position.toFixed(1)}" y="${height - margin.bottom + 14}" text-anchor="middle" font-size="10">${label}</text>`;
  for (let tick = 0; tick <= 4; tick += 1) {
    const y = minY + ((maxY - minY) * tick) / 4;
    parts.push(`<text x="${margin.left - 4}" y="${py(y) + 4}" text-anchor="end" font-size="10">${format(y, 2)}</text>`);
    if (options.integerX) continue;
    const xValue = minX + ((maxX - minX) * tick) / 4;
    const label = options.logX ? (10 ** xValue).toExponential(0) : format(xValue, Number.isInteger(xValue) ? 0 : 2);
    parts.push(xTick(margin.left + ((width - margin.left - margin.right) * tick) / 4, label));
  }
  if (options.integerX) for (const tick of integerTicks(minX, maxX)) parts.push(xTick(px(tick), String(tick)));
  if (options.diagonal) {
    const [low, high] = [Math.max(minX, minY), Math.min(maxX, maxY)];
    parts.push(
      `<line x1="${px(low).toFixed(1)}" y1="${py(low).toFixed(1)}" x2="${px(high).toFixed(1)}" y2="${py(high).toFixed(1)}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
  }
  const plot = { top: margin.top, right: width - margin.right };
  const labelY = (x: number, label: string, index: number): number =>
    markerLabelY(
      { x, label, index },
      plot,
      series.map((entry) => entry.name),
    );
  (options.markers ?? []).forEach((marker, index) => {
    const x = px(marker.x).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${height - margin.bottom}" stroke="${marker.color}" stroke-dasharray="5 3"/>`,
      `<text x="${x}" y="${labelY(px(marker.x), marker.label, index)}" font-size="10" fill="${marker.color}" ${markerLabelPlacement(px(marker.x), marker.label, width - margin.right)}>${escapeHtml(marker.label)}</text>`,
    );
  });
  series.forEach((entry, index) => {
    if (options.dots) {
      for (const [x, y] of entry.points)
        parts.push(
          `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="4" fill="${entry.color}" fill-opacity="0.75"/>`,
        );
    } else {
      const path = entry.points
        .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
        .join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${entry.color}" stroke-width="2"/>`);
    }
    parts.push(
      `<text x="${width - margin.right - 4}" y="${margin.top + 12 + index * 13}" text-anchor="end" font-size="11" fill="${entry.color}">${escapeHtml(entry.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The confusion matrix as an SVG heat map (rows = actual, columns = predicted). */
export function confusionMatrixSvg(matrix: readonly (readonly number[])[], classes: readonly string[]): string {
  const cell = Math.max(28, Math.min(56, Math.floor(420 / Math.max(1, classes.length))));
  const labelWidth = 90;
  const size = labelWidth + cell * classes.length;
  const max = Math.max(1, ...matrix.flat());
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size + 10}" height="${size + 10}" role="img" aria-label="confusion matrix">`,
  ];
  classes.forEach((name, i) => {
    parts.push(
      `<text x="${labelWidth - 6}" y="${labelWidth + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${escapeHtml(name)}</text>`,
    );
    parts.push(
      `<text x="${labelWidth + i * cell + cell / 2}" y="${labelWidth - 6}" text-anchor="start" font-size="11" transform="rotate(-45 ${labelWidth + i * cell + cell / 2} ${labelWidth - 6})">${escapeHtml(name)}</text>`,
    );
  });
  matrix.forEach((row, actual) =>
    row.forEach((count, predicted) => {
      const intensity = count / max;
      const shade = Math.round(255 - intensity * 200);
      const fill =
        actual === predicted ? `rgb(${shade},${Math.min(255, shade + 40)},${shade})` : `rgb(255,${shade},${shade})`;
      const x = labelWidth + predicted * cell;
      const y = labelWidth + actual * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"/>`);
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="11">${count}</text>`,
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

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

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
    ? `<p class="note">Intervals: percentile bootstrap over the ${m.count} evaluated examples, ${report.bootstrap.resamples} resamples.</p>`
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

/** Bars of accuracy per confidence bin against the diagonal of perfect calibration. */
export function reliabilitySvg(bins: readonly ReliabilityBin[]): string {
  const [width, height] = [460, 260];
  const margin = { left: 52, right: 16, top: 28, bottom: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const px = (x: number): number => margin.left + x * plotWidth;
  const py = (y: number): number => height - margin.bottom - y * plotHeight;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="reliability diagram">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">reliability diagram</text>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(0)}" stroke="#444"/><line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(1)}" stroke="#444"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" font-size="11">confidence (top-class probability)</text>`,
    `<text x="12" y="${height / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${height / 2})">accuracy</text>`,
  ];
  for (let tick = 0; tick <= 4; tick += 1) {
    const value = tick / 4;
    parts.push(
      `<text x="${margin.left - 4}" y="${py(value) + 4}" text-anchor="end" font-size="10">${format(value, 2)}</text>`,
      `<text x="${px(value)}" y="${height - margin.bottom + 14}" text-anchor="middle" font-size="10">${format(value, 2)}</text>`,
    );
  }
  for (const bin of bins) {
    const x = px(bin.low) + 1;
    const barWidth = Math.max(1, px(bin.high) - px(bin.low) - 2);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${py(bin.accuracy).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(py(0) - py(bin.accuracy)).toFixed(1)}" fill="#1f77b4" fill-opacity="0.7"><title>${bin.count} examples, confidence ${format(bin.confidence)}, accuracy ${format(bin.accuracy)}</title></rect>`,
      `<circle cx="${px(bin.confidence).toFixed(1)}" cy="${py(bin.confidence).toFixed(1)}" r="3" fill="#d62728"/>`,
      `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(py(bin.accuracy) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${bin.count}</text>`,
    );
  }
  parts.push(
    `<text x="${margin.left + 6}" y="${margin.top + 10}" font-size="10" fill="#1f77b4">bars: accuracy (n above)</text>`,
    `<text x="${margin.left + 6}" y="${margin.top + 22}" font-size="10" fill="#d62728">dots: mean confidence</text>`,
    '</svg>',
  );
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

/** Dashed markers at the best epoch and where each new training phase starts. */
export function epochMarkers(history: readonly EpochMetrics[], bestEpoch: number | undefined): ChartMarker[] {
  const markers: ChartMarker[] = [];
  for (let i = 1; i < history.length; i += 1) {
    const [previous, current] = [history[i - 1], history[i]];
    if (previous && current && previous.phase !== current.phase)
      markers.push({ x: current.epoch - 0.5, label: `phase ${current.phase}`, color: '#7f7f7f' });
  }
  if (bestEpoch !== undefined) markers.push({ x: bestEpoch, label: `best epoch ${bestEpoch}`, color: '#2ca02c' });
  return markers;
}

function learningCurvesSection(report: EvaluationReport): string {
  if (!report.history || report.history.length === 0) return '';
  const history = report.history;
  const curve = (pick: (epoch: EpochMetrics) => number | undefined): [number, number][] =>
    history.flatMap((epoch) => {
      const value = pick(epoch);
      return value === undefined ? [] : [[epoch.epoch, value] as [number, number]];
    });
  const options = { xLabel: 'epoch', integerX: true, markers: epochMarkers(history, report.bestEpoch) };
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
            `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(entry.metric)}</td><td>${format(entry.candidate)}</td><td>${format(entry.baseline)}</td><td class="${entry.better ? 'pass' : 'fail'}">${entry.delta >= 0 ? '+' : ''}${format(entry.delta)}</td><td>${intervalText(baseline.differences?.[entry.metric])}</td></tr>`,
        )
        .join('');
    })
    .join('');
  return `<h2>Against baselines</h2><table><thead><tr><th>baseline</th><th>metric</th><th>this model</th><th>baseline</th><th>Δ</th><th>Δ interval (paired bootstrap)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function misclassifiedSection(report: EvaluationReport): string {
  const examples = report.misclassified;
  if (!examples) return '';
  if (examples.length === 0) return '<h2>Misclassified examples</h2><p>none: every evaluated example is right.</p>';
  const caption = (example: MisclassifiedExample): string =>
    `#${example.index}: ${escapeHtml(example.actual)} → ${escapeHtml(example.predicted)} (${format(example.confidence, 2)})`;
  if (examples.every((example) => example.thumbnail)) {
    const figures = examples
      .map(
        (example) =>
          `<figure><img src="${escapeHtml(example.thumbnail ?? '')}" alt="example ${example.index}" width="64"><figcaption>${caption(example)}</figcaption></figure>`,
      )
      .join('');
    return `<h2>Misclassified examples</h2><p class="note">Most confident mistakes first: actual → predicted (probability of the prediction).</p><div class="thumbs">${figures}</div>`;
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
  return `<h2>Misclassified examples</h2><p class="note">Most confident mistakes first; values before scaling.</p><table><thead><tr><th>#</th><th>actual</th><th>predicted</th><th>probability</th>${columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
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
  const colors = ['#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
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
    `<h2>Confusion matrix</h2><p>rows: actual, columns: predicted</p>${confusionMatrixSvg(m.confusionMatrix, m.classes)}`,
    calibrationAndCurvesSection(report),
    learningCurvesSection(report),
    baselinesSection(report),
    misclassifiedSection(report),
    slicesSection(report),
    trialsSection(report),
  ];
  const style =
    'body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37}.fail{color:#c62828}svg{margin:0.5em 1em 0.5em 0;vertical-align:top}.note{color:#555;font-size:0.9em}.thumbs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:120px;font-size:11px}figure img{image-rendering:pixelated;border:1px solid #ccc;width:64px}';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(reportTitle(report))}</title><style>${style}</style></head><body>${sections.filter(Boolean).join('\n')}</body></html>`;
}
