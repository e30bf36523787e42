/** Models: the registry's names, and one model's versions, aliases, card, lineage and promotion. */
import { readableJson } from '../readable-json';
import { drawDag } from '../dag';
import type { ModelCard, ModelSummary, VersionTagsView } from '../types';
import {
  confirmAction,
  formatNumber,
  formatTime,
  getJson,
  h,
  loadInto,
  postJson,
  replace,
  settings,
  slowDependency,
  toast,
  type Child,
  type Page,
} from '../util';

/** What a slow registry read waits for: the object store holds the registry. */
function slowRegistry(what: string): Child[] {
  return slowDependency(what, 'the object store that holds the registry has not answered');
}

/** A version's tags as `key=value` chips (text only), with what was left out or why none could be read. */
function tagList(view: VersionTagsView | undefined): HTMLElement {
  if (view?.error) return h('span', { class: 'warning', title: view.error }, 'tags unreadable');
  if (!view || view.tags.length === 0) return h('span', { class: 'muted' }, '–');
  return h(
    'ul',
    { class: 'tags' },
    ...view.tags.map(([key, value]) => h('li', { class: 'tag', title: `${key}=${value}` }, `${key}=${value}`)),
    view.omitted
      ? h('li', { class: 'muted', title: 'fineflow models show NAME@VERSION prints them all' }, `+${view.omitted} more`)
      : undefined,
  );
}

export function modelsPage(): Page {
  const body = h('tbody');
  const status = h('div');
  const table = h(
    'table',
    // On a phone, a card per model (styles.css: table.grid.cards). Shown once the registry is read.
    { class: 'grid cards', hidden: true },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Model', 'Versions', 'Latest', 'Aliases', 'Latest created', 'Latest tags'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    body,
  );
  const element = h('section', { class: 'page models' }, h('h1', {}, 'Models'), status, table);
  const draw = (models: readonly ModelSummary[]): void => {
    table.hidden = false;
    body.replaceChildren(
      ...models.map((m) =>
        h(
          'tr',
          { 'data-model': m.name },
          h('td', { class: 'nowrap card-title' }, h('a', { href: `#/models/${encodeURIComponent(m.name)}` }, m.name)),
          h('td', { class: 'num', 'data-label': 'versions' }, m.versions),
          h('td', { class: 'num', 'data-label': 'latest' }, m.latest),
          h(
            'td',
            { 'data-label': 'aliases' },
            Object.entries(m.aliases)
              .map(([alias, v]) => `${alias} → ${v}`)
              .join(', '),
          ),
          h('td', { class: 'nowrap', 'data-label': 'created' }, formatTime(m.latestCreatedAt)),
          h('td', { class: 'tags card-wide', 'data-label': 'tags' }, tagList(m.latestTags)),
        ),
      ),
    );
    if (models.length === 0)
      body.appendChild(
        h(
          'tr',
          {},
          h('td', { colspan: 6, class: 'empty' }, 'The registry is empty: a register-model stage adds versions.'),
        ),
      );
  };
  const reading = loadInto(
    status,
    { loading: 'Loading models…', slow: slowRegistry('models'), what: 'the models' },
    () => getJson<{ models: ModelSummary[] }>('/api/models'),
    ({ models }) => draw(models),
  );
  return { element, dispose: reading.dispose };
}

/** `/api/models/NAME`: the registry's view of a model, and each version's tags by version. */
interface ModelDetails {
  readonly name: string;
  readonly aliases: Record<string, number>;
  readonly versions: ModelCard[];
  readonly tags: Readonly<Record<number, VersionTagsView>>;
}

