/**
 * A data watcher whose last look found nothing under its prefix reads so on the schedules page ("nothing under the
 * prefix (no dataset version; no run starts until data arrives)", src/core/schedules/watch-look.ts), whether it
 * recorded the version id of no objects (watchers started before patch `fineflow-s18-watch-empty-no-version`:
 * `e3b0c44298fc…`, which the page showed as "0 objects, version e3b0c44298fc", a dataset version that does not exist)
 * or none (later ones); a look that found data still reads as its count and version. Served by the real UI server,
 * drawn by the real app in Chromium; 390 and 1280 px, light and dark. A look whose JSON says `fingerprint: null` reads
 * the same, nothing on the page reads "null" or "undefined", and Trigger now says beforehand that an empty prefix
 * starts no run (the watcher ignores the trigger), offering no "Start run" when no watcher of the pipeline has data.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/schedules-empty-look.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { EMPTY_LOOK } from '../../src/core/schedules/watch-look';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertCards, assertNoSideScroll } from './page-layout';

/** sha256 of no bytes: what an older watcher recorded as the "version" of an empty prefix. */
const NOTHING = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const VERSION = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
/** A look of now (whole seconds), as a watcher that keeps looking has: an old one reads as stale (schedules-stale-look). */
const OBSERVED = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
const OBSERVED_TEXT = `${OBSERVED.slice(0, 10)} ${OBSERVED.slice(11, 19)}`;

function watcher(
  id: string,
  path: string,
  look: { fingerprint?: string | null; count: number; bytes: number },
  pipeline = 'defect-retrain',
) {
  return {
    pipeline,
    row: {
      watcherId: `fineflow-${pipeline}-newdata-${id}`,
      path,
      pollIntervalMs: 600_000,
      debounceMs: 600_000,
      lastObservation: { ...look, observedAt: OBSERVED },
      state: {},
      recentRuns: [],
    },
  };
}

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const schedules = {
    list: async () => [],
    watchers: {
      listWithState: async () => [
        watcher('legacy', 's3://datasets/line-a/', { fingerprint: NOTHING, count: 0, bytes: 0 }),
        watcher('empty', 's3://datasets/line-b/', { count: 0, bytes: 0 }),
        watcher('data', 's3://datasets/line-c/', { fingerprint: VERSION, count: 12, bytes: 4096 }),
        // A pipeline whose only watcher looks at a prefix nobody pushed to yet; its JSON says null for no fingerprint.
        watcher('empty', 's3://datasets/line-d/', { fingerprint: null, count: 0, bytes: 0 }, 'line-d-retrain'),
      ],
    },
  } as unknown as Partial<ScheduleService>;
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: 'fineflow', schedules }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  for (const colorScheme of ['light', 'dark'] as const)
    test(`a watcher's look at an empty prefix reads as nothing there, not as a version (${width}, ${colorScheme})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, { width, height: 844 });
      try {
        await page.goto(`${ui.url}/#/schedules`);
        await page.locator('tr[data-watcher]').nth(3).waitFor();
        const looks = await page
          .locator('table[aria-label="Data watchers"] tbody tr')
          .evaluateAll((rows) => rows.map((row) => [row.getAttribute('data-watcher'), row.children[3]?.textContent]));
        assert.deepEqual(looks, [
          ['fineflow-defect-retrain-newdata-legacy', `${OBSERVED_TEXT}: ${EMPTY_LOOK}`],
          ['fineflow-defect-retrain-newdata-empty', `${OBSERVED_TEXT}: ${EMPTY_LOOK}`],
          ['fineflow-defect-retrain-newdata-data', `${OBSERVED_TEXT}: 12 objects, version 0123456789ab`],
          ['fineflow-line-d-retrain-newdata-empty', `${OBSERVED_TEXT}: ${EMPTY_LOOK}`],
        ]);
        assert.equal(await page.getByText('e3b0c44298fc').count(), 0, 'no version of no objects anywhere on the page');
        assert.doesNotMatch(await page.locator('main').innerText(), /\bnull\b|\bundefined\b/);
        if (width === 390) await assertCards(page, 'table[aria-label="Data watchers"] tbody tr', 4);
        await assertNoSideScroll(page);
        await screenshot(page, `schedules-empty-look-${width}-${colorScheme}`);

        // Trigger now: the watcher ignores a trigger on an empty prefix, and the confirmation says so beforehand,
        // with no button that claims to start a run; beside a watcher with data, that one still runs.
        const trigger = async (pipeline: string): Promise<string> => {
          await page.locator(`tr[data-pipeline="${pipeline}"] button[data-action="trigger"]`).first().click();
          const dialog = page.locator('dialog.confirm');
          await dialog.waitFor();
          return (await dialog.locator('.confirm-detail').innerText()).replace(/\s+/g, ' ');
        };
        assert.equal(
          await trigger('line-d-retrain'),
          'Nothing was under s3://datasets/line-d/ at the last look: no run starts there until data arrives.',
        );
        assert.equal(await page.locator('dialog.confirm [data-action="confirm"]').count(), 0);
        await page.locator('dialog.confirm button', { hasText: 'Close' }).click();
        assert.equal(
          await trigger('defect-retrain'),
          'Each data watcher of defect-retrain runs the dataset version its prefix holds now: s3://datasets/line-c/. ' +
            'Nothing was under s3://datasets/line-a/, s3://datasets/line-b/ at the last look: no run starts there ' +
            'until data arrives.',
        );
        await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });
