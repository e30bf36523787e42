/**
 * Compare runs: params and stage metrics side by side; the epoch curves of a training stage (loss and
 * accuracy, train dashed and validation solid, one colour per run, each run's best epoch marked)
 * overlaid, with checkboxes (keyboard-operable) that show or hide runs and splits.
 *
 * The metric rows: a stage's own numbers (`evaluate.accuracy`) come first; each nested family (`evaluate.perClass.*`,
 * `evaluate.intervals.*`) sits in a collapsed section whose button says how many rows it holds and how many differ
 * (two evaluated demo runs gave 70 rows, the headline ones lost among them). A row whose values are not the same for
 * the runs that have it is marked ≠, a row only some runs have is marked ◐ (not a difference: two different pipelines
 * had almost every row marked), and "Only rows that differ" shows just the ≠ rows, in every section, open or not.
 * Rows come in the pipelines' stage order.
 */
import type uPlot from 'uplot';
import { compareCurves, swatch } from './compare-curves';
import { rowMarks, type RowMarks } from './compare-marks';
import type { RunState } from '../types';
import type { ComparedRun } from './compare-curves';
import { formatNumber, getJson, h, loadInto, scrollHint, statusBadge, type Page } from '../util';

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

/** The section label of a nested metric family, by its key under a stage's metrics. */
const FAMILY_LABELS: Readonly<Record<string, string>> = {
  perClass: 'Per-class metrics',
  intervals: 'Confidence intervals',
  slices: 'Slice metrics',
};

interface MetricFamily {
  /** `stage.family`, the path its rows share. */
  readonly key: string;
  readonly names: readonly string[];
}

/**
 * Above this many rows a nested family of metrics is a collapsed section (a fine-tune's `validation.loss` and
 * `validation.accuracy` are headline numbers; six classes' per-class numbers are not).
 */
const FAMILY_ROWS_SHOWN = 6;

/**
 * `stage.metric` names are headline rows, and so are small nested families (`finetune.validation.loss`); the known
 * long families (per-class, intervals, slices) and any family of more than FAMILY_ROWS_SHOWN rows are sections, in
 * order.
 */
function groupMetricNames(names: readonly string[]): { headline: string[]; families: MetricFamily[] } {
  const nested = new Map<string, string[]>();
  for (const name of names) {
    const parts = name.split('.');
    if (parts.length > 2) {
      const key = parts.slice(0, 2).join('.');
      nested.set(key, [...(nested.get(key) ?? []), name]);
    }
  }
  const families = [...nested]
    .filter(
      ([key, grouped]) => Object.hasOwn(FAMILY_LABELS, key.split('.')[1] ?? '') || grouped.length > FAMILY_ROWS_SHOWN,
    )
    .map(([key, grouped]) => ({ key, names: grouped }));
  const inSection = new Set(families.flatMap((family) => family.names));
  return { headline: names.filter((name) => !inSection.has(name)), families };
}

/**
 * "24 rows, 1 differs, 3 only in some runs": how many rows a section holds and, when runs are compared, how many of
 * them differ and how many only some runs have.
 */
function familyCount(rows: number, differing: number, onlySome: number, runs: number): string {
  const held = `${rows} ${rows === 1 ? 'row' : 'rows'}`;
  if (runs < 2) return held;
  const differ = differing === 0 ? 'none differ' : `${differing} ${differing === 1 ? 'differs' : 'differ'}`;
  return `${held}, ${differ}${onlySome > 0 ? `, ${onlySome} only in some runs` : ''}`;
}

/**
 * Stage ids in the pipelines' (DAG) order: each run's stages in its state's order, a stage only some runs have placed
 * after the stage it follows in its own run. Rows sorted by name put evaluate before finetune.
 */
function stageOrder(runs: readonly ComparedRun[]): string[] {
  const order: string[] = [];
  for (const run of runs) {
    let after = -1;
    for (const { id } of run.state.stages) {
      const at = order.indexOf(id);
      if (at >= 0) after = at;
      else order.splice(++after, 0, id);
    }
  }
  return order;
}

/** A metric in the table; one a run lacks reads – (a blank cell looked like a value not yet loaded). */
function valueText(value: unknown): string {
  return value === undefined ? '–' : formatNumber(value);
}

/**
 * A param as written with --set, as the run page shows it (a string without quotes, others as JSON): formatted as a
 * metric, the demo's dataset read "s3://…" in quotes and 0.6 read 0.6000.
 */