/** dataset version → run → stage → model version, as a small DAG. */
/** The part of a dataset URI a reader recognises: its last folders (a prepared dataset's manifest.json dropped). */
function datasetTail(uri: string): string {
  const parts = uri
    .replace(/^s3:\/\/[^/]+\//, '')
    .replace(/\/manifest\.json$/, '')
    .split('/')
    .filter((p) => p !== '');
  return parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : parts.join('/');
}

/** dataset version → run → the stage that trained the weights → model; the base model feeds that stage. */
function lineageGraph(card: ModelCard): SVGSVGElement {
  const nodes: { id: string; uses: string; pool: string }[] = [];
  const edges: { from: string; to: string }[] = [];
  const chain = (id: string, kind: string, detail: string): void => {
    const previous = nodes.filter((n) => n.uses !== 'base model').pop();
    nodes.push({ id, uses: kind, pool: detail });
    if (previous) edges.push({ from: previous.id, to: id });
  };
  const lineage = card.lineage;
  const trainedBy = lineage.trainedByStage ?? lineage.stage;
  if (lineage.dataset)
    chain(
      lineage.datasetVersion ? `dataset ${lineage.datasetVersion.slice(0, 12)}` : 'dataset',
      datasetTail(lineage.dataset),
      'dataset',
    );
  const runId = lineage.trainedInRun ?? lineage.runId;
  if (runId) chain(runId, 'run', 'run');
  if (trainedBy) chain(`stage ${trainedBy}`, trainedBy === lineage.stage ? 'stage' : 'trained by stage', 'stage');
  chain(`${card.name}@${card.version}`, 'model', 'registry');
  if (lineage.baseModel) {
    const base = lineage.baseModel.replace(/^registry:\/\//, '').slice(0, 40);
    nodes.unshift({ id: base, uses: 'base model', pool: 'registry' });
    const target = nodes.find((n) => n.id === `stage ${trainedBy}`) ?? nodes[nodes.length - 1];
    if (target) edges.push({ from: base, to: target.id });
  }
  const view = drawDag({ nodes, edges }, (id) => {
    if (id === runId) location.hash = `#/runs/${encodeURIComponent(id)}`;
  });
  view.element.classList.add('lineage');
  return view.element;
}

export function modelPage(name: string): Page {
  const status = h('div');
  const content = h('div');
  const element = h('section', { class: 'page model' }, h('h1', {}, `Model ${name}`), status, content);
  const draw = (model: ModelDetails): void => {
    const aliasesOf = (version: number): string[] =>
      Object.entries(model.aliases)
        .filter(([, v]) => v === version)
        .map(([a]) => a);
    const metricNames = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics ?? {})))].slice(0, 6);
    const cardBox = h('div', { class: 'card' });
    const showCard = (card: ModelCard): void => {
      replace(
        cardBox,
        h('h2', {}, `Version ${card.version}`),
        h('h3', {}, 'Lineage'),
        // At its own size in a box that scrolls sideways, as the run page's DAG: shrunk to a phone's width, its
        // five nodes' text was 4 px high.
        h('div', { class: 'scroll lineage-box' }, lineageGraph(card)),
        card.lineage.runId
          ? h(
              'p',
              {},
              'Produced by ',
              h('a', { href: `#/runs/${encodeURIComponent(card.lineage.runId)}` }, card.lineage.runId),
              card.lineage.stage ? ` (stage ${card.lineage.stage})` : '',
            )
          : undefined,
        h('h3', {}, 'Card'),
        h('pre', { class: 'json' }, readableJson(card)),
      );
    };
    const rows = [...model.versions].reverse().map((card) => {
      const show = h('button', { type: 'button', 'aria-label': `show card of version ${card.version}` }, 'Card');
      show.addEventListener('click', () => showCard(card));
      return h(
        'tr',
        { 'data-version': card.version },
        h('td', { class: 'num card-title', 'data-label': 'version' }, card.version),
        h('td', { class: 'aliases', 'data-label': 'aliases' }, aliasesOf(card.version).join(', ')),
        h('td', { class: 'nowrap', 'data-label': 'created' }, formatTime(card.createdAt)),
        ...metricNames.map((m) => h('td', { class: 'num', 'data-label': m }, formatNumber(card.metrics?.[m]))),
        h('td', { class: 'tags card-wide', 'data-label': 'tags' }, tagList(model.tags[card.version])),
        h('td', {}, show),
      );
    });
    const latest = model.versions[model.versions.length - 1];
    content.replaceChildren(
      h(
        'p',
        {},
        'Aliases: ',
        h(
          'span',
          { id: 'model-aliases' },
          Object.entries(model.aliases)
            .map(([a, v]) => `${a} → ${v}`)
            .join(', ') || 'none',
        ),
      ),
      settings.readOnly
        ? ''
        : promoteForm(
            name,
            model.versions.map((v) => v.version),
            () => reading.load(),
          ),
      h(
        'table',
        // On a phone, a card per version (styles.css: table.grid.cards).
        { class: 'grid compact cards' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Version', 'Aliases', 'Created', ...metricNames, 'Tags', ''].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
      cardBox,
    );
    if (latest) showCard(latest);
  };
  const reading = loadInto(
    status,
    { loading: `Loading model ${name}…`, slow: slowRegistry(`model ${name}`), what: `model ${name}` },
    () => getJson<ModelDetails>(`/api/models/${encodeURIComponent(name)}`),
    draw,
  );
  return { element, dispose: reading.dispose };
}

function promoteForm(name: string, versions: readonly number[], reload: () => void): HTMLElement {
  const version = h(
    'select',
    { id: 'promote-version', name: 'version' },
    ...[...versions].reverse().map((v) => h('option', { value: v }, String(v))),
  );
  const alias = h('input', {
    id: 'promote-alias',
    name: 'alias',
    value: 'champion',
    required: true,
    pattern: '[a-z][a-z0-9._\\-]{0,62}',
    autocomplete: 'off',
  });
  const form = h(
    'form',
    { class: 'promote', 'aria-label': 'Promote a version' },
    h('label', { for: 'promote-version' }, 'Version', version),
    h('label', { for: 'promote-alias' }, 'Alias', alias),
    h('button', { type: 'submit', class: 'primary', id: 'promote' }, 'Promote'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      if (
        !(await confirmAction(
          `Point ${name}@${alias.value} at version ${version.value}?`,
          ['Pipelines that load this alias get the new version from their next run.'],
          'Promote',
        ))
      )
        return;
      try {
        const result = await postJson<{ version: number; previous?: number }>(
          `/api/models/${encodeURIComponent(name)}/promote`,
          { version: Number(version.value), alias: alias.value },
        );
        toast(
          `${name}@${alias.value} → ${result.version}${result.previous !== undefined ? ` (was ${result.previous})` : ''}`,
        );
        reload();
      } catch (error) {
        toast(error instanceof Error ? error.message : String(error), 'error');
      }
    })();
  });
  return form;
}
