/**
 * The evaluation report: JSON for machines and one self-contained HTML page for people, with
 * learning curves, the confusion matrix and (for sweeps) a trial scatter plot drawn as inline
 * SVG, so the page needs no network, scripts or image files.
 */
import type { EpochMetrics } from '../train/types';
import type { ClassificationMetrics, GateResult, MetricComparison } from './metrics';

export interface TrialPoint {
  readonly trial: string | number;
  /** Objective value (e.g. validation accuracy). */
  readonly value: number;
  /** Hyperparameter plotted on the x axis (e.g. learning rate). */
  readonly x: number;
  readonly status?: string;
}

export interface EvaluationReport {
  readonly model: string;
  readonly dataset: string;
  readonly split: string;
  readonly backend?: string;
  /** Whose preprocessing turned the split into inputs: the model's stored one, or (older models) the dataset's. */
  readonly preprocessing?: 'model' | 'dataset';
  readonly metrics: ClassificationMetrics;
  readonly slices?: Readonly<Record<string, Readonly<Record<string, ClassificationMetrics>>>>;
  readonly baselines?: Readonly<
    Record<
      string,
      {
        readonly uri: string;
        readonly metrics?: ClassificationMetrics;
        readonly comparison?: readonly MetricComparison[];
        readonly error?: string;
      }
    >
  >;
  readonly gate?: GateResult & { readonly spec: unknown };
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

/** A line chart (or scatter when `dots`) as an SVG element. */
export function lineChartSvg(
  title: string,
  series: readonly Series[],
  options: { readonly xLabel: string; readonly yLabel: string; readonly dots?: boolean; readonly logX?: boolean },
): string {
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
  for (let tick = 0; tick <= 4; tick += 1) {
    const y = minY + ((maxY - minY) * tick) / 4;
    parts.push(`<text x="${margin.left - 4}" y="${py(y) + 4}" text-anchor="end" font-size="10">${format(y, 2)}</text>`);
    const xValue = minX + ((maxX - minX) * tick) / 4;
    const label = options.logX ? (10 ** xValue).toExponential(0) : format(xValue, Number.isInteger(xValue) ? 0 : 2);
    parts.push(
      `<text x="${margin.left + ((width - margin.left - margin.right) * tick) / 4}" y="${height - margin.bottom + 14}" text-anchor="middle" font-size="10">${label}</text>`,
    );
  }
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

export function renderReportHtml(report: EvaluationReport): string {
  const m = report.metrics;
  const sections: string[] = [];
  sections.push(
    `<h1>Evaluation: ${escapeHtml(report.model)}</h1>`,
    `<p>Dataset <code>${escapeHtml(report.dataset)}</code>, split <b>${escapeHtml(report.split)}</b> (${m.count} examples)${report.backend ? `, backend <b>${escapeHtml(report.backend)}</b>` : ''}. ${escapeHtml(report.createdAt)}</p>`,
  );
  if (report.gate) {
    sections.push(
      `<h2>Gate: <span class="${report.gate.passed ? 'pass' : 'fail'}">${report.gate.passed ? 'PASSED' : 'FAILED'}</span></h2><ul>${report.gate.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>`,
    );
  }
  sections.push(
    `<h2>Metrics</h2><table><tbody>` +
      `<tr><td>accuracy</td><td>${format(m.accuracy)}</td></tr><tr><td>F1 (macro)</td><td>${format(m.f1Macro)}</td></tr>` +
      `<tr><td>precision (macro)</td><td>${format(m.precisionMacro)}</td></tr><tr><td>recall (macro)</td><td>${format(m.recallMacro)}</td></tr>` +
      `<tr><td>ROC-AUC (macro, one-vs-rest)</td><td>${format(m.rocAucMacro)}</td></tr><tr><td>expected calibration error</td><td>${format(m.expectedCalibrationError)}</td></tr>` +
      `<tr><td>log loss</td><td>${format(m.logLoss)}</td></tr></tbody></table>`,
    metricsTable(m),
    `<h2>Confusion matrix</h2><p>rows: actual, columns: predicted</p>${confusionMatrixSvg(m.confusionMatrix, m.classes)}`,
  );
  if (report.history && report.history.length > 0) {
    const history = report.history;
    const curve = (pick: (epoch: EpochMetrics) => number | undefined): [number, number][] =>
      history.flatMap((epoch) => {
        const value = pick(epoch);
        return value === undefined ? [] : [[epoch.epoch, value] as [number, number]];
      });
    sections.push(
      '<h2>Learning curves</h2>',
      lineChartSvg(
        'loss',
        [
          { name: 'train', color: '#1f77b4', points: curve((epoch) => epoch.trainLoss) },
          { name: 'validation', color: '#d62728', points: curve((epoch) => epoch.validationLoss) },
        ],
        { xLabel: 'epoch', yLabel: 'loss' },
      ),
      lineChartSvg(
        'accuracy',
        [
          { name: 'train', color: '#1f77b4', points: curve((epoch) => epoch.trainAccuracy) },
          { name: 'validation', color: '#d62728', points: curve((epoch) => epoch.validationAccuracy) },
        ],
        { xLabel: 'epoch', yLabel: 'accuracy' },
      ),
    );
  }
  if (report.baselines && Object.keys(report.baselines).length > 0) {
    const rows = Object.entries(report.baselines)
      .map(([name, baseline]) => {
        if (baseline.error)
          return `<tr><td>${escapeHtml(name)}</td><td colspan="4">not evaluated: ${escapeHtml(baseline.error)}</td></tr>`;
        return (baseline.comparison ?? [])
          .map(
            (entry) =>
              `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(entry.metric)}</td><td>${format(entry.candidate)}</td><td>${format(entry.baseline)}</td><td class="${entry.better ? 'pass' : 'fail'}">${entry.delta >= 0 ? '+' : ''}${format(entry.delta)}</td></tr>`,
          )
          .join('');
      })
      .join('');
    sections.push(
      `<h2>Against baselines</h2><table><thead><tr><th>baseline</th><th>metric</th><th>this model</th><th>baseline</th><th>Δ</th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  }
  if (report.slices) {
    for (const [attribute, slices] of Object.entries(report.slices)) {
      const rows = Object.entries(slices)
        .map(
          ([slice, metrics]) =>
            `<tr><td>${escapeHtml(slice)}</td><td>${metrics.count}</td><td>${format(metrics.accuracy)}</td><td>${format(metrics.f1Macro)}</td></tr>`,
        )
        .join('');
      sections.push(
        `<h2>Slices by ${escapeHtml(attribute)}</h2><table><thead><tr><th>${escapeHtml(attribute)}</th><th>n</th><th>accuracy</th><th>F1 (macro)</th></tr></thead><tbody>${rows}</tbody></table>`,
      );
    }
  }
  if (report.trials && report.trials.points.length > 0) {
    const trials = report.trials;
    const statuses = [...new Set(trials.points.map((point) => point.status ?? 'completed'))];
    const colors = ['#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
    sections.push(
      '<h2>Sweep trials</h2>',
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
          logX:
            trials.points.every((point) => point.x > 0) &&
            Math.max(...trials.points.map((p) => p.x)) / Math.min(...trials.points.map((p) => p.x)) > 20,
        },
      ),
    );
  }
  const style =
    'body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37}.fail{color:#c62828}svg{margin:0.5em 1em 0.5em 0;vertical-align:top}';
  return `<!doctype html><html><head><meta charset="utf-8"><title>Evaluation ${escapeHtml(report.model)}</title><style>${style}</style></head><body>${sections.join('\n')}</body></html>`;
}
