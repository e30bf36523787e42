/** A sweep stage's trials: the table (best marked), a parallel-coordinates plot and best-so-far against epochs spent. */
import type uPlot from 'uplot';
import { bestSoFar, lineChart, parallelCoordinates, parallelKey } from '../charts';
import type { SweepTable, TrialRow } from '../types';
import { formatNumber, h, scrollHint } from '../util';

/** A trial's param: a number to 4 significant digits, a choice as written (it read "all", in JSON quotes). */
function paramText(value: unknown): string {
  return typeof value === 'string' ? value : formatNumber(value);
}

/** What the trials table sorts by: a column's head says it (`aria-sort`), a second press turns it round. */
type TrialSortKey = 'trial' | 'state' | 'epochs' | 'objective';

/**
 * The rows in the order a sort asks: by trial id, state or epochs as asked; by the objective best first for the
 * sweep's goal (ascending turns it round); a trial with no objective yet always last.
 */
export function sortTrialRows(
  rows: readonly TrialRow[],
  key: TrialSortKey,
  ascending: boolean,
  goal: string | undefined,
): TrialRow[] {
  const sign = ascending ? 1 : -1;
  const compare = (a: TrialRow, b: TrialRow): number => {
    if (key === 'state') return sign * a.state.localeCompare(b.state) || a.trialId - b.trialId;
    if (key === 'epochs') return sign * (a.epochs - b.epochs) || a.trialId - b.trialId;
    if (key === 'objective') {
      if (a.objective === undefined || b.objective === undefined)
        return (a.objective === undefined ? 1 : 0) - (b.objective === undefined ? 1 : 0) || a.trialId - b.trialId;
      // "Best first" is descending for a maximised objective, ascending for a minimised one.
      const bestFirst = goal === 'minimize' ? a.objective - b.objective : b.objective - a.objective;
      return (ascending ? -bestFirst : bestFirst) || a.trialId - b.trialId;
    }
    return sign * (a.trialId - b.trialId);
  };
  return [...rows].sort(compare);
}

/** The best trial first, before the charts and the table: its objective, epochs and every param, named. */
function bestTrialBox(table: SweepTable, names: readonly string[], metricHead: string): HTMLElement | undefined {
  const best = table.rows.find((row) => row.best);
  if (!best) return undefined;
  const fact = (term: string, value: string): HTMLElement[] => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'section',
    { class: 'best-trial', 'aria-label': `Best trial of ${table.stageId}`, 'data-trial': best.trialId },
    h('h4', {}, `★ Best trial ${best.trialId}`),
    h(
      'dl',
      { class: 'facts' },
      ...fact(metricHead, best.objective !== undefined ? formatNumber(best.objective) : '–'),
      ...fact('epochs', String(best.epochs)),
      ...names.flatMap((name) => fact(name, paramText(best.params[name]))),
    ),
  );
}

/** One trial's row. On a phone: ★, id, state and objective on one line; epochs, params and a note behind its toggle. */
function trialRow(row: TrialRow, names: readonly string[], metricHead: string): HTMLElement {
  const toggle = h(
    'button',
    { type: 'button', class: 'more-toggle', 'aria-expanded': 'false', 'aria-label': `details of trial ${row.trialId}` },
    '▸',
  );
  const tr = h(
    'tr',
    { class: row.best ? 'best' : undefined, 'data-trial': row.trialId },
    h(
      'td',
      { class: 'card-mark' },
      row.best ? h('span', { title: 'best trial', 'aria-label': 'best trial' }, '★') : '',
    ),
    h('td', { class: 'num card-title' }, row.trialId),
    // A trial Temporal knows more of (its worker lost, a retry waiting) says what under its state.
    h(
      'td',
      { class: 'state', 'data-label': 'State' },
      row.state,
      row.note !== undefined ? h('div', { class: 'trial-note muted' }, row.note) : '',
    ),
    h('td', { class: 'num epochs', 'data-label': 'Epochs' }, row.epochs),
    h(
      'td',
      { class: 'num objective', 'data-label': metricHead },
      row.objective !== undefined ? formatNumber(row.objective) : '–',
    ),
    ...names.map((name) => h('td', { class: 'param', 'data-label': name }, paramText(row.params[name]))),
    h('td', { class: 'more' }, toggle),
  );
  toggle.addEventListener('click', () => {
    const open = tr.classList.toggle('open');
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? '▾' : '▸';
  });
  return tr;
}

