/** Schedules and data watchers: next and recent runs; pause, unpause, trigger (each confirmed). */
import { confirmAction, errorBox, formatTime, getJson, h, postJson, settings, toast, type Page } from '../util';

interface ScheduleListing {
  readonly pipeline: string;
  readonly scheduleId: string;
  readonly paused: boolean;
  readonly note?: string;
  readonly nextRuns: readonly string[];
  readonly recentRuns: readonly { readonly runId: string; readonly scheduledAt: string }[];
}

interface WatcherListing {
  readonly watcherId: string;
  readonly pipeline: string;
  readonly startTime: string;
}

export function schedulesPage(): Page {
  const content = h('div');
  const act = async (pipeline: string, action: 'pause' | 'unpause' | 'trigger'): Promise<void> => {
    const what =
      action === 'trigger'
        ? `Start a run of ${pipeline} now?`
        : `${action === 'pause' ? 'Pause' : 'Unpause'} the schedule of ${pipeline}?`;
    if (
      !(await confirmAction(
        what,
        [action === 'trigger' ? 'The schedule’s overlap policy applies.' : 'Data watchers are not affected.'],
        action,
      ))
    )
      return;
    try {
      await postJson(`/api/schedules/${encodeURIComponent(pipeline)}/${action}`, {});
      toast(`${action}: ${pipeline}`);
      load();
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
    }
  };
  const load = (): void => {
    getJson<{ schedules: ScheduleListing[]; watchers: WatcherListing[] }>('/api/schedules')
      .then(({ schedules, watchers }) => {
        content.replaceChildren(
          h(
            'table',
            { class: 'grid', 'aria-label': 'Schedules' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Pipeline', 'State', 'Next runs (UTC)', 'Recent runs', 'Actions'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...schedules.map((s) =>
                h(
                  'tr',
                  { 'data-schedule': s.pipeline },
                  h('td', {}, h('a', { href: `#/runs?pipeline=${encodeURIComponent(s.pipeline)}` }, s.pipeline)),
                  h('td', {}, s.paused ? `paused${s.note ? ` (${s.note})` : ''}` : 'active'),
                  h('td', {}, s.nextRuns.slice(0, 3).map(formatTime).join(', ')),
                  h(
                    'td',
                    {},
                    ...s.recentRuns
                      .slice(-3)
                      .map((r) => h('div', {}, h('a', { href: `#/runs/${encodeURIComponent(r.runId)}` }, r.runId))),
                  ),
                  h(
                    'td',
                    { class: 'actions' },
                    settings.readOnly
                      ? ''
                      : [
                          h(
                            'button',
                            { type: 'button', onclick: () => void act(s.pipeline, s.paused ? 'unpause' : 'pause') },
                            s.paused ? 'Unpause' : 'Pause',
                          ),
                          h(
                            'button',
                            { type: 'button', onclick: () => void act(s.pipeline, 'trigger') },
                            'Trigger now',
                          ),
                        ],
                  ),
                ),
              ),
              schedules.length === 0
                ? h(
                    'tr',
                    {},
                    h(
                      'td',
                      { colspan: 5, class: 'empty' },
                      'No schedules: `fineflow schedule apply FILE` creates one from a pipeline’s schedule: block.',
                    ),
                  )
                : undefined,
            ),
          ),
          h('h2', {}, 'Data watchers'),
          h(
            'table',
            { class: 'grid', 'aria-label': 'Data watchers' },
            h('thead', {}, h('tr', {}, ...['Watcher', 'Pipeline', 'Since'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              ...watchers.map((w) =>
                h('tr', {}, h('td', {}, w.watcherId), h('td', {}, w.pipeline), h('td', {}, formatTime(w.startTime))),
              ),
              watchers.length === 0
                ? h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'No data watchers running.'))
                : undefined,
            ),
          ),
        );
      })
      .catch((error: unknown) => content.replaceChildren(errorBox(error)));
  };
  load();
  return { element: h('section', { class: 'page schedules' }, h('h1', {}, 'Schedules'), content) };
}
