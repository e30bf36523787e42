/** Runs: filter by pipeline, status and trigger; refreshed every few seconds while shown. */
import type { RunSummary } from '../types';
import { formatDuration, formatTime, getJson, h, loadInto, slowDependency, statusBadge, type Page } from '../util';

const STATUSES = ['', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'terminated', 'timed-out'];
const TRIGGERS = ['', 'manual', 'schedule', 'new-data', 'rerun'];
const REFRESH_MS = 3_000;

function select(name: string, label: string, options: readonly string[], value: string): HTMLElement {
  const element = h(
    'select',
    { name, id: `filter-${name}` },
    ...options.map((option) => h('option', { value: option, selected: option === value }, option || 'any')),
  );
  return h('label', { for: `filter-${name}` }, label, element);
}

export function runsPage(params: URLSearchParams): Page {
  const filters = {
    pipeline: params.get('pipeline') ?? '',
    status: params.get('status') ?? '',
    trigger: params.get('trigger') ?? '',
  };
  const body = h('tbody');
  const problem = h('div');
  const compareButton = h('button', { type: 'button', disabled: true }, 'Compare selected');
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h(
      'label',
      { for: 'filter-pipeline' },
      'Pipeline',
      h('input', {
        id: 'filter-pipeline',
        name: 'pipeline',
        value: filters.pipeline,
        placeholder: 'any',
        autocomplete: 'off',
      }),
    ),
    select('status', 'Status', STATUSES, filters.status),
    select('trigger', 'Trigger', TRIGGERS, filters.trigger),
    h('button', { type: 'submit' }, 'Filter'),
    compareButton,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const key of ['pipeline', 'status', 'trigger']) {
      const value = String(data.get(key) ?? '').trim();
      if (value) query.set(key, value);
    }
    location.hash = `#/runs${query.size ? `?${query}` : ''}`;
  });
  const selected = new Set<string>();
  compareButton.addEventListener('click', () => {
    location.hash = `#/compare?runs=${[...selected].map(encodeURIComponent).join(',')}`;
  });

  const draw = (runs: readonly RunSummary[]): void => {
    body.replaceChildren(
      ...runs.map((run) => {
        const box = h('input', {
          type: 'checkbox',
          'aria-label': `select ${run.runId} to compare`,
          'data-focus-key': `pick:${run.runId}`,
          checked: selected.has(run.runId),
        });
        box.addEventListener('change', () => {
          if (box.checked) selected.add(run.runId);
          else selected.delete(run.runId);
          compareButton.disabled = selected.size < 2;
        });
        return h(
          'tr',
          { 'data-run-id': run.runId, 'data-status': run.status },
          h('td', { class: 'pick' }, box),
          h(
            'td',
            { class: 'run-id' },
            h(
              'a',
              { href: `#/runs/${encodeURIComponent(run.runId)}`, 'data-focus-key': `run:${run.runId}` },
              run.runId,
            ),
          ),
          h('td', { 'data-label': 'pipeline' }, run.pipeline),
          h('td', { class: 'status' }, statusBadge(run.status)),
          h('td', { 'data-label': 'trigger' }, run.trigger),
          // A phone's card has no column heading: its label says the zone the heading says.
          h('td', { 'data-label': 'started (UTC)' }, formatTime(run.startedAt)),
          h('td', { class: 'num', 'data-label': 'took' }, formatDuration(run.startedAt, run.endedAt)),
        );
      }),
    );
    if (runs.length === 0)
      body.appendChild(
        h(
          'tr',
          {},
          h(
            'td',
            { colspan: 7, class: 'empty' },
            'No runs match. Submit one with `fineflow submit FILE` or from the Pipelines page.',
          ),
        ),
      );
  };

  const table = h(
    'table',
    // Shown once the first list arrives.
    { class: 'grid runs cards', 'aria-label': 'Runs', hidden: true },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'compare')),
        ...['Run', 'Pipeline', 'Status', 'Trigger', 'Started (UTC)', 'Duration'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    body,
  );
  const element = h('section', { class: 'page runs' }, h('h1', {}, 'Runs'), form, problem, table);
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
  const reading = loadInto(
    problem,
    {
      // Until the first list arrives (on a phone the cards' headings are hidden, so the page was blank meanwhile).
      loading: 'Loading runs…',
      slow: slowDependency('runs', 'Temporal has not answered the list'),
      what: 'the runs',
      refreshMs: REFRESH_MS,
    },
    () => getJson<{ runs: RunSummary[] }>(`/api/runs?${query}`),
    ({ runs }) => {
      table.hidden = false;
      draw(runs);
    },
  );
  return { element, dispose: reading.dispose };
}
