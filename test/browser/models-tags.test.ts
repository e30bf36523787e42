/**
 * Each model version's tags (tags.json, which register-model writes beside the card and `fineflow models show
 * NAME@VERSION` prints) in the models list (the latest version's) and in a model's versions table, served by the real
 * UI server from an in-memory registry and drawn by the real app in Chromium. The registry is writable by pipeline
 * code, so tags.json is untrusted: read through the registry's one reader (≤ 1 MiB, string values only), bounded for
 * the page, shown as text. Light and dark, at 1280 and 390 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/models-tags.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { LIMITS } from '../../src/ui/api';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODEL = 'surface-defects';
const MARKUP = '<img src=x onerror="window.owned=1">';
const MANY = 30;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const version = async (name: string, v: number, tags?: unknown, raw?: string): Promise<void> => {
    const dir = `s3://${BUCKET}/models/${name}/${v}`;
    await store.putJson(`${dir}/card.json`, {
      name,
      version: v,
      createdAt: `2026-12-0${v}T08:49:00.000Z`,
      source: `s3://${BUCKET}/runs/r-${v}/finetune/model/model.json`,
      lineage: { runId: `quickstart-20261206-084900-q15${v}` },
      metrics: { accuracy: 0.8 + v / 100 },
    });
    if (tags !== undefined) await store.putJson(`${dir}/tags.json`, tags);
    if (raw !== undefined) await store.putBytes(`${dir}/tags.json`, raw);
  };
  // 1: strings kept (sorted by key, as `models show` prints them), a number dropped, markup shown as text.
  await version(MODEL, 1, { team: 'vision', dataset: 'line-b', epochs: 5, markup: MARKUP });
  // 2: not JSON; 3: larger than the reader's 1 MiB. Each reads "tags unreadable", the page still loads.
  await version(MODEL, 2, undefined, '{"team": ');
  await version(MODEL, 3, undefined, JSON.stringify({ big: 'x'.repeat(1024 * 1024) }));
  // 4 (the latest): more tags than the page shows.
  await version(
    MODEL,
    4,
    Object.fromEntries(Array.from({ length: MANY }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'])),
  );
  await version('churn-tabular-quarterly', 1, { owner: 'ana', 'long-value': 'y'.repeat(500) });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: BUCKET }));
});
let browser: Browser;
let ui: RunningUi;
after(() => closeBrowserUi({ ui, browser }));

/** The texts of the tag chips in a row's tags cell. */
const chips = (page: Page, row: string): Promise<string[]> => page.locator(`${row} td.tags li.tag`).allTextContents();

for (const colorScheme of ['light', 'dark'] as const)
  for (const width of [1280, 390]) {
    test(`models list and a model's versions show each version's tags, as text, bounded (${colorScheme}, ${width} px)`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, { width, height: 844 });
      try {
        await page.goto(`${ui.url}/#/models`);
        await page.locator(`tr[data-model="${MODEL}"] td.tags`).waitFor();
        await screenshot(page, `models-tags-${width}-${colorScheme}`);
        assert.deepEqual(await chips(page, 'tr[data-model="churn-tabular-quarterly"]'), [
          `long-value=${'y'.repeat(LIMITS.tagChars - 1)}…`,
          'owner=ana',
        ]);
        // The latest version of surface-defects: the first tags by key, and how many more there are.
        const latest = await chips(page, `tr[data-model="${MODEL}"]`);
        assert.equal(latest.length, LIMITS.tagsPerVersion);
        assert.equal(latest[0], 'k00=v');
        assert.equal(
          await page
            .locator(`tr[data-model="${MODEL}"] td.tags`)
            .getByText(`+${MANY - LIMITS.tagsPerVersion} more`)
            .count(),
          1,
        );

        await page.goto(`${ui.url}/#/models/${MODEL}`);
        await page.locator('tr[data-version="1"] td.tags').waitFor();
        await screenshot(page, `model-versions-tags-${width}-${colorScheme}`);
        assert.deepEqual(await chips(page, 'tr[data-version="1"]'), [
          'dataset=line-b',
          `markup=${MARKUP}`,
          'team=vision',
        ]);
        for (const broken of [2, 3]) {
          const cell = page.locator(`tr[data-version="${broken}"] td.tags`);
          assert.equal(await cell.textContent(), 'tags unreadable');
          assert.match((await cell.locator('[title]').getAttribute('title')) ?? '', /tags\.json/);
        }
        assert.equal(await page.locator('td.tags img').count(), 0, 'a tag value is text, never markup');
        assert.equal(await page.evaluate('window.owned'), undefined);
        await assertNoSideScroll(page);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });
  }
