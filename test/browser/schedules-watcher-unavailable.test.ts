/**
 * A data watcher whose state did not answer (no control worker running) is still named by the prefix it watches, from
 * its memo, on the schedules page: its "Watched prefix" cell showed the watcher's id, which names no prefix. The id
 * stays in the cell's title. Served by the real UI server; 390 and 1280 px.
 *
 * No stack needed: bash scripts/test.sh integration --quick test/browser/schedules-watcher-unavailable.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const WATCHER = 'fineflow-defect-retrain-newdata-35ffee42';
const PREFIX = 's3://datasets/defects/';
const UNANSWERED =
  'no control worker answered within 3 s: none is running, or it is busy. Start one with `fineflow worker --pool ' +
  'control`; `fineflow dev status` says which pools have workers';

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const schedules = {
    list: async () => [],
    watchers: {
      listWithState: async () => [
        {
          pipeline: 'defect-retrain',
          row: { watcherId: WATCHER, pipeline: 'defect-retrain', path: PREFIX, error: UNANSWERED },
        },
      ],
    },
  } as unknown as Partial<ScheduleService>;
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: 'fineflow', schedules }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  test(`an unanswered watcher is named by its prefix, its id in the title (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 844 });
    try {
      await page.goto(`${ui.url}/#/schedules`);
      const row = page.locator(`tr[data-watcher="${WATCHER}"]`);
      await row.waitFor();
      const named = row.locator('td').first();
      assert.equal((await named.textContent())?.trim(), PREFIX);
      assert.equal(await named.getAttribute('title'), WATCHER);
      assert.match((await row.textContent()) ?? '', /state unavailable: no control worker answered within 3 s/);
      await assertNoSideScroll(page);
      await screenshot(page, `schedules-watcher-unavailable-${width}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