/** The trials table, sortable by its Trial, State, Epochs and objective heads. */
function trialTable(table: SweepTable, names: readonly string[], metricHead: string): HTMLElement {
  const body = h('tbody', {});
  const heads = new Map<TrialSortKey, HTMLElement>();
  let sorted: { key: TrialSortKey; ascending: boolean } = { key: 'trial', ascending: true };
  const draw = (): void => {
    body.replaceChildren(
      ...sortTrialRows(table.rows, sorted.key, sorted.ascending, table.goal).map((row) =>
        trialRow(row, names, metricHead),
      ),
    );
    for (const [key, th] of heads)
      if (key === sorted.key) th.setAttribute('aria-sort', sorted.ascending ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
  };
  const sortHead = (key: TrialSortKey, title: string, cls: string): HTMLElement => {
    const button = h('button', { type: 'button', class: 'sort', 'data-sort': key }, title);
    const th = h('th', { scope: 'col', class: cls }, button);
    button.addEventListener('click', () => {
      // The objective's first press puts the best first; the others start ascending.
      const ascending = sorted.key === key ? !sorted.ascending : key !== 'objective';
      sorted = { key, ascending: key === 'objective' && sorted.key !== key ? false : ascending };
      draw();
    });
    heads.set(key, th);
    return th;
  };
  const result = h(
    'table',
    {
      class: 'grid compact trials dense',
      'data-trials': table.rows.length,
      'aria-label': `Trials of ${table.stageId}`,
    },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', class: 'card-mark' }, ''),
        sortHead('trial', 'Trial', 'trial-head'),
        sortHead('state', 'State', 'state-head'),
        sortHead('epochs', 'Epochs', 'epochs'),
        sortHead('objective', metricHead, 'objective'),
        ...names.map((name) => h('th', { scope: 'col', class: 'param' }, name)),
        h('th', { scope: 'col', class: 'more' }, h('span', { class: 'sr-only' }, 'Details')),
      ),
    ),
    body,
  );
  draw();
  return result;
}

export function sweepView(table: SweepTable, charts: uPlot[]): (HTMLElement | undefined)[] {
  const metric = table.metric ?? 'objective';
  const arrow = table.goal === 'maximize' ? ' ↑' : table.goal === 'minimize' ? ' ↓' : '';
  const names = [...new Set(table.rows.flatMap((row) => Object.keys(row.params)))].sort();
  const counts = new Map<string, number>();
  for (const row of table.rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  // A trial queued behind a full pool reads as `fineflow status` says it (src/client/sweep-trial-table.ts).
  const summary = [...counts.entries()]
    .map(([state, n]) => `${n} ${state === 'waiting' ? 'waiting for a worker' : state}`)
    .join(', ');
  const trialsTable = trialTable(table, names, `${metric}${arrow}`);
  const plot = parallelCoordinates(table.rows, metric);
  const plotBox = h('div', { class: 'chart parallel-box' }, plot, parallelKey(table.rows));
  // The frame is the charts row's item (it carries .chart's flex sizing); the plot scrolls inside it on a phone.
  const plotFrame = scrollHint(plotBox, `Parallel coordinates of ${metric}`);
  plotFrame.classList.add('chart-frame');
  // The box starts from the plot's own width (150 px an axis), beside the other chart where the row has room, on a row
  // of its own where not: from the charts' 420 px it grew to 597 px in a run page at 1280 px, and the 600 px plot
  // scrolled 3 px sideways in it. A phone still scrolls it. Set through the CSSOM: the CSP refuses style attributes.
  const plotWidth = Number(plot.getAttribute('width'));
  if (plotWidth > 0) {
    plotFrame.style.flexBasis = `${plotWidth}px`;
    plotFrame.style.maxWidth = 'none';
  }
  const progressBox = h('div', { class: 'chart', 'data-chart': 'best-so-far' });
  const curve = bestSoFar(table.rows, table.goal);
  requestAnimationFrame(() => {
    if (curve.epochs.length > 0)
      charts.push(
        lineChart(progressBox, `Best ${metric} so far`, 'epochs spent', curve.epochs, [
          { label: `best ${metric}`, values: curve.best },
        ]),
      );
  });
  return [
    h('h3', {}, `Trials${table.partial ? ` (partial: sweep ${table.outcome ?? 'ended'})` : ''}`),
    table.fromRunId
      ? h(
          'p',
          { class: 'cache-source' },
          'Served from the cache: these are the trials of run ',
          h(
            'a',
            { href: `#/runs/${encodeURIComponent(table.fromRunId)}`, 'data-run-link': table.fromRunId },
            table.fromRunId,
          ),
          '.',
        )
      : undefined,
    h(
      'p',
      { class: 'muted' },
      `${table.rows.length} trials: ${summary || 'none yet'}${table.bestTrialId !== undefined ? `; best trial ${table.bestTrialId}` : ''}`,
    ),
    table.warmStart !== undefined ? h('p', { class: 'muted', 'data-warm-start': '' }, table.warmStart) : undefined,
    // On a phone the best trial and the table come before the charts (styles.css: .sweep-body).
    h(
      'div',
      { class: 'sweep-body' },
      bestTrialBox(table, names, `${metric}${arrow}`),
      h('div', { class: 'charts' }, plotFrame, progressBox),
      h('div', { class: 'scroll trials-box' }, trialsTable),
    ),
  ];
}
