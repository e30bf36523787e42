/**
 * Datasets: every prefix with recorded versions (`fineflow data push`, a new-data watcher, a prepare-data stage),
 * newest first; and one version: its objects a page at a time, the runs whose prepare-data read it with the quality
 * checks' outcomes, and what changed since the version before it (as `fineflow data diff` prints it).
 */
import type {
  DatasetCompareView,
  DatasetObjectView,
  DatasetReadView,
  DatasetVersionRow,
  DatasetVersionView,
  DatasetView,
  DatasetsView,
} from '../dataset-types';
import { firstSealTime, resealedWords, sealedByWords } from '../../../core/datasets/sealed-by';
import {
  formatBytes,
  formatTime,
  formatTimeInText,
  getJson,
  h,
  loadInto,
  replace,
  slowDependency,
  type Child,
  type Page,
} from '../util';

const short = (id: string): string => id.slice(0, 12);

/** The hash of a version's page. */
export function datasetVersionHref(prefix: string, id: string, offset = 0): string {
  return `#/datasets/${encodeURIComponent(prefix)}/${id}${offset > 0 ? `?offset=${offset}` : ''}`;
}

function slowStore(what: string): Child[] {
  return slowDependency(what, 'the object store that holds the dataset manifests has not answered');
}

const VERDICT_WORDS: Readonly<Record<NonNullable<DatasetReadView['verdict']>, string>> = {
  passed: 'checks passed',
  warnings: 'warnings',
  failed: 'checks failed',
};

/** A read without a verdict: still reading, failed (not by its checks), or stopped (its run ended first). */
const UNFINISHED: Readonly<
  Record<'reading' | 'failed' | 'stopped', { readonly words: string; readonly title: string }>
> = {
  reading: { words: 'reading', title: 'a prepare-data stage is reading it now: no verdict yet' },
  failed: {
    words: 'read failed',
    title: 'the prepare-data stage failed before its checks could finish (the store, a file, a cancel): no verdict',
  },
  stopped: { words: 'stopped reading', title: 'its run ended before the stage finished reading: no verdict' },
};

function verdictBadge(
  verdict: DatasetReadView['verdict'] | undefined,
  state: DatasetReadView['state'] | undefined,
): HTMLElement {
  if (state === 'reading' || state === 'failed' || state === 'stopped')
    return h('span', { class: `badge read-${state}`, title: UNFINISHED[state].title }, UNFINISHED[state].words);
  if (!verdict) return h('span', { class: 'muted', title: 'no prepare-data stage has read this version' }, '–');
  return h(
    'span',
    { class: `badge verdict-${verdict}`, title: 'quality checks of the newest prepare-data stage that read it' },
    VERDICT_WORDS[verdict],
  );
}

function versionRow(prefix: string, v: DatasetVersionRow): HTMLElement {
  return h(
    'tr',
    { 'data-version': v.id },
    h(
      'td',
      { class: 'card-title mono' },
      h('a', { href: datasetVersionHref(prefix, v.id), title: v.id }, short(v.id)),
      v.problem ? h('span', { class: 'warning', title: v.problem }, ' manifest unreadable') : undefined,
    ),
    h('td', { class: 'nowrap', 'data-label': 'sealed (UTC)' }, formatTime(firstSealTime(v))),
    h('td', { class: 'num', 'data-label': 'objects' }, v.count ?? ''),
    h('td', { class: 'num nowrap', 'data-label': 'size' }, v.bytes === undefined ? '' : formatBytes(v.bytes)),
    h('td', { 'data-label': 'by' }, sealedByWords(v, formatTimeInText)),
    h('td', { 'data-label': 'quality' }, verdictBadge(v.verdict, v.readState)),
    h(
      'td',
      { class: 'num', 'data-label': 'read by' },
      v.reads > 0 ? `${v.reads} run stage${v.reads > 1 ? 's' : ''}` : '',
    ),
  );
}

