/**
 * Schedules and data watchers: next and recent runs, what each watcher last saw; pause, unpause and
 * trigger (each confirmed). An action names a pipeline and goes through the schedule service the
 * CLI's `fineflow schedule pause|unpause|trigger NAME` uses, so it reaches the pipeline's schedule
 * and every data watcher of it alike; the confirmation says which.
 */
import {
  confirmAction,
  formatTime,
  getJson,
  h,
  loadInto,
  postJson,
  settings,
  slowDependency,
  toast,
  type Page,
} from '../util';
import {
  lookText,
  staleLookText,
  triggerReach,
  type LookRecord,
  type TriggeredWatcher,
} from '../../../core/schedules/watch-look';

interface ScheduleListing {
  readonly pipeline: string;
  readonly scheduleId: string;
  readonly paused: boolean;
  readonly note?: string;
  readonly nextRuns: readonly string[];
  /** Oldest first; `manual`: triggered by hand, started outside the Temporal Schedule (src/schedules/schedule-client.ts). */
  readonly recentRuns: readonly { readonly runId: string; readonly trigger: 'schedule' | 'manual' }[];
}

/** A watcher's live state (`watcherState` query), or why it did not answer. */
type WatcherListing = {
  readonly watcherId: string;
  readonly pipeline: string;
} & (
  | {
      readonly path: string;
      readonly pollIntervalMs: number;
      readonly debounceMs: number;
      readonly paused?: { readonly note?: string };
      /** The last look; no fingerprint (absent, or null) when the prefix held nothing (src/core/schedules/watch-look.ts). */
      readonly lastObservation?: LookRecord & { readonly observedAt: string };
      /** The newest failed look since the last good one. */
      readonly lastLookFailure?: { readonly at: string; readonly error: string };
      readonly state: { readonly queuedVersion?: string };
      readonly recentRuns: readonly { readonly runId: string; readonly status: string; readonly startedAt: string }[];
    }
  | { readonly error: string; readonly path?: string }
);

type Action = 'pause' | 'unpause' | 'trigger';

const REFRESH_MS = 3_000;

/** What an action on `pipeline` reaches, in words, for its confirmation. */
function actionDetail(
  action: Action,
  pipeline: string,
  schedule: boolean,
  watchers: readonly WatcherListing[],
): string[] {
  const paths = watchers.map(watchedPath);
  const reach = [
    schedule ? 'its schedule' : undefined,
    paths.length > 0 ? `${paths.length} data watcher(s): ${paths.join(', ')}` : undefined,
  ].filter((part): part is string => part !== undefined);
  if (action === 'trigger') return [...triggerReach(pipeline, schedule, triggeredWatchers(watchers)).lines];
  if (action === 'pause')
    return [`Pauses ${reach.join(' and ')}. Watchers keep looking at their prefix but start no run until unpaused.`];
  return [`Unpauses ${reach.join(' and ')}. A watcher then runs the newest version if it changed while paused.`];
}

/** The prefix a watcher watches, or its id when its state did not answer and its memo does not name one. */
function watchedPath(w: WatcherListing): string {
  return w.path ?? w.watcherId;
}

/** The watchers a trigger of this pipeline reaches, as the shared rule reads them (an unreadable one: no look). */
function triggeredWatchers(watchers: readonly WatcherListing[]): TriggeredWatcher[] {
  return watchers.map((w) =>
    'error' in w
      ? { path: watchedPath(w) }
      : { path: w.path, ...(w.lastObservation ? { lastObservation: w.lastObservation } : {}) },
  );
}

function actionButtons(
  row: string,
  pipeline: string,
  paused: boolean,
  act: (pipeline: string, action: Action) => void,
): Node[] {
  if (settings.readOnly) return [];
  const toggle: Action = paused ? 'unpause' : 'pause';
  const button = (action: Action, key: string, label: string): HTMLElement =>
    h(
      'button',
      {
        type: 'button',
        'data-action': action,
        'data-focus-key': `${row}:${key}`,
        onclick: () => act(pipeline, action),
      },
      label,
    );
  return [button(toggle, 'toggle', paused ? 'Unpause' : 'Pause'), button('trigger', 'trigger', 'Trigger now')];
}

