/** A sweep stage's trials: the table (best marked), a parallel-coordinates plot and best-so-far against epochs spent. */
import type uPlot from 'uplot';
import { bestSoFar, lineChart, parallelCoordinates, parallelKey } from '../charts';
import type { SweepTable } from '../types';
import { formatNumber, h, scrollHint } from '../util';

/** A trial's param: a number to 4 significant digits, a choice as written (it read "all", in JSON quotes). */
function paramText(value: unknown): string {
  return typeof value === 'string' ? value : formatNumber(value);
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
  const trialTable = h(
    'table',
    // On a phone each trial is a card (styles.css: table.grid.cards), every value after its column's name.
    {
      class: 'grid compact trials cards',
      'data-trials': table.rows.length,
      'aria-label': `Trials of ${table.stageId}`,
    },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['', 'Trial', 'State', 'Epochs', `${metric}${arrow}`, ...names].map((title) =>
          h('th', { scope: 'col' }, title),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...table.rows.map((row) =>
        h(
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
          h('td', { class: 'num', 'data-label': 'Epochs' }, row.epochs),
          h(
            'td',
            { class: 'num', 'data-label': `${metric}${arrow}` },
            row.objective !== undefined ? formatNumber(row.objective) : '–',
          ),
          ...names.map((name) => h('td', { 'data-label': name }, paramText(row.params[name]))),
        ),
      ),
    ),
  );
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
    h('div', { class: 'charts' }, plotFrame, progressBox),
    h('div', { class: 'scroll' }, trialTable),
  ];
}