function datasetSection(dataset: DatasetView): HTMLElement {
  return h(
    'section',
    { class: 'dataset', 'data-prefix': dataset.prefix },
    h('h2', { class: 'mono' }, dataset.prefix),
    h(
      'table',
      { class: 'grid cards' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Version', 'Sealed (UTC)', 'Objects', 'Size', 'Sealed by', 'Quality', 'Read by'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, ...dataset.versions.map((v) => versionRow(dataset.prefix, v))),
    ),
    dataset.omitted > 0
      ? h(
          'p',
          { class: 'muted' },
          `${dataset.omitted} older version(s) not shown: `,
          h('code', {}, `fineflow data versions ${dataset.prefix}`),
          ' lists them all.',
        )
      : undefined,
  );
}

/** What a user with no versions yet does to get one. */
function emptyState(): HTMLElement {
  return h(
    'div',
    { class: 'empty-state' },
    h('p', {}, 'No dataset versions are recorded yet. Push a folder to seal one:'),
    h('pre', { class: 'json' }, 'fineflow data push ./my-data s3://datasets/my-data/'),
    h(
      'p',
      { class: 'muted' },
      'A new-data watcher and a prepare-data stage that reads an unpinned prefix record versions too. Pin one in a ' +
        'pipeline with source: s3://datasets/my-data/@<version>.',
    ),
  );
}

export function datasetsPage(): Page {
  const status = h('div');
  const content = h('div');
  const element = h('section', { class: 'page datasets' }, h('h1', {}, 'Datasets'), status, content);
  const draw = (view: DatasetsView): void => {
    content.replaceChildren(
      ...(view.datasets.length === 0 ? [emptyState()] : view.datasets.map(datasetSection)),
      view.truncated
        ? h(
            'p',
            { class: 'warning' },
            'The store holds more manifests than this page reads: not every dataset is shown.',
          )
        : '',
    );
  };
  const reading = loadInto(
    status,
    { loading: 'Loading datasets…', slow: slowStore('datasets'), what: 'the datasets' },
    () => getJson<DatasetsView>('/api/datasets'),
    draw,
  );
  return { element, dispose: reading.dispose };
}

/** A term and its value; `data-fact` is the term without its zone (`sealed (UTC)` → `sealed`). */
function fact(term: string, ...value: Child[]): HTMLElement[] {
  return [h('dt', {}, term), h('dd', { 'data-fact': term.replace(/ \(UTC\)$/, '') }, ...value)];
}

function objectRow(o: DatasetObjectView, mark?: string): HTMLElement {
  return h(
    'tr',
    {},
    mark === undefined
      ? undefined
      : h(
          'td',
          { class: `card-mark diff-mark diff-${mark}`, title: DIFF_WORDS[mark] },
          h('span', { 'aria-hidden': 'true' }, mark),
          h('span', { class: 'sr-only' }, DIFF_WORDS[mark] ?? mark),
        ),
    h('td', { class: 'card-title mono key' }, o.key),
    h('td', { class: 'num nowrap', 'data-label': 'size' }, formatBytes(o.size)),
    h('td', { class: 'mono hash', 'data-label': 'sha256', title: o.sha256 }, short(o.sha256)),
  );
}

const DIFF_WORDS: Record<string, string> = { '+': 'added', '-': 'removed', '~': 'changed' };

function objectsTable(version: DatasetVersionView): HTMLElement[] {
  const first = version.offset + 1;
  const last = version.offset + version.objects.length;
  const pager = (label: string, offset: number): HTMLElement =>
    h('a', { href: datasetVersionHref(version.prefix, version.id, offset), class: 'pager' }, label);
  const pageSize = Math.max(version.objects.length, 1);
  return [
    h(
      'p',
      { class: 'muted', id: 'objects-range' },
      version.count === 0 ? 'No objects.' : `Objects ${first}–${last} of ${version.count}, in key order. `,
      version.offset > 0 ? pager('← previous', Math.max(0, version.offset - pageSize)) : undefined,
      version.offset > 0 && last < version.count ? ' · ' : undefined,
      last < version.count ? pager('next →', last) : undefined,
    ),
    h(
      'table',
      { class: 'grid cards objects' },
      h('thead', {}, h('tr', {}, ...['Key', 'Size', 'sha256'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...version.objects.map((o) => objectRow(o))),
    ),
  ];
}

/** When it finished reading, failed, or (still reading, or stopped) began. */
function readTime(read: DatasetReadView): string {
  if (read.state === 'read') return formatTime(read.at);
  return read.state === 'failed' ? `failed ${formatTime(read.at)}` : `began ${formatTime(read.at)}`;
}

function checksText(read: DatasetReadView): string {
  // Its error's first line, as the record keeps it (redacted, bounded): the stage log has the rest.
  if (read.state === 'failed')
    return `never run: attempt ${read.attempt ?? '?'} failed first (${read.errorType ?? 'error'}): ${read.error ?? ''}`;
  if (read.state !== 'read') return read.state === 'reading' ? 'not run yet' : 'never run: the read stopped';
  const found = read.checks.filter((c) => c.outcome !== 'ok');
  if (found.length === 0) return `all ${read.checks.length} checks found nothing`;
  return found.map((c) => `${c.check}: ${c.count} (${c.outcome})`).join(', ');
}

/** The stage's data report, or why there is none (its checks stopped it first). */
function reportLink(read: DatasetReadView): HTMLElement {
  if (read.state === 'reading') return h('span', { class: 'muted' }, 'not yet: the stage is reading');
  if (read.state === 'stopped') return h('span', { class: 'muted' }, 'none: the run ended before the stage finished');
  if (read.state === 'failed') return h('span', { class: 'muted' }, 'none: the stage failed before it finished');
  if (!read.hasReport)
    return h('span', { class: 'muted' }, 'none: the checks stopped the stage (its log lists the findings)');
  return h(
    'a',
    {
      href: `/api/runs/${encodeURIComponent(read.runId)}/stages/${encodeURIComponent(read.stage)}/report`,
      target: '_blank',
      rel: 'noopener',
    },
    'data report',
  );
}

function readsSection(version: DatasetVersionView): Child[] {
  if (version.reads.length === 0)
    return [
      h(
        'p',
        { class: 'muted', id: 'no-reads' },
        'No run has read this version in a prepare-data stage yet (a stage served from the cache reads nothing).',
      ),
    ];
  const rows = version.reads.map((read) =>
    h(
      'tr',
      { 'data-run': read.runId },
      h(
        'td',
        { class: 'card-title' },
        h(
          'a',
          { href: `#/runs/${encodeURIComponent(read.runId)}?stage=${encodeURIComponent(read.stage)}` },
          read.runId,
        ),
      ),
      h('td', { 'data-label': 'stage' }, read.stage),
      h('td', { class: 'nowrap', 'data-label': 'read (UTC)' }, readTime(read)),
      h('td', { 'data-label': 'quality' }, verdictBadge(read.verdict, read.state)),
      h('td', { class: 'card-wide', 'data-label': 'checks' }, checksText(read)),
      h(
        'td',
        { class: 'num', 'data-label': 'kept' },
        read.state === 'read' ? `${read.kept} of ${read.records} records, ${read.classes} classes` : '',
      ),
      h('td', { 'data-label': 'report' }, reportLink(read)),
    ),
  );
  return [
    h(
      'table',
      { class: 'grid cards reads' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Run', 'Stage', 'Read (UTC)', 'Quality', 'Checks', 'Kept', ''].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
    version.readCount > version.reads.length
      ? h('p', { class: 'muted' }, `The newest ${version.reads.length} of ${version.readCount} shown.`)
      : '',
  ];
}

function compareSection(version: DatasetVersionView): Child[] {
  if (version.compareProblem)
    return [h('p', { class: 'warning' }, `The previous version could not be read: ${version.compareProblem}`)];
  const compare: DatasetCompareView | undefined = version.compare;
  if (!compare)
    return [h('p', { class: 'muted', id: 'compare-summary' }, 'The first recorded version of this prefix.')];
  const { counts } = compare;
  const cut = (shown: number, total: number, what: string): Child =>
    total > shown ? h('li', { class: 'muted' }, `${total - shown} more ${what} not shown`) : undefined;
  const rows = [
    ...compare.added.map((o) => objectRow(o, '+')),
    ...compare.removed.map((o) => objectRow(o, '-')),
    ...compare.changed.map((c) => objectRow(c.after, '~')),
  ];
  return [
    h(
      'p',
      { id: 'compare-summary' },
      'Since ',
      h(
        'a',
        { href: datasetVersionHref(version.prefix, compare.from), class: 'mono', title: compare.from },
        short(compare.from),
      ),
      `: ${counts.added} added, ${counts.removed} removed, ${counts.changed} changed, ${counts.unchanged} unchanged.`,
    ),
    rows.length > 0
      ? h(
          'table',
          { class: 'grid cards compare-objects' },
          h('thead', {}, h('tr', {}, ...['', 'Key', 'Size', 'sha256'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, ...rows),
        )
      : '',
    h(
      'ul',
      { class: 'plain' },
      cut(compare.added.length, counts.added, 'added'),
      cut(compare.removed.length, counts.removed, 'removed'),
      cut(compare.changed.length, counts.changed, 'changed'),
    ),
    h(
      'p',
      { class: 'muted' },
      'In a terminal: ',
      h('code', {}, `fineflow data diff ${version.prefix}@${compare.from} ${version.id}`),
    ),
  ];
}

export function datasetVersionPage(prefix: string, id: string, params: URLSearchParams): Page {
  const status = h('div');
  const content = h('div');
  const element = h(
    'section',
    { class: 'page dataset-version' },
    h('p', {}, h('a', { href: '#/datasets' }, '← Datasets')),
    h('h1', {}, 'Version ', h('span', { class: 'mono', title: id }, short(id))),
    status,
    content,
  );
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  const draw = (version: DatasetVersionView): void => {
    replace(
      content,
      h(
        'dl',
        { class: 'facts' },
        ...fact('prefix', h('span', { class: 'mono' }, version.prefix)),
        ...fact('version', h('span', { class: 'mono' }, version.id)),
        ...fact('sealed (UTC)', formatTime(firstSealTime(version))),
        ...fact(
          'by',
          version.firstSealedBy ?? `${version.createdBy} (the last to seal it; the first was not recorded)`,
        ),
        ...(resealedWords(version)
          ? fact('re-sealed', `${formatTimeInText(version.createdAt)} by ${version.createdBy} (the same contents)`)
          : []),
        ...fact('objects', String(version.count)),
        ...fact('size', formatBytes(version.bytes)),
        ...fact('pin it', h('code', {}, `source: ${version.prefix}@${version.id}`)),
      ),
      h('h2', {}, 'Quality and the runs that read it'),
      ...readsSection(version),
      h('h2', {}, 'Compared with the previous version'),
      ...compareSection(version),
      h('h2', {}, 'Manifest'),
      ...objectsTable(version),
    );
  };
  const query = new URLSearchParams({ prefix, id, offset: String(offset) });
  const what = `version ${short(id)}`;
  const reading = loadInto(
    status,
    { loading: `Loading ${what}…`, slow: slowStore(what), what },
    () => getJson<DatasetVersionView>(`/api/datasets/version?${query.toString()}`),
    draw,
  );
  return { element, dispose: reading.dispose };
}