function runLink(runId: string): HTMLElement {
  return h('a', { href: `#/runs/${encodeURIComponent(runId)}` }, runId);
}

/** A run the schedule did not start itself is marked, as `fineflow schedule describe` marks it. */
function triggerNote(run: ScheduleListing['recentRuns'][number]): HTMLElement | undefined {
  return run.trigger === 'manual' ? h('span', { class: 'muted' }, ' triggered by hand') : undefined;
}

function scheduleRow(s: ScheduleListing, act: (pipeline: string, action: Action) => void): HTMLElement {
  return h(
    'tr',
    { 'data-schedule': s.pipeline, 'data-paused': String(s.paused) },
    h('td', {}, h('a', { href: `#/runs?pipeline=${encodeURIComponent(s.pipeline)}` }, s.pipeline)),
    h('td', {}, s.paused ? `paused${s.note ? ` (${s.note})` : ''}` : 'active'),
    h('td', {}, s.nextRuns.slice(0, 3).map(formatTime).join(', ')),
    // 'none yet' as a watcher's 'no run yet': a blank cell read as not loaded (and a phone's card dropped it).
    h(
      'td',
      {},
      ...(s.recentRuns.length > 0
        ? s.recentRuns.slice(-3).map((r) => h('div', { 'data-trigger': r.trigger }, runLink(r.runId), triggerNote(r)))
        : [h('span', { class: 'muted' }, 'none yet')]),
    ),
    h('td', { class: 'actions' }, ...actionButtons(`schedule:${s.pipeline}`, s.pipeline, s.paused, act)),
  );
}

function watcherRow(w: WatcherListing, act: (pipeline: string, action: Action) => void): HTMLElement {
  if ('error' in w)
    return h(
      'tr',
      { 'data-watcher': w.watcherId },
      // The prefix from the watcher's memo, as a live row shows it; its id (in the title) before memos carried it.
      h('td', { title: w.watcherId }, watchedPath(w)),
      h('td', {}, w.pipeline),
      h('td', { colspan: 4, class: 'muted' }, `state unavailable: ${w.error}`),
      h('td', { class: 'actions' }, ...actionButtons(`watcher:${w.watcherId}`, w.pipeline, false, act)),
    );
  const look = w.lastObservation;
  const lastRun = w.recentRuns[w.recentRuns.length - 1];
  return h(
    'tr',
    { 'data-watcher': w.watcherId, 'data-pipeline': w.pipeline, 'data-paused': String(w.paused !== undefined) },
    h('td', {}, h('code', {}, w.path)),
    h('td', {}, h('a', { href: `#/runs?pipeline=${encodeURIComponent(w.pipeline)}` }, w.pipeline)),
    h('td', { class: 'watcher-state' }, w.paused ? `paused${w.paused.note ? ` (${w.paused.note})` : ''}` : 'active'),
    h(
      'td',
      { class: 'last-look' },
      look ? `${formatTime(look.observedAt)}: ${lookText(look)}` : 'no look yet',
      staleNote(w),
    ),
    h('td', {}, w.state.queuedVersion ? w.state.queuedVersion.slice(0, 12) : '–'),
    h('td', {}, lastRun ? h('span', {}, runLink(lastRun.runId), ` ${lastRun.status}`) : 'no run yet'),
    h('td', { class: 'actions' }, ...actionButtons(`watcher:${w.watcherId}`, w.pipeline, w.paused !== undefined, act)),
  );
}

/**
 * Why the last look is older than the watcher's poll interval allows (its state is what its last finished workflow
 * task left: a failed look, one no worker ran, a failing task leave the old look while the state still answers).
 */
function staleNote(w: Extract<WatcherListing, { path: string }>): HTMLElement | undefined {
  const why = staleLookText(w, Date.now());
  return why ? h('div', { class: 'warning stale-look', role: 'note' }, why) : undefined;
}

