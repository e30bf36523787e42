/**
 * The models list and a model's versions on a 390 px phone, served by the real UI server from an in-memory registry and
 * drawn by the real app in Chromium: each model and each version is a card (as the runs list is), every cell of it,
 * its tags included, on screen without scrolling sideways, and each value labelled (the tables put the tags column
 * off screen to the right, reached only by scrolling inside the table's box). Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/models-cards-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertCards } from './page-layout';

const BUCKET = 'fineflow';
const MODELS = ['surface-defects-line-b', 'digits'];
const TAGS = { dataset: 'defects-line-b@3f9a2c', owner: 'vision-team', stage: 'finetune', team: 'quality' };

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  for (const name of MODELS)
    for (const version of [1, 2, 3]) {
      const dir = `s3://${BUCKET}/models/${name}/${version}`;
      await store.putJson(`${dir}/card.json`, {
        name,
        version,
        createdAt: `2026-12-0${version + 3}T08:49:00.000Z`,
        source: `s3://${BUCKET}/runs/r-${version}/finetune/model/model.json`,
        lineage: { runId: `quickstart-20261206-084900-q15${version}` },
        metrics: { accuracy: 0.8 + version / 100, f1: 0.7 + version / 100, calibrationError: 0.05 },
        ...(name === MODELS[0]
          ? { description: `flags surface defects on line B, retrained weekly (v${version})` }
          : {}),
      });
      await store.putJson(`${dir}/tags.json`, { ...TAGS, version: String(version) });
    }
  await store.putJson(`s3://${BUCKET}/models/${MODELS[0]}/aliases.json`, { champion: 2, staging: 3 });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const colorScheme of ['light', 'dark'] as const) {
  test(`models list and a model's versions on a 390 px phone: one card each, tags on screen (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${ui.url}/#/models`);
      await page.locator(`tr[data-model="${MODELS[0]}"] td.tags li.tag`).first().waitFor();
      await screenshot(page, `models-cards-390-${colorScheme}`);
      await assertCards(page, 'tr[data-model]', MODELS.length);
      // What each model is for (its latest version's description), none where its author gave none; by name.
      assert.deepEqual(await page.locator('tr[data-model] td.description').allInnerTexts(), [
        '',
        'flags surface defects on line B, retrained weekly (v3)',
      ]);
      assert.equal(await page.locator('tr[data-model] td.tags li.tag').count(), MODELS.length * 5);

      await page.goto(`${ui.url}/#/models/${MODELS[0]}`);
      await page.locator('tr[data-version="1"] td.tags li.tag').first().waitFor();
      await screenshot(page, `model-version-cards-390-${colorScheme}`);
      await assertCards(page, 'tr[data-version]', 3);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}
