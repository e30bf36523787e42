/** Models: the registry's names, and one model's versions, aliases, card, lineage and promotion. */
import { readableJson } from '../readable-json';
import { drawDag } from '../dag';
import type { ModelCard, ModelSummary, VersionTagsView } from '../types';
import { MEASURE_WORDING, type MeasureSource, type ModelMeasures } from '../model-measure-types';
import { GATE_KEY, groupHead, hasEvaluation, versionColumns, type VersionColumn } from '../version-columns';
import { datasetVersionHref } from './datasets';
import { parseRecordedEvaluations } from '../../../core/run/register-evaluations';
import {
  confirmAction,
  errorBox,
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
  scrollHint,
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
        ...['Model', 'Description', 'Versions', 'Latest', 'Aliases', 'Latest created (UTC)', 'Latest tags'].map((t) =>
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
          // What the model is for, in its author's words (the latest version's); a long one is cut, whole in its title; none
          // leaves the cell empty (a phone's card then drops it).
          h(
            'td',
            { class: 'description card-wide', 'data-label': 'description' },
            m.latestDescription ? h('div', { class: 'clamp', title: m.latestDescription }, m.latestDescription) : '',
          ),
          h('td', { class: 'num', 'data-label': 'versions' }, m.versions),
          h('td', { class: 'num', 'data-label': 'latest' }, m.latest),
          h(
            'td',
            { 'data-label': 'aliases' },
            Object.entries(m.aliases)
              .map(([alias, v]) => `${alias} → ${v}`)
              .join(', '),
          ),
          h('td', { class: 'nowrap', 'data-label': 'created (UTC)' }, formatTime(m.latestCreatedAt)),
          h('td', { class: 'tags card-wide', 'data-label': 'tags' }, tagList(m.latestTags)),
        ),
      ),
    );
    if (models.length === 0)
      body.appendChild(
        h(
          'tr',
          {},
          h('td', { colspan: 7, class: 'empty' }, 'The registry is empty: a register-model stage adds versions.'),
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

/** Where a lineage box leads: a page of this UI (a base model outside the registry leads nowhere). */
export interface LineageLinks {
  readonly dataset?: string;
  readonly run?: string;
  readonly stage?: string;
  readonly baseModel?: string;
}

/** "Produced by RUN (stage S)": the run linked, unless Temporal no longer has it (`gone`). */
function producedByLine(card: ModelCard, gone: string | undefined): HTMLElement {
  const { runId, stage } = card.lineage;
  if (!runId) return h('p', { hidden: true });
  return h(
    'p',
    { class: 'produced-by' },
    'Produced by ',
    runId === gone
      ? `run ${runId}, whose history is gone`
      : h('a', { href: `#/runs/${encodeURIComponent(runId)}` }, runId),
    stage ? ` (stage ${stage})` : '',
  );
}

/**
 * A lineage box's target: the dataset version's page, the run, the run at the stage, the base model's page; none for
 * the run and its stage when Temporal no longer has that run (`goneRun`).
 */
function lineageLinks(card: ModelCard, datasetPrefix: string | undefined, goneRun?: string): LineageLinks {
  const lineage = card.lineage;
  const runId = lineage.trainedInRun ?? lineage.runId;
  const trainedBy = lineage.trainedByStage ?? lineage.stage;
  const base = /^registry:\/\/([^@/]+)/.exec(lineage.baseModel ?? '')?.[1];
  const run = runId && runId !== goneRun ? `#/runs/${encodeURIComponent(runId)}` : undefined;
  return {
    ...(datasetPrefix && lineage.datasetVersion
      ? { dataset: datasetVersionHref(datasetPrefix, lineage.datasetVersion) }
      : {}),
    ...(run ? { run } : {}),
    ...(run && trainedBy ? { stage: `${run}?stage=${encodeURIComponent(trainedBy)}` } : {}),
    ...(base ? { baseModel: `#/models/${encodeURIComponent(base)}` } : {}),
  };
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Each box with a target becomes a link (an SVG `a`: Tab reaches it, Enter follows it, a screen reader says "link"
 * and where it goes); a box without one is text, out of the tab order.
 */
function linkBoxes(root: SVGSVGElement, targets: ReadonlyMap<string, { href: string; label: string }>): void {
  root.setAttribute('aria-label', 'Model lineage');
  for (const group of root.querySelectorAll<SVGGElement>('g.node')) {
    const target = targets.get(group.dataset.stage ?? '');
    group.removeAttribute('tabindex');
    group.removeAttribute('role');
    if (!target) {
      group.setAttribute('role', 'img');
      group.setAttribute('aria-label', group.querySelector('title')?.textContent ?? '');
      group.classList.add('no-link');
      continue;
    }
    group.removeAttribute('aria-label');
    const link = document.createElementNS(SVG_NS, 'a');
    link.setAttribute('href', target.href);
    link.setAttribute('class', 'lineage-link');
    link.setAttribute('aria-label', target.label);
    group.replaceWith(link);
    link.appendChild(group);
  }
}

/** dataset version → run → the stage that trained the weights → model; the base model feeds that stage. */
function lineageGraph(card: ModelCard, links: LineageLinks): SVGSVGElement {
  const nodes: { id: string; uses: string; pool: string }[] = [];
  const edges: { from: string; to: string }[] = [];
  const targets = new Map<string, { href: string; label: string }>();
  const chain = (id: string, kind: string, detail: string, href?: string, label?: string): void => {
    const previous = nodes.filter((n) => n.uses !== 'base model').pop();
    nodes.push({ id, uses: kind, pool: detail });
    if (previous) edges.push({ from: previous.id, to: id });
    if (href) targets.set(id, { href, label: label ?? id });
  };
  const lineage = card.lineage;
  const trainedBy = lineage.trainedByStage ?? lineage.stage;
  if (lineage.dataset) {
    const id = lineage.datasetVersion ? `dataset ${lineage.datasetVersion.slice(0, 12)}` : 'dataset';
    chain(
      id,
      datasetTail(lineage.dataset),
      'dataset',
      links.dataset,
      `dataset version ${lineage.datasetVersion ?? ''}`,
    );
  }
  const runId = lineage.trainedInRun ?? lineage.runId;
  if (runId) chain(runId, 'run', 'run', links.run, `run ${runId}`);
  if (trainedBy)
    chain(
      `stage ${trainedBy}`,
      trainedBy === lineage.stage ? 'stage' : 'trained by stage',
      'stage',
      links.stage,
      `stage ${trainedBy} of run ${runId ?? ''}`,
    );
  chain(`${card.name}@${card.version}`, 'model', 'registry');
  if (lineage.baseModel) {
    const base = lineage.baseModel.replace(/^registry:\/\//, '').slice(0, 40);
    nodes.unshift({ id: base, uses: 'base model', pool: 'registry' });
    if (links.baseModel) targets.set(base, { href: links.baseModel, label: `base model ${base}` });
    const target = nodes.find((n) => n.id === `stage ${trainedBy}`) ?? nodes[nodes.length - 1];
    if (target) edges.push({ from: base, to: target.id });
  }
  const view = drawDag({ nodes, edges });
  view.element.classList.add('lineage');
  linkBoxes(view.element, targets);
  return view.element;
}

/** Who measured a source's numbers: "evaluate stage evaluate of run R" (linked), and the run that computed a cached one. */
function sourceByline(source: MeasureSource): Child[] {
  const stageLink = (runId: string, stage: string): HTMLElement =>
    h(
      'a',
      { href: `#/runs/${encodeURIComponent(runId)}?stage=${encodeURIComponent(stage)}` },
      `${stage} of run ${runId}`,
    );
  // A run Temporal no longer has: named, not linked (its page would only say there is no such run).
  if (source.runGone && source.runId) {
    const gone = `of run ${source.runId}, whose history is gone`;
    if (source.fromCard && source.evaluatedBy)
      return [
        `by evaluate stage ${source.evaluatedBy} ${gone}; recorded on the card by register stage ${source.stage}`,
      ];
    const of = `${source.stage ?? '(not recorded)'} ${gone}`;
    return source.fromCard ? [`recorded on the card by register stage ${of}`] : [`by fine-tune stage ${of}`];
  }
  // A sub-pipeline's evaluate stage, recorded on the card: the run is there, its own stages do not include it.
  if (source.fromCard && source.evaluatedBy && source.runId)
    return [
      `by evaluate stage ${source.evaluatedBy} of `,
      h('a', { href: `#/runs/${encodeURIComponent(source.runId)}` }, `run ${source.runId}`),
      `; recorded on the card by register stage ${source.stage ?? '(not recorded)'}`,
    ];
  const kind = source.kind === 'evaluation' ? 'evaluate stage ' : 'fine-tune stage ';
  return [
    'by ',
    kind,
    source.runId && source.stage ? stageLink(source.runId, source.stage) : (source.stage ?? '(not recorded)'),
    source.computedIn
      ? [' (served from the cache: computed by ', stageLink(source.computedIn.runId, source.computedIn.stage), ')']
      : '',
  ].flat();
}

/** The evaluated split and a space ("test "); none for numbers kept on a card, which does not record it. */
function splitOf(source: MeasureSource): string {
  return source.fromCard && !source.split ? '' : `${source.split ?? 'test'} `;
}

/** What a verdict rests on, in the gate's words; said when none were recorded rather than left blank. */
function gateReasonsText(reasons: readonly string[] | undefined): string {
  return reasons && reasons.length > 0 ? reasons.join('; ') : 'no reasons recorded';
}

/** "; gate passed", with the gate's reasons on hover. */
function gateNote(source: MeasureSource): Child[] {
  if (source.passed === undefined) return [];
  const text = `gate ${source.passed ? 'passed' : 'not passed'}`;
  return ['; ', h('span', { class: 'gate-note', title: gateReasonsText(source.gateReasons) }, text)];
}

/** The gate's reasons under the byline ("Gate: accuracy 0.93 >= min 0.9", or that none were recorded). */
function gateReasonsLine(source: MeasureSource): HTMLElement | '' {
  if (source.passed === undefined) return '';
  return h('p', { class: 'muted gate-reasons' }, `Gate: ${gateReasonsText(source.gateReasons)}`);
}

/**
 * A metric's value: a whole number (a perfect 1 for precision, recall or F1) with the decimals of the values beside
 * it, so "1" does not read as a count among "0.8000"s; examples and other counts use formatNumber.
 */
function metricText(value: number | undefined): string {
  return value !== undefined && Number.isInteger(value) ? value.toFixed(4) : formatNumber(value);
}

function metricTable(source: MeasureSource): HTMLElement {
  return h(
    'table',
    { class: 'grid compact measures', 'data-kind': source.kind },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), h('th', { scope: 'col' }, 'Value'))),
    h(
      'tbody',
      {},
      ...source.metrics.map(([name, value]) =>
        h('tr', { 'data-metric': name }, h('th', { scope: 'row' }, name), h('td', { class: 'num' }, metricText(value))),
      ),
    ),
  );
}

function perClassTable(source: MeasureSource): HTMLElement | undefined {
  if (!source.perClass || source.perClass.length === 0) return undefined;
  return h(
    'table',
    { class: 'grid compact per-class' },
    h('caption', { class: 'muted' }, source.fromCard ? 'Per class' : `Per class, on the ${splitOf(source)}set`),
    h(
      'thead',
      {},
      h('tr', {}, ...['Class', 'Precision', 'Recall', 'F1', 'Examples'].map((t) => h('th', { scope: 'col' }, t))),
    ),
    h(
      'tbody',
      {},
      ...source.perClass.map((c) =>
        h(
          'tr',
          { 'data-class': c.name },
          h('th', { scope: 'row' }, c.name),
          ...[c.precision, c.recall, c.f1].map((v) => h('td', { class: 'num' }, metricText(v))),
          h('td', { class: 'num' }, formatNumber(c.support)),
        ),
      ),
    ),
  );
}

function measureSection(source: MeasureSource): HTMLElement {
  const title = `${MEASURE_WORDING[source.kind]}: ${source.what}`;
  return h(
    'section',
    { class: `measure ${source.kind}`, 'data-kind': source.kind },
    h('h4', {}, title),
    h(
      'p',
      { class: 'muted byline' },
      ...sourceByline(source),
      source.examples !== undefined ? `; ${source.examples} ${splitOf(source)}examples` : '',
      ...gateNote(source),
    ),
    gateReasonsLine(source),
    source.problem ? h('p', { class: 'warning' }, source.problem) : metricTable(source),
    perClassTable(source),
  );
}

function drawMeasures(into: HTMLElement, measures: ModelMeasures): void {
  const sources = [...measures.sources];
  // A gone run is news about every number below, so it comes first; another problem is a footnote.
  const problem = measures.problem
    ? h('p', { class: measures.runGone ? 'notice run-gone' : 'muted', id: 'measures-problem' }, measures.problem)
    : '';
  replace(
    into,
    h('h3', {}, 'Metrics'),
    measures.runGone ? problem : '',
    sources.length === 0 ? h('p', { class: 'muted' }, 'No stage recorded metrics for this version.') : '',
    h('div', { class: 'measures-grid' }, ...sources.map(measureSection)),
    measures.runGone ? '' : problem,
  );
}

/**
 * Versions whose gate the table reads from their registering runs, for cards that do not record it (written before
 * register-model did), newest first; older ones say where to look.
 */
const GATES_READ = 10;

/** One version's measures, read once per page (the table's gate and the version's Metrics section share it). */
function versionMeasures(name: string): (version: number) => Promise<ModelMeasures> {
  const read = new Map<number, Promise<ModelMeasures>>();
  return (version) => {
    let measures = read.get(version);
    if (!measures) {
      measures = getJson<ModelMeasures>(`/api/models/${encodeURIComponent(name)}/versions/${version}/measures`);
      read.set(version, measures);
    }
    return measures;
  };
}

/** The versions table's head: each metric column under what it measures (the Metrics section's words). */
/** What is wrong with a card's `createdAt`, or undefined when it reads as a time (register-model writes one). */
function createdAtProblem(createdAt: unknown): string | undefined {
  if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt))) return undefined;
  if (createdAt === undefined || createdAt === null) return 'has no createdAt';
  const text = JSON.stringify(createdAt);
  return `has a createdAt that is not a time (${text.length > 60 ? `${text.slice(0, 59)}…` : text})`;
}

