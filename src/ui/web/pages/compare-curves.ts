/**
 * The compare page's overlaid training curves: for one training stage (a stage whose outputs carry an
 * epoch `history`), a loss chart and an accuracy chart with every run's train (dashed) and validation
 * (solid) curve in the run's colour, and each run's best epoch (`metrics.bestEpoch`, what training
 * restored) marked. Checkboxes show or hide runs and splits, so the charts work from the keyboard; a
 * table states the best epochs in text.
 */
import type uPlot from 'uplot';
import { lineChart, paletteVar, type LineSeries, type Marker } from '../charts';
import type { RunDetails, StageState } from '../types';

/** What compare reads of a run: its state. */
export type ComparedRun = Pick<RunDetails, 'state'>;
import { formatNumber, h } from '../util';

type Split = 'train' | 'validation';

interface EpochPoint {
  readonly epoch: number;
  readonly trainLoss?: number;
  readonly trainAccuracy?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

interface RunCurve {
  readonly run: number;
  readonly runId: string;
  readonly points: ReadonlyMap<number, EpochPoint>;
  readonly bestEpoch?: number;
}

function historyOf(stage: StageState | undefined): EpochPoint[] {
  const history = stage?.outputs?.history;
  if (!Array.isArray(history)) return [];
  return history.filter(
    (e): e is EpochPoint & Record<string, never> =>
      e !== null && typeof e === 'object' && !Array.isArray(e) && typeof (e as { epoch?: unknown }).epoch === 'number',
  );
}

/** Stage ids with epoch history in any of the runs, in the order they first appear. */
export function trainingStages(runs: readonly ComparedRun[]): string[] {
  const ids: string[] = [];
  for (const run of runs)
    for (const stage of run.state.stages)
      if (historyOf(stage).length > 0 && !ids.includes(stage.id)) ids.push(stage.id);
  return ids;
}

function curveOf(run: ComparedRun, index: number, stageId: string): RunCurve | undefined {
  const stage = run.state.stages.find((s) => s.id === stageId);
  const points = historyOf(stage);
  if (points.length === 0) return undefined;
  const metrics = stage?.outputs?.metrics;
  const best =
    metrics && typeof metrics === 'object' && !Array.isArray(metrics)
      ? (metrics as { readonly bestEpoch?: unknown }).bestEpoch
      : undefined;
  return {
    run: index,
    runId: run.state.runId,
    points: new Map(points.map((p) => [p.epoch, p])),
    ...(typeof best === 'number' ? { bestEpoch: best } : {}),
  };
}

const METRICS = {
  loss: { title: 'Loss', train: 'trainLoss', validation: 'validationLoss' },
  accuracy: { title: 'Accuracy', train: 'trainAccuracy', validation: 'validationAccuracy' },
} as const;

/** Series in the order the charts hold them: per run, train then validation. */
function seriesOf(curves: readonly RunCurve[], xs: readonly number[], metric: keyof typeof METRICS): LineSeries[] {
  return curves.flatMap((curve) =>
    (['train', 'validation'] as const).map((split) => ({
      label: `run ${curve.run + 1} ${split}`,
      color: curve.run,
      dashed: split === 'train',
      values: xs.map((x) => curve.points.get(x)?.[METRICS[metric][split]] ?? null),
    })),
  );
}

/** A short line in the run's colour (dashed: its train curve). */
export function swatch(run: number, dashed = false): HTMLElement {
  const element = h('span', { class: `swatch${dashed ? ' dashed' : ''}`, 'aria-hidden': 'true' });
  element.style.setProperty('--swatch', `var(${paletteVar(run)})`);
  return element;
}

function bestTable(curves: readonly RunCurve[]): HTMLElement {
  return h(
    'table',
    { class: 'grid compact best-epochs', 'aria-label': 'Best epoch of each run' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Run', 'Best epoch', 'Validation loss', 'Validation accuracy', 'Epochs'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...curves.map((curve) => {
        const best = curve.bestEpoch !== undefined ? curve.points.get(curve.bestEpoch) : undefined;
        return h(
          'tr',
          { 'data-run': curve.runId, 'data-best-epoch': curve.bestEpoch ?? '' },
          h(
            'th',
            { scope: 'row' },
            swatch(curve.run),
            ` run ${curve.run + 1}`,
            // On a phone the run's number only: the compare table's header pairs it with the id.
            h('span', { class: 'best-run-id' }, `: ${curve.runId}`),
          ),
          h('td', { class: 'num' }, curve.bestEpoch ?? '–'),
          h('td', { class: 'num' }, formatNumber(best?.validationLoss)),
          h('td', { class: 'num' }, formatNumber(best?.validationAccuracy)),
          h('td', { class: 'num' }, curve.points.size),
        );
      }),
    ),
  );
}

