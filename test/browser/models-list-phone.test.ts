/**
 * The models list and a model's versions on a 390 px phone, served by the real UI server from an in-memory registry and
 * drawn by the real app in Chromium: a model's name and a date stay on one line (at 390 px the table squeezed them
 * until they broke at their hyphens, "surface-/defects", "2026-/12-06"), the table scrolls inside its box, and nothing
 * scrolls the page sideways. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/models-list-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODELS = ['surface-defects-line-b', 'churn-tabular-quarterly', 'digits'];

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  for (const name of MODELS)
    for (const version of [1, 2])
      await store.putJson(`s3://${BUCKET}/models/${name}/${version}/card.json`, {
        name,
        version,
        createdAt: `2026-12-0${version + 4}T08:49:00.000Z`,
        source: `s3://${BUCKET}/runs/r-${version}/finetune/model/model.json`,
        lineage: { runId: `quickstart-20261206-084900-q15${version}` },
        metrics: { accuracy: 0.8 + version / 100 },
      });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

/** Line boxes of the text of each cell the selector finds, in the browser. */
const MEASURE = (
  cells: string,
): string => `(() => [...document.querySelectorAll(${JSON.stringify(cells)})].map((cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return { text: cell.textContent, lines: new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size };
}))()`;

async function assertOneLineEach(selector: string, page: Page, expected: number): Promise<void> {
  const cells = (await page.evaluate(MEASURE(selector))) as { text: string; lines: number }[];
  assert.equal(cells.length, expected, JSON.stringify(cells));
  for (const cell of cells) assert.equal(cell.lines, 1, `"${cell.text}" is broken over ${cell.lines} lines`);
  await assertNoSideScroll(page);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`models list and versions on a 390 px phone: names and dates on one line each (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${ui.url}/#/models`);
      await page
        .locator('tr[data-model]')
        .nth(MODELS.length - 1)
        .waitFor();
      await screenshot(page, `models-list-390-${colorScheme}`);
      // A name and a date (the latest version's) per model.
      await assertOneLineEach(
        'tr[data-model] td:first-child, tr[data-model] td[data-label="created (UTC)"]',
        page,
        MODELS.length * 2,
      );
      await page.goto(`${ui.url}/#/models/${MODELS[0]}`);
      // The versions table: version, aliases, created (the date), metrics…
      const created = 'tr:has(> td.aliases) > td:nth-child(3)';
      await page.locator(created).nth(1).waitFor();
      await screenshot(page, `model-versions-390-${colorScheme}`);
      await assertOneLineEach(created, page, 2);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}
