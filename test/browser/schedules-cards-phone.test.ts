/**
 * The schedules page with a schedule and a data watcher on a 390 px phone, served by the real UI server and drawn by
 * the real app in Chromium: each row is a card whose every value is on screen with its label, as on the runs and
 * models lists. The tables kept their columns: the data watchers' Last look, Queued version, Last run and its buttons
 * were off the screen's right edge (a sideways scroll inside the table), and the next runs' dates broke at their
 * hyphens. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/schedules-cards-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertCards } from './page-layout';

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const schedules = {
    list: async () => [
      {
        pipeline: 'defect-retrain',
        scheduleId: 'fineflow-defect-retrain',
        paused: false,
        nextRuns: ['2026-12-07T02:01:36.000Z', '2026-12-08T02:01:12.000Z', '2026-12-09T02:04:34.000Z'],
        recentRuns: [],
      },
    ],
    watchers: {
      listWithState: async () => [
        {
          pipeline: 'defect-retrain',
          row: {
            watcherId: 'fineflow-defect-retrain-newdata-35ffee42',
            path: 's3://datasets/defects/',
            pollIntervalMs: 600_000,
            debounceMs: 600_000,
            lastObservation: {
              fingerprint: 'e3b0c44298fc1c149afbf4c8996fb924',
              count: 0,
              // A current look: an old one would also carry the stale-look note (schedules-stale-look.test.ts).
              observedAt: new Date().toISOString(),
            },
            state: {},
            recentRuns: [],
          },
        },
      ],
    },
  } as unknown as Partial<ScheduleService>;
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: 'fineflow', schedules }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const colorScheme of ['light', 'dark'] as const)
  test(`schedules and data watchers are cards on a 390 px phone, every value on screen and labelled (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${ui.url}/#/schedules`);
      await page.locator('tr[data-watcher]').waitFor();
      await screenshot(page, `schedules-cards-390-${colorScheme}`);
      await assertCards(page, 'table[aria-label="Schedules"] tbody tr', 1);
      await assertCards(page, 'table[aria-label="Data watchers"] tbody tr', 1);
      // A schedule that has not run yet says so, as a watcher does ('no run yet'), not a blank left out of the card.
      const recent = page.locator('table[aria-label="Schedules"] tbody tr td[data-label="Recent runs"]');
      assert.equal((await recent.textContent())?.trim(), 'none yet');
      assert.ok(await recent.isVisible(), 'the card shows it');
      // A card has no column heading to say its times are UTC: its labels say it ('Next runs (UTC)' did already).
      const look = page.locator('table[aria-label="Data watchers"] tbody tr td.last-look');
      assert.equal(await look.getAttribute('data-label'), 'Last look (UTC)');
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
