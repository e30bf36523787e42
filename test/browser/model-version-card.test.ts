/**
 * A model's versions table, its Card buttons: pressing one showed that version's card below the table and left the
 * screen where it was, which on a phone is the table (the card starts a screen or more further down), so the button
 * seemed to do nothing; nor did the table say which version the card below is. Now the row of the version shown is
 * marked (aria-current), and a press moves the focus and the screen to the card's heading; the card starts with the
 * model's description, which only the raw card JSON had. Real UI server and app, in-memory registry; 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/model-version-card.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';

const BUCKET = 'fineflow';
const MODEL = 'surface-defects';
let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  for (const version of [1, 2, 3, 4, 5, 6])
    await store.putJson(`s3://${BUCKET}/models/${MODEL}/${version}/card.json`, {
      name: MODEL,
      version,
      createdAt: `2026-12-0${version}T08:55:00.000Z`,
      description: `surface-cnn fine-tuned on ${version * 10} labelled line-B images per class`,
      source: `s3://${BUCKET}/runs/r${version}/finetune/model/model.json`,
      lineage: {},
      metrics: { accuracy: 0.8 + version / 100, f1: 0.79 + version / 100 },
    });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  test(`a version's Card button shows its card, scrolled to and focused, its row marked (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 700 });
    try {
      await page.goto(`${ui.url}/#/models/${MODEL}`);
      const heading = page.locator('.card h2');
      await heading.waitFor();
      assert.equal(await heading.textContent(), 'Version 6', 'the latest, at first');
      assert.equal(await page.locator('tr[aria-current="true"]').getAttribute('data-version'), '6');
      assert.equal(
        await page.locator('.card p.description').textContent(),
        'surface-cnn fine-tuned on 60 labelled line-B images per class',
      );

      const oldest = page.locator('tr[data-version="1"] button');
      await oldest.scrollIntoViewIfNeeded();
      await oldest.click();
      await page.locator('.card h2', { hasText: 'Version 1' }).waitFor();
      assert.equal(await page.evaluate<string>(`document.activeElement?.textContent ?? ''`), 'Version 1');
      const box = await heading.boundingBox();
      assert.ok(
        box && box.y >= 0 && box.y + box.height <= 700,
        `the card's heading is on screen: ${JSON.stringify(box)}`,
      );
      assert.deepEqual(
        await page
          .locator('tr[aria-current="true"]')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version'))),
        ['1'],
      );
      assert.equal(
        await page.locator('.card p.description').textContent(),
        'surface-cnn fine-tuned on 10 labelled line-B images per class',
      );
      await screenshot(page, `model-version-card-${width}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
