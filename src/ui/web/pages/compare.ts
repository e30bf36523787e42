/**
 * Compare runs: params and stage metrics side by side; the epoch curves of a training stage (loss and
 * accuracy, train dashed and validation solid, one colour per run, each run's best epoch marked)
 * overlaid, with checkboxes (keyboard-operable) that show or hide runs and splits.
 */
import type uPlot from 'uplot';
import { compareCurves, swatch } from './compare-curves';
import type { RunState } from '../types';
import type { ComparedRun } from './compare-curves';
import { errorBox, formatNumber, getJson, h, statusBadge, type Page } from '../util';

/** `metrics` outputs flattened to `stage.path` → number. */
function metricsOf(details: ComparedRun): Map<string, number> {
  const found = new Map<string, number>();
  const walk = (prefix: string, value: unknown, depth: number): void => {
    if (typeof value === 'number') found.set(prefix, value);
    else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 3)
      for (const [k, v] of Object.entries(value)) walk(`${prefix}.${k}`, v, depth + 1);
  };
  for (const stage of details.state.stages) if (stage.outputs?.metrics) walk(stage.id, stage.outputs.metrics, 0);
  return found;
}

/** A value in the table; a param or metric a run lacks reads – (a blank cell looked like a value not yet loaded). */
function valueText(value: unknown): string {
  return value === undefined ? '–' : formatNumber(value);
}

export function comparePage(params: URLSearchParams): Page {
  const ids = (params.get('runs') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 8);
  const input = h('input', {
    id: 'compare-runs',
    value: ids.join(','),
    placeholder: 'run ids, comma separated',
    size: 60,
    autocomplete: 'off',
  });
  const form = h(
    'form',
    { class: 'filters' },
    h('label', { for: 'compare-runs' }, 'Runs', input),
    h('button', { type: 'submit' }, 'Compare'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/compare?runs=${encodeURIComponent(input.value.replace(/\s+/g, ''))}`;
  });
  const content = h('div');
  const charts: uPlot[] = [];
  if (ids.length > 0) {
    Promise.all(ids.map((id) => getJson<RunState>(`/api/runs/${encodeURIComponent(id)}/state`)))
      .then((states) => states.map((state): ComparedRun => ({ state })))
      .then((runs) => {
        const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.state.params)))].sort();
        const metrics = runs.map(metricsOf);
        const metricNames = [...new Set(metrics.flatMap((m) => [...m.keys()]))].sort();
        // A label may break after each dot of a metric's path (`finetune.` / `accuracy`), never inside a word.
        const labelled = (label: string): (string | HTMLElement)[] =>
          label.split(/(?<=\.)/).flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), part]));
        const row = (label: string, cells: (string | HTMLElement)[]): HTMLElement =>
          h('tr', {}, h('th', { scope: 'row' }, ...labelled(label)), ...cells.map((c) => h('td', {}, c)));
        const curvesBox = h('div', { class: 'compare-curves' });
        content.replaceChildren(
          h(
            'table',
            { class: 'grid compare' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, ''),
                ...runs.map((r, i) =>
                  h(
                    'th',
                    { scope: 'col', class: 'run-head' },
                    // The number and colour the curves below give this run.
                    h('span', { class: 'run-number' }, swatch(i), ` run ${i + 1}`),
                    h('br'),
                    h('a', { href: `#/runs/${encodeURIComponent(r.state.runId)}` }, r.state.runId),
                  ),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              row(
                'status',
                runs.map((r) => statusBadge(r.state.status)),
              ),
              row(
                'pipeline',
                runs.map((r) => r.state.pipeline),
              ),
              ...paramNames.map((p) =>
                row(
                  `param ${p}`,
                  runs.map((r) => valueText(r.state.params[p])),
                ),
              ),
              ...metricNames.map((m) =>
                row(
                  m,
                  metrics.map((found) => valueText(found.get(m))),
                ),
              ),
            ),
          ),
          h('h2', {}, 'Training curves'),
          curvesBox,
        );
        compareCurves(curvesBox, runs, charts);
      })
      .catch((error: unknown) => content.replaceChildren(errorBox(error)));
  }
  return {
    element: h('section', { class: 'page compare' }, h('h1', {}, 'Compare runs'), form, content),
    dispose: () => charts.forEach((c) => c.destroy()),
  };
}
