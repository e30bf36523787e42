/**
 * Charts of the run page: epoch curves (uPlot) with the best epoch and phase boundaries marked,
 * a sweep's best-objective-so-far against epochs spent (uPlot), and a parallel-coordinates plot
 * of its trials (SVG: uPlot draws x/y series only). Colours come from CSS variables, so light and
 * dark themes both read.
 */
import uPlot from 'uplot';
import { labelRowCount, placeMarkerLabels } from '../../ml/eval/chart-label-layout';
import { niceTicks } from '../../ml/eval/chart-ticks';
import { pageTextMeasure } from './page-text';
import { estimateTextWidth, wrapText } from './text-fit';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const PALETTE = [
  '--series-1',
  '--series-2',
  '--series-3',
  '--series-4',
  '--series-5',
  '--series-6',
  '--series-7',
  '--series-8',
];

/** The CSS variable of palette colour `index` (wraps around). */
export function paletteVar(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '--series-1';
}

export interface Marker {
  readonly x: number;
  readonly label: string;
  /** CSS variable of the marker's line and label (a run's `paletteVar` when several runs share a chart); default the accent. */
  readonly colorVar?: string;
}

export interface LineSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  /** Palette colour; default the series' position. */
  readonly color?: number;
  /** Dashed (train curves beside solid validation ones). */
  readonly dashed?: boolean;
}

function axis(label: string): uPlot.Axis {
  const ink = cssVar('--muted', '#666');
  return {
    label,
    stroke: ink,
    grid: { stroke: cssVar('--grid', '#ddd'), width: 1 },
    ticks: { stroke: cssVar('--grid', '#ddd'), width: 1 },
  };
}

/** CSS px of plot per x tick: an epoch axis of a 640 px chart holds about ten. */
const X_TICK_SPACING = 56;

/**
 * The x axis of every line chart here counts epochs: ticks at nice whole numbers (`niceTicks`, as the report's),
 * never at half epochs nor at uPlot's evenly split 1, 15, 29, ….
 */
function epochAxis(label: string): uPlot.Axis {
  return {
    ...axis(label),
    splits: (u: uPlot, _axis: number, min: number, max: number): number[] =>
      niceTicks(min, max, Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / X_TICK_SPACING)), true),
    values: (u: uPlot, splits: number[]): string[] => {
      const labels = splits.map(String);
      u.root.dataset.xTicks = labels.join(' ');
      return labels;
    },
  };
}

const MARKER_FONT = '11px system-ui, sans-serif';
/** Rows of marker labels above the plot, CSS px apart (11 px text and 4 px of air). */
const MARKER_ROW = 15;

function markerColour(marker: Marker): string {
  return cssVar(marker.colorVar ?? '--accent', '#b35c00');
}

/**
 * Where a marker's label was drawn, in CSS px from the canvas' top left: the chart's `data-markers`, as its x tick
 * labels are its `data-x-ticks` (the browser tests read the canvas there).
 */
interface DrawnMarker {
  readonly label: string;
  readonly color: string;
  readonly lineX: number;
  readonly box: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number };
}

/**
 * The band above the plot that holds the marker labels, sized before uPlot lays the chart out: the labels placed
 * (`placeMarkerLabels`, as at draw time) on an estimate of the plot (the y axis' 50 px on the left), each label
 * 8 px wider than measured so that the estimate errs towards a spare row, never a missing one.
 */
function markerBand(markers: readonly Marker[], xs: readonly number[], width: number): number {
  if (markers.length === 0 || xs.length === 0) return 0;
  const context = document.createElement('canvas').getContext('2d');
  if (context) context.font = MARKER_FONT;
  const measure = (text: string): number => (context ? context.measureText(text).width : text.length * 7) + 8;
  const [min, max] = [Math.min(...xs), Math.max(...xs)];
  const plot = { left: 50, right: width - 12 };
  const position = (x: number): number => plot.left + ((x - min) / (max - min || 1)) * (plot.right - plot.left);
  const placed = placeMarkerLabels(
    markers.map((m) => ({ x: position(m.x), width: measure(m.label) })),
    plot,
  );
  return 6 + labelRowCount(placed) * MARKER_ROW;
}

/**
 * Vertical dashed lines across the plot, each labelled in the band above it (`markerBand`): labels never cover a
 * curve, and close markers (a phase change next to the best epoch) take separate rows.
 */