function paramText(value: unknown): string {
  if (value === undefined) return '–';
  return typeof value === 'string' ? value : JSON.stringify(value);
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
  const status = h('div');
  const content = h('div');
  const charts: uPlot[] = [];
  const runsText = `${ids.length} ${ids.length === 1 ? 'run' : 'runs'}`;
  const reading =
    ids.length === 0
      ? undefined
      : loadInto(
          status,
          {
            loading: `Loading ${runsText}…`,
            // As on the run page: an ended run's state is asked through a control worker, and with none running the
            // server reads the run's history only after its query times out.
            slow: [
              `Still loading ${runsText}: no control worker has answered their state queries yet. Without one, an ` +
                'ended run’s recorded history is read after 15 s; start one with ',
              h('code', {}, 'fineflow worker --pool control'),
              '.',
            ],
            what: `the ${runsText} to compare`,
          },
          () => Promise.all(ids.map((id) => getJson<RunState>(`/api/runs/${encodeURIComponent(id)}/state`))),
          (states) => drawRuns(states.map((state): ComparedRun => ({ state }))),
        );
  function drawRuns(runs: ComparedRun[]): void {
    const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.state.params)))].sort();
    const metrics = runs.map(metricsOf);
    // By stage in the pipelines' order, then by name within a stage.
    const stages = stageOrder(runs);
    const stageRank = (name: string): number => stages.indexOf(name.split('.')[0] ?? '');
    const metricNames = [...new Set(metrics.flatMap((m) => [...m.keys()]))].sort(
      (a, b) => stageRank(a) - stageRank(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
    // A label may break after each dot of a metric's path (`finetune.` / `accuracy`), at a space, or between the
    // words of a camel-case name (`samples` / `Per` / `Second`), never inside a word: at 390 px the demo's
    // `finetune.samplesPerSecond` broke as "samplesPerS" / "econd".
    const labelled = (label: string): (string | HTMLElement)[] =>
      label.split(/(?<=\.)|(?<= )|(?<=[a-z0-9])(?=[A-Z])/).flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), part]));
    // In a family's section its path (`evaluate.perClass.`) is said by the section's button: the label shows the
    // rest (`crack.precision`), and keeps the whole path for screen readers and search.
    const row = (label: string, cells: (string | HTMLElement)[], family?: string): HTMLElement => {
      const shown = family === undefined ? label : label.slice(family.length + 1);
      const hidden = family === undefined ? [] : [h('span', { class: 'sr-only' }, `${family}.`)];
      return h('tr', {}, h('th', { scope: 'row' }, ...hidden, ...labelled(shown)), ...cells.map((c) => h('td', {}, c)));
    };
    // Every row's ≠ and ◐ come from rowMarks (two different pipelines had almost every row marked ≠ for a value one
    // of them lacks); the classes draw them.
    const mark = (element: HTMLElement, values: readonly unknown[], text: (value: unknown) => string): RowMarks => {
      const marks = rowMarks(values, text);
      element.classList.toggle('differs', marks.differs);
      element.classList.toggle('only-some', marks.onlySome);
      return marks;
    };
    // A param or metric row: "Only rows that differ" hides it unless it is marked ≠.
    const valueRow = (
      label: string,
      values: readonly unknown[],
      family?: string,
      text: (value: unknown) => string = valueText,
    ): { element: HTMLElement } & RowMarks => {
      const element = row(label, values.map(text), family);
      element.classList.add('value-row');
      return { element, ...mark(element, values, text) };
    };
    // The run's own rows (status, pipeline): marked as any row, and always shown (the filter keeps them).
    const runRow = (label: string, values: readonly string[], cell: (value: string) => string | HTMLElement) => {
      const element = row(label, values.map(cell));
      mark(element, values, String);
      return element;
    };
    const metricRow = (name: string, family?: string) =>
      valueRow(
        name,
        metrics.map((found) => found.get(name)),
        family,
      );
    const { headline, families } = groupMetricNames(metricNames);
    const familySections = families.map((family, index) => {
      const rows = family.names.map((name) => metricRow(name, family.key));
      const [stage, key] = family.key.split('.') as [string, string];
      const body = h('tbody', { class: 'metric-family', id: `metric-family-${index}` });
      const button = h(
        'button',
        { type: 'button', class: 'family-toggle', 'aria-expanded': 'false', 'aria-controls': body.id },
        `${stage}: ${FAMILY_LABELS[key] ?? key} (${familyCount(rows.length, rows.filter((r) => r.differs).length, rows.filter((r) => r.onlySome).length, runs.length)})`,
      );
      button.addEventListener('click', () => {
        const open = button.getAttribute('aria-expanded') !== 'true';
        button.setAttribute('aria-expanded', String(open));
        body.classList.toggle('open', open);
      });
      body.append(
        h('tr', { class: 'family-head' }, h('th', { colspan: runs.length + 1 }, button)),
        ...rows.map((r) => r.element),
      );
      return body;
    });
    const table = h(
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
        runRow(
          'status',
          runs.map((r) => r.state.status),
          statusBadge,
        ),
        runRow(
          'pipeline',
          runs.map((r) => r.state.pipeline),
          (pipeline) => pipeline,
        ),
        ...paramNames.map(
          (p) =>
            valueRow(
              `param ${p}`,
              runs.map((r) => r.state.params[p]),
              undefined,
              paramText,
            ).element,
        ),
        ...headline.map((name) => metricRow(name).element),
      ),
      ...familySections,
    );
    const onlyDiffering = h('input', { type: 'checkbox', id: 'compare-only-differing' });
    onlyDiffering.addEventListener('change', () => table.classList.toggle('only-differing', onlyDiffering.checked));
    const curvesBox = h('div', { class: 'compare-curves' });
    content.replaceChildren(
      ...(runs.length > 1
        ? [
            h(
              'label',
              { class: 'inline-check', for: onlyDiffering.id },
              onlyDiffering,
              // One span, so on a phone its text wraps as a line of text beside the box (not as two columns).
              h(
                'span',
                {},
                'Only rows that differ',
                // What it keeps: rows only some runs have are not differences (two different pipelines share few).
                h('span', { class: 'muted' }, ' (marked ≠; rows only in some runs, marked ◐, are left out)'),
              ),
            ),
          ]
        : []),
      scrollHint(table, 'Compared runs'),
      h('h2', {}, 'Training curves'),
      curvesBox,
    );
    compareCurves(curvesBox, runs, charts);
  }
  return {
    element: h('section', { class: 'page compare' }, h('h1', {}, 'Compare runs'), form, status, content),
    dispose: () => {
      reading?.dispose();
      charts.forEach((c) => c.destroy());
    },
  };
}
