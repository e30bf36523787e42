/**
 * A model card whose `createdAt` is not a time (hand-edited: "2026-12-07T010:00:00Z") made the page throw while it drew
 * that version's row, so the model's whole versions table was missing, and the models list with it when that card
 * was the latest. Every version still shows; the bad date reads `unknown`, the cell's title and the card name the
 * problem. Real UI server and app, in-memory registry; 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh unit --quick test/browser/model-created-unknown.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODEL = 'surface-defects';
const BAD = '2026-12-07T010:00:00Z';
let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const createdAt: Record<number, string> = { 1: '2026-12-05T08:55:00.000Z', 2: '2026-12-06T08:55:00.000Z', 3: BAD };
  for (const version of [1, 2, 3])
    await store.putJson(`s3://${BUCKET}/models/${MODEL}/${version}/card.json`, {
      name: MODEL,
      version,
      createdAt: createdAt[version],
      source: `s3://${BUCKET}/runs/r${version}/finetune/model/model.json`,
      lineage: {},
      metrics: { accuracy: 0.8 + version / 100 },
    });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  test(`a card with an invalid createdAt: every version shows, its date unknown, the problem named (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 844 });
    try {
      await page.goto(`${ui.url}/#/models/${MODEL}`);
      await page.locator('tr[data-version="3"]').waitFor({ timeout: 10_000 });
      assert.deepEqual(
        await page.locator('tr[data-version]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version'))),
        ['3', '2', '1'],
      );
      const created = page.locator('tr[data-version="3"] td[data-label="created (UTC)"]');
      assert.equal((await created.textContent())?.trim(), 'unknown');
      assert.equal(await created.getAttribute('title'), `this card has a createdAt that is not a time ("${BAD}")`);
      assert.equal(
        (await page.locator('tr[data-version="2"] td[data-label="created (UTC)"]').textContent())?.trim(),
        '2026-12-06 08:55:00',
      );
      // The latest card is shown first, and says what is wrong with it.
      await page.locator('.card h2', { hasText: 'Version 3' }).waitFor();
      assert.equal(
        await page.locator('.card p.card-problem').textContent(),
        `This card has a createdAt that is not a time ("${BAD}"): when it was made is unknown.`,
      );
      await assertNoSideScroll(page);
      await screenshot(page, `model-created-unknown-${width}`);

      // The models list, whose latest-version time is that card's.
      await page.goto(`${ui.url}/#/models`);
      const listed = page.locator(`tr[data-model="${MODEL}"] td[data-label="created (UTC)"]`);
      await listed.waitFor({ timeout: 10_000 });
      assert.equal((await listed.textContent())?.trim(), 'unknown');
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