function markerPlugin(markers: readonly Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const ctx = u.ctx;
          const ratio = devicePixelRatio;
          ctx.save();
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = 1.5 * ratio;
          ctx.font = `${11 * ratio}px system-ui, sans-serif`;
          const xs = markers.map((marker) => u.valToPos(marker.x, 'x', true) / ratio);
          const placed = placeMarkerLabels(
            markers.map((marker, i) => ({ x: xs[i] ?? 0, width: ctx.measureText(marker.label).width / ratio })),
            { left: u.bbox.left / ratio, right: (u.bbox.left + u.bbox.width) / ratio },
          );
          // uPlot leaves the alignment of its last axis label in the context: the placement assumes text that
          // starts at `left` on an alphabetic baseline.
          ctx.textAlign = 'left';
          ctx.textBaseline = 'alphabetic';
          const drawn: DrawnMarker[] = [];
          markers.forEach((marker, i) => {
            const colour = markerColour(marker);
            const x = (xs[i] ?? 0) * ratio;
            ctx.strokeStyle = colour;
            ctx.fillStyle = colour;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            const at = placed[i];
            if (!at) return;
            const baseline = u.bbox.top / ratio - 4 - at.row * MARKER_ROW;
            ctx.fillText(marker.label, at.left * ratio, baseline * ratio);
            const width = ctx.measureText(marker.label).width / ratio;
            drawn.push({
              label: marker.label,
              color: colour,
              lineX: xs[i] ?? 0,
              box: { left: at.left, top: baseline - 11, right: at.left + width, bottom: baseline + 3 },
            });
          });
          u.root.dataset.markers = JSON.stringify(drawn);
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * uPlot's live legend reads "--" for every series while the cursor is off the plot, which looks like missing data:
 * there it is a key of the series (styles.css hides the values and the x entry without `u-live`), over the plot it
 * shows the values at the cursor.
 */
function legendValuesOnHover(): uPlot.Plugin {
  const toggle = (u: uPlot): void => {
    u.root.querySelector('.u-legend')?.classList.toggle('u-live', u.cursor.idx !== null && u.cursor.idx !== undefined);
  };
  return { hooks: { ready: [toggle], setCursor: [toggle] } };
}

export function lineChart(
  target: HTMLElement,
  title: string,
  xLabel: string,
  xs: readonly number[],
  series: readonly LineSeries[],
  markers: readonly Marker[] = [],
): uPlot {
  const width = Math.max(280, Math.min(target.clientWidth || 480, 640));
  const band = markerBand(markers, xs, width);
  const options: uPlot.Options = {
    title,
    width,
    height: 220 + band,
    ...(band > 0 ? { padding: [band, null, null, null] } : {}),
    scales: { x: { time: false } },
    axes: [epochAxis(xLabel), axis('')],
    series: [
      { label: xLabel },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: cssVar(paletteVar(s.color ?? i), '#2563eb'),
        width: 2,
        ...(s.dashed ? { dash: [6, 4] } : {}),
        points: { show: xs.length < 40 },
      })),
    ],
    plugins: [markerPlugin(markers), legendValuesOnHover()],
    legend: { show: true },
  };
  const data = [xs as number[], ...series.map((s) => s.values as (number | null)[])] as uPlot.AlignedData;
  const chart = new uPlot(options, data, target);
  chart.root.setAttribute('role', 'img');
  chart.root.setAttribute(
    'aria-label',
    `${title}: ${series.map((s) => s.label).join(', ')} over ${xs.length} ${xLabel} values`,
  );
  return chart;
}

export interface TrialPoint {
  readonly trialId: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly objective?: number;
  readonly best: boolean;
  readonly state: string;
}

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

interface AxisScale {
  readonly name: string;
  position(value: unknown): number | undefined;
  readonly ticks: readonly { readonly at: number; readonly label: string }[];
}