/** Checkboxes per run and per split; each change shows or hides the matching series of both charts. */
function toggles(curves: readonly RunCurve[], charts: () => readonly uPlot[]): HTMLElement {
  const shownRuns = new Set(curves.map((c) => c.run));
  const shownSplits = new Set<Split>(['train', 'validation']);
  const apply = (): void => {
    for (const chart of charts())
      curves.forEach((curve, i) =>
        (['train', 'validation'] as const).forEach((split, j) =>
          chart.setSeries(1 + i * 2 + j, { show: shownRuns.has(curve.run) && shownSplits.has(split) }),
        ),
      );
  };
  const box = (label: (HTMLElement | string)[], key: string, onChange: (on: boolean) => void): HTMLElement => {
    const input = h('input', { type: 'checkbox', checked: true, 'data-toggle': key });
    input.addEventListener('change', () => {
      onChange(input.checked);
      apply();
    });
    return h('label', {}, input, ...label);
  };
  const flip = <T>(set: Set<T>, value: T, on: boolean): void => void (on ? set.add(value) : set.delete(value));
  return h(
    'fieldset',
    { class: 'series-toggles' },
    h('legend', {}, 'Show'),
    ...curves.map((curve) =>
      box([swatch(curve.run), `run ${curve.run + 1}`], `run-${curve.run + 1}`, (on) => flip(shownRuns, curve.run, on)),
    ),
    box([swatch(0, true), 'train (dashed)'], 'train', (on) => flip(shownSplits, 'train', on)),
    box([swatch(0), 'validation (solid)'], 'validation', (on) => flip(shownSplits, 'validation', on)),
  );
}

function drawStage(target: HTMLElement, runs: readonly ComparedRun[], stageId: string, charts: uPlot[]): void {
  for (const chart of charts.splice(0)) chart.destroy();
  const curves = runs.map((run, i) => curveOf(run, i, stageId)).filter((c): c is RunCurve => c !== undefined);
  const xs = [...new Set(curves.flatMap((c) => [...c.points.keys()]))].sort((a, b) => a - b);
  const markers: Marker[] = curves.flatMap((c) =>
    c.bestEpoch !== undefined ? [{ x: c.bestEpoch, label: `best run ${c.run + 1}`, colorVar: paletteVar(c.run) }] : [],
  );
  const boxes = {
    loss: h('div', { class: 'chart', 'data-chart': 'compare-loss' }),
    accuracy: h('div', { class: 'chart', 'data-chart': 'compare-accuracy' }),
  };
  target.replaceChildren(
    toggles(curves, () => charts),
    h('div', { class: 'charts' }, boxes.loss, boxes.accuracy),
    bestTable(curves),
  );
  // Charts measure their box: draw once it is in the document.
  requestAnimationFrame(() => {
    for (const metric of ['loss', 'accuracy'] as const)
      charts.push(
        lineChart(
          boxes[metric],
          `${METRICS[metric].title} (${stageId})`,
          'epoch',
          xs,
          seriesOf(curves, xs, metric),
          markers,
        ),
      );
  });
}

/** Draw into `target`; the charts go into `charts` (the page destroys them). */
export function compareCurves(target: HTMLElement, runs: readonly ComparedRun[], charts: uPlot[]): void {
  const stages = trainingStages(runs);
  if (stages.length === 0) {
    target.replaceChildren(h('p', { class: 'muted' }, 'No training curves in these runs.'));
    return;
  }
  const body = h('div', {});
  const chooser = h(
    'select',
    { id: 'compare-stage', 'aria-label': 'Training stage' },
    ...stages.map((id) => h('option', { value: id }, id)),
  );
  chooser.addEventListener('change', () => drawStage(body, runs, chooser.value, charts));
  target.replaceChildren(
    stages.length > 1 ? h('label', { for: 'compare-stage' }, 'Stage ', chooser) : h('p', {}, `Stage ${stages[0]}`),
    body,
  );
  drawStage(body, runs, stages[0] as string, charts);
}