/**
 * A version's Created cell: a card whose createdAt is no time says `unknown`, the problem in its title; the card, when
 * shown, names it. One such card threw while its row was drawn and hid every version of the model.
 */
function createdCell(createdAt: unknown): HTMLElement {
  const problem = createdAtProblem(createdAt);
  return problem
    ? h('td', { class: 'nowrap warning', 'data-label': 'created (UTC)', title: `this card ${problem}` }, 'unknown')
    : h('td', { class: 'nowrap', 'data-label': 'created (UTC)' }, formatTime(createdAt as string));
}

function versionsHead(columns: readonly VersionColumn[]): HTMLElement[] {
  const span = columns.length > 0 ? 2 : 1;
  const fixed = (text: string): HTMLElement => h('th', { scope: 'col', rowspan: span }, text);
  const groups = [...new Set(columns.map((c) => c.group))].map((group) =>
    h(
      'th',
      { scope: 'colgroup', colspan: columns.filter((c) => c.group === group).length, class: `group ${group}` },
      groupHead(group),
    ),
  );
  const top = h(
    'tr',
    {},
    fixed('Version'),
    fixed('Aliases'),
    fixed('Created (UTC)'),
    ...groups,
    fixed('Tags'),
    fixed(''),
  );
  if (columns.length === 0) return [top];
  return [top, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', title: c.label }, c.head)))];
}

/** A gate verdict's text and what it rests on, for a versions table cell. */
interface GateVerdict {
  readonly text: 'passed' | 'not passed' | 'not recorded';
  readonly title: string;
}

function verdictSpan(verdict: GateVerdict): HTMLElement {
  return h('span', { class: `verdict ${verdict.text.replace(' ', '-')}`, title: verdict.title }, verdict.text);
}

/** The gate verdict the card records (register-model writes it since cards carry `evaluations`), if it does. */
function cardGate(card: ModelCard): GateVerdict | undefined {
  const recorded = parseRecordedEvaluations(card.evaluations)?.[0];
  if (!recorded) return undefined;
  const title = `by evaluate stage ${recorded.stage}: ${gateReasonsText(recorded.reasons)}`;
  return { text: recorded.passed ? 'passed' : 'not passed', title };
}

/**
 * A version's number in a column. A gate cell shows the verdict its card records; for a card written before cards
 * recorded it, the cell waits for the registering run's verdict (fillGates).
 */
function versionCell(column: VersionColumn, card: ModelCard, gates: Map<number, HTMLElement>): HTMLElement {
  if (column.key !== GATE_KEY)
    return h('td', { class: 'num', 'data-label': column.label }, metricText(card.metrics?.[column.key]));
  const cell = h('td', { class: 'gate nowrap', 'data-label': column.label });
  const recorded = cardGate(card);
  if (recorded) cell.append(verdictSpan(recorded));
  else if (hasEvaluation(card)) gates.set(card.version, cell);
  return cell;
}

/** What a version's registering run says of its gate: "passed", "not passed", or "not recorded" and why. */
function gateVerdict(measures: ModelMeasures): GateVerdict {
  const evaluation = measures.sources.find((s) => s.kind === 'evaluation' && s.passed !== undefined);
  if (evaluation?.passed !== undefined)
    return { text: evaluation.passed ? 'passed' : 'not passed', title: `by evaluate stage ${evaluation.stage ?? ''}` };
  return {
    text: 'not recorded',
    title: measures.problem ?? 'neither the card nor its registering run records a gate verdict for this version',
  };
}

/** Each gate cell of the newest versions, one registering run at a time (each is a read of that run's history). */
async function fillGates(
  gates: ReadonlyMap<number, HTMLElement>,
  measuresOf: (version: number) => Promise<ModelMeasures>,
): Promise<void> {
  const versions = [...gates.keys()].sort((a, b) => b - a);
  for (const [index, version] of versions.entries()) {
    const cell = gates.get(version);
    if (!cell) continue;
    if (index >= GATES_READ) {
      cell.append(h('span', { class: 'muted', title: "open the version's card: its Metrics say" }, 'not read'));
      continue;
    }
    cell.setAttribute('aria-busy', 'true');
    cell.textContent = '…';
    const verdict = await measuresOf(version).then(gateVerdict, (error: unknown): GateVerdict => ({
      text: 'not recorded',
      title: `the card records no gate verdict and its registering run could not be read: ${
        error instanceof Error ? error.message : String(error)
      }`,
    }));
    cell.removeAttribute('aria-busy');
    replace(cell, verdictSpan(verdict));
  }
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
    const columns = versionColumns(model.versions);
    const measuresOf = versionMeasures(name);
    const cardBox = h('div', { class: 'card' });
    let cardsShown = 0;
    const rowsByVersion = new Map<number, HTMLElement>();
    // `reveal`: a reader asked for this version (its Card button): the focus and the screen move to what it shows,
    // below the table, where on a phone a click seemed to do nothing.
    const showCard = (card: ModelCard, reveal = false): void => {
      for (const [version, row] of rowsByVersion)
        if (version === card.version) row.setAttribute('aria-current', 'true');
        else row.removeAttribute('aria-current');
      const lineageBox = h('div', { class: 'scroll lineage-box' }, lineageGraph(card, lineageLinks(card, undefined)));
      const measuresBox = h('div', { class: 'measures-box' }, h('p', { class: 'muted' }, 'Loading metrics…'));
      const producedBy = producedByLine(card, undefined);
      const shown = ++cardsShown;
      measuresOf(card.version).then(
        (measures) => {
          if (shown !== cardsShown) return;
          drawMeasures(measuresBox, measures);
          if (measures.datasetPrefix || measures.runGone)
            lineageBox.replaceChildren(
              lineageGraph(card, lineageLinks(card, measures.datasetPrefix, measures.runGone)),
            );
          // A run Temporal no longer has is named, not linked: its page would only say there is no such run.
          if (measures.runGone) producedBy.replaceWith(producedByLine(card, measures.runGone));
        },
        (error: unknown) => {
          if (shown !== cardsShown) return;
          replace(measuresBox, h('h3', {}, 'Metrics'), errorBox(error));
        },
      );
      const heading = h('h2', { tabindex: -1 }, `Version ${card.version}`);
      const createdProblem = createdAtProblem(card.createdAt);
      replace(
        cardBox,
        heading,
        createdProblem
          ? h(
              'p',
              { class: 'warning card-problem', role: 'note' },
              `This card ${createdProblem}: when it was made is unknown.`,
            )
          : '',
        card.description ? h('p', { class: 'description' }, card.description) : '',
        h('h3', {}, 'Lineage'),
        // At its own size in a box that scrolls sideways, as the run page's DAG: shrunk to a phone's width, its
        // five nodes' text was 4 px high. Each box links to what it names.
        scrollHint(lineageBox, 'Lineage'),
        measuresBox,
        producedBy,
        h('h3', {}, 'Card'),
        h('pre', { class: 'json' }, readableJson(card)),
      );
      if (reveal) {
        heading.focus({ preventScroll: true });
        heading.scrollIntoView({ block: 'start' });
      }
    };
    const gates = new Map<number, HTMLElement>();
    const rows = [...model.versions].reverse().map((card) => {
      const show = h('button', { type: 'button', 'aria-label': `show card of version ${card.version}` }, 'Card');
      show.addEventListener('click', () => showCard(card, true));
      const row = h(
        'tr',
        { 'data-version': card.version },
        h('td', { class: 'num card-title', 'data-label': 'version' }, card.version),
        h('td', { class: 'aliases', 'data-label': 'aliases' }, aliasesOf(card.version).join(', ')),
        createdCell(card.createdAt),
        ...columns.map((column) => versionCell(column, card, gates)),
        h('td', { class: 'tags card-wide', 'data-label': 'tags' }, tagList(model.tags[card.version])),
        h('td', {}, show),
      );
      rowsByVersion.set(card.version, row);
      return row;
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
        h('thead', {}, ...versionsHead(columns)),
        h('tbody', {}, ...rows),
      ),
      cardBox,
    );
    if (latest) showCard(latest);
    void fillGates(gates, measuresOf);
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