function scaleFor(name: string, values: readonly unknown[]): AxisScale {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (numbers.length === values.filter((v) => v !== undefined).length && numbers.length > 0) {
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    const log = min > 0 && max / min > 50;
    const f = (v: number): number => (log ? Math.log10(v) : v);
    const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(3));
    // One value: mid-height and labelled once, like a single category (not at the foot, under a second label).
    if (min === max)
      return { name, position: (v) => (v === min ? 0.5 : undefined), ticks: [{ at: 0.5, label: fmt(min) }] };
    const span = f(max) - f(min);
    const position = (v: unknown): number | undefined => (typeof v === 'number' ? (f(v) - f(min)) / span : undefined);
    return {
      name: log ? `${name} (log)` : name,
      position,
      ticks: [
        { at: 0, label: fmt(min) },
        { at: 1, label: fmt(max) },
      ],
    };
  }
  const categories = [...new Set(values.filter((v) => v !== undefined).map((v) => JSON.stringify(v)))].sort();
  const position = (v: unknown): number | undefined => {
    const index = categories.indexOf(JSON.stringify(v));
    return index < 0 ? undefined : categories.length === 1 ? 0.5 : index / (categories.length - 1);
  };
  return {
    name,
    position,
    ticks: categories.map((c, i) => ({
      at: categories.length === 1 ? 0.5 : i / (categories.length - 1),
      label: c.replace(/^"|"$/g, ''),
    })),
  };
}

let labelBackgrounds = 0;

/**
 * A filter that paints the page's background behind a text's box: tick labels sit where the lines meet their axis
 * (every line, on a single-value axis), so without it the lines run through them.
 */
function labelBackground(root: SVGSVGElement): string {
  const id = `parallel-label-bg-${++labelBackgrounds}`;
  const filter = svg('filter', { id, x: -0.05, y: -0.05, width: 1.1, height: 1.1 });
  filter.append(svg('feFlood', { class: 'label-bg' }), svg('feComposite', { in: 'SourceGraphic' }));
  root.appendChild(svg('defs', {})).appendChild(filter);
  return `url(#${id})`;
}

/** Font size of an axis name (styles.css: svg.parallel text) and the distance between its two lines. */
const AXIS_LABEL_FONT_PX = 11;
const AXIS_LABEL_LINE_PX = 13;
/** Room kept clear between two neighbouring axis names, and between a name and the plot's edge. */
const AXIS_LABEL_GAP_PX = 8;

/**
 * Each axis's name in the room it has: centred on its axis, no wider than the distance to the next axis less a gap
 * (nor past the plot's edge), in up to two lines broken between words, cut with an ellipsis past that. Long param
 * names (`learningRateWarmupEpochsBeforeDecay`) ran into each other when drawn whole on one line.
 */
function axisLabels(
  names: readonly string[],
  xOf: (index: number) => number,
  stepX: number,
  width: number,
): { lines: string[] }[] {
  const measure = pageTextMeasure() ?? estimateTextWidth;
  return names.map((name, i) => {
    const x = xOf(i);
    const edge = 2 * Math.min(x, width - x) - AXIS_LABEL_GAP_PX;
    const room = names.length > 1 ? Math.min(stepX - AXIS_LABEL_GAP_PX, edge) : edge;
    return { lines: wrapText(name, room, AXIS_LABEL_FONT_PX, measure) };
  });
}

