/**
 * Every time the models and datasets pages show says it is UTC, as the runs list does: a column heading (1280 px) or
 * a card's label (390 px, where the headings are hidden) says `(UTC)`, and a time inside running text ("re-sealed …
 * by watcher", "recorded …") says `UTC` after it. The models list's "Latest created", a model's "Created", the
 * datasets list's "Sealed" and a version's "sealed" said no zone, beside "Started (UTC)" on the runs list.
 * Real UI server and app, in-memory store; 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/times-say-utc.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { sealDatasetVersion } from '../../src/datasets/version-store';
import { versionReadUri, qualityVerdict, type VersionRead } from '../../src/datasets/version-reads';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';

const BUCKET = 'fineflow';
const MODEL = 'surface-defects';
const PREFIX = 's3://datasets/parts/';
let browser: Browser;
let ui: RunningUi;
let version = '';

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
  for (const v of [1, 2])
    await store.putJson(`s3://${BUCKET}/models/${MODEL}/${v}/card.json`, {
      name: MODEL,
      version: v,
      createdAt: `2026-12-0${v + 4}T08:55:00.000Z`,
      source: `s3://${BUCKET}/runs/r${v}/finetune/model/model.json`,
      lineage: {},
      metrics: { accuracy: 0.8 + v / 100 },
    });
  await store.putBytes(`${PREFIX}ok/a.png`, 'a');
  version = (await sealDatasetVersion(store, BUCKET, PREFIX, { createdBy: 'data push', now: new Date('2026-12-05') }))
    .id;
  await sealDatasetVersion(store, BUCKET, PREFIX, { createdBy: 'watcher', now: new Date('2026-12-05T00:00:05Z') });
  const checks = [{ check: 'blankImages', outcome: 'ok' as const, count: 0 }];
  const read: VersionRead = {
    runId: 'parts-20261205-0300',
    stage: 'prepare',
    at: '2026-12-05T03:01:00.000Z',
    verdict: qualityVerdict(checks),
    checks,
    records: 1,
    kept: 1,
    classes: 1,
  };
  await store.putJson(versionReadUri(BUCKET, PREFIX, version, read.runId, read.stage), read);
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

/** What a time cell says of its zone at this width: the card label a phone shows, or the visible column heading. */
async function zoneOf(page: Page, cell: string, heading: string, width: number): Promise<string> {
  if (width === 390) {
    const label = `getComputedStyle(document.querySelector(${JSON.stringify(cell)}), '::before').content`;
    return ((await page.evaluate(label)) as string).replace(/^"|"$/g, '');
  }
  const headings = await page.locator(`${heading}:visible`).allTextContents();
  return headings.find((text) => /created|sealed|read/i.test(text)) ?? `no such heading among ${headings.join(', ')}`;
}

for (const width of [390, 1280])
  test(`the models and datasets pages say their times are UTC (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 844 });
    try {
      await page.goto(`${ui.url}/#/models`);
      const listed = `tr[data-model="${MODEL}"] td.nowrap:not(.card-title)`;
      await page.locator(listed).waitFor();
      assert.equal(await page.locator(listed).textContent(), '2026-12-06 08:55:00');
      assert.equal(
        await zoneOf(page, listed, 'table thead th', width),
        width === 390 ? 'created (UTC) ' : 'Latest created (UTC)',
      );

      await page.goto(`${ui.url}/#/models/${MODEL}`);
      const created = 'tr[data-version="2"] > td:nth-child(3)';
      await page.locator(created).waitFor();
      assert.equal(await page.locator(created).textContent(), '2026-12-06 08:55:00');
      assert.equal(
        await zoneOf(page, created, 'table thead th', width),
        width === 390 ? 'created (UTC) ' : 'Created (UTC)',
      );
      await screenshot(page, `model-versions-utc-${width}`);

      await page.goto(`${ui.url}/#/datasets`);
      const sealed = `tr[data-version="${version}"] > td:nth-child(2)`;
      await page.locator(sealed).waitFor();
      assert.equal(await page.locator(sealed).textContent(), '2026-12-05 00:00:00');
      assert.equal(
        await zoneOf(page, sealed, 'section.dataset thead th', width),
        width === 390 ? 'sealed (UTC) ' : 'Sealed (UTC)',
      );
      assert.equal(
        await page.locator(`tr[data-version="${version}"] > td:nth-child(5)`).textContent(),
        'data push (re-sealed 2026-12-05 00:00:05 UTC by watcher)',
      );
      await screenshot(page, `datasets-utc-${width}`);

      await page.locator(`tr[data-version="${version}"] a`).click();
      await page.locator('dd[data-fact="sealed"]').waitFor();
      const terms = await page.locator('dl.facts dt').allTextContents();
      assert.ok(terms.includes('sealed (UTC)'), terms.join(', '));
      assert.equal(await page.locator('dd[data-fact="sealed"]').textContent(), '2026-12-05 00:00:00');
      assert.equal(
        await page.locator('dd[data-fact="re-sealed"]').textContent(),
        '2026-12-05 00:00:05 UTC by watcher (the same contents)',
      );
      const read = 'table.reads tbody tr td:nth-child(3)';
      assert.equal(await page.locator(read).textContent(), '2026-12-05 03:01:00');
      assert.equal(
        await zoneOf(page, read, 'table.reads thead th', width),
        width === 390 ? 'read (UTC) ' : 'Read (UTC)',
      );
      await screenshot(page, `dataset-version-utc-${width}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
