/**
 * A data watcher's "last look" on the schedules page follows the watcher, and says when it has stopped following.
 * In session 19 a watcher's last look stayed at one time for 11 minutes on a page that reads every 3 s. A watcher's
 * state is what its last finished workflow task left, and the state query keeps answering when looks stop: a look
 * that fails (the listing refused, MinIO down: the watcher only logged it), one no control worker runs, or a workflow
 * task that keeps failing all leave the old look in place. The page showed it as current. Now the watcher records a
 * failed look, and the page says why a look is older than the watcher's poll interval allows.
 *
 * The page reads the real UI server, whose schedule service answers with what the test sets; each step awaits the
 * page showing the new value (no sleeps). 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/schedules-stale-look.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { DataWatcherStatus } from '../../src/core/schedules/data-watch-types';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const MINUTE = 60_000;
const WATCHER = 'fineflow-line-b-retrain-newdata-5e1f';

/** What the watcher's state query answers now; each test step changes it. */
let current: Partial<DataWatcherStatus> = {};

function row(): DataWatcherStatus {
  return {
    watcherId: WATCHER,
    path: 's3://datasets/line-b/',
    configDigest: 'c',
    planDigest: 'p',
    pollIntervalMs: MINUTE,
    debounceMs: 0,
    overlap: 'skip',
    minObjects: 1,
    state: { runsStarted: 0, handledCount: 0 },
    recentRuns: [],
    pollsThisExecution: 3,
    ...current,
  };
}

const lookAt = (ms: number) => ({ count: 0, bytes: 0, observedAt: new Date(ms).toISOString() });
const shown = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const schedules = {
    list: async () => [],
    watchers: { listWithState: async () => [{ pipeline: 'line-b-retrain', row: row() }] },
  } as unknown as Partial<ScheduleService>;
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: 'fineflow', schedules }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  test(`a watcher's last look follows its looks, and says when they stopped or failed (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 844 });
    const cell = page.locator(`tr[data-watcher="${WATCHER}"] td.last-look`);
    const note = cell.locator('.stale-look');
    // Resolves once the open page, refreshing itself, shows this look.
    const showsLook = (iso: string) =>
      page.locator(`tr[data-watcher="${WATCHER}"] td.last-look`, { hasText: shown(iso) }).waitFor();
    try {
      const first = lookAt(Date.now() - 5_000);
      current = { lastObservation: first };
      await page.goto(`${ui.url}/#/schedules`);
      await showsLook(first.observedAt);
      assert.equal(await note.count(), 0, 'a current look has no note');

      // The watcher looks again: the open page shows the new look by itself.
      const second = lookAt(Date.now());
      current = { lastObservation: second };
      await showsLook(second.observedAt);
      assert.equal(await note.count(), 0);

      // The looks stop (no control worker runs them, or its workflow task keeps failing): 11 minutes later the state
      // still answers with the old look, and the page says so.
      const old = lookAt(Date.now() - 11 * MINUTE);
      current = { lastObservation: old };
      await note.waitFor();
      assert.match(
        (await note.textContent()) ?? '',
        /^no look for 11m (\d+s )?\(it looks every 1m\): is a control worker running and keeping up\?/,
      );
      await screenshot(page, `schedules-stale-look-${width}`);

      // A look that failed says why (the watcher records it since this change).
      current = {
        lastObservation: old,
        lastLookFailure: { at: new Date().toISOString(), error: 'ApplicationFailure: S3 AccessDenied on datasets' },
      };
      await page.locator('.stale-look', { hasText: 'the last look failed' }).waitFor();
      assert.equal(await note.textContent(), 'the last look failed: ApplicationFailure: S3 AccessDenied on datasets');

      // Looks resume: the note goes, the new look shows.
      const back = lookAt(Date.now());
      current = { lastObservation: back };
      await showsLook(back.observedAt);
      await note.waitFor({ state: 'detached' });
      await assertNoSideScroll(page);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
