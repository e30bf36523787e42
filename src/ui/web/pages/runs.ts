/** Runs: filter by pipeline, status and trigger; refreshed every few seconds while shown. */
import type { RunSummary } from '../types';
import { formatDuration, formatTime, getJson, h, loadingNote, showLoadFailure, statusBadge, type Page } from '../util';

const STATUSES = ['', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];
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
  // Until the first list arrives (on a phone the cards' headings are hidden, so the page was blank meanwhile).
  const loading = loadingNote('Loading runs…', [
    'Still loading runs: Temporal has not answered the list yet. Check that it is up (',
    h('code', {}, 'fineflow dev status'),
    ' for a local stack).',
  ]);
  const problem = h('div', {}, loading.element);
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
          h('td', { class: 'run-id' }, h('a', { href: `#/runs/${encodeURIComponent(run.runId)}` }, run.runId)),
          h('td', { 'data-label': 'pipeline' }, run.pipeline),
          h('td', { class: 'status' }, statusBadge(run.status)),
          h('td', { 'data-label': 'trigger' }, run.trigger),
          h('td', { 'data-label': 'started' }, formatTime(run.startedAt)),
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

  let timer: number | undefined;
  let disposed = false;
  let reads = 0;
  const load = async (): Promise<void> => {
    // Only the newest read draws and schedules the next (a Retry while a refresh is out).
    const turn = ++reads;
    window.clearTimeout(timer);
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    try {
      const { runs } = await getJson<{ runs: RunSummary[] }>(`/api/runs?${query}`);
      if (turn !== reads) return;
      loading.stop();
      problem.replaceChildren();
      table.hidden = false;
      draw(runs);
    } catch (error) {
      if (turn !== reads) return;
      loading.stop();
      // The list also retries itself every few seconds.
      showLoadFailure(problem, 'the runs', error, () => void load());
    }
    if (!disposed) timer = window.setTimeout(() => void load(), REFRESH_MS);
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
  void load();
  return {
    element,
    dispose() {
      disposed = true;
      loading.stop();
      window.clearTimeout(timer);
    },
  };
}