/**
 * Each row as a phone's card (styles.css: table.grid.cards): the first cell its title, every other cell labelled with
 * its column's title (a cell spanning columns takes the first one's), the Actions cell's buttons need none. With the
 * columns kept, a phone scrolled a watcher's last look, queued version, last run and buttons off its right edge.
 */
function asCards(rows: readonly HTMLElement[], titles: readonly string[]): readonly HTMLElement[] {
  for (const row of rows) {
    let column = 0;
    for (const cell of Array.from(row.children) as HTMLTableCellElement[]) {
      if (column === 0) cell.classList.add('card-title');
      else if (!cell.classList.contains('actions')) cell.dataset.label = titles[column] ?? '';
      column += cell.colSpan;
    }
  }
  return rows;
}

function table(label: string, titles: readonly string[], rows: readonly HTMLElement[], empty: string): HTMLElement {
  return h(
    'table',
    { class: 'grid cards', 'aria-label': label },
    h('thead', {}, h('tr', {}, ...titles.map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      ...asCards(rows, titles),
      rows.length === 0 ? h('tr', {}, h('td', { colspan: titles.length, class: 'empty' }, empty)) : undefined,
    ),
  );
}

type Listing = { readonly schedules: ScheduleListing[]; readonly watchers: WatcherListing[] };

export function schedulesPage(): Page {
  const status = h('div');
  const content = h('div');
  let shown: Listing = { schedules: [], watchers: [] };
  const act = async (pipeline: string, action: Action): Promise<void> => {
    const schedule = shown.schedules.some((s) => s.pipeline === pipeline);
    const watchers = shown.watchers.filter((w) => w.pipeline === pipeline);
    const title =
      action === 'trigger'
        ? `Start a run of ${pipeline} now?`
        : `${action === 'pause' ? 'Pause' : 'Unpause'} ${pipeline}?`;
    // A trigger that can start nothing (every watched prefix empty, no schedule) offers no button that says it does.
    const nothingToStart =
      action === 'trigger' && triggerReach(pipeline, schedule, triggeredWatchers(watchers)).startsNothing;
    const label = nothingToStart ? null : { pause: 'Pause', unpause: 'Unpause', trigger: 'Start run' }[action];
    const detail = actionDetail(action, pipeline, schedule, watchers).map((line) => h('p', {}, line));
    if (!(await confirmAction(title, detail, label))) return;
    try {
      await postJson(`/api/schedules/${encodeURIComponent(pipeline)}/${action}`, {});
      toast(`${action}: ${pipeline}`);
      reading.refresh();
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
    }
  };
  const onAction = (pipeline: string, action: Action): void => void act(pipeline, action);
  const draw = (listing: Listing): void => {
    shown = listing;
    // A refresh never replaces the page under an open confirmation.
    if (document.querySelector('dialog.confirm')) return;
    content.replaceChildren(
      table(
        'Schedules',
        ['Pipeline', 'State', 'Next runs (UTC)', 'Recent runs', 'Actions'],
        listing.schedules.map((s) => scheduleRow(s, onAction)),
        'No schedules: `fineflow schedule apply FILE` creates one from a pipeline’s schedule: block.',
      ),
      h('h2', {}, 'Data watchers'),
      table(
        'Data watchers',
        ['Watched prefix', 'Pipeline', 'State', 'Last look (UTC)', 'Queued version', 'Last run', 'Actions'],
        listing.watchers.map((w) => watcherRow(w, onAction)),
        'No data watchers running: `fineflow schedule apply FILE` starts one per newData trigger.',
      ),
    );
  };
  // The list refreshes itself: a signal reaches a watcher, and its state shows it, a moment after the action.
  const reading = loadInto(
    status,
    {
      // Both come from Temporal (schedules, and each watcher's state query).
      loading: 'Loading schedules and data watchers…',
      slow: slowDependency('schedules and data watchers', 'Temporal has not answered'),
      what: 'the schedules',
      refreshMs: REFRESH_MS,
    },
    () => getJson<Listing>('/api/schedules'),
    draw,
  );
  return {
    element: h('section', { class: 'page schedules' }, h('h1', {}, 'Schedules'), status, content),
    dispose: reading.dispose,
  };
}