/** One polyline per trial across an axis per parameter and the objective; the best trial drawn on top. */
export function parallelCoordinates(trials: readonly TrialPoint[], metric: string): SVGSVGElement {
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  const axes = [
    ...names.map((name) =>
      scaleFor(
        name,
        trials.map((t) => t.params[name]),
      ),
    ),
    scaleFor(
      metric,
      trials.map((t) => t.objective),
    ),
  ];
  const width = Math.max(480, axes.length * 150);
  const left = 70;
  const right = 90;
  const stepX = axes.length > 1 ? (width - left - right) / (axes.length - 1) : 0;
  const labels = axisLabels(
    axes.map((axis) => axis.name),
    (i) => left + i * stepX,
    stepX,
    width,
  );
  // The axes start under the tallest name (two lines at most).
  const top = 16 + Math.max(...labels.map((label) => label.lines.length)) * AXIS_LABEL_LINE_PX;
  const height = 246 + top;
  const bottom = 24;
  const y = (p: number): number => top + (1 - p) * (height - top - bottom);
  const root = svg('svg', {
    class: 'parallel',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Parallel coordinates of ${trials.length} trials`,
  });
  const tickBackground = labelBackground(root);
  const objectiveScale = axes[axes.length - 1];
  const ordered = [...trials].sort((a, b) => Number(a.best) - Number(b.best));
  for (const trial of ordered) {
    const points: string[] = [];
    axes.forEach((axisScale, i) => {
      const value = i < names.length ? trial.params[names[i] ?? ''] : trial.objective;
      const p = axisScale.position(value);
      if (p !== undefined) points.push(`${(left + i * stepX).toFixed(1)},${y(p).toFixed(1)}`);
    });
    const shade = objectiveScale?.position(trial.objective);
    const line = svg('polyline', {
      points: points.join(' '),
      class: `trial${trial.best ? ' best' : ''} state-${trial.state}`,
      'data-trial': trial.trialId,
    });
    // Through the CSSOM, not a style attribute: the page's CSP allows no inline styles.
    line.style.setProperty('--shade', String(shade ?? 0));
    const title = svg('title', {});
    title.textContent = `trial ${trial.trialId} (${trial.state}): ${metric}=${trial.objective ?? '-'}`;
    line.appendChild(title);
    root.appendChild(line);
  }
  axes.forEach((axisScale, i) => {
    const x = left + i * stepX;
    root.appendChild(svg('line', { x1: x, x2: x, y1: top, y2: height - bottom, class: 'axis' }));
    const label = svg('text', { x, y: 14, class: 'axis-label', 'text-anchor': 'middle' });
    const lines = labels[i]?.lines ?? [axisScale.name];
    lines.forEach((line, n) => {
      const span = svg('tspan', { x, dy: n === 0 ? 0 : AXIS_LABEL_LINE_PX });
      span.textContent = line;
      label.appendChild(span);
    });
    // A name wrapped or cut is whole in its tooltip.
    const tip = svg('title', {});
    tip.textContent = axisScale.name;
    label.appendChild(tip);
    root.appendChild(label);
    for (const tick of axisScale.ticks.slice(0, 8)) {
      const text = svg('text', { x: x + 4, y: y(tick.at) + 4, class: 'tick', filter: tickBackground });
      text.textContent = tick.label;
      root.appendChild(text);
    }
  });
  return root;
}

/** What each line style of the parallel-coordinates plot means, in the order the key lists them. */
const LINE_MEANINGS: readonly (readonly [state: string, meaning: string])[] = [
  ['finished', 'finished'],
  ['running', 'running'],
  ['paused', 'paused at a rung'],
  ['stopped-while-paused', 'stopped while paused (sweep ended)'],
  ['pruned', 'pruned by early stopping'],
  ['failed', 'failed'],
  ['cancelled', 'cancelled'],
];

/**
 * The key of the parallel-coordinates plot: one entry per trial state the plot shows, plus the best trial, each
 * drawn with the plot's own line classes (so the key cannot drift from the stylesheet's dashes).
 */
export function parallelKey(trials: readonly TrialPoint[]): HTMLElement {
  const shown = new Set(trials.map((trial) => trial.state));
  const entries: [lineClass: string, meaning: string][] = LINE_MEANINGS.filter(([state]) => shown.has(state)).map(
    ([state, meaning]) => [`trial state-${state}`, meaning],
  );
  for (const state of shown)
    if (!LINE_MEANINGS.some(([known]) => known === state)) entries.push([`trial state-${state}`, state]);
  if (trials.some((trial) => trial.best)) entries.push(['trial best', 'best trial']);
  const key = document.createElement('ul');
  key.className = 'line-key';
  key.setAttribute('aria-label', 'Line styles of the trials plot');
  for (const [lineClass, meaning] of entries) {
    const sample = svg('svg', { class: 'parallel', width: 28, height: 10, 'aria-hidden': 'true' });
    const line = svg('line', { x1: 2, x2: 26, y1: 5, y2: 5, class: lineClass });
    line.style.setProperty('--shade', '1');
    sample.appendChild(line);
    const item = document.createElement('li');
    item.dataset.lineClass = lineClass;
    item.append(sample, meaning);
    key.appendChild(item);
  }
  return key;
}

/** Best objective so far after each trial, against the epochs spent by then (trials in id order). */
export function bestSoFar(
  trials: readonly TrialPoint[] & readonly { readonly epochs?: number }[],
  goal: string | undefined,
): { epochs: number[]; best: number[] } {
  const epochs: number[] = [];
  const best: number[] = [];
  let spent = 0;
  let current: number | undefined;
  for (const trial of [...trials].sort((a, b) => a.trialId - b.trialId)) {
    spent += (trial as { epochs?: number }).epochs ?? 0;
    if (
      trial.objective !== undefined &&
      ['finished', 'pruned', 'paused', 'stopped-while-paused'].includes(trial.state)
    ) {
      if (current === undefined || (goal === 'minimize' ? trial.objective < current : trial.objective > current))
        current = trial.objective;
    }
    if (current !== undefined) {
      epochs.push(spent);
      best.push(current);
    }
  }
  return { epochs, best };
}
